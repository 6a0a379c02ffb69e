"""Messages as tasks see them: an outgoing draft they add payloads to, a received message
they read (decrypted and validated by the task manager before any task sees it)."""

from __future__ import annotations

from dataclasses import dataclass, field

from vicid.ike.effects import Endpoint
from vicid.ike.payload_order import order_payloads
from vicid.ike.wire.enums import ExchangeType, NotifyType, PayloadType
from vicid.ike.wire.header import IkeHeader
from vicid.ike.wire.message import Message
from vicid.ike.wire.notify import NotifyPayload
from vicid.ike.wire.payloads import Payload

EXCHANGE_UNDEFINED = 0  # a task cancelled the exchange (charon EXCHANGE_TYPE_UNDEFINED)


@dataclass
class OutMessage:
    """A message under construction; tasks add payloads in any order (charon ``message_t``)."""

    exchange: int
    message_id: int
    is_request: bool
    src: Endpoint
    dst: Endpoint
    payloads: list[Payload] = field(default_factory=list)
    raw: bytes = b""  # IKE_SA_INIT: the encoded message, for the AUTH octets
    header: IkeHeader | None = None  # set once generated

    def add(self, payload: Payload) -> None:
        self.payloads.append(payload)

    def add_notify(self, notify_type: int, data: bytes = b"", *, flush: bool = False,
                   protocol_id: int = 0, spi: bytes = b"") -> None:
        """charon's ``add_notify``: ``flush`` drops everything added so far (error replies)."""
        if flush:
            self.payloads.clear()
        self.payloads.append(NotifyPayload(notify_type, data, protocol_id, spi))

    def get(self, ptype: int) -> Payload | None:
        return next((p for p in self.payloads if p.payload_type == ptype), None)

    def notify(self, notify_type: int) -> NotifyPayload | None:
        return next((p for p in self.payloads if p.payload_type == PayloadType.NOTIFY
                     and p.notify_type == notify_type), None)

    def ordered(self) -> list[Payload]:
        return order_payloads(self.exchange, self.is_request, self.payloads)

    def as_protected(self) -> Message:
        """The generated message as a decrypted ``Message`` (for IntAuth of our own messages)."""
        assert self.header is not None
        return Message(self.header, (), tuple(self.ordered()))


@dataclass(frozen=True)
class InMessage:
    """A received message after decryption/reassembly; ``raw`` is the datagram without
    non-ESP marker (for IKE_SA_INIT: RealMessage of the AUTH octets)."""

    message: Message
    raw: bytes
    src: Endpoint
    dst: Endpoint

    @property
    def exchange(self) -> int:
        return self.message.header.exchange_type

    @property
    def message_id(self) -> int:
        return self.message.header.message_id

    @property
    def is_request(self) -> bool:
        return not self.message.header.is_response

    @property
    def header(self) -> IkeHeader:
        return self.message.header

    def get(self, ptype: int) -> Payload | None:
        return self.message.get(ptype)

    def get_all(self, ptype: int) -> list[Payload]:
        return self.message.get_all(ptype)

    def notify(self, notify_type: int) -> NotifyPayload | None:
        return self.message.notify(notify_type)

    def notifies(self) -> list[NotifyPayload]:
        return self.message.get_all(PayloadType.NOTIFY)


def exchange_name(exchange: int) -> str:
    try:
        return ExchangeType(exchange).name
    except ValueError:
        return f"EXCHANGE_{exchange}"


def notify_name(notify_type: int) -> str:
    try:
        return NotifyType(notify_type).name
    except ValueError:
        return f"({notify_type})"
