"""IkeSaManager: the engine's front door (charon's receiver + ``ike_sa_manager.c``), sans I/O.

For every datagram: strip the non-ESP marker (UDP 4500), decode the header and the clear
payloads, then either route it by our SPI to its IKE_SA or - for a new IKE_SA_INIT request -
apply the DoS rules (COOKIE above ``cookie_threshold``, half-open limits) before creating one.
Anything that cannot be decoded, decrypted or routed is dropped and counted in ``drops``; it
never raises and never changes an IKE_SA. The only unprotected replies are those RFC 7296
allows: COOKIE / NO_PROPOSAL_CHOSEN for IKE_SA_INIT (§2.6, §2.21.1) and a rate-limited
INVALID_IKE_SPI (§2.21.4), each built by one named function below.
"""

from __future__ import annotations

import dataclasses
import hashlib
import heapq
import logging
from collections import Counter
from collections.abc import Callable, Iterable, KeysView

from vicid.creds.store import CredStore
from vicid.identity import Identification, IdKind, iter_rdns
from vicid.ike import fetch, jobs
from vicid.ike.child import ChildSa
from vicid.ike.config import AuthRule, ChildConfig, PeerConfig, UniquePolicy
from vicid.ike.context import EngineContext
from vicid.ike.controller import InitiateListener, TerminateChildListener, TerminateIkeListener
from vicid.ike.cookies import CookieJar, CookiePolicy
from vicid.ike.effects import Alert, Completed, Effect, Endpoint, IkeSaView, SendDatagram
from vicid.ike.ke import KeRegistry
from vicid.ike.kernel_events import KernelAcquire, KernelExpire
from vicid.ike.log_mirror import stdlib_log
from vicid.ike.rng import Rng
from vicid.ike.sa import IkeSa
from vicid.ike.sa_state import IkeState
from vicid.ike.settings import EngineSettings
from vicid.ike.task_manager import TaskManager
from vicid.ike.tasks.base import Status, TaskKind
from vicid.ike.traps import TrapTable
from vicid.ike.traps import endpoint_of as _endpoint
from vicid.ike.wire.buffer import DecodeError
from vicid.ike.wire.enums import ExchangeType, NotifyType
from vicid.ike.wire.errors import IkeProtocolError, InvalidSyntax
from vicid.ike.wire.header import IKEV2_MAJOR, ZERO_SPI, IkeHeader, decode_header_at
from vicid.ike.wire.message import Message, decode_message, encode_message, validate
from vicid.ike.wire.natt import IKE_PORT, NATT_KEEPALIVE, NON_ESP_MARKER, add_non_esp_marker
from vicid.ike.wire.notify import NotifyPayload

log = logging.getLogger("vicid.ike.manager")
E = ExchangeType
_HALF_OPEN = (IkeState.CREATED, IkeState.CONNECTING)
_UNUSABLE = (IkeState.DELETING, IkeState.REKEYED, IkeState.DESTROYING)


class _Drop(Exception):
    """A datagram the manager refuses; the reason becomes a ``drops`` key."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class IkeSaManager:
    """All IKE_SAs of one daemon; every input takes ``now``, outputs come from :meth:`drain`."""

    def __init__(self, settings: EngineSettings, ke: KeRegistry, rng: Rng,
                 peers: Callable[[], Iterable[PeerConfig]], creds: CredStore) -> None:
        self.ctx = EngineContext(settings, ke, rng, peers, creds, natd_key=rng.bytes(16))
        self.ctx.has_contact = self._has_contact
        self.ctx.check_uniqueness = self._check_uniqueness
        self.ctx.register_sa = self._register_new
        self.ctx.new_initiator = self._new_initiator
        self.ctx.new_task_manager = TaskManager
        self.ctx.install_trap = self.install_trap
        self.traps = TrapTable(self.ctx)
        self._now = 0.0
        self._sas: dict[int, IkeSa] = {}
        self._by_spi: dict[bytes, IkeSa] = {}
        self._init_hashes: dict[bytes, IkeSa] = {}
        self._cookies = CookieJar(rng)
        threshold = settings.cookie_threshold if settings.dos_protection else 0
        threshold_ip = settings.cookie_threshold_ip if settings.dos_protection else 0
        self._cookie_policy = CookiePolicy(threshold, threshold_ip)
        self._spi_tokens = float(settings.invalid_ike_spi_rate)
        self._spi_refill = 0.0
        self._index = _SaIndex()

    # --- the SA index: keeps per-datagram work independent of the number of IKE_SAs -----------
    def _sync(self) -> None:
        """Refresh the index for every IKE_SA that changed since the last sync: those an input
        was handed to (``_index.dirty``) and those that emitted an effect (each state change,
        message sent and timer scheduled logs a line naming its IKE_SA)."""
        index, effects = self._index, self.ctx.effects
        if index.synced > len(effects):
            index.synced = 0
        for effect in effects[index.synced:]:
            kind = type(effect)
            names = _NAMING.get(kind)
            if names is None:
                names = _NAMING[kind] = _naming_attrs(kind)
            for attr in names:
                if attr == "ike_uniqueid":
                    uid = getattr(effect, attr, 0)
                    if uid:
                        index.dirty.add(uid)
                    continue
                view = getattr(effect, attr, None)
                if view is not None and hasattr(view, "uniqueid"):
                    index.dirty.add(view.uniqueid)
        index.synced = len(effects)
        if self.ctx.touched:  # SAs that logged (whether or not the line was kept) or raised events
            index.dirty |= self.ctx.touched
            self.ctx.touched.clear()
        dirty, index.dirty = index.dirty, set()
        for uid in dirty:
            sa = self._sas.get(uid)
            if sa is not None:
                index.refresh(sa)

    def _resync_all(self, now: float) -> None:
        """Safety net, every RESYNC seconds of input: re-read every IKE_SA."""
        if now < self._index.next_resync:
            return
        self._index.next_resync = now + _RESYNC
        self._index.dirty.update(self._sas)
        self._sync()

    @property
    def drops(self) -> Counter[str]:
        return self.ctx.drops

    # --- datagrams ----------------------------------------------------------------------------
    def receive_datagram(self, data: bytes, src: Endpoint, dst: Endpoint, now: float) -> None:
        """One UDP payload as received (with the non-ESP marker on port 4500)."""
        self._resync_all(now)
        try:
            self._receive(bytes(data), src, dst, now)
        except _Drop as drop:
            self.ctx.drop(drop.reason)
        except Exception:  # a bug must not take the daemon down; it is counted and logged
            log.exception("internal error processing datagram from %s", src)
            self.ctx.drop("internal_error")

    def _receive(self, data: bytes, src: Endpoint, dst: Endpoint, now: float) -> None:
        data = self._strip_marker(data, src, dst)
        header, clear = self._decode(data)
        if header.exchange_type == E.IKE_SA_INIT and not header.is_response:
            if not header.is_initiator:
                raise _Drop("bad_flags")
            if header.message_id == 0 and header.spi_r == ZERO_SPI:
                return self._ike_sa_init(data, clear, src, dst, now)
        sa = self._route(header)
        if sa is None:
            self.ctx.emit(Alert("invalid-ike-spi"))
            self._invalid_ike_spi(header, src, dst, now)
            raise _Drop("unknown_spi")
        self._deliver(sa, data, clear, src, dst, now)

    @staticmethod
    def _strip_marker(data: bytes, src: Endpoint, dst: Endpoint) -> bytes:
        """RFC 3948 §2.2: IKE on 4500 starts with four zero bytes (charon: neither port 500)."""
        if src[1] == IKE_PORT or dst[1] == IKE_PORT:
            return data
        if data == NATT_KEEPALIVE:
            raise _Drop("nat_keepalive")
        if len(data) < 4 or data[:4] != NON_ESP_MARKER:
            raise _Drop("not_ike")
        return data[4:]

    def _decode(self, data: bytes) -> tuple[IkeHeader, Message]:
        try:
            header = decode_header_at(data)
        except DecodeError:
            stdlib_log("NET", 1, "received invalid IKE header - ignored")
            self.ctx.emit(Alert("parse-error-header"))
            raise _Drop("bad_header") from None
        if header.major_version != IKEV2_MAJOR:
            raise _Drop("unsupported_version")
        try:
            return header, decode_message(data, header)
        except DecodeError:
            raise _Drop("undecodable") from None
        except IkeProtocolError:
            raise _Drop("unsupported_critical_payload") from None

    def _route(self, header: IkeHeader) -> IkeSa | None:
        """Our SPI is SPIr if the sender is the original initiator, else SPIi."""
        sa = self._by_spi.get(header.spi_r if header.is_initiator else header.spi_i)
        if sa is None or sa.initiator == header.is_initiator:
            return None
        if sa.initiator:
            if sa.spi_r not in (ZERO_SPI, header.spi_r):
                return None
        elif sa.spi_i != header.spi_i:
            return None
        return sa

    def _deliver(self, sa: IkeSa, data: bytes, clear: Message, src: Endpoint, dst: Endpoint,
                 now: float) -> None:
        if sa.initiator and sa.spi_r == ZERO_SPI and clear.exchange_type == E.IKE_SA_INIT:
            sa.spi_r = clear.header.spi_r
        self._index.dirty.add(sa.uniqueid)
        status = sa.receive(data, clear, src, dst, now)
        self._after(sa, status)

    def _after(self, sa: IkeSa, status: Status) -> None:
        if status is Status.DESTROY_ME and not sa.destroyed:
            self._destroy(sa)

    # --- new IKE_SAs as responder -------------------------------------------------------------
    def _ike_sa_init(self, data: bytes, clear: Message, src: Endpoint, dst: Endpoint, now: float) -> None:
        digest = hashlib.sha1(data, usedforsecurity=False).digest()
        known = self._init_hashes.get(digest)
        if known is not None and not known.destroyed:
            return self._deliver(known, data, clear, src, dst, now)
        try:
            validate(clear)
        except InvalidSyntax:
            raise _Drop("invalid_syntax") from None
        self._dos_checks(clear, src, dst, now)
        cfg = self._ike_config(clear, src, dst)
        sa = IkeSa(self.ctx, initiator=False, spi_i=clear.header.spi_i, spi_r=self.ctx.alloc_ike_spi(),
                   my_host=dst, other_host=src, ike_cfg=cfg, now=now)
        sa.timers.half_open = now + self.ctx.settings.half_open_timeout
        self._register(sa)
        self._init_hashes[digest] = sa
        self._index.init_hash[sa.uniqueid] = digest
        self._deliver(sa, data, clear, src, dst, now)

    def _ike_config(self, clear: Message, src: Endpoint, dst: Endpoint) -> PeerConfig:
        from vicid.ike.config_match import best_ike_config

        cfg = best_ike_config(self.ctx.peers(), dst, src)
        if cfg is None:
            stdlib_log("IKE", 1, f"no IKE config found for {dst[0]}...{src[0]}, sending NO_PROPOSAL_CHOSEN")
            self._unprotected_reply(clear.header, src, dst, NotifyType.NO_PROPOSAL_CHOSEN, b"",
                                    spi_r=self.ctx.rng.bytes(8))
            raise _Drop("no_ike_config")
        return cfg

    def _half_open(self, address: object = None) -> int:
        """Half-open IKE_SAs we respond to (from ``address``), counted by the index."""
        self._sync()
        if address is None:
            return len(self._index.half_open)
        return self._index.half_open_ip[address]

    def _dos_checks(self, clear: Message, src: Endpoint, dst: Endpoint, now: float) -> None:
        """``drop_ike_sa_init``: demand a COOKIE under load, then the half-open limits."""
        settings = self.ctx.settings
        packed = src[0].packed
        if self._cookie_policy.required(self._half_open(), self._half_open(src[0]), packed, now):
            if not self._cookie_valid(clear, packed, now):
                self._send_cookie(clear.header, src, dst, now)
                raise _Drop("cookie_required")
        if settings.dos_protection and settings.block_threshold and \
                self._half_open(src[0]) >= settings.block_threshold:
            stdlib_log("NET", 1, f"ignoring IKE_SA setup from {src[0]}, per-IP half-open IKE_SA "
                                 f"limit of {settings.block_threshold} reached")
            raise _Drop("half_open_limit_ip")
        if settings.init_limit_half_open and self._half_open() >= settings.init_limit_half_open:
            raise _Drop("half_open_limit")
        if settings.ikesa_limit and len(self._sas) >= settings.ikesa_limit:
            raise _Drop("ike_sa_limit")

    def _cookie_valid(self, clear: Message, packed: bytes, now: float) -> bool:
        """The COOKIE must be the first payload (RFC 7296 §2.6)."""
        first = clear.payloads[0] if clear.payloads else None
        if not isinstance(first, NotifyPayload) or first.notify_type != NotifyType.COOKIE or first.spi:
            return False
        return self._cookies.verify(first.data, packed, clear.header.spi_i, now)

    def _send_cookie(self, request: IkeHeader, src: Endpoint, dst: Endpoint, now: float) -> None:
        """RFC 7296 §2.6: ``HDR(A,0), N(COOKIE)`` in reply to an IKE_SA_INIT under load."""
        cookie = self._cookies.make(src[0].packed, request.spi_i, now)
        stdlib_log("NET", 2, f"sending COOKIE notify to {src[0]}")
        self._unprotected_reply(request, src, dst, NotifyType.COOKIE, cookie, spi_r=ZERO_SPI)

    def _unprotected_reply(self, request: IkeHeader, src: Endpoint, dst: Endpoint, ntype: int,
                           data: bytes, *, spi_r: bytes) -> None:
        """IKE_SA_INIT error/COOKIE response in clear (charon receiver ``send_notify``)."""
        header = IkeHeader(request.spi_i, spi_r, 0, E.IKE_SA_INIT, request.message_id,
                           is_initiator=False, is_response=True)
        self._send(encode_message(header, [NotifyPayload(ntype, data)]), dst, src)

    def _invalid_ike_spi(self, request: IkeHeader, src: Endpoint, dst: Endpoint, now: float) -> None:
        """RFC 7296 §2.21.4: an unprotected INVALID_IKE_SPI for requests to unknown SAs,
        at most ``invalid_ike_spi_rate`` per second; never for responses."""
        rate = self.ctx.settings.invalid_ike_spi_rate
        if request.is_response or request.exchange_type == E.IKE_SA_INIT or not rate:
            return
        self._spi_tokens = min(float(rate), self._spi_tokens + (now - self._spi_refill) * rate)
        self._spi_refill = now
        if self._spi_tokens < 1:
            return
        self._spi_tokens -= 1
        header = IkeHeader(request.spi_i, request.spi_r, 0, E.INFORMATIONAL, request.message_id,
                           is_initiator=not request.is_initiator, is_response=True)
        self._send(encode_message(header, [NotifyPayload(NotifyType.INVALID_IKE_SPI)]), dst, src)

    def _send(self, message: bytes, src: Endpoint, dst: Endpoint) -> None:
        marker = src[1] != IKE_PORT and dst[1] != IKE_PORT
        self.ctx.emit(SendDatagram(add_non_esp_marker(message) if marker else message, src, dst))

    # --- table --------------------------------------------------------------------------------
    def _register(self, sa: IkeSa) -> None:
        self._sas[sa.uniqueid] = sa
        self._by_spi[sa.my_spi] = sa

    def _register_new(self, sa: object) -> None:
        """``checkout_new``: an IKE_SA created by another one (rekeying) joins the table."""
        assert isinstance(sa, IkeSa)
        self._register(sa)

    def _new_initiator(self, peer: PeerConfig, my_host: Endpoint, other_host: Endpoint,
                       configured_ports: bool) -> IkeSa:
        """A new registered IKE_SA we initiate (reestablishing, reauthentication)."""
        if configured_ports:
            my_host = (my_host[0], peer.local_port or self.ctx.settings.port)
            other_host = (other_host[0], peer.remote_port or self.ctx.settings.port)
        sa = IkeSa(self.ctx, initiator=True, spi_i=self.ctx.alloc_ike_spi(), spi_r=ZERO_SPI,
                   my_host=my_host, other_host=other_host, peer_cfg=peer, now=self._now)
        self._register(sa)
        return sa
        self._index.refresh(sa)

    def _destroy(self, sa: IkeSa) -> None:
        sa.destroy()
        self.ctx.fetches.forget(sa.uniqueid)
        self._sas.pop(sa.uniqueid, None)
        if self._by_spi.get(sa.my_spi) is sa:
            del self._by_spi[sa.my_spi]
        self.ctx.ike_spis.discard(sa.my_spi)
        digest = self._index.init_hash.pop(sa.uniqueid, None)
        if digest is not None and self._init_hashes.get(digest) is sa:
            del self._init_hashes[digest]
        self._index.forget(sa.uniqueid)

    def _has_contact(self, my_id: object, other_id: object, family: object) -> bool:
        """``has_contact``: an established IKE_SA between these identities exists."""
        if not isinstance(my_id, Identification) or not isinstance(other_id, Identification):
            return False
        self._sync()
        for sa in self._index.contacts.get((_id_key(my_id), _id_key(other_id)), {}).values():
            if sa.state == IkeState.ESTABLISHED and isinstance(my_id, Identification) and \
                    isinstance(other_id, Identification) and sa.my_id.equals(my_id) and \
                    sa.other_id.equals(other_id) and sa.other_host[0].version == family:
                return True
        return False

    def _check_uniqueness(self, sa: object, force_replace: bool) -> bool:
        """``check_uniqueness``: True cancels the new IKE_SA (``unique = keep``)."""
        assert isinstance(sa, IkeSa) and sa.peer_cfg is not None
        policy = sa.peer_cfg.unique
        if policy == UniquePolicy.UNIQUE_NEVER or (policy == UniquePolicy.UNIQUE_NO and not force_replace):
            return False
        cancel = False
        self._sync()  # the identity index, not a scan of every IKE_SA
        bucket = self._index.contacts.get((_id_key(sa.my_id), _id_key(sa.other_id)), {})
        dups = [d for d in bucket.values() if d is not sa and self._duplicate(d, sa)]
        for dup in sorted(dups, key=lambda d: d.uniqueid):  # oldest first, as a scan of the table
            if force_replace:
                dup.log("IKE", 1, f"destroying duplicate IKE_SA for peer '{sa.other_id}', "
                                  "received INITIAL_CONTACT")
                dup.ike_updown(False)
                self._destroy(dup)
            elif dup.peer_cfg == sa.peer_cfg and dup.state in (IkeState.ESTABLISHED, IkeState.REKEYING):
                if policy == UniquePolicy.UNIQUE_REPLACE:
                    self._enforce_replace(dup, sa, sa.now)
                elif policy == UniquePolicy.UNIQUE_KEEP and dup.other_host != sa.other_host:
                    cancel, policy = True, UniquePolicy.UNIQUE_REPLACE
        return cancel

    @staticmethod
    def _duplicate(dup: IkeSa, sa: IkeSa) -> bool:
        return (not dup.destroyed and dup.my_id.equals(sa.my_id) and dup.other_id.equals(sa.other_id)
                and dup.other_host[0].version == sa.other_host[0].version)

    def _enforce_replace(self, dup: IkeSa, sa: IkeSa, now: float) -> None:
        dup.alert("unique-replace")
        if dup.other_host == sa.other_host:  # looks like a reauthentication: delete in 10 s
            dup.timers.delete = now + 10
            dup.log("IKE", 1, f"schedule delete of duplicate IKE_SA for peer '{sa.other_id}' due to "
                              "uniqueness policy and suspected reauthentication")
            return
        dup.log("IKE", 1, f"deleting duplicate IKE_SA for peer '{sa.other_id}' due to uniqueness policy")
        self._after(dup, dup.delete(now))

    # --- control ------------------------------------------------------------------------------
    def _reusable(self, peer: PeerConfig) -> IkeSa | None:
        """``checkout_by_config``: the first IKE_SA with an equal config that is still usable."""
        self._sync()
        key = _cfg_key(peer)
        if key is None:  # an identity we cannot hash: look at every IKE_SA
            candidates = list(self._sas.values())
        else:
            candidates = list(self._index.by_cfg.get(key, {}).values())
            candidates += [self._sas[uid] for uid in self._index.cfg_unhashable if uid in self._sas]
        for sa in sorted(candidates, key=lambda sa: sa.uniqueid):
            if sa.peer_cfg is not None and sa.peer_cfg == peer and sa.state not in _UNUSABLE \
                    and not sa.destroyed and not sa.tm.has(sa.tm.queued, TaskKind.IKE_DELETE):
                return sa
        return None

    def initiate(self, peer: PeerConfig, child: ChildConfig | None, local: Endpoint, remote: Endpoint,
                 now: float, request_id: int | None = None) -> None:
        """vici ``initiate``: reuse an IKE_SA for ``peer`` or create one, then start it."""
        self._now = now
        sa = self._reusable(peer)
        if sa is None:
            sa = IkeSa(self.ctx, initiator=True, spi_i=self.ctx.alloc_ike_spi(), spi_r=ZERO_SPI,
                       my_host=local, other_host=remote, peer_cfg=peer, now=now)
            self._register(sa)
        self._index.dirty.add(sa.uniqueid)
        if request_id is not None:
            kind, name = ("CHILD_SA", child.name) if child else ("IKE_SA", peer.name)
            sa.listeners.append(InitiateListener(self.ctx, request_id, kind, name, child is not None))
        self._after(sa, sa.initiate(child, now))

    def terminate_ike(self, uniqueid: int, now: float, request_id: int | None = None,
                      force: bool = False) -> None:
        sa = self._sas.get(uniqueid)
        if sa is None:
            self._not_found(request_id)
            return
        if request_id is not None:
            sa.listeners.append(TerminateIkeListener(self.ctx, request_id, "terminating SA failed"))
        self._index.dirty.add(sa.uniqueid)
        self._after(sa, sa.delete(now, force))

    def terminate_child(self, child_uniqueid: int, now: float, request_id: int | None = None) -> None:
        for sa in list(self._sas.values()):
            child = next((c for c in sa.children if c.uniqueid == child_uniqueid), None)
            if child is not None:
                if request_id is not None:
                    sa.listeners.append(TerminateChildListener(self.ctx, request_id, "terminating SA failed"))
                self._index.dirty.add(sa.uniqueid)
                self._after(sa, sa.delete_child(child, now))
                return
        self._not_found(request_id)

    def _not_found(self, request_id: int | None) -> None:
        if request_id is not None:
            self.ctx.emit(Completed(request_id, False, "terminating SA failed"))

    # --- timers and outputs -------------------------------------------------------------------
    def handle_timer(self, now: float) -> None:
        self._now = now
        self._sync()
        self._resync_all(now)
        self._run_jobs(now)
        for fetch_id in self.ctx.fetches.expired(now):  # the shell never answered: failed
            stdlib_log("CFG", 1, f"no answer to {fetch.describe(self.ctx.fetches, fetch_id)}, giving up")
            self.fetch_complete(fetch_id, None, now)
        for uid in self._index.due(now):
            sa = self._sas.get(uid)
            if sa is None:
                continue
            self._index.dirty.add(uid)
            deadline = sa.next_deadline()
            if deadline is not None and deadline <= now and not sa.destroyed:
                self._after(sa, sa.handle_timer(now))
        self._sync()

    def next_deadline(self) -> float | None:
        self._sync()
        deadlines = [d for d in (self._index.next_deadline(), self.ctx.next_job(), self.ctx.fetches.next_deadline())
                     if d is not None]
        return min(deadlines) if deadlines else None

    def _run_jobs(self, now: float) -> None:
        """Scheduled jobs that are due (rekey retries, lingering SAs, reestablishing...)."""
        for job in self.ctx.due_jobs(now):
            try:
                self._run_job(job, now)
            except Exception:  # a bug must not take the daemon down; counted and logged
                log.exception("internal error running %s", job)
                self.ctx.drop("internal_error")
        self._sync()

    # --- jobs, rekeying, kernel events, traps ------------------------------------------------
    def _run_job(self, job: object, now: float) -> None:
        """Run one scheduled job (see :mod:`vicid.ike.jobs`) against the SA it names now."""
        if isinstance(job, jobs.RekeyChildJob):
            owner = self._child_by_spi(job.protocol, job.spi)
            if owner is None:
                stdlib_log("JOB", 1, f"CHILD_SA {job.spi.hex()} not found for rekey")
                return
            self._after(owner[0], owner[0].rekey_child(job.protocol, job.spi, now))
            return
        if isinstance(job, jobs.DeleteChildJob):
            owner = self._child_by_id(job.child_uniqueid)
            if owner is not None:
                from vicid.ike.tasks.child_conclude import destroy_and_reestablish

                owner[0].now = now
                destroy_and_reestablish(owner[0], owner[1], updown=False, action=False)
            return
        if isinstance(job, jobs.AcquireJob):
            self._acquire(job.reqid, now)
            return
        if isinstance(job, jobs.TrapJob):
            self.traps.install(job.peer, job.child)
            return
        sa = self._sas.get(getattr(job, "ike_uniqueid", 0))
        if sa is None or sa.destroyed:
            return
        self._after(sa, self._run_sa_job(sa, job, now))

    def _run_sa_job(self, sa: IkeSa, job: object, now: float) -> Status:
        sa.now = now
        if isinstance(job, jobs.RekeyIkeJob):
            return sa.reauth(now) if job.reauth else sa.rekey(now)
        if isinstance(job, jobs.DeleteIkeJob):
            if sa.state in (IkeState.CREATED, IkeState.CONNECTING):
                return Status.DESTROY_ME
            return sa.delete(now)
        if isinstance(job, jobs.InitiateJob):
            return sa.initiate(None, now) if sa.state == IkeState.CREATED else sa.tm.initiate()
        if isinstance(job, jobs.RetryChildJob):
            return sa.initiate(job.config, now)
        return Status.SUCCESS

    def _child_by_spi(self, protocol: int, spi: bytes) -> tuple[IkeSa, ChildSa] | None:
        for sa in self._sas.values():
            child = sa.find_child(protocol, spi, True) or sa.find_child(protocol, spi, False)
            if child is not None and not sa.destroyed:
                return sa, child
        return None

    def _child_by_id(self, uniqueid: int) -> tuple[IkeSa, ChildSa] | None:
        for sa in self._sas.values():
            child = next((c for c in sa.children if c.uniqueid == uniqueid), None)
            if child is not None and not sa.destroyed:
                return sa, child
        return None

    def rekey_child(self, child_uniqueid: int, now: float) -> bool:
        """vici ``rekey`` of a CHILD_SA (``rekey_child_sa_job``)."""
        self._now = now
        owner = self._child_by_id(child_uniqueid)
        if owner is None:
            return False
        sa, child = owner
        self._after(sa, sa.rekey_child(child.protocol, child.spi_in, now))
        return True

    def rekey_ike(self, uniqueid: int, now: float, reauth: bool = False) -> bool:
        """vici ``rekey`` of an IKE_SA (``rekey_ike_sa_job``), or its reauthentication."""
        self._now = now
        sa = self._sas.get(uniqueid)
        if sa is None or sa.destroyed:
            return False
        self._after(sa, sa.reauth(now) if reauth else sa.rekey(now))
        return True

    def kernel_event(self, event: object, now: float) -> None:
        """A lifetime expiry or an acquire from the IPsec backend (charon's kernel handler)."""
        self._now = now
        if isinstance(event, KernelAcquire):
            self._acquire(event.reqid, now)
        elif isinstance(event, KernelExpire):
            self._expire(event, now)

    def fetch_complete(self, fetch_id: int, body: bytes | None, now: float) -> None:
        """The shell's answer to a Fetch effect (None: failed or timed out): every IKE_SA
        waiting for it goes on with its parked message (:mod:`vicid.ike.fetch`)."""
        self._now = now
        pending = self.ctx.fetches.complete(fetch_id)
        if pending is None:  # given up on already, or nobody waits any more
            return
        for uid in pending.waiting:
            sa = self._sas.get(uid)
            if sa is None or sa.destroyed:
                continue
            self._index.dirty.add(uid)
            sa.now = now
            try:
                self._after(sa, fetch.resume(sa, fetch_id, pending.request, body))
            except Exception:  # a bug must not take the daemon down; counted and logged
                log.exception("internal error resuming IKE_SA #%d after a fetch", uid)
                self.ctx.drop("internal_error")
        self._sync()

    def inbound_use(self, ike_uniqueid: int, last_in: float | None, now: float) -> None:
        """The shell's answer to QueryInboundUse: when ESP last came in on that IKE_SA's
        CHILD_SAs (None: never, or the backend could not tell); DPD goes on from there."""
        self._now = now
        sa = self._sas.get(ike_uniqueid)
        if sa is None or sa.destroyed:
            return
        self._index.dirty.add(sa.uniqueid)
        self._after(sa, sa.inbound_use(last_in, now))
        self._sync()

    def _expire(self, event: KernelExpire, now: float) -> None:
        spi = event.spi.to_bytes(4, "big")
        owner = self._child_by_spi(event.protocol, spi)
        if owner is None:
            stdlib_log("KNL", 2, f"CHILD_SA with SPI {spi.hex()} not found for expire")
            return
        sa, child = owner
        sa.now = now
        if not event.hard:
            self._after(sa, sa.rekey_child(child.protocol, child.spi_in, now))
            return
        from vicid.ike.tasks.child_delete import ChildDeleteInitiator

        sa.tm.queue(ChildDeleteInitiator(sa, child, expired=True))
        self._after(sa, sa.tm.initiate())

    def install_trap(self, peer: object, child: object) -> None:
        assert isinstance(peer, PeerConfig) and isinstance(child, ChildConfig)
        self.traps.install(peer, child)

    def _acquire(self, reqid: int, now: float) -> None:
        """``trap_manager`` acquire: set up the CHILD_SA of the trap with this reqid."""
        trap = self.traps.by_reqid(reqid)
        if trap is None:
            stdlib_log("CFG", 1, f"received an acquire for reqid {{{reqid}}} without trap")
            return
        pending = self._sas.get(trap.pending) if trap.pending else None
        if pending is not None and not pending.destroyed and pending.state in _HALF_OPEN:
            stdlib_log("CFG", 1, "ignoring acquire, connection attempt pending")
            return
        sa = self._reusable(trap.peer)
        local = _endpoint(trap.peer.local_addrs, trap.peer.local_port or self.ctx.settings.port)
        remote = _endpoint(trap.peer.remote_addrs, trap.peer.remote_port or self.ctx.settings.port)
        if sa is None and (local is None or remote is None):
            stdlib_log("CFG", 1, "acquire for a trap without fixed addresses, ignored")
            return
        if sa is None:
            sa = self._new_initiator(trap.peer, local, remote, False)  # type: ignore[arg-type]
        trap.pending = sa.uniqueid
        self._after(sa, sa.initiate(trap.child, now, reqid))

    # --- start actions (vici_config.c run_start_actions / clear_start_actions) ----------------
    def run_start_action(self, peer: PeerConfig, child: ChildConfig, local: Endpoint | None,
                         remote: Endpoint | None, now: float) -> None:
        """``start_action``: ``trap`` installs a trap, ``start`` initiates the CHILD_SA."""
        from vicid.ike.config import Action

        self._now = now
        if child.start_action & Action.TRAP:
            stdlib_log("CFG", 1, f"vici installing '{child.name}'")
            self.traps.install(peer, child)
        if child.start_action & Action.START and local is not None and remote is not None:
            stdlib_log("CFG", 1, f"vici initiating '{child.name}'")
            self.initiate(peer, child, local, remote, now)

    def clear_start_actions(self, peer_name: str, children: Iterable[ChildConfig], delete_ike: bool,
                            now: float) -> None:
        """Undo start actions of unloaded/replaced children: traps go, ``start`` CHILD_SAs are
        closed (their IKE_SA too if nothing else lives on it and ``delete_ike``)."""
        from vicid.ike.config import Action

        self._now = now
        to_terminate = set()
        for child in children:
            if child.start_action & Action.TRAP:
                stdlib_log("CFG", 1, f"vici uninstalling '{child.name}'")
                self.traps.uninstall(peer_name, child.name)
            if child.start_action & Action.START:
                to_terminate.add(child.name)
        if to_terminate:
            self._terminate_for_action(peer_name, to_terminate, delete_ike, now)

    def _terminate_for_action(self, peer_name: str, names: set[str], delete_ike: bool, now: float) -> None:
        from vicid.ike.child import ChildState

        gone = (ChildState.DELETING, ChildState.DELETED)
        child_ids, ike_ids = [], []
        for sa in self.ike_sas():
            if sa.name != peer_name:
                continue
            others = any(c.state not in gone and c.name not in names for c in sa.children) or any(
                t.kind == TaskKind.CHILD_CREATE and getattr(t, "config", None) is not None
                and t.config.name not in names for t in sa.tm.queued)  # type: ignore[attr-defined]
            if delete_ike and not others:
                ike_ids.append(sa.uniqueid)
                continue
            child_ids += [(c.name, c.uniqueid) for c in sa.children if c.state not in gone and c.name in names]
        for name, uid in child_ids:
            stdlib_log("CFG", 1, f"vici closing CHILD_SA '{name}' #{uid}")
            self.terminate_child(uid, now)
        for uid in ike_ids:
            stdlib_log("CFG", 1, f"vici closing IKE_SA '{peer_name}' #{uid}")
            self.terminate_ike(uid, now)

    def drain(self) -> list[Effect]:
        self._sync()
        effects, self.ctx.effects[:] = list(self.ctx.effects), []
        self._index.synced = 0
        return effects

    def list_sas(self, now: float) -> list[IkeSaView]:
        return [self._sas[uid].view(now) for uid in sorted(self._sas)]

    def ike_sas(self) -> list[IkeSa]:
        return [self._sas[uid] for uid in sorted(self._sas)]

    def ike_sa_ids(self) -> KeysView[int]:
        """The unique IDs of all IKE_SAs (a live view: membership is a dict lookup)."""
        return self._sas.keys()

    def counts(self) -> tuple[int, int]:
        """(total, half-open) IKE_SAs for vici ``stats``."""
        return len(self._sas), sum(1 for sa in self._sas.values() if sa.state in _HALF_OPEN)


_RESYNC = 30.0  # seconds between full re-reads of the SA table (a safety net for the index)
_NAMED_BY = ("ike_uniqueid", "ike", "old", "new")  # attributes of an effect that name IKE_SAs
_NAMING: dict[type, tuple[str, ...]] = {}  # per effect class: those of _NAMED_BY it can have


def _naming_attrs(kind: type) -> tuple[str, ...]:
    """Which of ``_NAMED_BY`` an effect class can carry (dataclass fields or class attributes);
    unknown shapes keep them all."""
    if not dataclasses.is_dataclass(kind):
        return _NAMED_BY
    names = {f.name for f in dataclasses.fields(kind)}
    return tuple(a for a in _NAMED_BY if a in names or hasattr(kind, a))


def _cfg_key(peer: PeerConfig) -> tuple | None:
    """A hashable key equal for equal configs (``==`` ignores the name; auth rounds compare
    as rule sets in which the first identity must match), or None if it cannot be hashed."""
    key = (peer.version, peer.local_addrs, peer.remote_addrs,
           tuple(a.get(AuthRule.IDENTITY) for a in peer.local_auth),
           tuple(a.get(AuthRule.IDENTITY) for a in peer.remote_auth))
    try:
        hash(key)
    except TypeError:
        return None
    return key


def _id_key(ident: Identification) -> tuple:
    """A key under which ``equals`` can only match equal keys. Equal DNs (``compare_dn``) have
    the same length and the same RDN types in order, and values that agree up to ASCII case
    before any NUL (PrintableString compares with strncasecmp): so many certificate identities
    do not share one bucket."""
    if ident.type == IdKind.ID_ANY:
        return (ident.type,)
    if ident.type == IdKind.ID_DER_ASN1_DN:
        return (ident.type, len(ident.data),
                tuple((rdn.oid, rdn.value.partition(b"\0")[0].lower()) for rdn in iter_rdns(ident.data)))
    if ident.type in (IdKind.ID_FQDN, IdKind.ID_RFC822_ADDR):
        return (ident.type, ident.data.lower())
    return (ident.type, ident.data)


class _SaIndex:
    """What the manager would otherwise find by scanning every IKE_SA: deadlines (a lazy heap),
    half-open responder SAs per peer address, SAs by peer config and by identity pair.
    ``refresh(sa)`` re-reads one SA; the manager calls it for every SA that may have changed."""

    def __init__(self) -> None:
        self.deadline: dict[int, float] = {}
        self.heap: list[tuple[float, int]] = []
        self.half_open: dict[int, object] = {}  # uid -> peer address
        self.half_open_ip: Counter[object] = Counter()
        self.cfg: dict[int, tuple[PeerConfig, tuple | None]] = {}
        self.by_cfg: dict[tuple, dict[int, IkeSa]] = {}
        self.cfg_unhashable: set[int] = set()
        self.contact: dict[int, tuple] = {}
        self.contact_ids: dict[int, tuple[Identification, Identification]] = {}  # what ``contact`` was made of
        self.contacts: dict[tuple, dict[int, IkeSa]] = {}
        self.init_hash: dict[int, bytes] = {}
        self.dirty: set[int] = set()
        self.synced = 0
        self.next_resync = 0.0

    def refresh(self, sa: IkeSa) -> None:
        uid = sa.uniqueid
        if sa.destroyed:
            self.forget(uid)
            return
        deadline = sa.next_deadline()
        if deadline is None:
            self.deadline.pop(uid, None)
        elif self.deadline.get(uid) != deadline:
            self.deadline[uid] = deadline
            heapq.heappush(self.heap, (deadline, uid))
        address = sa.other_host[0] if sa.state in _HALF_OPEN and not sa.initiator else None
        if self.half_open.get(uid) != address:
            self._drop_half_open(uid)
            if address is not None:
                self.half_open[uid] = address
                self.half_open_ip[address] += 1
        indexed = self.cfg.get(uid)
        if sa.peer_cfg is not (indexed[0] if indexed else None):
            self._drop_cfg(uid)
            if sa.peer_cfg is not None:
                key = _cfg_key(sa.peer_cfg)
                self.cfg[uid] = (sa.peer_cfg, key)
                if key is None:
                    self.cfg_unhashable.add(uid)
                else:
                    self.by_cfg.setdefault(key, {})[uid] = sa
        my_id, other_id = sa.my_id, sa.other_id
        seen = self.contact_ids.get(uid)
        if seen is not None and seen[0] is my_id and seen[1] is other_id:
            return  # the same (immutable) identities as last time: the same key
        key = (_id_key(my_id), _id_key(other_id))
        if self.contact.get(uid) != key:
            self._drop_contact(uid)
            self.contact[uid] = key
            self.contacts.setdefault(key, {})[uid] = sa
        self.contact_ids[uid] = (my_id, other_id)

    def forget(self, uid: int) -> None:
        self.deadline.pop(uid, None)
        self._drop_half_open(uid)
        self._drop_cfg(uid)
        self._drop_contact(uid)

    def _drop_half_open(self, uid: int) -> None:
        address = self.half_open.pop(uid, None)
        if address is not None:
            self.half_open_ip[address] -= 1
            if self.half_open_ip[address] <= 0:
                del self.half_open_ip[address]

    def _drop_cfg(self, uid: int) -> None:
        indexed = self.cfg.pop(uid, None)
        self.cfg_unhashable.discard(uid)
        if indexed is None or indexed[1] is None:
            return
        bucket = self.by_cfg.get(indexed[1])
        if bucket is not None:
            bucket.pop(uid, None)
            if not bucket:
                del self.by_cfg[indexed[1]]

    def _drop_contact(self, uid: int) -> None:
        self.contact_ids.pop(uid, None)
        key = self.contact.pop(uid, None)
        bucket = self.contacts.get(key) if key is not None else None
        if bucket is not None:
            bucket.pop(uid, None)
            if not bucket:
                del self.contacts[key]

    def due(self, now: float) -> list[int]:
        """IKE_SAs whose deadline has passed, in unique-ID order (they leave the heap)."""
        out = []
        heap = self.heap
        while heap and heap[0][0] <= now:
            deadline, uid = heapq.heappop(heap)
            if self.deadline.get(uid) == deadline:
                del self.deadline[uid]
                out.append(uid)
        return sorted(out)

    def next_deadline(self) -> float | None:
        heap = self.heap
        while heap and self.deadline.get(heap[0][1]) != heap[0][0]:
            heapq.heappop(heap)
        return heap[0][0] if heap else None
