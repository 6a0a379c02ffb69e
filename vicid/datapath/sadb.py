"""Userspace SA and policy tables, fed by the same effects as the kernel port. Pure.

Inbound SAs are found by SPI; outbound traffic by its 5-tuple against the OUT policies in
priority order (charon's automatic priorities, :mod:`vicid.kernel.selector`), then the newest
outbound SA of the policy's reqid. Policies are reference counted per (direction, selectors,
kind) like charon's kernel backends, so a rekeyed CHILD_SA installs its copy before the old one
removes its own. Lifetimes count from installation (charon asks XFRM for add-time lifetimes);
every method takes ``now`` and returns the :class:`~vicid.kernel.port.KernelExpire` events due.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from vicid.datapath.esp import EspCrypto, EspError
from vicid.datapath.ippacket import Flow
from vicid.datapath.replay import ReplayWindow
from vicid.ike.effects import (
    DeleteChildSa,
    DeletePolicy,
    Direction,
    Endpoint,
    InstallChildSa,
    InstallPolicy,
    UpdateChildSa,
)
from vicid.ike.ts import IPPROTO_ICMP, IPPROTO_ICMPV6, TrafficSelector
from vicid.ike.wire.enums import ProtocolId
from vicid.kernel.port import KernelAcquire, KernelExpire, SaUsage
from vicid.kernel.selector import direction_selectors, policy_priority

ACQUIRE_HOLDOFF = 30.0  # seconds between acquires for one reqid (the kernel's xfrm_acq_expires)
SEQ_LIMIT_32 = (1 << 32) - 1
SEQ_LIMIT_64 = (1 << 64) - 1

Rng = Callable[[int], bytes]


class SadbError(Exception):
    """An effect the tables cannot apply (the port turns it into KernelError)."""


@dataclass
class Lifetimes:
    """Soft (rekey) and hard (delete) limits; 0 means none."""

    soft_time: float = 0
    hard_time: float = 0
    soft_bytes: int = 0
    hard_bytes: int = 0
    soft_packets: int = 0
    hard_packets: int = 0


@dataclass(eq=False)
class SaEntry:
    """One installed SA with its crypto state, counters and lifetimes."""

    spi: int
    inbound: bool
    reqid: int
    mode: str
    src: Endpoint
    dst: Endpoint
    encap: bool
    crypto: EspCrypto
    installed: float
    lifetimes: Lifetimes
    local_ts: tuple[TrafficSelector, ...] = ()
    remote_ts: tuple[TrafficSelector, ...] = ()
    replay: ReplayWindow | None = None
    seq: int = 0  # outbound: last sequence number sent
    iv_mask: int = 0  # outbound: hides the raw counter in counter-mode IVs
    bytes: int = 0
    packets: int = 0
    last_use: float | None = None
    soft_done: bool = False
    child_uniqueid: int = 0
    order: int = 0

    def __repr__(self) -> str:
        way = "in" if self.inbound else "out"
        return f"<SaEntry {self.spi:08x} {way} reqid={self.reqid} {self.crypto!r}>"

    def next_seq(self) -> int:
        """The sequence number of the next outbound packet; it never cycles (RFC 4303 §3.3.3)."""
        limit = SEQ_LIMIT_64 if self.crypto.esn else SEQ_LIMIT_32
        if self.seq >= limit:
            raise EspError("seq_exhausted", f"SA {self.spi:08x} used all sequence numbers")
        self.seq += 1
        return self.seq

    def usage(self, now: float) -> SaUsage:
        idle = None if self.last_use is None else max(0.0, now - self.last_use)
        return SaUsage(self.bytes, self.packets, idle)


@dataclass(eq=False)
class PolicyEntry:
    """One policy slot (direction + selectors + kind) and the installs that share it."""

    direction: Direction
    local_ts: TrafficSelector
    remote_ts: TrafficSelector
    kind: str
    installs: list[InstallPolicy] = field(default_factory=list)
    order: int = 0

    @property
    def active(self) -> InstallPolicy:
        """The install that decides (lowest priority value; newest among equals)."""
        return min(reversed(self.installs), key=self.priority_of)

    def priority_of(self, p: InstallPolicy) -> int:
        return policy_priority(p.direction, p.local_ts, p.remote_ts, p.kind, p.priority)

    @property
    def priority(self) -> int:
        return self.priority_of(self.active)

    @property
    def reqid(self) -> int:
        return self.active.reqid

    def matches(self, flow: Flow) -> bool:
        src_ts, dst_ts = direction_selectors(self.direction, self.local_ts, self.remote_ts)
        return ts_match(src_ts, flow.src, flow.sport, flow.proto) and \
            ts_match(dst_ts, flow.dst, flow.dport, flow.proto)


def ts_match(ts: TrafficSelector, addr: bytes, port: int, proto: int) -> bool:
    """Whether one end of a packet falls into TS (address range, protocol, port range)."""
    if not ts.includes(addr):
        return False
    if ts.protocol and ts.protocol != proto:
        return False
    if ts.is_any_port or ts.is_opaque:
        return True
    if proto in (IPPROTO_ICMP, IPPROTO_ICMPV6) or ts.protocol:
        return ts.from_port <= port <= ts.to_port
    return False  # a port range on a TS without protocol matches nothing


def flow_in_ts(flow: Flow, src_list: tuple[TrafficSelector, ...], dst_list: tuple[TrafficSelector, ...]) -> bool:
    return any(ts_match(s, flow.src, flow.sport, flow.proto) for s in src_list) and \
        any(ts_match(d, flow.dst, flow.dport, flow.proto) for d in dst_list)


def _policy_key(direction: Direction, local_ts: object, remote_ts: object, kind: str) -> tuple:
    def key(ts: object) -> object:
        return ts.sort_key() if isinstance(ts, TrafficSelector) else ts
    return (direction, key(local_ts), key(remote_ts), kind)


class Sadb:
    """SAs by SPI and policies by selector; the forwarder's only source of truth."""

    def __init__(self, rng: Rng) -> None:
        self._rng = rng
        self.inbound: dict[int, SaEntry] = {}
        self.outbound: dict[tuple[int, object], SaEntry] = {}  # (spi, dst address)
        self.policies: dict[tuple, PolicyEntry] = {}
        self._order = itertools.count(1)
        self._acquired: dict[int, float] = {}  # reqid -> time of the last acquire

    # --- SAs --------------------------------------------------------------------------------------
    def install_sa(self, eff: InstallChildSa, now: float) -> SaEntry:
        if eff.protocol != ProtocolId.ESP:
            raise SadbError(f"SA {eff.spi:08x}: only ESP is supported")
        if eff.mode not in ("TUNNEL", "TRANSPORT"):
            raise SadbError(f"SA {eff.spi:08x}: mode {eff.mode} is not supported")
        try:
            crypto = EspCrypto(eff.keys)
        except EspError as exc:
            raise SadbError(f"SA {eff.spi:08x}: {exc}") from None
        entry = SaEntry(
            eff.spi, eff.inbound, eff.reqid, eff.mode, eff.src, eff.dst, eff.encap, crypto, now,
            Lifetimes(eff.lifetime_soft, eff.lifetime_hard, eff.bytes_soft, eff.bytes_hard,
                      eff.packets_soft, eff.packets_hard),
            tuple(eff.local_ts), tuple(eff.remote_ts),
            child_uniqueid=eff.child_uniqueid, order=next(self._order))
        if eff.inbound:
            if eff.spi in self.inbound:
                raise SadbError(f"inbound SA {eff.spi:08x} exists already")
            entry.replay = ReplayWindow(eff.replay_window, crypto.esn)
            self.inbound[eff.spi] = entry
        else:
            entry.iv_mask = int.from_bytes(self._rng(8), "big")
            self.outbound[(eff.spi, eff.dst[0])] = entry
            self._acquired.pop(eff.reqid, None)
        return entry

    def find(self, spi: int, inbound: bool | None = None, dst: object = None) -> SaEntry | None:
        if inbound in (None, True) and spi in self.inbound:
            entry = self.inbound[spi]
            if dst is None or entry.dst[0] == dst:
                return entry
        if inbound in (None, False):
            for (o_spi, o_dst), entry in self.outbound.items():
                if o_spi == spi and (dst is None or o_dst == dst):
                    return entry
        return None

    def update_sa(self, eff: UpdateChildSa) -> SaEntry:
        entry = self.find(eff.spi, dst=eff.old_dst[0])
        if entry is None:
            raise SadbError(f"no SA {eff.spi:08x} to update")
        if not entry.inbound:
            del self.outbound[(entry.spi, entry.dst[0])]
        entry.src, entry.dst, entry.encap = eff.src, eff.dst, eff.encap
        if not entry.inbound:
            self.outbound[(entry.spi, entry.dst[0])] = entry
        return entry

    def delete_sa(self, eff: DeleteChildSa) -> SaEntry | None:
        """Remove an SA; an SA that is gone already (hard expire) is fine."""
        if eff.inbound:
            return self.inbound.pop(eff.spi, None)
        entry = self.find(eff.spi, inbound=False, dst=eff.dst[0]) or self.find(eff.spi, inbound=False)
        if entry is not None:
            del self.outbound[(entry.spi, entry.dst[0])]
        return entry

    def outbound_sa(self, reqid: int) -> SaEntry | None:
        """The newest outbound SA of REQID (a rekey installs the new one before deleting)."""
        found = [sa for sa in self.outbound.values() if sa.reqid == reqid]
        return max(found, key=lambda sa: sa.order) if found else None

    # --- policies -------------------------------------------------------------------------------
    def install_policy(self, eff: InstallPolicy) -> PolicyEntry:
        if not isinstance(eff.local_ts, TrafficSelector) or not isinstance(eff.remote_ts, TrafficSelector):
            raise SadbError("a policy needs traffic selectors")
        key = _policy_key(eff.direction, eff.local_ts, eff.remote_ts, eff.kind)
        entry = self.policies.get(key)
        if entry is None:
            entry = self.policies[key] = PolicyEntry(eff.direction, eff.local_ts, eff.remote_ts, eff.kind,
                                                     order=next(self._order))
        entry.installs.append(eff)
        return entry

    def delete_policy(self, eff: DeletePolicy) -> PolicyEntry | None:
        """Drop one reference; returns the entry if that was the last one."""
        key = _policy_key(eff.direction, eff.local_ts, eff.remote_ts, eff.kind)
        entry = self.policies.get(key)
        if entry is None:
            return None
        same = [p for p in entry.installs if p.reqid == eff.reqid] or entry.installs
        entry.installs.remove(same[-1])
        if entry.installs:
            return None
        del self.policies[key]
        return entry

    def lookup_policy(self, flow: Flow, direction: Direction = Direction.OUT) -> PolicyEntry | None:
        candidates = [p for p in self.policies.values() if p.direction == direction and p.matches(flow)]
        return min(candidates, key=lambda p: (p.priority, p.order)) if candidates else None

    def inbound_allowed(self, sa: SaEntry, flow: Flow) -> bool:
        """Decrypted traffic must match the SA's selectors (else an IN policy of its reqid)."""
        if sa.local_ts and sa.remote_ts:
            return flow_in_ts(flow, sa.remote_ts, sa.local_ts)
        return any(p.direction == Direction.IN and p.kind == "ipsec" and p.reqid == sa.reqid and p.matches(flow)
                   for p in self.policies.values())

    def acquire(self, policy: PolicyEntry, flow: Flow, now: float) -> KernelAcquire | None:
        """An acquire for a policy without SA, at most one per reqid per ACQUIRE_HOLDOFF."""
        reqid = policy.reqid
        last = self._acquired.get(reqid)
        if last is not None and now - last < ACQUIRE_HOLDOFF:
            return None
        self._acquired[reqid] = now
        return KernelAcquire(reqid, _host_ts(flow.src, flow.proto, flow.sport),
                             _host_ts(flow.dst, flow.proto, flow.dport))

    # --- counters and lifetimes -----------------------------------------------------------------
    def account(self, sa: SaEntry, nbytes: int, now: float) -> list[KernelExpire]:
        """Count one packet of NBYTES (inner) on SA; returns byte/packet expiries now due."""
        sa.bytes += nbytes
        sa.packets += 1
        sa.last_use = now
        return self._check(sa, now)

    def _check(self, sa: SaEntry, now: float) -> list[KernelExpire]:
        lt, age = sa.lifetimes, now - sa.installed
        if _over(lt.hard_time, age) or _over(lt.hard_bytes, sa.bytes) or _over(lt.hard_packets, sa.packets):
            self._remove(sa)
            return [self._expire(sa, True)]
        if not sa.soft_done and (_over(lt.soft_time, age) or _over(lt.soft_bytes, sa.bytes)
                                 or _over(lt.soft_packets, sa.packets)):
            sa.soft_done = True
            return [self._expire(sa, False)]
        return []

    def _remove(self, sa: SaEntry) -> None:
        if sa.inbound:
            self.inbound.pop(sa.spi, None)
        else:
            self.outbound.pop((sa.spi, sa.dst[0]), None)

    @staticmethod
    def _expire(sa: SaEntry, hard: bool) -> KernelExpire:
        return KernelExpire(sa.spi, hard, ProtocolId.ESP, sa.dst[0], sa.reqid)

    def expire_due(self, now: float) -> list[KernelExpire]:
        """Time-based expiries due at NOW (call when :meth:`next_deadline` passes)."""
        events: list[KernelExpire] = []
        for sa in [*self.inbound.values(), *self.outbound.values()]:
            events += self._check(sa, now)
        return events

    def next_deadline(self) -> float | None:
        times = []
        for sa in [*self.inbound.values(), *self.outbound.values()]:
            lt = sa.lifetimes
            if lt.hard_time:
                times.append(sa.installed + lt.hard_time)
            if lt.soft_time and not sa.soft_done:
                times.append(sa.installed + lt.soft_time)
        return min(times) if times else None


def _over(limit: float, value: float) -> bool:
    return bool(limit) and value >= limit


def _host_ts(addr: bytes, proto: int, port: int) -> TrafficSelector:
    if proto in (IPPROTO_ICMP, IPPROTO_ICMPV6) or not port:
        return TrafficSelector.from_range(addr, addr, proto)
    return TrafficSelector.from_range(addr, addr, proto, port, port)
