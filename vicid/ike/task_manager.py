"""Per-IKE_SA task manager: queued/active/passive tasks, message IDs, retransmissions and the
response cache (charon ``task_manager_v2.c``).

* ``initiating``: the exchange we started (message ID, retransmit count, the packets of the
  request, a reassembler for a fragmented response);
* ``responding``: the exchange the peer started (expected message ID, the packets of our last
  response and the SHA-1 of the request - or its first fragment - that caused it).

A request with the previous message ID whose hash matches is answered with the cached
packets, byte for byte (RFC 7296 §2.1). Everything else with an unexpected message ID is
dropped and counted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from vicid.ike.child import ChildSa
from vicid.ike.config import ChildConfig
from vicid.ike.crypto.cipher import IntegrityError
from vicid.ike.crypto.fragments import Reassembler, whole_length
from vicid.ike.crypto.sk import open_fragment, unprotect
from vicid.ike.effects import Endpoint
from vicid.ike.fetch import FetchNeeded, FetchState, Parked, busy, park
from vicid.ike.messages import EXCHANGE_UNDEFINED, InMessage, OutMessage, exchange_name, notify_name
from vicid.ike.msg_log import describe
from vicid.ike.retransmit import GIVE_UP, retransmit_timeout
from vicid.ike.sa_state import IkeState
from vicid.ike.tasks.base import (
    ESTABLISHED_ORDER,
    INIT_BUNDLE,
    REINITIATE_EXCHANGE,
    REKEYING_ORDER,
    Status,
    Task,
    TaskKind,
)
from vicid.ike.tasks.child_create import ChildCreateInitiator
from vicid.ike.tasks.child_delete import ChildDeleteInitiator
from vicid.ike.tasks.child_rekey import ChildRekeyInitiator
from vicid.ike.tasks.factory import passive_tasks
from vicid.ike.tasks.ike_auth import IkeAuthInitiator
from vicid.ike.tasks.ike_cert_post import IkeCertPost
from vicid.ike.tasks.ike_cert_pre import IkeCertPre
from vicid.ike.tasks.ike_config import IkeConfigInitiator
from vicid.ike.tasks.ike_delete import IkeDelete
from vicid.ike.tasks.ike_dpd import IkeDpd
from vicid.ike.tasks.ike_establish import IkeEstablish
from vicid.ike.tasks.ike_init import IkeInitInitiator
from vicid.ike.tasks.ike_mobike import IkeMobike
from vicid.ike.tasks.ike_natd import IkeNatd
from vicid.ike.tasks.ike_reauth_complete import IkeReauthComplete
from vicid.ike.tasks.ike_rekey import IkeRekeyInitiator
from vicid.ike.tasks.ike_vendor import IkeVendor
from vicid.ike.wire.buffer import DecodeError
from vicid.ike.wire.enums import ExchangeType, NotifyType
from vicid.ike.wire.errors import IkeProtocolError, InvalidSyntax, Scope, UnsupportedCriticalPayload
from vicid.ike.wire.header import IkeHeader
from vicid.ike.wire.message import Message, encode_message, validate
from vicid.ike.wire.payloads import SkfPayload, SkPayload

if TYPE_CHECKING:
    from vicid.ike.sa import IkeSa

E = ExchangeType
PassiveFactory = Callable[["IkeSa", InMessage], list[Task]]


def sha1(data: bytes) -> bytes:
    return hashlib.sha1(data, usedforsecurity=False).digest()


@dataclass
class Initiating:
    mid: int = 0
    retransmitted: int = 0
    retransmit_sent: bool = False
    packets: list[bytes] = field(default_factory=list)
    exchange: int = EXCHANGE_UNDEFINED
    defrag: Reassembler | None = None
    deadline: float | None = None


@dataclass
class Responding:
    mid: int = 0
    packets: list[bytes] = field(default_factory=list)
    hash: bytes = b""
    prev_hash: bytes = b""
    defrag: Reassembler | None = None


# the kinds of passive task an active rekeying may adopt (``handle_collisions``)
# (a tuple: membership by identity, where a set would call the Enum's Python __hash__)
_COLLIDING = (TaskKind.IKE_REKEY, TaskKind.IKE_DELETE, TaskKind.CHILD_REKEY)


class TaskManager:
    """The exchanges of one IKE_SA; every method returns SUCCESS or DESTROY_ME for the SA."""

    def __init__(self, sa: IkeSa, passive_factory: PassiveFactory = passive_tasks) -> None:
        self.sa = sa
        self.queued: list[Task] = []
        self.active: list[Task] = []
        self.passive: list[Task] = []
        self.initiating = Initiating()
        self.responding = Responding()
        self._passive_factory = passive_factory
        self._reset_flag = False
        self.fetch = FetchState()  # a message parked while revocation data is fetched

    # --- queues ---------------------------------------------------------------------------
    def queue(self, task: Task) -> None:
        self.queued.append(task)

    def queue_ike(self) -> None:
        """``queue_ike()``: the tasks that set up the IKE_SA, unless already queued."""
        sa = self.sa
        for task in (IkeVendor(sa, True), IkeInitInitiator(sa), IkeNatd(sa, True), IkeCertPre(sa, True),
                     IkeAuthInitiator(sa), IkeCertPost(sa, True), IkeConfigInitiator(sa), IkeMobike(sa, True),
                     IkeEstablish(sa, True)):
            if not self.has(self.queued, task.kind):
                self.queue(task)

    def queue_child(self, config: ChildConfig, reqid: int = 0) -> None:
        """``queue_child()``: a CHILD_SA to set up; ``reqid`` is a trap's, referenced once more."""
        task = ChildCreateInitiator(self.sa, config)
        if reqid:
            task.reqid = reqid
            self.sa.ctx.reqids.ref(reqid)
        self.queue(task)

    def queue_child_recreate(self, old: ChildSa) -> None:
        """A CHILD_SA that recreates ``old`` (same selectors and reqid) on this IKE_SA."""
        task = ChildCreateInitiator(self.sa, old.config)
        task.recreate(old, rekey=False)
        self.queue(task)

    def queue_child_rekey(self, protocol: int, spi: bytes) -> None:
        self.queue(ChildRekeyInitiator(self.sa, protocol, spi))

    def queue_child_delete(self, child: ChildSa) -> None:
        self.queue(ChildDeleteInitiator(self.sa, child))

    def queue_ike_rekey(self) -> None:
        self.queue(IkeRekeyInitiator(self.sa))

    def queue_ike_reauth_complete(self, old_uniqueid: int) -> None:
        """Delete the reauthenticated IKE_SA ``old_uniqueid`` once this one is up."""
        self.queue(IkeReauthComplete(self.sa, old_uniqueid))

    def queue_ike_delete(self) -> None:
        self.queue(IkeDelete(self.sa, True))

    def queue_dpd(self) -> None:
        self.queue(IkeDpd(self.sa, True))

    def has(self, queue: list[Task], kind: TaskKind) -> bool:
        for t in queue:
            if t.kind == kind:
                return True
        return False

    def _activate(self, kind: TaskKind) -> bool:
        for task in self.queued:
            if task.kind == kind:
                self.queued.remove(task)
                self.active.append(task)
                return True
        return False

    def flush(self) -> None:
        self.fetch.clear()
        tasks = self.queued + self.passive + self.active
        self.queued.clear()
        self.passive.clear()
        self.active.clear()
        for task in tasks:
            task.dispose()

    @property
    def busy(self) -> bool:
        """An exchange we started is in flight (``busy``)."""
        return bool(self.active)

    def remove_passive(self, task: Task) -> None:
        """A winning active rekeying drops the passive task of a collision it won."""
        if task in self.passive:
            self.passive.remove(task)

    def adopt_tasks(self, other: TaskManager) -> None:
        """``adopt_tasks``: queued tasks of a rekeyed IKE_SA move to its replacement."""
        moving, other.queued = other.queued, []
        for task in moving:
            task.adopt(self.sa)
        self.queued = moving + self.queued

    def handle_collisions(self, task: Task) -> bool:
        """``handle_collisions``: offer a passive rekey/delete to the first active rekeying
        of a matching kind; True if it adopted the task."""
        if task.kind not in _COLLIDING:
            return False
        for active in self.active:
            if active.kind == TaskKind.IKE_REKEY and task.kind in (TaskKind.IKE_REKEY, TaskKind.IKE_DELETE):
                return active.collide(task)  # type: ignore[attr-defined]
            if active.kind == TaskKind.CHILD_REKEY and task.kind == TaskKind.CHILD_REKEY:
                return active.collide(task)  # type: ignore[attr-defined]
        return False

    def reset(self, initiate_mid: int | None = 0, respond_mid: int | None = 0) -> None:
        """Back to square one for a retried IKE_SA_INIT (``reset()``): tasks migrate to queued."""
        self.responding.packets, self.initiating.packets = [], []
        self.responding.defrag = self.initiating.defrag = None
        if initiate_mid is not None:
            self.initiating.mid = initiate_mid
        if respond_mid is not None:
            self.responding.mid = respond_mid
        self.initiating.exchange = EXCHANGE_UNDEFINED
        self.initiating.deadline = None
        for task in self.queued:
            task.migrate()
        for task in self.active:
            task.migrate()
        self.queued = self.active + self.queued
        self.active = []
        self._reset_flag = True

    # --- initiating -----------------------------------------------------------------------
    def _select_exchange(self) -> int:
        if self.active:
            if not self._derive_keys(self.active):
                return -1
            return next((REINITIATE_EXCHANGE[t.kind] for t in self.active
                         if t.kind in REINITIATE_EXCHANGE), EXCHANGE_UNDEFINED)
        state = self.sa.state
        if state == IkeState.CREATED:
            return self._activate_init_bundle()
        order = ESTABLISHED_ORDER + REKEYING_ORDER if state == IkeState.ESTABLISHED else (
            REKEYING_ORDER if state in (IkeState.REKEYING, IkeState.REKEYED) else ())
        for kind, exchange in order:
            if self._activate(kind):
                return exchange
        return EXCHANGE_UNDEFINED

    def _activate_init_bundle(self) -> int:
        # the first queued task of each kind, in bundle order (kinds compare by identity: a dict
        # keyed by kind would call the Enum's Python __hash__ for every lookup)
        queued, chosen = self.queued, []
        for kind in INIT_BUNDLE:
            for task in queued:
                if task.kind is kind:
                    chosen.append(task)
                    break
        if not any(t.kind is TaskKind.IKE_INIT for t in chosen):
            self._activate(TaskKind.IKE_VENDOR)
            return EXCHANGE_UNDEFINED
        taken = {id(t) for t in chosen}
        queued[:] = [t for t in queued if id(t) not in taken]
        self.active.extend(chosen)
        self.initiating.mid = 0
        return E.IKE_SA_INIT

    def initiate(self) -> Status:
        """Start the next exchange if none is in flight (``initiate()``)."""
        if self.initiating.exchange != EXCHANGE_UNDEFINED:
            return Status.SUCCESS
        exchange = self._select_exchange()
        if exchange == -1:
            return Status.DESTROY_ME
        if exchange == EXCHANGE_UNDEFINED:
            return Status.SUCCESS
        msg = OutMessage(exchange, self.initiating.mid, True, self.sa.my_host, self.sa.other_host)
        self.initiating.exchange = exchange
        self.initiating.retransmitted = 0
        self.initiating.retransmit_sent = False
        status = self._build_request(msg)
        if status is not Status.SUCCESS:
            return status
        self.initiating.exchange = msg.exchange
        if msg.exchange == EXCHANGE_UNDEFINED:
            return self.initiate()
        return self._send_request(msg)

    def _build_request(self, msg: OutMessage) -> Status:
        for task in list(self.active):
            status = task.build(msg)
            if status is Status.SUCCESS:
                self.active.remove(task)
            elif status in (Status.FAILED, Status.DESTROY_ME):
                self.initiating.exchange = EXCHANGE_UNDEFINED
                if status is Status.FAILED and self.sa.state not in (IkeState.CONNECTING,
                                                                     IkeState.REKEYED):
                    self.sa.ike_updown(False)
                self.flush()
                return Status.DESTROY_ME
        return Status.SUCCESS

    def _send_request(self, msg: OutMessage) -> Status:
        self.initiating.packets = self.generate(msg)
        for task in list(self.active):
            if "post_build" not in task.overrides:
                continue  # the default: NEED_MORE
            status = task.post_build(msg)
            if status is Status.SUCCESS:
                self.active.remove(task)
            elif status is not Status.NEED_MORE:
                self.flush()
                return Status.DESTROY_ME
        return self.retransmit(self.sa.now)

    def retransmit(self, now: float) -> Status:
        """Send (again) the request in flight and arm the timer (``retransmit()``)."""
        init = self.initiating
        if not init.packets:
            return Status.SUCCESS
        delay = retransmit_timeout(init.retransmitted, self.sa.ctx.settings.retransmit, self.sa.ctx.rng)
        if delay is GIVE_UP:
            self.sa.log("IKE", 1, f"giving up after {init.retransmitted - 1} retransmits")
            self.sa.alert("retransmit-send-timeout")
            return Status.DESTROY_ME
        if init.retransmitted:
            self.sa.log("IKE", 1, f"retransmit {init.retransmitted} of request with message ID {init.mid}")
            self.sa.alert("retransmit-send")
            init.retransmit_sent = True
        self.sa.send(init.packets, self.sa.my_host, self.sa.other_host)
        init.retransmitted += 1
        init.deadline = now + delay
        return Status.SUCCESS

    def next_deadline(self) -> float | None:
        if self.fetch.parked is not None:  # the response is being processed: no retransmits
            return None
        return self.initiating.deadline if self.initiating.packets else None

    def handle_timer(self, now: float) -> Status:
        deadline = self.next_deadline()
        if deadline is None or now < deadline:
            return Status.SUCCESS
        return self.retransmit(now)

    # --- message generation ---------------------------------------------------------------
    def header_for(self, msg: OutMessage, spi_r: bytes | None = None) -> IkeHeader:
        sa = self.sa
        return IkeHeader(sa.spi_i, sa.spi_r if spi_r is None else spi_r, 0, msg.exchange,
                         msg.message_id, is_initiator=sa.initiator, is_response=not msg.is_request)

    def generate(self, msg: OutMessage, spi_r: bytes | None = None) -> list[bytes]:
        """Encode (and protect, maybe fragment) a message; IKE_SA_INIT stays in clear."""
        msg.header = self.header_for(msg, spi_r)
        payloads = msg.ordered()
        if self.sa.logs("ENC", 1):
            self.sa.log("ENC", 1, "generating " + describe(msg.exchange, msg.is_request, msg.message_id,
                                                            payloads))
        if msg.exchange == E.IKE_SA_INIT:
            msg.raw = encode_message(msg.header, payloads)
            return [msg.raw]
        packets = self.sa.protect(Message(msg.header, (), tuple(payloads)), msg.src, msg.dst)
        if len(packets) > 1 and self.sa.logs("ENC", 1):
            self._log_fragments(msg, packets)
        return packets

    def _log_fragments(self, msg: OutMessage, packets: list[bytes]) -> None:
        whole = whole_length(Message(msg.header, (), tuple(msg.ordered())), self.sa.keymat.outbound)
        self.sa.log("ENC", 1, f"splitting IKE message ({whole} bytes) into {len(packets)} fragments")
        for n in range(1, len(packets) + 1):
            self.sa.log("ENC", 1, "generating " + describe(
                msg.exchange, msg.is_request, msg.message_id, [SkfPayload(0, n, len(packets), b"")]))

    # --- receiving ------------------------------------------------------------------------
    def process_message(self, raw: bytes, clear: Message, src: Endpoint, dst: Endpoint) -> Status:
        """Entry point for one datagram of this IKE_SA (``process_message()``)."""
        mid = clear.message_id
        if self.fetch.parked is not None:
            busy(self.sa, mid, clear.is_request)
            return Status.SUCCESS
        if clear.is_request:
            if mid != self.responding.mid:
                return self._not_current_request(raw, clear, src, dst)
        elif mid != self.initiating.mid or self.initiating.exchange == EXCHANGE_UNDEFINED:
            return self._unexpected_mid(clear, self.initiating.mid)  # also: no request in flight
        return self._parse_and_dispatch(raw, clear, src, dst)

    def _not_current_request(self, raw: bytes, clear: Message, src: Endpoint, dst: Endpoint) -> Status:
        resp = self.responding
        mid = clear.message_id
        if mid == (resp.mid - 1) & 0xFFFFFFFF and resp.packets and sha1(raw) == resp.prev_hash:
            self.sa.log("IKE", 1, f"received retransmit of request with ID {mid}, retransmitting response")
            self.sa.alert("retransmit-receive")
            self.sa.send(resp.packets, dst, src)
            return Status.SUCCESS
        return self._unexpected_mid(clear, resp.mid)

    def _unexpected_mid(self, clear: Message, expected: int) -> Status:
        self.sa.log("IKE", 1, f"received message ID {clear.message_id}, expected {expected}, ignored")
        self.sa.drop("unexpected_message_id")
        return Status.SUCCESS

    def _parse_and_dispatch(self, raw: bytes, clear: Message, src: Endpoint, dst: Endpoint) -> Status:
        if clear.is_request and not self._derive_keys(self.passive):
            return Status.DESTROY_ME
        try:
            message = self._decrypt(raw, clear)
        except UnsupportedCriticalPayload as exc:
            return self._critical_payload(clear, exc, src, dst)
        except IntegrityError as exc:
            return self._undecryptable(clear, exc)
        except DecodeError as exc:
            if clear.is_request and self._authentic(raw, clear):
                # the ICV verified, the content is malformed: INVALID_SYNTAX (RFC 7296 §2.21.2)
                return self._invalid_syntax(clear, str(exc), src, dst)
            return self._undecryptable(clear, exc)
        if message is None:
            return Status.SUCCESS  # fragment stored, message incomplete
        if self.sa.logs("ENC", 1):
            self.sa.log("ENC", 1, "parsed " + describe(message.exchange_type, message.is_request,
                                                        message.message_id, message.all_payloads()))
        try:
            validate(message)
        except InvalidSyntax as exc:
            return self._invalid_syntax(message, str(exc), src, dst)
        return self._dispatch(InMessage(message, raw, src, dst))

    def _decrypt(self, raw: bytes, clear: Message) -> Message | None:
        """SK: decrypt; SKF: decrypt one fragment and reassemble; clear only for IKE_SA_INIT."""
        sk = clear.sk
        keymat = self.sa.keymat
        if sk is None:
            if clear.exchange_type != E.IKE_SA_INIT:
                raise DecodeError("unprotected message outside IKE_SA_INIT")
            self._remember_hash(clear, raw)
            return clear
        if not keymat.ready or clear.exchange_type == E.IKE_SA_INIT:
            raise DecodeError("found encrypted message, but no keys available")
        assert keymat.inbound is not None
        if isinstance(sk, SkPayload):
            message = unprotect(raw, clear, keymat.inbound)
            self._remember_hash(clear, raw)
            return message
        return self._add_fragment(raw, clear, sk)

    def _add_fragment(self, raw: bytes, clear: Message, skf: SkfPayload) -> Message | None:
        assert self.sa.keymat.inbound is not None
        chunk = open_fragment(raw, clear, self.sa.keymat.inbound)
        if self.sa.logs("ENC", 1):
            self.sa.log("ENC", 1, "parsed " + describe(clear.exchange_type, clear.is_request,
                                                        clear.message_id, [skf]))
        side = self.responding if clear.is_request else self.initiating
        if side.defrag is None or side.defrag.message_id != clear.message_id:
            side.defrag = Reassembler(clear.message_id, max_size=self.sa.ctx.settings.max_packet)
        size = side.defrag.size + len(chunk)
        message = side.defrag.add(clear, chunk)
        if skf.number == 1:
            self._remember_hash(clear, raw)  # RFC 7383 §2.6.1: only the first fragment
        what = f"received fragment #{skf.number} of {skf.total}"
        if message is None:
            self.sa.log("ENC", 1, f"{what}, waiting for complete IKE message")
        else:
            side.defrag = None
            self.sa.log("ENC", 1, f"{what}, reassembled fragmented IKE message ({size + 28} bytes)")
        return message

    def _authentic(self, raw: bytes, clear: Message) -> bool:
        """Does the SK/SKF payload of ``raw`` verify under our inbound key?"""
        sk, cipher = clear.sk, self.sa.keymat.inbound
        if sk is None or cipher is None or clear.exchange_type == E.IKE_SA_INIT:
            return False
        sealed = sk.data
        try:
            cipher.open(raw[:len(raw) - len(sealed)], sealed[:cipher.iv_size], sealed[cipher.iv_size:])
        except (DecodeError, ValueError):
            return False
        return True

    def _remember_hash(self, clear: Message, raw: bytes) -> None:
        if clear.is_request:
            self.responding.hash = sha1(raw)

    def _undecryptable(self, clear: Message, exc: DecodeError) -> Status:
        reason = "bad_icv" if isinstance(exc, IntegrityError) else "undecodable"
        self.sa.alert("parse-error-body")
        self.sa.log("IKE", 1, f"{exchange_name(clear.exchange_type)} "
                              f"{'request' if clear.is_request else 'response'} with message ID "
                              f"{clear.message_id} processing failed")
        self.sa.drop(reason)
        return Status.DESTROY_ME if self.sa.state == IkeState.CREATED else Status.SUCCESS

    def _critical_payload(self, clear: Message, exc: UnsupportedCriticalPayload, src: Endpoint,
                          dst: Endpoint) -> Status:
        self.sa.log("ENC", 1, f"payload type {exc.payload_type} is not supported, but payload is critical!")
        self.sa.drop("unsupported_critical_payload")
        if clear.is_request and clear.exchange_type != E.IKE_SA_INIT:
            self._notify_response(clear, exc.notify, exc.notify_data(), src, dst)
        return Status.SUCCESS

    def _invalid_syntax(self, message: Message, why: str, src: Endpoint, dst: Endpoint) -> Status:
        self.sa.log("ENC", 1, f"message verification failed: {why}")
        self.sa.alert("parse-error-body")
        self.sa.drop("invalid_syntax")
        if not message.is_request:
            return Status.SUCCESS
        self._notify_response(message, NotifyType.INVALID_SYNTAX, b"", src, dst)
        if message.exchange_type == E.IKE_SA_INIT:
            return Status.DESTROY_ME
        if self.sa.state not in (IkeState.CONNECTING, IkeState.REKEYED, IkeState.CREATED):
            self.sa.ike_updown(False)
        return Status.DESTROY_ME

    def _notify_response(self, request: Message, ntype: int, data: bytes, src: Endpoint,
                         dst: Endpoint) -> None:
        """``send_notify_response``: a protected error notify; the message ID is consumed."""
        msg = OutMessage(request.exchange_type, request.message_id, False, dst, src)
        msg.add_notify(ntype, data)
        self.sa.send(self.generate(msg), dst, src)
        self.responding.mid = (self.responding.mid + 1) & 0xFFFFFFFF

    # --- dispatch ---------------------------------------------------------------------------
    def _dispatch(self, msg: InMessage) -> Status:
        self.sa.inbound_at = self.sa.now  # an authentic message: the peer is alive (DPD)
        if msg.is_request:
            if self._reject_request(msg):
                return Status.SUCCESS
            self.sa.update_hosts(msg.dst, msg.src, force=msg.message_id == 1)
            return self._request_done(self.process_request(msg))
        self.sa.update_hosts(msg.dst, None, force_local=msg.message_id == 0)
        status = self.process_response(msg)
        if status is not Status.SUCCESS:
            self.flush()
        return status

    def _request_done(self, status: Status) -> Status:
        if status is Status.SUCCESS:
            self.responding.mid = (self.responding.mid + 1) & 0xFFFFFFFF
            self.responding.prev_hash = self.responding.hash
            return Status.SUCCESS
        if status is Status.NEED_MORE:  # also: parked for a fetch (the message ID stays)
            return Status.SUCCESS
        self.flush()
        return Status.DESTROY_ME

    def resume(self, parked: Parked) -> Status:
        """Go on with a message parked for a fetch (:mod:`vicid.ike.fetch`), from the task that
        asked: the tasks before it have processed the message already."""
        if parked.msg.is_request:
            status = self._request_done(self.process_request(parked.msg, resume=parked.task))
        else:
            status = self._process_active(parked.msg, resume=parked.task)
            if status is not Status.SUCCESS:
                self.flush()
        if self.fetch.parked is None:  # done with this message: its answers go
            self.fetch.answers.clear()
        return status

    def _reject_request(self, msg: InMessage) -> bool:
        state, exchange = self.sa.state, msg.exchange
        reject = {E.IKE_SA_INIT: state != IkeState.CREATED,
                  E.IKE_INTERMEDIATE: state != IkeState.CONNECTING or not self.has(
                      self.passive, TaskKind.IKE_INIT),
                  E.IKE_AUTH: state != IkeState.CONNECTING}.get(exchange, False)
        if not reject and state == IkeState.REKEYED:
            reject = exchange != E.INFORMATIONAL
        if not reject and state in (IkeState.CREATED, IkeState.CONNECTING):
            reject = self.sa.initiator
        if reject:
            self.sa.log("IKE", 1, f"ignoring {exchange_name(exchange)} in IKE_SA state {state.value}")
            self.sa.drop("rejected_request")
        return reject

    def _derive_keys(self, tasks: list[Task]) -> bool:
        """Let a pending IKE_INIT derive keys (n) before the next message (``derive_keys()``)."""
        for task in tasks:
            if task.kind == TaskKind.IKE_INIT:
                status = task.derive_keys()  # type: ignore[attr-defined]
                if status is Status.SUCCESS:
                    tasks.remove(task)
                elif status is not Status.NEED_MORE:
                    return False
                break
        return True

    # --- responder --------------------------------------------------------------------------
    def process_request(self, msg: InMessage, resume: Task | None = None) -> Status:
        """``process_request()``: create passive tasks, let them process, build the response
        (``resume``: go on from that task with a message parked for a fetch)."""
        if not self.passive and resume is None:
            tasks = self._passive_factory(self.sa, msg)
            if tasks is None:
                return Status.FAILED
            self.passive.extend(tasks)
        for task in list(self.passive) if resume is None else ():
            if "pre_process" in task.overrides and task.pre_process(msg) is not Status.SUCCESS:
                self.sa.log("IKE", 1, f"ignore invalid {exchange_name(msg.exchange)} request")
                if msg.exchange == E.IKE_SA_INIT:
                    return Status.DESTROY_ME
                if msg.exchange != E.IKE_AUTH:
                    self.passive.clear()
                return Status.NEED_MORE
        status = self._run_hooks(self.passive, "process", msg, updown=True, start=resume)
        if status is not Status.SUCCESS:
            return status
        status = self._run_hooks(self.passive, "post_process", msg, updown=False)
        if status is not Status.SUCCESS:
            return status
        return self.build_response(msg)

    def _run_hooks(self, tasks: list[Task], hook: str, msg: InMessage, updown: bool,
                   start: Task | None = None) -> Status:
        for task in _from(tasks, start):
            if hook not in task.overrides:
                continue  # the default: NEED_MORE
            try:
                status = getattr(task, hook)(msg)
            except FetchNeeded as need:  # parked: NEED_MORE keeps the message ID, sends nothing
                park(self.sa, msg, task, need.request)
                return Status.NEED_MORE
            if status is Status.SUCCESS:
                tasks.remove(task)
            elif status is not Status.NEED_MORE:
                if updown and status is Status.FAILED:
                    self.sa.ike_updown(False)
                if task in tasks:
                    tasks.remove(task)
                return Status.DESTROY_ME
        return Status.SUCCESS

    def build_response(self, request: InMessage) -> Status:
        """``build_response()``: every passive task adds its payloads; errors become notifies."""
        msg = OutMessage(request.exchange, self.responding.mid, False, request.dst, request.src)
        delete, hook = self._build_passive(msg)
        spi_r = bytes(8) if delete and request.exchange == E.IKE_SA_INIT else None
        self.responding.packets = self.generate(msg, spi_r)
        if not delete:
            for task in list(self.passive):
                if "post_build" not in task.overrides:
                    continue  # the default: NEED_MORE
                status = task.post_build(msg)
                if status is Status.SUCCESS:
                    self.passive.remove(task)
                elif status is not Status.NEED_MORE:
                    self.sa.ike_updown(False)
                    return Status.DESTROY_ME
        self.sa.send(self.responding.packets, request.dst, request.src)
        if delete:
            if hook:
                self.sa.ike_updown(False)
            return Status.DESTROY_ME
        return Status.SUCCESS

    def _build_passive(self, msg: OutMessage) -> tuple[bool, bool]:
        for task in list(self.passive):
            try:
                status = task.build(msg)
            except IkeProtocolError as exc:
                status = self._error_notify(msg, exc)
            if status is Status.SUCCESS:
                self.passive.remove(task)
                if task.kind not in _COLLIDING or not self.handle_collisions(task):
                    task.dispose()
            elif status is Status.NEED_MORE:
                if task.kind in _COLLIDING and self.handle_collisions(task):
                    self.passive.remove(task)
            else:
                if self.handle_collisions(task):
                    self.passive.remove(task)
                return True, status is Status.FAILED
        return False, False

    def _error_notify(self, msg: OutMessage, exc: IkeProtocolError) -> Status:
        """The only place protocol errors become notifies (design §1.4): CHILD scope in an
        exchange that keeps the IKE_SA adds the notify; anything else fails the IKE_SA."""
        child_scope = exc.scope is Scope.CHILD and msg.exchange in (E.IKE_AUTH, E.CREATE_CHILD_SA,
                                                                    E.IKE_FOLLOWUP_KE)
        msg.add_notify(exc.notify, exc.notify_data(), flush=not child_scope)
        if child_scope:
            return Status.SUCCESS
        self.sa.log("IKE", 1, f"sending {notify_name(exc.notify)} notify error")
        return Status.FAILED

    # --- initiator: responses ---------------------------------------------------------------
    def process_response(self, msg: InMessage) -> Status:
        """``process_response()``: pre_process, process, post_process, then the next exchange."""
        if msg.exchange != self.initiating.exchange:
            self.sa.log("IKE", 1, f"received {exchange_name(msg.exchange)} response, but expected "
                                  f"{exchange_name(self.initiating.exchange)}")
            self.sa.ike_updown(False)
            return Status.DESTROY_ME
        if msg.exchange in (E.CREATE_CHILD_SA, E.INFORMATIONAL) and msg.notify(NotifyType.INVALID_SYNTAX):
            self.sa.log("IKE", 1, "received INVALID_SYNTAX notify error, destroying IKE_SA")
            self.sa.ike_updown(False)
            return Status.DESTROY_ME
        for task in list(self.active):
            if "pre_process" not in task.overrides:
                continue  # the default: SUCCESS
            status = task.pre_process(msg)
            if status is Status.DESTROY_ME:
                return status
            if status is not Status.SUCCESS:
                self.sa.log("IKE", 1, f"ignore invalid {exchange_name(msg.exchange)} response")
                self.sa.drop("invalid_response")
                return Status.SUCCESS
        if self.initiating.retransmit_sent:
            self.sa.alert("retransmit-send-cleared")
        return self._process_active(msg)

    def _process_active(self, msg: InMessage, resume: Task | None = None) -> Status:
        self._reset_flag = False
        for task in _from(self.active, resume):
            if "process" not in task.overrides:
                continue  # the default: NEED_MORE
            try:
                status = task.process(msg)
            except FetchNeeded as need:  # parked: the response is processed once answered
                park(self.sa, msg, task, need.request)
                return Status.SUCCESS
            if status is Status.SUCCESS:
                self.active.remove(task)
                task.dispose()
            elif status is not Status.NEED_MORE:
                if status is Status.FAILED:
                    self.sa.ike_updown(False)
                if task in self.active:
                    self.active.remove(task)
                return Status.DESTROY_ME
            if self._reset_flag:
                self._reset_flag = False
                return self.initiate()
        for task in list(self.active):
            if "post_process" not in task.overrides:
                continue  # the default: NEED_MORE
            status = task.post_process(msg)
            if status is Status.SUCCESS:
                self.active.remove(task)
            elif status is not Status.NEED_MORE:
                return Status.DESTROY_ME
        self.initiating.mid = (self.initiating.mid + 1) & 0xFFFFFFFF
        self.initiating.exchange = EXCHANGE_UNDEFINED
        self.initiating.packets = []
        self.initiating.deadline = None
        return self.initiate()

    # --- views ------------------------------------------------------------------------------
    def task_names(self) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
        return (tuple(t.kind.name for t in self.queued), tuple(t.kind.name for t in self.active),
                tuple(t.kind.name for t in self.passive))


def _from(tasks: list[Task], start: Task | None) -> list[Task]:
    """A copy of ``tasks`` to iterate, beginning at ``start`` if given (a resumed message)."""
    todo = list(tasks)
    if start is None:
        return todo
    return todo[todo.index(start):] if start in todo else []
