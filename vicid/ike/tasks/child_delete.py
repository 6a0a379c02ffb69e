"""CHILD_SA deletion with an INFORMATIONAL exchange (RFC 7296 §1.4.1, ``child_delete.c``).

    HDR, SK {D(ESP, SPIi)} -->
                           <-- HDR, SK {D(ESP, SPIr)}

Deletes name our inbound SPIs; each side removes both directions. The responder answers with
the inbound SPIs of the SAs it deleted, the initiator removes its SAs once the response arrived.
"""

from __future__ import annotations

from vicid.ike.child import ChildSa, ChildState
from vicid.ike.messages import InMessage, OutMessage
from vicid.ike.proposal import Proposal
from vicid.ike.tasks.base import Status, Task, TaskKind
from vicid.ike.ts import ts_list_str
from vicid.ike.wire.enums import PayloadType, ProtocolId
from vicid.ike.wire.payloads import DeletePayload

EXCHANGE_UNDEFINED = 0


def _spi(spi: bytes) -> str:
    return spi.hex()


def delete_payloads(children: list[ChildSa]) -> list[DeletePayload]:
    """One Delete payload per protocol (ESP first if it comes first), our inbound SPIs."""
    out: dict[int, list[bytes]] = {}
    for child in children:
        if child.protocol in (ProtocolId.ESP, ProtocolId.AH):
            out.setdefault(child.protocol, []).append(child.spi_in)
    return [DeletePayload(proto, tuple(spis)) for proto, spis in out.items()]


class ChildDelete(Task):
    kind = TaskKind.CHILD_DELETE

    def __init__(self, sa, initiator: bool) -> None:
        super().__init__(sa, initiator)
        self.children: list[ChildSa] = []

    def _log_children(self) -> None:
        for child in self.children:
            self.sa.log("IKE", 0, f"closing CHILD_SA {child.name}{{{child.uniqueid}}} with SPIs "
                                  f"{_spi(child.spi_in)}_i (0 bytes) {_spi(child.spi_out)}_o (0 bytes) "
                                  f"and TS {ts_list_str(child.my_ts)} === {ts_list_str(child.other_ts)}")

    def _log_sending(self) -> None:
        for child in self.children:
            self.sa.log("IKE", 1, f"sending DELETE for {ProtocolId(child.protocol).name} CHILD_SA "
                                  f"with SPI {_spi(child.spi_in)}")

    def _destroy(self) -> None:
        """``destroy_and_reestablish``: DELETED, child_updown down, closed, destroyed."""
        sa = self.sa
        for child in self.children:
            sa.set_child_state(child, ChildState.DELETED)
            sa.child_updown(child, False)
            sa.log("IKE", 1, f"CHILD_SA {child.name}{{{child.uniqueid}}} closed")
            sa.destroy_child(child)

    def _collect(self, msg: InMessage) -> None:
        """Children named by the Delete payloads (our outbound SPIs = the peer's inbound)."""
        sa = self.sa
        for payload in msg.get_all(PayloadType.DELETE):
            if payload.protocol_id not in (ProtocolId.ESP, ProtocolId.AH):
                continue
            name = ProtocolId(payload.protocol_id).name
            for spi in payload.spis:
                child = sa.find_child(payload.protocol_id, spi, inbound=False)
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
                sa.set_child_state(child, ChildState.DELETING)
                self.children.append(child)


class ChildDeleteInitiator(ChildDelete):
    def __init__(self, sa, child: ChildSa | None, protocol: int = ProtocolId.ESP, spi: bytes = b"") -> None:
        super().__init__(sa, True)
        self.target = child
        self.protocol, self.spi = protocol, spi

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
        sa.set_child_state(child, ChildState.DELETING)
        self.children.append(child)
        self._log_children()
        msg.payloads.extend(delete_payloads(self.children))
        self._log_sending()
        return Status.NEED_MORE

    def process(self, msg: InMessage) -> Status:
        self._collect(msg)
        self._destroy()
        return Status.SUCCESS


class ChildDeleteResponder(ChildDelete):
    def __init__(self, sa) -> None:
        super().__init__(sa, False)

    def process(self, msg: InMessage) -> Status:
        self._collect(msg)
        self._log_children()
        return Status.NEED_MORE

    def build(self, msg: OutMessage) -> Status:
        msg.payloads.extend(delete_payloads(self.children))
        self._log_sending()
        self._destroy()
        return Status.SUCCESS
