"""Protocol errors that name their wire consequence (design §1.4).

Each ``IkeProtocolError`` subclass carries the ``NotifyType`` the task manager sends and the
``Scope`` it affects: CHILD errors become a notify in the response and leave the IKE SA up,
IKE errors fail the whole IKE SA (RFC 7296 §2.21). Tasks raise them; only the task manager
converts them. Messages must never contain key material.
"""

from __future__ import annotations

from enum import Enum

from vicid.ike.wire.enums import NotifyType


class Scope(Enum):
    IKE = "ike"
    CHILD = "child"


class IkeProtocolError(Exception):
    """Base class: ``notify`` is the error notify to send, ``scope`` what it tears down."""

    notify: NotifyType = NotifyType.INVALID_SYNTAX
    scope: Scope = Scope.IKE

    def __init_subclass__(cls, notify: NotifyType | None = None, scope: Scope | None = None, **kw: object) -> None:
        """``class X(IkeProtocolError, notify=..., scope=...)`` sets both in the class line."""
        super().__init_subclass__(**kw)
        if notify is not None:
            cls.notify = notify
        if scope is not None:
            cls.scope = scope

    def notify_data(self) -> bytes:
        """Notification Data for the error notify (empty for most types)."""
        return b""


class InvalidSyntax(IkeProtocolError, notify=NotifyType.INVALID_SYNTAX):
    pass


class InvalidMajorVersion(IkeProtocolError, notify=NotifyType.INVALID_MAJOR_VERSION):
    pass


class InvalidIkeSpi(IkeProtocolError, notify=NotifyType.INVALID_IKE_SPI):
    pass


class InvalidMessageId(IkeProtocolError, notify=NotifyType.INVALID_MESSAGE_ID):
    pass


class AuthenticationFailed(IkeProtocolError, notify=NotifyType.AUTHENTICATION_FAILED):
    pass


class UnsupportedCriticalPayload(IkeProtocolError):
    """An unknown payload with the critical bit set (RFC 7296 §2.5); data = its type."""

    notify = NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD

    def __init__(self, payload_type: int) -> None:
        super().__init__(f"unsupported critical payload type {payload_type}")
        self.payload_type = payload_type

    def notify_data(self) -> bytes:
        return bytes([self.payload_type & 0xFF])


class NoProposalChosen(IkeProtocolError, notify=NotifyType.NO_PROPOSAL_CHOSEN, scope=Scope.CHILD):
    pass


class InvalidKePayload(IkeProtocolError):
    """The responder wants another KE method; data = that method (RFC 7296 §1.3)."""

    notify = NotifyType.INVALID_KE_PAYLOAD
    scope = Scope.CHILD

    def __init__(self, accepted_method: int) -> None:
        super().__init__(f"peer must use KE method {accepted_method}")
        self.accepted_method = accepted_method

    def notify_data(self) -> bytes:
        return self.accepted_method.to_bytes(2, "big")


class InvalidSpi(IkeProtocolError, notify=NotifyType.INVALID_SPI, scope=Scope.CHILD):
    pass


class SinglePairRequired(IkeProtocolError, notify=NotifyType.SINGLE_PAIR_REQUIRED, scope=Scope.CHILD):
    pass


class NoAdditionalSas(IkeProtocolError, notify=NotifyType.NO_ADDITIONAL_SAS, scope=Scope.CHILD):
    pass


class InternalAddressFailure(IkeProtocolError, notify=NotifyType.INTERNAL_ADDRESS_FAILURE, scope=Scope.CHILD):
    pass


class FailedCpRequired(IkeProtocolError, notify=NotifyType.FAILED_CP_REQUIRED, scope=Scope.CHILD):
    pass


class TsUnacceptable(IkeProtocolError, notify=NotifyType.TS_UNACCEPTABLE, scope=Scope.CHILD):
    pass


class InvalidSelectors(IkeProtocolError, notify=NotifyType.INVALID_SELECTORS, scope=Scope.CHILD):
    pass


class TemporaryFailure(IkeProtocolError, notify=NotifyType.TEMPORARY_FAILURE, scope=Scope.CHILD):
    pass


class ChildSaNotFound(IkeProtocolError):
    """REKEY_SA named an unknown SA; data carries nothing, the SPI goes in the notify SPI."""

    notify = NotifyType.CHILD_SA_NOT_FOUND
    scope = Scope.CHILD

    def __init__(self, protocol_id: int, spi: bytes) -> None:
        super().__init__(f"no CHILD_SA with protocol {protocol_id} SPI {spi.hex()}")
        self.protocol_id = protocol_id
        self.spi = spi


class StateNotFound(IkeProtocolError):
    """IKE_FOLLOWUP_KE without a matching ADDITIONAL_KEY_EXCHANGE link (RFC 9370 §2.2.3)."""

    notify = NotifyType.STATE_NOT_FOUND
    scope = Scope.CHILD


class TsMaxQueue(IkeProtocolError):
    notify = NotifyType.TS_MAX_QUEUE
    scope = Scope.CHILD
