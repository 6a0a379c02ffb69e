"""What every IKE_SA of one engine shares: settings, injected services, the ordered effect
queue, drop counters and the allocators for unique IDs, reqids and SPIs."""

from __future__ import annotations

import heapq
import itertools
import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from vicid.creds.store import CredStore
from vicid.ike.config import PeerConfig
from vicid.ike.effects import Effect, InstallChildSa
from vicid.ike.fetch_table import FetchTable
from vicid.ike.ke import KeRegistry
from vicid.ike.log_mirror import stdlib_logs
from vicid.ike.rng import Rng
from vicid.ike.settings import EngineSettings

log = logging.getLogger("vicid.ike.manager")


@dataclass
class ReqidAllocator:
    """charon's reqid handling: identical selectors share a reqid, refcounted, from 1."""

    next_reqid: int = 1
    _by_key: dict[tuple, tuple[int, int]] = field(default_factory=dict)

    def acquire(self, key: tuple) -> int:
        reqid, refs = self._by_key.get(key, (0, 0))
        if not reqid:
            reqid, self.next_reqid = self.next_reqid, self.next_reqid + 1
        self._by_key[key] = (reqid, refs + 1)
        return reqid

    def ref(self, reqid: int) -> None:
        """``ref_reqid``: one more user of an allocated reqid (a rekeyed CHILD_SA)."""
        for key, (rid, refs) in self._by_key.items():
            if rid == reqid:
                self._by_key[key] = (rid, refs + 1)
                return

    def release(self, reqid: int) -> None:
        for key, (rid, refs) in list(self._by_key.items()):
            if rid == reqid:
                if refs <= 1:
                    del self._by_key[key]
                else:
                    self._by_key[key] = (rid, refs - 1)
                return


def _no_task_manager(_sa: object) -> None:
    raise RuntimeError("an IKE_SA needs a task manager: IkeSaManager sets EngineContext.new_task_manager")


@dataclass
class EngineContext:
    settings: EngineSettings
    ke: KeRegistry
    rng: Rng
    peers: Callable[[], Iterable[PeerConfig]]
    creds: CredStore
    effects: list[Effect] = field(default_factory=list)
    drops: Counter[str] = field(default_factory=Counter)
    reqids: ReqidAllocator = field(default_factory=ReqidAllocator)
    next_ike_uniqueid: int = 1
    next_child_uniqueid: int = 1
    ike_spis: set[bytes] = field(default_factory=set)
    child_spis: set[bytes] = field(default_factory=set)
    natd_key: bytes = b""  # keys the faked NAT-D source address (stable per run)
    has_contact: Callable[[object, object, object], bool] = lambda _a, _b, _c: False
    check_uniqueness: Callable[[object, bool], bool] = lambda _sa, _force: False
    credmgr: Any = None  # vicid.creds.manager.CredentialManager (created over creds if None)
    attributes: Any = None  # vicid.ike.attributes.AttributeProvider: virtual IP pools, attributes
    register_sa: Callable[[object], None] = lambda _sa: None  # check a new IKE_SA in (manager)
    # a new, registered initiator IKE_SA for (peer, my host, other host, use configured ports)
    new_initiator: Callable[..., object] = lambda *_a: None
    # the task manager of a new IKE_SA (the manager sets TaskManager, which sits above the IKE_SA)
    new_task_manager: Callable[[Any], Any] = field(default=_no_task_manager)
    install_trap: Callable[[object, object], None] = lambda _p, _c: None
    fetches: FetchTable = field(default_factory=FetchTable)  # revocation fetches the shell runs
    jobs: list[tuple[float, int, object]] = field(default_factory=list)  # heap of scheduled jobs
    _job_seq: itertools.count = field(default_factory=itertools.count)

    def schedule(self, when: float, job: object) -> None:
        """charon's scheduler: ``job`` (see :mod:`vicid.ike.jobs`) runs at ``when``."""
        heapq.heappush(self.jobs, (when, next(self._job_seq), job))

    def next_job(self) -> float | None:
        return self.jobs[0][0] if self.jobs else None

    def due_jobs(self, now: float) -> list[object]:
        due = []
        while self.jobs and self.jobs[0][0] <= now:
            due.append(heapq.heappop(self.jobs)[2])
        return due
    # what the shell's IPsec backend needs (charon's kernel features)
    kernel_requires_udp_encap: bool = False  # kernel-libipsec: fake NAT so ESP goes in UDP
    install_sa: Callable[[InstallChildSa], str | None] | None = None  # installs at once; why not
    query_inbound_use: bool = False  # the shell answers QueryInboundUse (DPD counts ESP traffic)
    # What the shell consumes, so nothing is built for nobody (the defaults take everything):
    # Log effects up to this level (the most verbose control-log waiting; -1: none waits) ...
    control_log_level: int = 4
    # ... and the events someone listens to (by Event subclass)
    wants_event: Callable[[type], bool] = lambda _kind: True
    # IKE_SAs that logged or raised an event (whether or not anyone took it): the manager's
    # index re-reads them, as it re-reads those named by an effect
    touched: set[int] = field(default_factory=set)

    def emit(self, effect: Effect) -> None:
        self.effects.append(effect)

    def logs(self, group: str, level: int) -> bool:
        """Is a log line of this group and level wanted (control-log or a logger)?"""
        return level <= self.control_log_level or stdlib_logs(group, level)

    def install(self, effect: InstallChildSa) -> str | None:
        """Install one SA; None on success, else the backend's reason.

        A failed install must shape the reply (charon answers NO_PROPOSAL_CHOSEN), so the shell
        may install SAs synchronously through ``install_sa``; without it the SA is queued as an
        effect like any other kernel change and assumed to succeed.
        """
        if self.install_sa is None:
            self.emit(effect)
            return None
        return self.install_sa(effect)

    def drop(self, reason: str) -> None:
        self.drops[reason] += 1
        log.debug("packet_dropped reason=%s", reason)

    def ike_uniqueid(self) -> int:
        uid, self.next_ike_uniqueid = self.next_ike_uniqueid, self.next_ike_uniqueid + 1
        return uid

    def child_uniqueid(self) -> int:
        uid, self.next_child_uniqueid = self.next_child_uniqueid, self.next_child_uniqueid + 1
        return uid

    def alloc_ike_spi(self) -> bytes:
        """A fresh, non-zero IKE SPI (RFC 7296 §2.6) not used by any of our IKE_SAs."""
        while True:
            spi = self.rng.bytes(8)
            if any(spi) and spi not in self.ike_spis:
                self.ike_spis.add(spi)
                return spi

    def alloc_child_spi(self) -> bytes:
        """An inbound ESP/AH SPI in [spi_min, spi_max] (charon's kernel-netlink range)."""
        lo, hi = self.settings.spi_min, self.settings.spi_max
        span = max(hi - lo, 0) + 1
        while True:
            value = lo + int.from_bytes(self.rng.bytes(4), "big") % span
            spi = value.to_bytes(4, "big")
            if value >= 256 and spi not in self.child_spis:  # RFC 4303 §2.1: 1-255 reserved
                self.child_spis.add(spi)
                return spi

    def free_child_spi(self, spi: bytes) -> None:
        self.child_spis.discard(spi)

    def child_spi_allocated(self, spi: int) -> bool:
        """Is SPI one we handed out for an inbound SA (installed or still being negotiated)?"""
        return spi.to_bytes(4, "big") in self.child_spis
