"""CHILD_SA rekeying with CREATE_CHILD_SA (RFC 7296 §1.3.3, §2.8; RFC 9370 §2.2.4), after
charon's ``child_rekey.c``, including its rekey collision handling (strongSwan 6.0).

    HDR, SK {N(REKEY_SA), SA, Ni, [KEi,] TSi, TSr} -->
                              <-- HDR, SK {SA, Nr, [KEr,] TSi, TSr [, N(ADDITIONAL_KEY_EXCHANGE)]}
    [IKE_FOLLOWUP_KE rounds, see child_create.py]
    HDR, SK {D(ESP, old SPIi)} -->
                              <-- HDR, SK {D(ESP, old SPIr)}

The initiator installs the new SA's outbound half once the rekeying is complete, then deletes
the old SA; the responder does so when that DELETE arrives. Either side fires the
``child-rekey`` event exactly when it switches outbound traffic (``conclude_rekeying``), so a
listener can follow old -> new in every case.

Collisions (both peers rekey the same SA): RFC 7296 §2.8.1 - the exchange whose lower nonce is
the smallest loses; its replacement is deleted by the peer that created it, the old SA by the
winner. A peer that already sent an IKE_FOLLOWUP_KE answers TEMPORARY_FAILURE.
"""

from __future__ import annotations

from enum import Enum, auto

from vicid.ike.child import ChildSa, ChildState, OutboundState
from vicid.ike.messages import EXCHANGE_UNDEFINED, InMessage, OutMessage
from vicid.ike.tasks.base import Status, Task, TaskKind
from vicid.ike.tasks.child_conclude import (
    Collision,
    child_name,
    conclude_rekeying,
    destroy_and_reestablish,
    destroy_rekeyed,
)
from vicid.ike.tasks.child_create import RETRY_INTERVAL, RETRY_JITTER, ChildCreateInitiator, ChildCreateResponder
from vicid.ike.tasks.child_delete import ChildDeleteInitiator
from vicid.ike.wire.enums import ExchangeType, NotifyType, ProtocolId
from vicid.ike.wire.errors import IkeProtocolError
from vicid.ike.wire.payloads import DeletePayload

E, N = ExchangeType, NotifyType


class Flag(Enum):
    FOLLOWUP_KE = auto()  # we already sent an IKE_FOLLOWUP_KE
    PASSIVE_INSTALLED = auto()  # the colliding passive rekeying completed, we adopted it
    OTHER_DELETED = auto()  # the peer deleted its own replacement of a collision
    OLD_SA_DELETED = auto()  # the peer deleted the SA we rekey
    REPLACEMENT_DELETED = auto()  # the peer deleted the winning replacement


class ChildRekeyInitiator(Task):
    """``child_rekey`` as initiator: a CHILD_CREATE subtask, then a CHILD_DELETE subtask."""

    kind = TaskKind.CHILD_REKEY

    def __init__(self, sa, protocol: int, spi: bytes) -> None:
        super().__init__(sa, True)
        self.protocol, self.spi = protocol, spi
        self.child: ChildSa | None = None
        self.create: ChildCreateInitiator | None = None
        self.delete: Task | None = None
        self.collision: ChildRekeyResponder | None = None
        self.flags: set[Flag] = set()
        self.deleted_spis: list[bytes] = []
        self.builder = self._build_rekey

    # --- building -----------------------------------------------------------------------------
    def build(self, msg: OutMessage) -> Status:
        return self.builder(msg)

    def _find(self) -> ChildSa | None:
        sa = self.sa
        child = sa.find_child(self.protocol, self.spi, inbound=True)
        if child is None:
            child = sa.find_child(self.protocol, self.spi, inbound=False)
            if child is not None:
                self.spi = child.spi_in  # we work only with the inbound SPI
        return child

    def _build_rekey(self, msg: OutMessage) -> Status:
        sa = self.sa
        self.child = child = self._find()
        wanted = ChildState.INSTALLED if self.create is None else ChildState.REKEYING
        if child is None or child.state != wanted:
            msg.exchange = EXCHANGE_UNDEFINED  # gone or in the wrong state, unable to rekey
            self.dispose()
            return Status.SUCCESS
        if self.create is None:
            self.create = ChildCreateInitiator(sa, child.config)
            self.create.recreate(child, rekey=True)
        if self.create.build(msg) is not Status.NEED_MORE:
            self._schedule_delayed_rekey()
            msg.exchange = EXCHANGE_UNDEFINED
            return Status.SUCCESS
        if msg.exchange == E.CREATE_CHILD_SA:
            msg.add_notify(N.REKEY_SA, protocol_id=self.protocol, spi=self.spi)
        else:
            self.flags.add(Flag.FOLLOWUP_KE)
        sa.set_child_state(child, ChildState.REKEYING)
        return Status.NEED_MORE

    def _schedule_delayed_rekey(self) -> None:
        sa, child = self.sa, self.child
        assert child is not None
        retry = RETRY_INTERVAL - int(sa.ctx.rng.random() * RETRY_JITTER)
        sa.log("IKE", 1, f"CHILD_SA rekeying failed, trying again in {retry} seconds")
        sa.set_child_state(child, ChildState.INSTALLED)
        sa.schedule_child_rekey(child, retry)

    def _build_delete(self, msg: OutMessage) -> Status:
        msg.exchange = E.INFORMATIONAL
        assert self.delete is not None
        return self.delete.build(msg)

    def _delete_old_payload(self, msg: OutMessage) -> None:
        """``build_delete_old_sa``: one DELETE for the old SA, without a child_delete task."""
        child = self.child
        assert child is not None
        msg.exchange = E.INFORMATIONAL
        msg.add(DeletePayload(child.protocol, (child.spi_in,)))
        self.sa.log("IKE", 1, f"sending DELETE for {ProtocolId(child.protocol).name} CHILD_SA with "
                              f"SPI {child.spi_in.hex()}")

    def _build_delete_replacement(self, msg: OutMessage) -> Status:
        """We lost and failed locally: only the replacement the peer has goes."""
        assert self.create is not None
        self.create.build(msg)
        return Status.SUCCESS

    def _build_delete_old_destroy(self, msg: OutMessage) -> Status:
        """The peer deleted its replacement: delete the old SA, then recreate it if configured."""
        self._delete_old_payload(msg)
        assert self.child is not None
        destroy_and_reestablish(self.sa, self.child)
        return Status.SUCCESS

    def _build_delete_recreate(self, msg: OutMessage, delete_old: bool) -> Status:
        if delete_old:
            self._delete_old_payload(msg)
        assert self.create is not None and self.child is not None
        self.create.build(msg)
        from vicid.ike.config import Action

        destroy_and_reestablish(self.sa, self.child, forced=Action.START)
        return Status.SUCCESS

    # --- processing ---------------------------------------------------------------------------
    def process(self, msg: InMessage) -> Status:
        if self.delete is not None:
            return self.delete.process(msg)
        sa, child, create = self.sa, self.child, self.create
        assert child is not None and create is not None
        if msg.notify(N.NO_ADDITIONAL_SAS):
            sa.log("IKE", 1, "peer seems to not support CHILD_SA rekeying, starting reauthentication")
            sa.set_child_state(child, ChildState.INSTALLED)
            create.release()
            sa.schedule_ike_rekey(0, reauth=True)
            return Status.SUCCESS
        if msg.notify(N.CHILD_SA_NOT_FOUND):
            create.release()
            if not self._ignore_child_sa_not_found():
                from vicid.ike.config import Action

                destroy_and_reestablish(sa, child, forced=Action.START)
            return Status.SUCCESS
        status = create.process(msg)
        if status is Status.NEED_MORE:
            return self._incomplete(msg)
        new = create.child
        if new is None or new.state != ChildState.INSTALLED:
            if not self._ignore_child_sa_failure():
                self._schedule_delayed_rekey()
            return Status.SUCCESS
        return self._complete()

    def _incomplete(self, msg: InMessage) -> Status:
        """CHILD_CREATE needs another exchange: INVALID_KE retry, a local failure, or the next
        IKE_FOLLOWUP_KE round."""
        create = self.create
        assert create is not None
        if msg.notify(N.INVALID_KE_PAYLOAD):
            return Status.SUCCESS if self._ignore_child_sa_failure() else Status.NEED_MORE
        if create.child is None:
            return self._handle_local_failure()
        self.flags.add(Flag.FOLLOWUP_KE)
        won, _, _ = self._handle_collision(multi_ke=True)
        if not won:
            create.abandon()
            return Status.SUCCESS
        return Status.NEED_MORE

    def _complete(self) -> Status:
        sa, child = self.sa, self.child
        assert child is not None
        won, to_delete, winning = self._handle_collision(multi_ke=False)
        assert to_delete is not None
        if Flag.REPLACEMENT_DELETED in self.flags and winning is not None:
            sa.log("IKE", 1, f"peer meanwhile sent a delete for CHILD_SA {child_name(winning)} with SPIs "
                             f"{winning.spis_text}, abort rekeying")
            destroy_and_reestablish(sa, winning)
        elif won and winning is not None:
            conclude_rekeying(sa, child, winning)
        if won and Flag.OLD_SA_DELETED in self.flags:
            sa.log("IKE", 1, f"peer sent an incorrect delete for CHILD_SA {child_name(child)} after "
                             "responding to our rekeying")
            destroy_rekeyed(sa, child)
            return Status.SUCCESS
        sa.set_child_state(to_delete, ChildState.REKEYED)
        if to_delete.outbound_state != OutboundState.INSTALLED:
            for effect in to_delete.remove_outbound():
                sa.ctx.emit(effect)
        self.delete = ChildDeleteInitiator(sa, to_delete)
        self.builder = self._build_delete
        return Status.NEED_MORE

    # --- collisions ---------------------------------------------------------------------------
    def _lost(self) -> bool:
        other = self.collision
        if other is None:
            return False
        assert self.create is not None
        mine, theirs = self.create.lower_nonce(), other.create.lower_nonce()
        n = min(len(mine), len(theirs))
        return mine[:n] < theirs[:n]

    def _replacement_deleted(self) -> bool:
        """``is_our_replacement_deleted``: the peer deleted the SA we just created."""
        return bool(self.create and self.create.other_spi and self.create.other_spi in self.deleted_spis)

    def _handle_collision(self, multi_ke: bool) -> tuple[bool, ChildSa | None, ChildSa | None]:
        """(won, SA to delete, winning SA), charon's ``handle_collision``."""
        sa, other, create, child = self.sa, self.collision, self.create, self.child
        assert create is not None and child is not None
        if self._lost():
            assert other is not None
            return False, create.child, self._lost_collision(multi_ke, other)
        winning = create.child
        if other is None:
            if self._replacement_deleted() and winning is not None:
                self.flags.add(Flag.REPLACEMENT_DELETED)
                sa.child_rekey(child, winning)  # so listeners can follow old -> new -> gone
            return True, child, winning
        if Flag.PASSIVE_INSTALLED in self.flags:
            self._won_adopted(multi_ke, other, winning)
        else:
            what = "continue with multi-KE rekeying and remove" if multi_ke else "remove"
            sa.log("IKE", 1, f"CHILD_SA rekey collision won, {what} passive CHILD_REKEY task")
            sa.tm.remove_passive(other)
            other.dispose()
        self.collision = None
        return True, child, winning

    def _lost_collision(self, multi_ke: bool, other: ChildRekeyResponder) -> ChildSa | None:
        sa, child, mine = self.sa, self.child, self.create.child if self.create else None
        assert child is not None
        if multi_ke:
            sa.log("IKE", 1, "CHILD_SA rekey collision lost, abort incomplete multi-KE rekeying")
        elif mine is not None:
            sa.log("IKE", 1, f"CHILD_SA rekey collision lost, deleting redundant child {child_name(mine)}")
        if Flag.PASSIVE_INSTALLED not in self.flags:
            return None
        winning = other.create.child
        if Flag.OTHER_DELETED in self.flags and winning is not None:
            self.flags.add(Flag.REPLACEMENT_DELETED)
            if Flag.OLD_SA_DELETED not in self.flags or winning.outbound_state != OutboundState.INSTALLED:
                sa.child_rekey(child, winning)
        if Flag.OLD_SA_DELETED in self.flags:
            destroy_rekeyed(sa, child)
        elif Flag.OTHER_DELETED in self.flags:
            sa.set_child_state(child, ChildState.REKEYED)
        return winning

    def _won_adopted(self, multi_ke: bool, other: ChildRekeyResponder, winning: ChildSa | None) -> None:
        sa, child = self.sa, self.child
        assert child is not None
        if multi_ke:
            sa.log("IKE", 1, "CHILD_SA rekey collision won, continue with multi-KE rekeying")
            sa.set_child_state(child, ChildState.REKEYING)
        else:
            sa.log("IKE", 1, f"CHILD_SA rekey collision won, deleting old child {child_name(child)}")
        other_sa = other.create.child
        if self._replacement_deleted() and winning is not None:
            self.flags.add(Flag.REPLACEMENT_DELETED)
            if Flag.OLD_SA_DELETED in self.flags and other_sa is not None and \
                    other_sa.outbound_state == OutboundState.INSTALLED:
                sa.child_rekey(other_sa, winning)
            else:
                sa.child_rekey(child, winning)
        if Flag.OTHER_DELETED not in self.flags:
            # the peer is expected to delete its redundant SA: unlink it, no events for it
            child.rekey_sa = None
            if other_sa is not None:
                other_sa.rekey_sa = None
                sa.set_child_state(other_sa, ChildState.REKEYED)
                for effect in other_sa.remove_outbound():
                    sa.ctx.emit(effect)
        elif other_sa is not None:
            destroy_rekeyed(sa, other_sa)

    def _ignore_child_sa_not_found(self) -> bool:
        sa, child = self.sa, self.child
        assert child is not None
        if Flag.OLD_SA_DELETED not in self.flags:
            sa.log("IKE", 1, f"peer didn't find CHILD_SA {child_name(child)} we tried to rekey, create a "
                             "replacement")
            return False
        if self.collision is None:
            sa.log("IKE", 1, f"closing CHILD_SA {child_name(child)} we tried to rekey because the peer "
                             "deleted it before it received our request")
            destroy_and_reestablish(sa, child)
            return True
        if Flag.OTHER_DELETED not in self.flags:
            sa.log("IKE", 1, f"abort active rekeying for CHILD_SA {child_name(child)} because it was "
                             "successfully rekeyed by the peer before it received our request")
            destroy_rekeyed(sa, child)
            return True
        other_sa = self.collision.create.child
        sa.log("IKE", 1, f"abort active rekeying for CHILD_SA {child_name(child)} because the other peer "
                         f"already deleted its replacement CHILD_SA "
                         f"{child_name(other_sa) if other_sa else '?'} before it received our request")
        destroy_rekeyed(sa, child)
        if other_sa is not None:
            destroy_and_reestablish(sa, other_sa)
        return True

    def _ignore_child_sa_failure(self) -> bool:
        sa, child = self.sa, self.child
        assert child is not None
        if self.collision is not None and Flag.PASSIVE_INSTALLED in self.flags and \
                Flag.OTHER_DELETED not in self.flags:
            waiting = "" if Flag.OLD_SA_DELETED in self.flags else ", waiting for delete"
            sa.log("IKE", 1, f"abort active rekeying for CHILD_SA {child_name(child)} because the peer "
                             f"successfully rekeyed it before receiving our request{waiting}")
            if Flag.OLD_SA_DELETED in self.flags:
                destroy_rekeyed(sa, child)
            return True
        if Flag.OLD_SA_DELETED in self.flags:
            sa.log("IKE", 1, f"closing CHILD_SA {child_name(child)} we tried to rekey because the peer "
                             "started to delete it before receiving our request")
            destroy_and_reestablish(sa, child)
            return True
        return False

    def _handle_local_failure(self) -> Status:
        sa, child = self.sa, self.child
        assert child is not None
        if self.collision is not None and self._lost():
            if Flag.OLD_SA_DELETED in self.flags:
                destroy_rekeyed(sa, child)
            self.builder = self._build_delete_replacement
            return Status.NEED_MORE
        if self._replacement_deleted():
            sa.log("IKE", 1, f"closing CHILD_SA {child_name(child)} we tried to rekey because the peer "
                             "meanwhile sent a delete for its replacement")
            if Flag.OLD_SA_DELETED in self.flags:
                destroy_and_reestablish(sa, child)
                return Status.SUCCESS
            self.builder = self._build_delete_old_destroy
            return Status.NEED_MORE
        delete_old = Flag.OLD_SA_DELETED not in self.flags
        if not delete_old:
            sa.log("IKE", 1, f"peer sent an incorrect delete for CHILD_SA {child_name(child)} after "
                             "responding to our rekeying")
        sa.log("IKE", 1, f"closing and recreating CHILD_SA {child_name(child)} after failing to install "
                         "replacement")
        self.builder = lambda m: self._build_delete_recreate(m, delete_old)
        return Status.NEED_MORE

    # --- hooks for the task manager and child_delete ------------------------------------------
    def collide(self, other: Task) -> bool:
        """A passive CHILD_REKEY for the same SA completed (or is under way): adopt or track it."""
        if not isinstance(other, ChildRekeyResponder) or other.child is not self.child or self.child is None:
            return False
        other_child = other.create.child
        if other_child is None:
            return False  # the passive rekeying created no CHILD_SA
        name = child_name(self.child)
        if other_child.state != ChildState.INSTALLED:
            self.sa.log("IKE", 1, f"colliding passive rekeying for CHILD_SA {name} is not yet complete")
            self.collision = other
            return False
        if self.collision is not None and self.collision is not other:
            self.sa.log("IKE", 1, f"duplicate rekey collision for CHILD_SA {name}???")
            return False
        self.sa.log("IKE", 1, f"detected rekey collision for CHILD_SA {name}")
        self.flags.add(Flag.PASSIVE_INSTALLED)
        self.collision = other
        return True

    def handle_delete(self, child: ChildSa | None, spi: bytes) -> Collision:
        """A DELETE arrived while we rekey: remember what it means for our rekeying."""
        if self.delete is not None:
            return Collision.NONE
        if child is None:
            self.deleted_spis.append(spi)
        elif child is self.child:
            self.flags.add(Flag.OLD_SA_DELETED)
            return Collision.OLD
        elif self.collision is not None and child is self.collision.create.child:
            self.flags.add(Flag.OTHER_DELETED)
            return Collision.PEER
        return Collision.NONE

    def dispose(self) -> None:
        if self.create is not None:
            self.create.release()

    def adopt(self, sa) -> None:
        """Moved to a new IKE_SA before it started (``migrate``)."""
        super().adopt(sa)
        self.create, self.delete, self.collision = None, None, None
        self.flags, self.deleted_spis = set(), []
        self.builder = self._build_rekey


class ChildRekeyResponder(Task):
    """``child_rekey`` as responder: finds the SA named by N(REKEY_SA), recreates it."""

    kind = TaskKind.CHILD_REKEY

    def __init__(self, sa) -> None:
        super().__init__(sa, False)
        self.create = ChildCreateResponder(sa)
        self.child: ChildSa | None = None
        self.protocol, self.spi_data = 0, b""
        self.prev_state = ChildState.INSTALLED
        self.followup = False

    def process(self, msg: InMessage) -> Status:
        self.create.process(msg)
        if msg.exchange == E.CREATE_CHILD_SA:
            self._find_child(msg)
        return Status.NEED_MORE

    def _find_child(self, msg: InMessage) -> None:
        notify = msg.notify(N.REKEY_SA)
        if notify is None:
            return
        if notify.protocol_id in (ProtocolId.ESP, ProtocolId.AH):
            child = self.sa.find_child(notify.protocol_id, notify.spi, inbound=False)
            if child is not None and child.state != ChildState.DELETED:  # lingering rekeyed SAs
                self.child = child
        if self.child is None:
            self.protocol, self.spi_data = notify.protocol_id, notify.spi

    def _actively_rekeying(self) -> tuple[bool, bool]:
        """(we rekey this SA ourselves, and already sent IKE_FOLLOWUP_KE for it)."""
        for task in self.sa.tm.active:
            if isinstance(task, ChildRekeyInitiator):
                if task.child is self.child:
                    return True, Flag.FOLLOWUP_KE in task.flags
                break
        return False, False

    def build(self, msg: OutMessage) -> Status:
        sa, child = self.sa, self.child
        if msg.exchange == E.CREATE_CHILD_SA and not self.followup:
            refusal = self._refuse(msg)
            if refusal is not None:
                return refusal
            assert child is not None
            self.create.config = child.config
            self.create.recreate(child, rekey=True)
            self.prev_state = child.state
            sa.set_child_state(child, ChildState.REKEYING)
        assert child is not None
        try:
            status = self.create.build(msg)
        except IkeProtocolError:
            self._restore()
            raise
        if status is Status.NEED_MORE:
            self.followup = True  # additional key exchanges
            return Status.NEED_MORE
        new = self.create.child
        if new is not None and new.state == ChildState.INSTALLED:
            sa.set_child_state(child, ChildState.REKEYED)
            if child.rekey_sa is not None:  # peers that rekey twice: unlink the previous one
                child.rekey_sa.rekey_sa = None
            child.rekey_sa, new.rekey_sa = new, child  # the child-rekey event comes with the DELETE
        else:
            self._restore()
        return Status.SUCCESS

    def _refuse(self, msg: OutMessage) -> Status | None:
        sa, child = self.sa, self.child
        if child is None:
            name = ProtocolId(self.protocol).name if self.protocol in ProtocolId._value2member_map_ else "?"
            sa.log("IKE", 1, f"unable to rekey, {name} CHILD_SA with SPI {self.spi_data.hex()} not found")
            msg.add_notify(N.CHILD_SA_NOT_FOUND, protocol_id=self.protocol, spi=self.spi_data)
            return Status.SUCCESS
        if child.state == ChildState.DELETING:
            sa.log("IKE", 1, f"unable to rekey CHILD_SA {child_name(child)}, we are deleting it")
            msg.add_notify(N.TEMPORARY_FAILURE, flush=True)
            return Status.SUCCESS
        active, followup = self._actively_rekeying()
        if active and followup:
            sa.log("IKE", 1, "peer initiated rekeying, but we did too and already sent IKE_FOLLOWUP_KE")
            msg.add_notify(N.TEMPORARY_FAILURE, flush=True)
            return Status.SUCCESS
        return None

    def _restore(self) -> None:
        """Rekeying failed: the old SA goes back to the state it had."""
        child = self.child
        if child is not None and child.state == ChildState.REKEYING:
            self.sa.set_child_state(child, self.prev_state)

    def dispose(self) -> None:
        self.create.release()
