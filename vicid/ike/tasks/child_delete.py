"""CHILD_SA deletion with an INFORMATIONAL exchange (RFC 7296 §1.4.1, ``child_delete.c``).

    HDR, SK {D(ESP, SPIi)} -->
                           <-- HDR, SK {D(ESP, SPIr)}

Deletes name our inbound SPIs; each side removes both directions. The responder answers with
the inbound SPIs of the SAs it deleted, the initiator removes its SAs once the response arrived.
A DELETE for an SA that was rekeyed passively concludes that rekeying first (outbound traffic
moves to the new SA, ``child-rekey`` fires); the old inbound SA lingers a few seconds. A DELETE
that collides with our own active rekeying is reported to that task, which resolves it.
"""

from __future__ import annotations

from dataclasses import dataclass

from vicid.ike.child import ChildSa, ChildState
from vicid.ike.messages import InMessage, OutMessage
from vicid.ike.proposal import Proposal
from vicid.ike.tasks.base import Status, Task, TaskKind
from vicid.ike.tasks.child_conclude import Collision, conclude_linked, destroy_and_reestablish, destroy_rekeyed
from vicid.ike.ts import ts_list_str
from vicid.ike.wire.enums import PayloadType, ProtocolId
from vicid.ike.wire.payloads import DeletePayload

EXCHANGE_UNDEFINED = 0


@dataclass
class Entry:
    """One CHILD_SA of the exchange, the state it had, and how it relates to our rekeying."""

    child: ChildSa
    orig_state: ChildState
    collision: Collision = Collision.NONE


def delete_payloads(children: list[ChildSa]) -> list[DeletePayload]:
    """One Delete payload per protocol (ESP first if it comes first), our inbound SPIs."""
    out: dict[int, list[bytes]] = {}
    for child in children:
        if child.protocol in (ProtocolId.ESP, ProtocolId.AH):
            out.setdefault(child.protocol, []).append(child.spi_in)
    return [DeletePayload(proto, tuple(spis)) for proto, spis in out.items()]


def _keep_while_rekeying(entry: Entry) -> bool:
    """The SA stays until our active rekeying concludes (``keep_while_rekeying``)."""
    if entry.collision == Collision.OLD:
        return entry.orig_state == ChildState.REKEYING
    return entry.collision == Collision.PEER


class ChildDelete(Task):
    kind = TaskKind.CHILD_DELETE

    def __init__(self, sa, initiator: bool) -> None:
        super().__init__(sa, initiator)
        self.entries: list[Entry] = []
        self.expired = False

    @property
    def children(self) -> list[ChildSa]:
        return [e.child for e in self.entries]

    def _log_children(self) -> None:
        for child in self.children:
            ts = f"TS {ts_list_str(child.my_ts)} === {ts_list_str(child.other_ts)}"
            if self.expired:
                self.sa.log("IKE", 0, f"closing expired CHILD_SA {child.name}{{{child.uniqueid}}} with "
                                      f"SPIs {child.spis_text} and {ts}")
            else:
                self.sa.log("IKE", 0, f"closing CHILD_SA {child.name}{{{child.uniqueid}}} with SPIs "
                                      f"{child.spi_in.hex()}_i (0 bytes) {child.spi_out.hex()}_o (0 bytes) "
                                      f"and {ts}")

    def _payloads(self, msg: OutMessage) -> None:
        msg.payloads.extend(delete_payloads(self.children))
        for child in self.children:
            self.sa.log("IKE", 1, f"sending DELETE for {ProtocolId(child.protocol).name} CHILD_SA "
                                  f"with SPI {child.spi_in.hex()}")

    def _destroy(self) -> None:
        """``destroy_and_reestablish``: conclude passive rekeyings, close, apply close_action."""
        sa = self.sa
        for entry in self.entries:
            child, other = entry.child, entry.child.rekey_sa
            if _keep_while_rekeying(entry):
                if other is not None and entry.collision == Collision.PEER:
                    child.rekey_sa = other.rekey_sa = None
                    if other.state == ChildState.REKEYED:
                        sa.set_child_state(other, ChildState.REKEYING)
                self._log_kept(entry)
                continue
            sa.set_child_state(child, ChildState.DELETED)
            if entry.orig_state == ChildState.REKEYED:
                self._rekeyed_deleted(entry, other)
                continue
            if other is not None and entry.orig_state == ChildState.INSTALLED:
                conclude_linked(sa, other)  # the SA we lost a collision with is deleted
            destroy_and_reestablish(sa, child, action=not self.initiator and
                                    entry.orig_state == ChildState.INSTALLED)

    def _rekeyed_deleted(self, entry: Entry, other: ChildSa | None) -> None:
        """The old SA of a rekeying goes: as responder/loser conclude the rekeying now."""
        sa, child = self.sa, entry.child
        if other is not None:
            conclude_linked(sa, child)
        else:
            for effect in child.remove_outbound():
                sa.ctx.emit(effect)
        if entry.collision == Collision.OLD:
            self._log_kept(entry)
        else:
            destroy_rekeyed(sa, child)

    def _log_kept(self, entry: Entry) -> None:
        what = "rekeyed" if entry.collision == Collision.OLD else "peer's"
        self.sa.log("IKE", 1, f"keeping {what} CHILD_SA {entry.child.name}{{{entry.child.uniqueid}}} "
                              "until active rekeying is concluded")

    def _rekey_collision(self, child: ChildSa | None, spi: bytes) -> Collision:
        """``possible_rekey_collision``: tell the first active CHILD_REKEY about the DELETE."""
        for task in self.sa.tm.active:
            if task.kind is TaskKind.CHILD_REKEY:  # only a ChildRekeyInitiator is ever active
                return task.handle_delete(child, spi)  # type: ignore[attr-defined]
        return Collision.NONE

    def _collect(self, msg: InMessage) -> None:
        """Children named by the Delete payloads (our outbound SPIs = the peer's inbound)."""
        sa = self.sa
        for payload in msg.get_all(PayloadType.DELETE):
            if payload.protocol_id not in (ProtocolId.ESP, ProtocolId.AH):
                continue
            name = ProtocolId(payload.protocol_id).name
            for spi in payload.spis:
                child = sa.find_child(payload.protocol_id, spi, inbound=False)
                collision = Collision.NONE if self.initiator else self._rekey_collision(child, spi)
                if child is None:
                    sa.log("IKE", 1, f"received DELETE for unknown {name} CHILD_SA with SPI {spi.hex()}")
                    continue
                sa.log("IKE", 1, f"received DELETE for {name} CHILD_SA with SPI {spi.hex()}")
                if child in self.children:
                    continue
                if self.initiator:
                    sa.log("IKE", 1, f"ignore DELETE for {name} CHILD_SA with SPI {spi.hex()} in "
                                     "response, didn't request its deletion")
                    continue
                if child.state in (ChildState.DELETED, ChildState.DELETING):
                    continue
                self.entries.append(Entry(child, child.state, collision))
                sa.set_child_state(child, ChildState.DELETING)


class ChildDeleteInitiator(ChildDelete):
    def __init__(self, sa, child: ChildSa | None, protocol: int = ProtocolId.ESP, spi: bytes = b"",
                 expired: bool = False) -> None:
        super().__init__(sa, True)
        self.target = child
        self.protocol, self.spi = protocol, spi
        self.expired = expired

    @classmethod
    def for_spi(cls, sa, proposal: Proposal | None, spi: bytes) -> ChildDeleteInitiator:
        """Delete an SA we never installed (failed CHILD_SA setup, ``build_i_delete``)."""
        protocol = proposal.protocol if proposal is not None else ProtocolId.ESP
        return cls(sa, None, protocol, spi)

    def build(self, msg: OutMessage) -> Status:
        sa = self.sa
        if self.target is None:
            msg.exchange = msg.exchange if self.spi else EXCHANGE_UNDEFINED
            if self.spi:
                msg.add(DeletePayload(self.protocol, (self.spi,)))
                sa.log("IKE", 1, f"sending DELETE for {ProtocolId(self.protocol).name} CHILD_SA "
                                 f"with SPI {self.spi.hex()}")
                sa.ctx.free_child_spi(self.spi)
            return Status.SUCCESS if not self.spi else Status.NEED_MORE
        child = self.target
        if child not in sa.children:
            msg.exchange = EXCHANGE_UNDEFINED  # gone already, abort the exchange
            return Status.SUCCESS
        other = child.rekey_sa
        if other is not None:  # involved in a passive rekeying: conclude it first
            if child.state == ChildState.REKEYED:
                sa.set_child_state(child, ChildState.DELETED)
                conclude_linked(sa, child)
            else:
                conclude_linked(sa, other)
        if child.state == ChildState.DELETED:
            # DELETEs were exchanged already, the SA just lingers: destroy it now, quietly
            destroy_and_reestablish(sa, child, updown=False, action=False)
            msg.exchange = EXCHANGE_UNDEFINED
            return Status.SUCCESS
        self.entries.append(Entry(child, child.state))
        sa.set_child_state(child, ChildState.DELETING)
        self._log_children()
        self._payloads(msg)
        if self.expired:
            sa.log("IKE", 1, "queue CHILD_SA recreate after hard expire")
            sa.recreate_child(child, initiate=False)
        return Status.NEED_MORE

    def process(self, msg: InMessage) -> Status:
        self._collect(msg)
        self._destroy()
        return Status.SUCCESS

    def adopt(self, sa) -> None:
        super().adopt(sa)
        self.entries = []


class ChildDeleteResponder(ChildDelete):
    def __init__(self, sa) -> None:
        super().__init__(sa, False)

    def process(self, msg: InMessage) -> Status:
        self._collect(msg)
        self._log_children()
        return Status.NEED_MORE

    def build(self, msg: OutMessage) -> Status:
        self._payloads(msg)
        self._destroy()
        return Status.SUCCESS
