"""Userspace SA and policy tables, fed by the same effects as the kernel port. Pure.

Inbound SAs are found by SPI; outbound traffic by its 5-tuple against the OUT policies in
priority order (charon's automatic priorities, :mod:`vicid.kernel.selector`), then the newest
outbound SA of the policy's reqid. Policies are reference counted per (direction, selectors,
kind) like charon's kernel backends, so a rekeyed CHILD_SA installs its copy before the old one
removes its own. Lifetimes count from installation (charon asks XFRM for add-time lifetimes);
every method takes ``now`` and returns the :class:`~vicid.kernel.port.KernelExpire` events due.
"""

from __future__ import annotations

import heapq
import itertools
import math
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

FLOW_CACHE = 4096  # flows whose policy lookup is remembered
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
    watch: tuple[float, float, float] | None = None  # next byte/packet/age limits (account())
    allowed: tuple | None = None  # inbound: the last flow found inside the selectors
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
    # derived once per change of ``installs`` (:meth:`refresh`), not per packet
    _active: InstallPolicy | None = field(default=None, repr=False)
    _priority: int = field(default=0, repr=False)
    _selectors: tuple[TrafficSelector, TrafficSelector] | None = field(default=None, repr=False)

    def refresh(self) -> None:
        """Recompute the deciding install; call after ``installs`` changed."""
        self._active = min(reversed(self.installs), key=self.priority_of) if self.installs else None
        self._priority = self.priority_of(self._active) if self._active else 0

    def added(self, install: InstallPolicy) -> None:
        """``install`` was just appended: it decides if its priority is no worse (newest among
        equals), else the decision stands; O(1), where refresh() looks at every install."""
        if self._active is None or len(self.installs) == 1:
            self.refresh()
            return
        priority = self.priority_of(install)
        if priority <= self._priority:
            self._active, self._priority = install, priority

    @property
    def active(self) -> InstallPolicy:
        """The install that decides (lowest priority value; newest among equals)."""
        if self._active is None:
            self.refresh()
        return self._active

    def priority_of(self, p: InstallPolicy) -> int:
        return policy_priority(p.direction, p.local_ts, p.remote_ts, p.kind, p.priority)

    @property
    def priority(self) -> int:
        if self._active is None:
            self.refresh()
        return self._priority

    @property
    def reqid(self) -> int:
        return self.active.reqid

    def matches(self, flow: Flow) -> bool:
        if self._selectors is None:
            self._selectors = direction_selectors(self.direction, self.local_ts, self.remote_ts)
        src_ts, dst_ts = self._selectors
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
        # indexes so that nothing per SA scans every SA (10k-100k SAs): outbound SAs by SPI
        # alone (list-sas asks without a destination) and time lifetimes as a lazy heap
        self._out_by_spi: dict[int, list[SaEntry]] = {}
        self._lifetimes: list[tuple[float, int, SaEntry]] = []
        # per packet: outbound SAs by reqid, and the OUT policy of each flow seen (cleared
        # whenever a policy comes or goes, so it never answers with a stale policy)
        self._out_by_reqid: dict[int, list[SaEntry]] = {}
        self._flow_policy: dict[tuple, PolicyEntry | None] = {}

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
            self._put_out(entry)
            self._acquired.pop(eff.reqid, None)
        lt = entry.lifetimes
        for limit in (lt.soft_time, lt.hard_time):
            if limit:
                heapq.heappush(self._lifetimes, (now + limit, entry.order, entry))
        return entry

    def _put_out(self, entry: SaEntry) -> None:
        self.outbound[(entry.spi, entry.dst[0])] = entry
        self._out_by_spi.setdefault(entry.spi, []).append(entry)
        self._out_by_reqid.setdefault(entry.reqid, []).append(entry)

    def _pop_out(self, entry: SaEntry) -> None:
        if self.outbound.get((entry.spi, entry.dst[0])) is entry:
            del self.outbound[(entry.spi, entry.dst[0])]
        for index, key in ((self._out_by_spi, entry.spi), (self._out_by_reqid, entry.reqid)):
            same = index.get(key, [])
            if entry in same:
                same.remove(entry)
                if not same:
                    del index[key]

    def _installed(self, sa: SaEntry) -> bool:
        if sa.inbound:
            return self.inbound.get(sa.spi) is sa
        return self.outbound.get((sa.spi, sa.dst[0])) is sa

    def find(self, spi: int, inbound: bool | None = None, dst: object = None) -> SaEntry | None:
        if inbound in (None, True) and spi in self.inbound:
            entry = self.inbound[spi]
            if dst is None or entry.dst[0] == dst:
                return entry
        if inbound in (None, False):
            if dst is not None:
                return self.outbound.get((spi, dst))
            same = self._out_by_spi.get(spi)
            if same:  # the first installed, as a scan of the table in insertion order finds it
                return min(same, key=lambda e: e.order)
        return None

    def update_sa(self, eff: UpdateChildSa) -> SaEntry:
        entry = self.find(eff.spi, dst=eff.old_dst[0])
        if entry is None:
            raise SadbError(f"no SA {eff.spi:08x} to update")
        if not entry.inbound:
            self._pop_out(entry)
        entry.src, entry.dst, entry.encap = eff.src, eff.dst, eff.encap
        if not entry.inbound:
            self._put_out(entry)
        return entry

    def delete_sa(self, eff: DeleteChildSa) -> SaEntry | None:
        """Remove an SA; an SA that is gone already (hard expire) is fine."""
        if eff.inbound:
            return self.inbound.pop(eff.spi, None)
        entry = self.find(eff.spi, inbound=False, dst=eff.dst[0]) or self.find(eff.spi, inbound=False)
        if entry is not None:
            self._pop_out(entry)
        return entry

    def outbound_sa(self, reqid: int) -> SaEntry | None:
        """The newest outbound SA of REQID (a rekey installs the new one before deleting)."""
        found = self._out_by_reqid.get(reqid)
        if not found:
            return None
        return found[0] if len(found) == 1 else max(found, key=lambda sa: sa.order)

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
        entry.added(eff)
        self._flow_policy.clear()
        return entry

    def delete_policy(self, eff: DeletePolicy) -> PolicyEntry | None:
        """Drop one reference; returns the entry if that was the last one."""
        key = _policy_key(eff.direction, eff.local_ts, eff.remote_ts, eff.kind)
        entry = self.policies.get(key)
        if entry is None:
            return None
        same = [p for p in entry.installs if p.reqid == eff.reqid] or entry.installs
        entry.installs.remove(same[-1])
        self._flow_policy.clear()
        if entry.installs:
            entry.refresh()
            return None
        del self.policies[key]
        return entry

    def lookup_policy(self, flow: Flow, direction: Direction = Direction.OUT) -> PolicyEntry | None:
        """The policy with the lowest priority value (oldest among equals) that FLOW matches."""
        key = (direction, flow.src, flow.dst, flow.proto, flow.sport, flow.dport)
        try:
            return self._flow_policy[key]
        except KeyError:
            pass
        candidates = [p for p in self.policies.values() if p.direction == direction and p.matches(flow)]
        found = min(candidates, key=lambda p: (p.priority, p.order)) if candidates else None
        if len(self._flow_policy) >= FLOW_CACHE:  # a scan or a flood: start over
            self._flow_policy.clear()
        self._flow_policy[key] = found
        return found

    def inbound_allowed(self, sa: SaEntry, flow: Flow) -> bool:
        """Decrypted traffic must match the SA's selectors (else an IN policy of its reqid)."""
        if sa.local_ts and sa.remote_ts:
            key = flow[1:6]  # src, dst, proto, sport, dport: a bulk transfer repeats one flow
            if key == sa.allowed:
                return True
            if flow_in_ts(flow, sa.remote_ts, sa.local_ts):
                sa.allowed = key
                return True
            return False
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
        watch = sa.watch
        if watch is None:
            watch = sa.watch = _watch(sa.lifetimes, sa.soft_done)
        # per packet only three comparisons; the full check when a limit may have been reached
        if sa.bytes < watch[0] and sa.packets < watch[1] and now - sa.installed < watch[2]:
            return []
        events = self._check(sa, now)
        sa.watch = None
        return events

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
            self._pop_out(sa)

    @staticmethod
    def _expire(sa: SaEntry, hard: bool) -> KernelExpire:
        return KernelExpire(sa.spi, hard, ProtocolId.ESP, sa.dst[0], sa.reqid)

    def expire_due(self, now: float) -> list[KernelExpire]:
        """Time-based expiries due at NOW (call when :meth:`next_deadline` passes)."""
        events: list[KernelExpire] = []
        heap, checked = self._lifetimes, set()
        while heap and heap[0][0] <= now:
            _, _, sa = heapq.heappop(heap)
            if self._installed(sa) and id(sa) not in checked:  # removed SAs leave stale entries
                checked.add(id(sa))
                events += self._check(sa, now)
        return events

    def next_deadline(self) -> float | None:
        heap = self._lifetimes
        while heap and not self._installed(heap[0][2]):
            heapq.heappop(heap)
        return heap[0][0] if heap else None


def _over(limit: float, value: float) -> bool:
    return bool(limit) and value >= limit


def _watch(lt: Lifetimes, soft_done: bool) -> tuple[float, float, float]:
    """The lowest byte, packet and age limits still to come (inf where none)."""
    def lowest(hard: float, soft: float) -> float:
        return min((x for x in (hard, 0 if soft_done else soft) if x), default=math.inf)
    return (lowest(lt.hard_bytes, lt.soft_bytes), lowest(lt.hard_packets, lt.soft_packets),
            lowest(lt.hard_time, lt.soft_time))


def _host_ts(addr: bytes, proto: int, port: int) -> TrafficSelector:
    if proto in (IPPROTO_ICMP, IPPROTO_ICMPV6) or not port:
        return TrafficSelector.from_range(addr, addr, proto)
    return TrafficSelector.from_range(addr, addr, proto, port, port)
