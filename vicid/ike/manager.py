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

import hashlib
import logging
from collections import Counter
from collections.abc import Callable, Iterable

from vicid.config.peer import ChildConfig, PeerConfig, UniquePolicy
from vicid.creds.store import CredStore
from vicid.errors import IkeProtocolError, InvalidSyntax
from vicid.ike.context import EngineContext, stdlib_log
from vicid.ike.controller import InitiateListener, TerminateChildListener, TerminateIkeListener
from vicid.ike.cookies import CookieJar, CookiePolicy
from vicid.ike.effects import Alert, Completed, Effect, Endpoint, IkeSaView, SendDatagram
from vicid.ike.identity import Identification
from vicid.ike.ke import KeRegistry
from vicid.ike.rng import Rng
from vicid.ike.sa import IkeSa, IkeState
from vicid.ike.settings import EngineSettings
from vicid.ike.tasks.base import Status, TaskKind
from vicid.ike.wire.buffer import DecodeError, Reader
from vicid.ike.wire.enums import ExchangeType, NotifyType
from vicid.ike.wire.header import IKEV2_MAJOR, ZERO_SPI, IkeHeader, decode_header
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
        self._sas: dict[int, IkeSa] = {}
        self._by_spi: dict[bytes, IkeSa] = {}
        self._init_hashes: dict[bytes, IkeSa] = {}
        self._cookies = CookieJar(rng)
        threshold = settings.cookie_threshold if settings.dos_protection else 0
        threshold_ip = settings.cookie_threshold_ip if settings.dos_protection else 0
        self._cookie_policy = CookiePolicy(threshold, threshold_ip)
        self._spi_tokens = float(settings.invalid_ike_spi_rate)
        self._spi_refill = 0.0

    @property
    def drops(self) -> Counter[str]:
        return self.ctx.drops

    # --- datagrams ----------------------------------------------------------------------------
    def receive_datagram(self, data: bytes, src: Endpoint, dst: Endpoint, now: float) -> None:
        """One UDP payload as received (with the non-ESP marker on port 4500)."""
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
            header = decode_header(Reader(data))
        except DecodeError:
            stdlib_log("NET", 1, "received invalid IKE header - ignored")
            self.ctx.emit(Alert("parse-error-header"))
            raise _Drop("bad_header") from None
        if header.major_version != IKEV2_MAJOR:
            raise _Drop("unsupported_version")
        try:
            return header, decode_message(data)
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
        return sum(1 for sa in self._sas.values() if sa.state in _HALF_OPEN and not sa.initiator
                   and (address is None or sa.other_host[0] == address))

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

    def _destroy(self, sa: IkeSa) -> None:
        sa.destroy()
        self._sas.pop(sa.uniqueid, None)
        if self._by_spi.get(sa.my_spi) is sa:
            del self._by_spi[sa.my_spi]
        self.ctx.ike_spis.discard(sa.my_spi)
        for digest in [d for d, s in self._init_hashes.items() if s is sa]:
            del self._init_hashes[digest]

    def _has_contact(self, my_id: object, other_id: object, family: object) -> bool:
        """``has_contact``: an established IKE_SA between these identities exists."""
        for sa in self._sas.values():
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
        for dup in [d for d in self._sas.values() if d is not sa and self._duplicate(d, sa)]:
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
        """``checkout_by_config``: an IKE_SA with an equal config that is still usable."""
        for sa in self._sas.values():
            if sa.peer_cfg is not None and sa.peer_cfg == peer and sa.state not in _UNUSABLE \
                    and not sa.destroyed and not sa.tm.has(sa.tm.queued, TaskKind.IKE_DELETE):
                return sa
        return None

    def initiate(self, peer: PeerConfig, child: ChildConfig | None, local: Endpoint, remote: Endpoint,
                 now: float, request_id: int | None = None) -> None:
        """vici ``initiate``: reuse an IKE_SA for ``peer`` or create one, then start it."""
        sa = self._reusable(peer)
        if sa is None:
            sa = IkeSa(self.ctx, initiator=True, spi_i=self.ctx.alloc_ike_spi(), spi_r=ZERO_SPI,
                       my_host=local, other_host=remote, peer_cfg=peer, now=now)
            self._register(sa)
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
        self._after(sa, sa.delete(now, force))

    def terminate_child(self, child_uniqueid: int, now: float, request_id: int | None = None) -> None:
        for sa in list(self._sas.values()):
            child = next((c for c in sa.children if c.uniqueid == child_uniqueid), None)
            if child is not None:
                if request_id is not None:
                    sa.listeners.append(TerminateChildListener(self.ctx, request_id, "terminating SA failed"))
                self._after(sa, sa.delete_child(child, now))
                return
        self._not_found(request_id)

    def _not_found(self, request_id: int | None) -> None:
        if request_id is not None:
            self.ctx.emit(Completed(request_id, False, "terminating SA failed"))

    # --- timers and outputs -------------------------------------------------------------------
    def handle_timer(self, now: float) -> None:
        for sa in list(self._sas.values()):
            deadline = sa.next_deadline()
            if deadline is not None and deadline <= now and not sa.destroyed:
                self._after(sa, sa.handle_timer(now))

    def next_deadline(self) -> float | None:
        deadlines = [d for sa in self._sas.values() if (d := sa.next_deadline()) is not None]
        return min(deadlines) if deadlines else None

    def drain(self) -> list[Effect]:
        effects, self.ctx.effects[:] = list(self.ctx.effects), []
        return effects

    def list_sas(self, now: float) -> list[IkeSaView]:
        return [self._sas[uid].view(now) for uid in sorted(self._sas)]

    def ike_sas(self) -> list[IkeSa]:
        return [self._sas[uid] for uid in sorted(self._sas)]

    def counts(self) -> tuple[int, int]:
        """(total, half-open) IKE_SAs for vici ``stats``."""
        return len(self._sas), sum(1 for sa in self._sas.values() if sa.state in _HALF_OPEN)

