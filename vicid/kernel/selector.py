"""Policy selectors and charon's automatic policy priorities, shared by both backends. Pure.

An XFRM selector is (src net/prefix, dst net/prefix, protocol, src/dst port with mask). charon
builds it from two traffic selectors (``ts2selector`` in kernel_netlink_ipsec.c): the more
restrictive protocol, each TS turned into its enclosing subnet, each port range into port+mask
(``ts2ports``), ICMP type/code moved into the source/destination port fields. The priority
(``get_priority``) prefers more specific selectors: smaller numbers win.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from vicid.ike.effects import Direction
from vicid.ike.ts import IPPROTO_ICMP, IPPROTO_ICMPV6, TrafficSelector

PRIO_BASE = 200_000
# charon's policy_priority_t per InstallPolicy.kind: pass < ipsec < trap < drop (fallback)
_PRIO_CLASS = {"pass": 0, "ipsec": 1, "trap": 1, "drop": 2}


@dataclass(frozen=True)
class Selector:
    family: int  # 4 or 6
    saddr: bytes
    prefixlen_s: int
    daddr: bytes
    prefixlen_d: int
    proto: int
    sport: int
    sport_mask: int
    dport: int
    dport_mask: int


def ports_to_mask(from_port: int, to_port: int) -> tuple[int, int]:
    """``ts2ports``: a port range as the largest port/mask block that starts at from_port."""
    if from_port == to_port:
        return from_port, 0xFFFF
    mask = 0
    for bit in range(15, -1, -1):
        bitmask = 1 << bit
        if (from_port & bitmask) != (to_port & bitmask):
            return from_port & mask, mask
        mask |= bitmask
    return from_port & mask, mask


def policy_selector(src_ts: TrafficSelector, dst_ts: TrafficSelector) -> Selector:
    """``ts2selector`` for a policy whose packets go from SRC_TS to DST_TS."""
    proto = max(src_ts.protocol, dst_ts.protocol)
    saddr, plen_s, _ = src_ts.to_subnet()
    daddr, plen_d, _ = dst_ts.to_subnet()
    sport, smask = ports_to_mask(src_ts.from_port, src_ts.to_port)
    dport, dmask = ports_to_mask(dst_ts.from_port, dst_ts.to_port)
    if proto in (IPPROTO_ICMP, IPPROTO_ICMPV6) and (sport or dport):
        # the kernel wants the ICMP type in sport and the code in dport
        port = max(sport, dport)
        sport, dport = port >> 8, port & 0xFF
        smask, dmask = (0xFFFF if sport else 0), (0xFFFF if dport else 0)
    family = 4 if len(saddr) == 4 else 6
    return Selector(family, saddr, plen_s, daddr, plen_d, proto, sport, smask, dport, dmask)


def direction_selectors(direction: Direction, local_ts: TrafficSelector,
                        remote_ts: TrafficSelector) -> tuple[TrafficSelector, TrafficSelector]:
    """(src TS, dst TS) of a policy: outbound goes local -> remote, in/fwd remote -> local."""
    if direction == Direction.OUT:
        return local_ts, remote_ts
    return remote_ts, local_ts


def _mask_bits(mask: int) -> int:
    """Leading one bits of a 16-bit port mask (``port_mask_bits``)."""
    bits = 0
    for bit in range(15, -1, -1):
        if not mask & (1 << bit):
            break
        bits += 1
    return bits


def auto_priority(sel: Selector, kind: str = "ipsec", interface: bool = False) -> int:
    """charon's ``get_priority``: base per kind, minus specificity (smaller = preferred).

    bit 0: trap (routed) policies below regular ones; bit 1: bound to an interface;
    bits 2-7: port mask bits; bit 8: a protocol is set; bits 9-17: prefix lengths.
    """
    priority = PRIO_BASE * (1 + _PRIO_CLASS.get(kind, 1))
    priority -= (sel.prefixlen_s + sel.prefixlen_d) * 512
    priority -= 256 if sel.proto else 0
    priority -= (_mask_bits(sel.sport_mask) + _mask_bits(sel.dport_mask)) * 4
    priority -= 2 if interface else 0
    priority -= 0 if kind == "trap" else 1
    return priority


def policy_priority(direction: Direction, local_ts: TrafficSelector, remote_ts: TrafficSelector,
                    kind: str = "ipsec", manual: int = 0) -> int:
    """The priority a policy gets: the engine's manual value if set, else charon's automatic one."""
    if manual:
        return manual
    return _auto_policy_priority(direction, local_ts, remote_ts, kind)


@lru_cache(maxsize=4096)
def _auto_policy_priority(direction: Direction, local_ts: TrafficSelector, remote_ts: TrafficSelector,
                          kind: str) -> int:
    """Remembered: many CHILD_SAs share the same selectors, and a policy slot shared by N of
    them asks for the priority of each install whenever one comes or goes."""
    return auto_priority(policy_selector(*direction_selectors(direction, local_ts, remote_ts)), kind)
