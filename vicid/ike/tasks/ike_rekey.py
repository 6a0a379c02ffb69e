"""IKE_SA rekeying with CREATE_CHILD_SA (RFC 7296 §1.3.2, §2.18; RFC 9370 §2.2.4), after
charon's ``ike_rekey.c`` and the rekey mode of ``ike_init.c``.

    HDR, SK {SA(SPIi'), Ni, KEi} -->
                                  <-- HDR, SK {SA(SPIr'), Nr, KEr [, N(ADDITIONAL_KEY_EXCHANGE)]}
    [HDR(IKE_FOLLOWUP_KE), SK {KEi(n), N(ADDITIONAL_KEY_EXCHANGE)} -->
                                  <-- HDR(IKE_FOLLOWUP_KE), SK {KEr(n) [, N(...)]}]
    HDR, SK {D(IKE)} -->            (on the old IKE_SA)
                                  <-- HDR, SK {}

Every exchange runs on the old IKE_SA; the new one is keyed once all key exchanges are done
(SKEYSEED = prf(SK_d(old), SK(0) | Ni | Nr | SK(1) | ...)), takes over the CHILD_SAs and queued
tasks and fires ``ike-rekey`` (old -> new). A rekey collision is resolved by the lowest nonce
(RFC 7296 §2.8.2): the loser deletes the redundant IKE_SA it created, the winner the old one.
"""

from __future__ import annotations

from dataclasses import replace
from enum import Enum, auto
from typing import TYPE_CHECKING

from vicid.ike.child import ChildState
from vicid.ike.ke import KeyExchange
from vicid.ike.messages import EXCHANGE_UNDEFINED, InMessage, OutMessage, notify_name
from vicid.ike.proposal import Proposal
from vicid.ike.sa_state import Cond, IkeState
from vicid.ike.tasks import common
from vicid.ike.tasks.base import Status, Task, TaskKind
from vicid.ike.tasks.child_create import LINK, RETRY_INTERVAL, RETRY_JITTER
from vicid.ike.tasks.ike_delete import IkeDelete
from vicid.ike.tasks.ike_init import MAX_RETRIES, KeRound, key_rounds
from vicid.ike.wire.enums import ExchangeType, NotifyType, PayloadType, TransformType, ke_name
from vicid.ike.wire.payloads import NoncePayload
from vicid.ike.wire_map import proposals_from_wire, sa_payload
from vicid.secrets import Secret

if TYPE_CHECKING:
    from vicid.ike.sa import IkeSa

E, N = ExchangeType, NotifyType
HALF_OPEN_IKE_SA_TIMEOUT = 30  # ike_sa.h: a redundant IKE_SA the peer should delete
DELETE_REKEYED_IKE_SA = 90  # ike_rekey.c: the old IKE_SA if the peer never deletes it


def _between(sa: IkeSa) -> str:
    return f"{sa.my_host[0]}[{sa.my_id}]...{sa.other_host[0]}[{sa.other_id}]"


class NewSaInit:
    """``ike_init`` with an old SA: SA/KE/Nonce of the new IKE_SA, its KE rounds and keys."""

    def __init__(self, new: IkeSa, old: IkeSa, initiator: bool) -> None:
        self.new, self.old, self.initiator = new, old, initiator
        self.my_nonce = self.other_nonce = b""
        self.proposal: Proposal | None = None
        self.ke_method = 0
        self.ke: KeyExchange | None = None
        self.ke_failed = False
        self.rounds: list[KeRound] = []
        self.ke_index = 0
        self.secrets: list[Secret] = []
        self.retry = 0

    def lower_nonce(self) -> bytes:
        mine, other = self.my_nonce, self.other_nonce
        n = min(len(mine), len(other))
        return mine if mine[:n] < other[:n] else other

    # --- rounds -------------------------------------------------------------------------------
    def _done(self) -> bool:
        """A key exchange completed (its secret kept); True if none is left."""
        assert self.ke is not None
        self.secrets.append(self.ke.shared_secret())
        self.rounds[self.ke_index].done = True
        self.ke_index += 1
        return not any(not r.done for r in self.rounds[self.ke_index:])

    def _derive(self) -> None:
        """Keys of the new IKE_SA once every key exchange is done."""
        new = self.new
        assert self.proposal is not None
        ni, nr = (self.my_nonce, self.other_nonce) if self.initiator else (self.other_nonce, self.my_nonce)
        new.proposal = self.proposal
        new.keymat.derive_rekeyed(self.proposal, self.old.keymat, self.secrets, ni, nr, new.spi_i, new.spi_r)

    def _apply(self, method: int, data: bytes) -> None:
        expected = self.rounds[self.ke_index].method if self.rounds else self.ke_method
        if method != expected:
            self.new.log("IKE", 1, f"key exchange method in received payload {ke_name(method)} doesn't "
                                   f"match negotiated {ke_name(expected)}")
            self.ke_failed = True
            return
        if not self.initiator:
            self.ke = common.create_ke(self.new, method)
        if self.ke is None or self.ke.method != method:
            self.ke_failed = True
            return
        self.ke_failed = not common.apply_peer_value(self.new, self.ke, data)

    # --- initiator ----------------------------------------------------------------------------
    def build_request(self, msg: OutMessage) -> Status:
        new, cfg = self.new, self.new.ike_cfg
        new.log("IKE", 0, f"initiating IKE_SA {new.name}[{new.uniqueid}] to {new.other_host[0]}")
        new.set_state(IkeState.CONNECTING)
        if self.retry >= MAX_RETRIES:
            new.log("IKE", 1, f"giving up after {MAX_RETRIES} retries")
            return Status.FAILED
        if self.ke is None or self.ke.method != self.ke_method:
            if not self.ke_method:
                self.ke_method = self._first_method()
            self.ke = common.create_ke(new, self.ke_method)
            if self.ke is None:
                new.log("IKE", 1, f"configured key exchange method {ke_name(self.ke_method)} not supported")
                return Status.FAILED
        if not self.my_nonce:
            self.my_nonce = common.nonce(new)
        front, back = [], []
        for p in (cfg.proposals if cfg else ()):
            p = replace(p, spi=new.spi_i)
            promoted = p.promote_transform(TransformType.KE, self.ke_method)
            (front if promoted else back).append(promoted or p)
        msg.add(sa_payload(front + back))
        msg.add(NoncePayload(self.my_nonce))
        msg.add(common.ke_payload(self.ke))
        return Status.NEED_MORE

    def _first_method(self) -> int:
        """``prefer_previous_dh_group``: reuse the old IKE_SA's KE method."""
        old = self.old.proposal
        ke = old.get_algorithm(TransformType.KE) if old is not None else None
        if self.new.ctx.settings.prefer_previous_dh_group and ke is not None and ke.id:
            return ke.id
        cfg = self.new.ike_cfg
        return next((a.id for p in (cfg.proposals if cfg else ()) if (a := p.get_algorithm(TransformType.KE))), 0)

    def build_followup(self, msg: OutMessage) -> Status:
        method = self.rounds[self.ke_index].method
        self.ke = common.create_ke(self.new, method)
        if self.ke is None:
            self.new.log("IKE", 1, f"negotiated key exchange method {ke_name(method)} not supported")
            return Status.FAILED
        msg.exchange = E.IKE_FOLLOWUP_KE
        msg.add(common.ke_payload(self.ke))
        return Status.NEED_MORE

    def process_response(self, msg: InMessage) -> Status:
        """CREATE_CHILD_SA response: SUCCESS (keys derived), NEED_MORE (rounds follow or an
        INVALID_KE_PAYLOAD retry) or FAILED."""
        new = self.new
        for n in msg.notifies():
            if n.notify_type == N.INVALID_KE_PAYLOAD and len(n.data) == 2:
                bad, self.ke_method = self.ke_method, int.from_bytes(n.data, "big")
                new.log("IKE", 1, f"peer didn't accept key exchange method {ke_name(bad)}, it requested "
                                  f"{ke_name(self.ke_method)}")
                self.retry += 1
                return Status.NEED_MORE
            if n.is_error:
                new.log("IKE", 1, f"received {notify_name(n.notify_type)} notify error")
                return Status.FAILED
        self._read(msg, self._select_response)
        if self.proposal is None or not self.other_nonce:
            new.log("IKE", 1, "peer's proposal selection invalid")
            return Status.FAILED
        if not self.proposal.has_transform(TransformType.KE, self.ke_method) or self.ke_failed:
            new.log("IKE", 1, "applying key exchange public value failed")
            return Status.FAILED
        new.spi_r = self.proposal.spi
        self.rounds, self.ke_index = key_rounds(self.proposal), 0
        if not self._done():
            return Status.NEED_MORE
        self._derive()
        return Status.SUCCESS

    def _select_response(self, supplied: list[Proposal]) -> Proposal | None:
        cfg = self.new.ike_cfg
        return common.select(self.new, cfg.proposals if cfg else (), supplied)

    def process_followup_response(self, msg: InMessage) -> Status:
        ke = msg.get(PayloadType.KE)
        if ke is None:
            self.new.log("IKE", 1, "KE payload missing in message")
            return Status.FAILED
        self._apply(ke.method, ke.data)
        if self.ke_failed:
            return Status.FAILED
        if not self._done():
            return Status.NEED_MORE
        self._derive()
        return Status.SUCCESS

    # --- responder ----------------------------------------------------------------------------
    def process_request(self, msg: InMessage, src: object) -> None:
        new = self.new
        new.log("IKE", 0, f"{src} is initiating IKE_SA {new.name}[{new.uniqueid}]")
        new.set_state(IkeState.CONNECTING)
        self.my_nonce = common.nonce(new)
        self._read(msg, self._select_request)

    def _select_request(self, supplied: list[Proposal]) -> Proposal | None:
        selected = self._select_response(supplied)
        if selected is None:
            self.new.alert("proposal-mismatch-ike")
        return selected

    def _read(self, msg: InMessage, select) -> None:
        ke_payload = None
        for p in msg.message.all_payloads():
            if p.payload_type == PayloadType.SA:
                self.proposal = select(proposals_from_wire(p))
            elif p.payload_type == PayloadType.KE:
                ke_payload = p
                if not self.initiator:
                    self.ke_method = p.method
            elif p.payload_type == PayloadType.NONCE:
                self.other_nonce = p.data
        if ke_payload is not None:
            self._apply(ke_payload.method, ke_payload.data)

    def build_response(self, msg: OutMessage) -> Status:
        """SA/Nr/KEr: SUCCESS (keys derived), NEED_MORE (rounds follow) or FAILED (an error
        notify was added)."""
        new, proposal = self.new, self.proposal
        if proposal is None or not self.other_nonce:
            new.log("IKE", 1, "received proposals unacceptable")
            msg.add_notify(N.NO_PROPOSAL_CHOSEN, flush=True)
            return Status.FAILED
        group = proposal.get_algorithm(TransformType.KE)
        if self.ke is None or group is None or group.id != self.ke_method:
            if group is not None and group.id != self.ke_method:
                new.log("IKE", 1, f"key exchange method {ke_name(self.ke_method)} unacceptable, "
                                  f"requesting {ke_name(group.id)}")
                msg.add_notify(N.INVALID_KE_PAYLOAD, group.id.to_bytes(2, "big"), flush=True)
            else:
                msg.add_notify(N.NO_PROPOSAL_CHOSEN, flush=True)
            return Status.FAILED
        if self.ke_failed:
            new.log("IKE", 1, "applying KE public value failed")
            msg.add_notify(N.NO_PROPOSAL_CHOSEN, flush=True)
            return Status.FAILED
        new.spi_i = proposal.spi
        self.proposal = replace(proposal, spi=new.spi_r)
        msg.add(sa_payload([self.proposal]))
        msg.add(NoncePayload(self.my_nonce))
        msg.add(common.ke_payload(self.ke))
        self.rounds, self.ke_index = key_rounds(self.proposal), 0
        if not self._done():
            return Status.NEED_MORE
        self._derive()
        return Status.SUCCESS

    def process_followup_request(self, msg: InMessage) -> None:
        self.ke = None
        ke = msg.get(PayloadType.KE)
        if ke is not None:
            self._apply(ke.method, ke.data)

    def build_followup_response(self, msg: OutMessage) -> Status:
        if self.ke is None:
            msg.add_notify(N.INVALID_SYNTAX)
            return Status.FAILED
        if self.ke_failed:
            msg.add_notify(N.NO_PROPOSAL_CHOSEN)
            return Status.FAILED
        msg.add(common.ke_payload(self.ke))
        if not self._done():
            return Status.NEED_MORE
        self._derive()
        return Status.SUCCESS


class Flag(Enum):
    FAILED_TEMPORARILY = auto()
    LINK_INVALID = auto()
    FOLLOWUP_KE = auto()
    DONE = auto()
    ADOPTED_PASSIVE = auto()


class IkeRekey(Task):
    """State of both roles: the new IKE_SA, its init helper, the link, the flags."""

    kind = TaskKind.IKE_REKEY

    def __init__(self, sa, initiator: bool) -> None:
        super().__init__(sa, initiator)
        self.new_sa: IkeSa | None = None
        self.init: NewSaInit | None = None
        self.link: bytes | None = None
        self.flags: set[Flag] = set()

    def _process_link(self, msg: InMessage) -> None:
        notify = msg.notify(N.ADDITIONAL_KEY_EXCHANGE)
        if notify is None:
            self.sa.log("IKE", 1, "ADDITIONAL_KEY_EXCHANGE notify missing")
            self.flags.add(Flag.LINK_INVALID)
        elif self.initiator:
            self.link = notify.data
        elif notify.data != self.link:
            self.sa.log("IKE", 1, "data in ADDITIONAL_KEY_EXCHANGE notify doesn't match")
            self.flags.add(Flag.LINK_INVALID)

    def establish_new(self) -> None:
        """``establish_new``: the new IKE_SA takes over (children, tasks), ike-rekey fires."""
        new, old = self.new_sa, self.sa
        if new is None:
            return
        new.set_state(IkeState.ESTABLISHED)
        new.log("IKE", 0, f"IKE_SA {new.name}[{new.uniqueid}] rekeyed between {_between(old)}")
        old.ctx.register_sa(new)
        new.inherit_post(old)
        old.ike_rekey(new)
        self.new_sa = None
        old.set_state(IkeState.REKEYED)
        new.initiate_later()

    def discard(self) -> None:
        """Forget a new IKE_SA that will not be used (it never was registered)."""
        if self.new_sa is not None:
            self.new_sa.ctx.ike_spis.discard(self.new_sa.my_spi)
            self.new_sa.destroy()
            self.new_sa = None

    def dispose(self) -> None:
        self.discard()

    def _actively_rekeying(self) -> tuple[bool, bool]:
        for task in self.sa.tm.active:
            if isinstance(task, IkeRekeyInitiator):
                return True, Flag.FOLLOWUP_KE in task.flags
        return False, False


class IkeRekeyInitiator(IkeRekey):
    def __init__(self, sa) -> None:
        super().__init__(sa, True)
        self.delete: IkeDelete | None = None
        self.collision: IkeRekeyResponder | None = None
        self.multi_ke = False  # CREATE_CHILD_SA done, IKE_FOLLOWUP_KE rounds running

    def build(self, msg: OutMessage) -> Status:
        sa = self.sa
        if self.delete is not None:
            msg.exchange = E.INFORMATIONAL
            return self.delete.build(msg)
        if self.multi_ke:
            assert self.init is not None and self.link is not None
            self.flags.add(Flag.FOLLOWUP_KE)
            msg.add_notify(N.ADDITIONAL_KEY_EXCHANGE, self.link)
            if self.init.build_followup(msg) is Status.FAILED:
                return self._give_up_build(msg)
            return Status.NEED_MORE
        if self.new_sa is None:
            if sa.state in (IkeState.REKEYING, IkeState.REKEYED):
                msg.exchange = EXCHANGE_UNDEFINED  # being (or was) rekeyed passively
                return Status.SUCCESS
            self.new_sa = sa.spawn(initiator=True)
            self.init = NewSaInit(self.new_sa, sa, True)
            sa.set_state(IkeState.REKEYING)
        assert self.init is not None
        if self.init.build_request(msg) is Status.FAILED:
            return self._give_up_build(msg)
        return Status.NEED_MORE

    def _give_up_build(self, msg: OutMessage) -> Status:
        self.discard()
        self._schedule_delayed_rekey()
        msg.exchange = EXCHANGE_UNDEFINED
        return Status.SUCCESS

    def _schedule_delayed_rekey(self) -> None:
        sa = self.sa
        retry = RETRY_INTERVAL - int(sa.ctx.rng.random() * RETRY_JITTER)
        sa.log("IKE", 1, f"IKE_SA rekeying failed, trying again in {retry} seconds")
        sa.set_state(IkeState.ESTABLISHED)
        sa.schedule_ike_rekey(retry, reauth=False)

    def _give_up(self) -> Status:
        """Fall back to the old IKE_SA (or to the peer's completed replacement)."""
        self.discard()
        if not self._conclude_collision(True):
            self._schedule_delayed_rekey()
        return Status.SUCCESS

    def process(self, msg: InMessage) -> Status:
        sa, init = self.sa, self.init
        if self.delete is not None:
            return self.delete.process(msg)
        assert init is not None
        if msg.notify(N.NO_ADDITIONAL_SAS):
            sa.log("IKE", 1, "peer seems to not support IKE rekeying, starting reauthentication")
            self.discard()
            sa.set_state(IkeState.ESTABLISHED)
            sa.schedule_ike_rekey(0, reauth=True)
            return Status.SUCCESS
        if msg.notify(N.STATE_NOT_FOUND):
            sa.log("IKE", 1, "peer didn't like our ADDITIONAL_KEY_EXCHANGE notify data")
            return self._give_up()
        if self.multi_ke:
            status = init.process_followup_response(msg)
        else:
            status = init.process_response(msg)
        if status is Status.FAILED:
            return self._give_up()
        if status is Status.NEED_MORE:
            return self._more(msg)
        if self._collision_lost(False):
            return Status.SUCCESS
        self.establish_new()
        self.delete = IkeDelete(sa, True)
        return Status.NEED_MORE

    def _more(self, msg: InMessage) -> Status:
        init = self.init
        assert init is not None
        if msg.notify(N.INVALID_KE_PAYLOAD):
            init.proposal, init.other_nonce, init.ke_failed = None, b"", False
            return Status.NEED_MORE  # retry with the method the peer asked for
        if self.multi_ke:
            return Status.NEED_MORE
        self._process_link(msg)
        if Flag.LINK_INVALID in self.flags:
            return self._give_up()
        self.multi_ke = True
        return Status.SUCCESS if self._collision_lost(True) else Status.NEED_MORE

    # --- collisions ---------------------------------------------------------------------------
    def collide(self, other: Task) -> bool:
        sa = self.sa
        sa.log("IKE", 1, f"detected IKE_REKEY collision with {other.kind.name}")
        if other.kind == TaskKind.IKE_DELETE:
            self._conclude_collision(True)
            return False
        if not isinstance(other, IkeRekeyResponder):
            return False
        if other.init is None:
            sa.log("IKE", 1, "colliding exchange did not result in an IKE_SA, ignore")
            if self.collision is other:
                self.collision = None
            return False
        self.collision = other  # tracked in any case, collide() may come again
        if Flag.DONE in other.flags:
            self.flags.add(Flag.ADOPTED_PASSIVE)
            return True
        sa.log("IKE", 1, "colliding passive exchange is not yet complete")
        return False

    def did_collide(self) -> bool:
        return self.collision is not None

    def _conclude_collision(self, maybe_undetected: bool) -> bool:
        other = self.collision
        if other is not None and Flag.ADOPTED_PASSIVE in self.flags:
            if maybe_undetected:
                self.sa.log("IKE", 1, "peer may not have noticed IKE_SA rekey collision, abort active "
                                      "rekeying")
            other.establish_new()
            return True
        return False

    def _collision_lost(self, multi_ke: bool) -> bool:
        sa, other, init = self.sa, self.collision, self.init
        if other is None:
            return False
        assert init is not None and other.init is not None
        mine, theirs = init.lower_nonce(), other.init.lower_nonce()
        n = min(len(mine), len(theirs))
        if mine[:n] < theirs[:n]:
            if multi_ke:
                sa.log("IKE", 1, "IKE_SA rekey collision lost, abort incomplete multi-KE rekeying")
                self.discard()
            else:
                new = self.new_sa
                assert new is not None
                sa.log("IKE", 1, f"IKE_SA rekey collision lost, deleting redundant IKE_SA "
                                 f"{new.name}[{new.uniqueid}]")
                self._delete_redundant()
            self._conclude_collision(False)
            return True
        if Flag.ADOPTED_PASSIVE in self.flags:
            redundant = other.new_sa
            assert redundant is not None
            what = "continue with multi-KE rekeying and wait" if multi_ke else "waiting"
            sa.log("IKE", 1, f"IKE_SA rekey collision won, {what} for delete for redundant IKE_SA "
                             f"{redundant.name}[{redundant.uniqueid}]")
            self._wait_for_redundant_delete(other)
        else:
            what = "continue with multi-KE rekeying and remove" if multi_ke else "remove"
            sa.log("IKE", 1, f"IKE_SA rekey collision won, {what} passive IKE_REKEY task")
            sa.tm.remove_passive(other)
            other.discard()
        self.collision = None
        return False

    def _delete_redundant(self) -> None:
        """Delete the IKE_SA we created in a collision we lost (events suppressed)."""
        new = self.new_sa
        assert new is not None
        self.new_sa = None
        new.my_host, new.other_host = self.sa.my_host, self.sa.other_host
        new.set_state(IkeState.REKEYED)
        new.ctx.register_sa(new)
        new.inherit_post(self.sa, children=False)
        new.delete_later()

    def _wait_for_redundant_delete(self, other: IkeRekeyResponder) -> None:
        """The peer deletes the IKE_SA it created; we check it in, with a timeout."""
        redundant = other.new_sa
        assert redundant is not None
        other.new_sa = None
        redundant.set_state(IkeState.REKEYED)
        redundant.ctx.register_sa(redundant)
        redundant.inherit_post(self.sa, children=False)
        redundant.schedule_delete(HALF_OPEN_IKE_SA_TIMEOUT)

    def adopt(self, sa) -> None:
        super().adopt(sa)
        self.discard()
        self.init, self.delete, self.collision, self.link, self.flags = None, None, None, None, set()
        self.multi_ke = False

    def dispose(self) -> None:
        self.discard()
        if self.collision is not None and Flag.ADOPTED_PASSIVE in self.flags:
            self.collision.discard()


class IkeRekeyResponder(IkeRekey):
    def __init__(self, sa) -> None:
        super().__init__(sa, False)
        self.multi_ke = False

    def process(self, msg: InMessage) -> Status:
        if self.multi_ke:
            return self._process_followup(msg)
        sa = self.sa
        reason = self._refusal()
        if reason is not None:
            sa.log("IKE", 1, f"peer initiated rekeying, but {reason}")
            self.flags.add(Flag.FAILED_TEMPORARILY)
            return Status.NEED_MORE
        self.new_sa = sa.spawn(initiator=False)
        self.init = NewSaInit(self.new_sa, sa, False)
        self.init.process_request(msg, msg.src[0])
        return Status.NEED_MORE

    def _refusal(self) -> str | None:
        sa = self.sa
        if sa.state == IkeState.DELETING:
            return "we are deleting"
        if sa.has(Cond.REAUTHENTICATING):
            return "we are reauthenticating"
        if self._half_open_children():
            return "a child is half-open"
        active, followup = self._actively_rekeying()
        if active and followup:
            return "we did too and already sent IKE_FOLLOWUP_KE"
        return None

    def _half_open_children(self) -> bool:
        busy = (ChildState.REKEYING, ChildState.RETRYING, ChildState.DELETING)
        if any(c.state in busy for c in self.sa.children):
            return True
        return self.sa.tm.has(self.sa.tm.active, TaskKind.CHILD_CREATE)

    def _process_followup(self, msg: InMessage) -> Status:
        if msg.exchange != E.IKE_FOLLOWUP_KE:
            return Status.FAILED
        if self.sa.state == IkeState.DELETING:
            self.sa.log("IKE", 1, "peer continued rekeying, but we are deleting")
            self.flags.add(Flag.FAILED_TEMPORARILY)
            return Status.NEED_MORE
        self._process_link(msg)
        assert self.init is not None
        self.init.process_followup_request(msg)
        return Status.NEED_MORE

    def build(self, msg: OutMessage) -> Status:
        sa = self.sa
        if Flag.FAILED_TEMPORARILY in self.flags:
            msg.add_notify(N.TEMPORARY_FAILURE, flush=True)
            self.discard()
            return Status.SUCCESS
        if Flag.LINK_INVALID in self.flags:
            msg.add_notify(N.STATE_NOT_FOUND, flush=True)
            self.discard()
            return Status.SUCCESS
        if self.new_sa is None or self.init is None:
            msg.add_notify(N.NO_PROPOSAL_CHOSEN, flush=True)
            return Status.SUCCESS
        status = self.init.build_followup_response(msg) if self.multi_ke else self.init.build_response(msg)
        if status is Status.FAILED:
            self.discard()
            self.init = None
            return Status.SUCCESS
        if sa.state != IkeState.REKEYING:
            sa.set_state(IkeState.REKEYING)
        if status is Status.NEED_MORE:
            self.link = self.link or LINK  # window size 1: the value hardly matters
            msg.add_notify(N.ADDITIONAL_KEY_EXCHANGE, self.link)
            self.multi_ke = True
            return Status.NEED_MORE
        self.flags.add(Flag.DONE)
        if not self._actively_rekeying()[0]:  # else the initiating task decides
            self.establish_new()
            sa.schedule_delete(DELETE_REKEYED_IKE_SA)  # in case the peer never deletes it
        return Status.SUCCESS
