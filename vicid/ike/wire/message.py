"""IKE message container, generic payload chain codec and the per-exchange MESSAGE_RULES.

A ``Message`` holds the header, the payloads sent in clear (with a still-encrypted SK/SKF
payload last, as received) and the payloads protected by SK (once decrypted, or before
protection). ``validate()`` checks a decrypted message against ``MESSAGE_RULES`` in one
place, so tasks can read payloads without re-checking their presence (charon message.c).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from vicid.ike.errors import InvalidSyntax, UnsupportedCriticalPayload
from vicid.ike.wire.buffer import DecodeError, Reader
from vicid.ike.wire.enums import ExchangeType, PayloadType
from vicid.ike.wire.header import HEADER_LEN, IkeHeader, decode_header, pack_header
from vicid.ike.wire.notify import NotifyPayload
from vicid.ike.wire.payloads import (
    GENERIC_HEADER_LEN,
    PAYLOAD_CODECS,
    Payload,
    SkfPayload,
    SkPayload,
    UnknownPayload,
    decode_skf_body,
    encode_body,
)

_CRITICAL = 0x80
_GENERIC = struct.Struct("!BBH")  # Next Payload, C + RESERVED, Payload Length
_ENCRYPTED_TYPES = (PayloadType.SK, PayloadType.SKF)


@dataclass(frozen=True, slots=True)
class Message:
    """One IKE message: header, clear payloads (SK/SKF last if present), protected payloads."""

    header: IkeHeader
    payloads: tuple[Payload, ...] = ()
    encrypted: tuple[Payload, ...] = ()
    # payloads by type, built on the first lookup (tasks look payloads up hundreds of times
    # per handshake, each lookup was a scan of the whole chain)
    _by_type: dict[int, list[Payload]] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def exchange_type(self) -> int:
        return self.header.exchange_type

    @property
    def message_id(self) -> int:
        return self.header.message_id

    @property
    def is_request(self) -> bool:
        return not self.header.is_response

    @property
    def sk(self) -> SkPayload | SkfPayload | None:
        """The still-encrypted SK/SKF payload of a received message, if any."""
        last = self.payloads[-1] if self.payloads else None
        return last if isinstance(last, SkPayload | SkfPayload) else None

    def all_payloads(self) -> Iterator[Payload]:
        """Clear payloads (without SK/SKF) followed by the protected ones."""
        yield from (p for p in self.payloads if not isinstance(p, SkPayload | SkfPayload))
        yield from self.encrypted

    def by_type(self) -> dict[int, list[Payload]]:
        """Clear (without SK/SKF) and protected payloads grouped by type, in message order
        (read-only: shared by every lookup on this message)."""
        index = self._by_type
        if index is None:
            index = {}
            for p in self.all_payloads():
                found = index.get(p.payload_type)
                if found is None:
                    index[p.payload_type] = [p]
                else:
                    found.append(p)
            object.__setattr__(self, "_by_type", index)
        return index

    def get_all(self, ptype: int) -> list[Payload]:
        return list(self.by_type().get(ptype, ()))

    def get(self, ptype: int) -> Payload | None:
        found = self.by_type().get(ptype)
        return found[0] if found else None

    def notifies(self, notify_type: int) -> list[NotifyPayload]:
        return [p for p in self.by_type().get(PayloadType.NOTIFY, ()) if p.notify_type == notify_type]

    def notify(self, notify_type: int) -> NotifyPayload | None:
        for p in self.by_type().get(PayloadType.NOTIFY, ()):
            if p.notify_type == notify_type:
                return p
        return None


# --- generic payload chain ---------------------------------------------------------------------

def _decode_one(ptype: int, next_type: int, critical: bool, body: Reader) -> Payload:
    if ptype == PayloadType.SK:
        return SkPayload(next_type, body.rest())
    if ptype == PayloadType.SKF:
        return decode_skf_body(body, next_type)
    codec = PAYLOAD_CODECS.get(ptype)  # type: ignore[call-overload]
    if codec is None:
        return UnknownPayload(ptype, body.rest(), critical)
    payload = codec.decode(body)
    body.expect_end(f"payload {ptype}")
    return payload


def decode_payload_chain(r: Reader, first: int, *, inner: bool = False) -> list[Payload]:
    """Decode payloads from ``first`` until Next Payload 0 or an SK/SKF payload, which must
    end the data (RFC 7296 §3.14). ``inner`` forbids SK/SKF (no nesting). Raises only
    ``DecodeError``."""
    payloads: list[Payload] = []
    ptype = first
    while ptype != PayloadType.NONE:
        if r.remaining < GENERIC_HEADER_LEN:
            raise DecodeError(f"truncated: need {GENERIC_HEADER_LEN} bytes, {r.remaining} left")
        next_type, flags, length = _GENERIC.unpack(r.view(GENERIC_HEADER_LEN))
        if length < GENERIC_HEADER_LEN:
            raise DecodeError(f"payload {ptype} length {length}")
        if inner and ptype in _ENCRYPTED_TYPES:
            raise DecodeError("SK/SKF payload inside an encrypted payload")
        payload = _decode_one(ptype, next_type, bool(flags & _CRITICAL), r.sub(length - 4))
        payloads.append(payload)
        ptype = PayloadType.NONE if ptype in _ENCRYPTED_TYPES else next_type
    r.expect_end("last payload")
    return payloads


def check_critical(payloads: Iterable[Payload]) -> None:
    """Raise ``UnsupportedCriticalPayload`` for the first unknown payload with C set (§2.5)."""
    for p in payloads:
        if isinstance(p, UnknownPayload) and p.critical:
            raise UnsupportedCriticalPayload(p.payload_type)


def _next_field(payloads: tuple[Payload, ...] | list[Payload], i: int, last_next: int) -> int:
    p = payloads[i]
    if isinstance(p, SkPayload | SkfPayload):
        return p.first_inner
    return payloads[i + 1].payload_type if i + 1 < len(payloads) else last_next


def _payload_body(p: Payload) -> bytes:
    if isinstance(p, SkPayload):
        return p.data
    if isinstance(p, SkfPayload):
        return p.number.to_bytes(2, "big") + p.total.to_bytes(2, "big") + p.data
    return encode_body(p)


def encode_payload_chain(payloads: tuple[Payload, ...] | list[Payload], last_next: int = 0) -> bytes:
    """Generic headers + bodies; C is set only on unknown payloads that carried it."""
    out = bytearray()
    for i, p in enumerate(payloads):
        body = _payload_body(p)
        critical = _CRITICAL if isinstance(p, UnknownPayload) and p.critical else 0
        out += _GENERIC.pack(_next_field(payloads, i, last_next), critical, GENERIC_HEADER_LEN + len(body))
        out += body
    return bytes(out)


def first_type(payloads: tuple[Payload, ...] | list[Payload]) -> int:
    return payloads[0].payload_type if payloads else PayloadType.NONE


def encode_message(header: IkeHeader, payloads: tuple[Payload, ...] | list[Payload]) -> bytes:
    """Encode header + clear payloads, filling in Next Payload and Length."""
    body = encode_payload_chain(payloads)
    return pack_header(header, first_type(payloads), HEADER_LEN + len(body)) + body


def decode_message(data: bytes | memoryview, header: IkeHeader | None = None) -> Message:
    """Decode a whole IKE message (without non-ESP marker) from peer bytes.

    Raises ``DecodeError`` on malformed data and ``UnsupportedCriticalPayload`` for unknown
    critical payloads in clear. SK/SKF stays encrypted (see ``sk.py``). ``header``: the
    header of ``data`` if the caller has decoded it already."""
    r = Reader(data)
    if header is None:
        header = decode_header(r)
    else:
        r.view(HEADER_LEN)
    if header.length != len(data):
        raise DecodeError(f"IKE header length {header.length} != datagram {len(data)}")
    payloads = decode_payload_chain(r, header.next_payload)
    check_critical(payloads)
    return Message(header, tuple(payloads))


# --- MESSAGE_RULES (charon message.c) ----------------------------------------------------------

@dataclass(frozen=True, slots=True)
class PayloadRule:
    ptype: PayloadType
    min: int
    max: int
    encrypted: bool
    sufficient: bool = False  # if present, later minimums no longer apply (charon semantics)


_MAX_NOTIFY, _MAX_DELETE, _MAX_CERT, _MAX_VID, _MAX_CERTREQ = 20, 20, 8, 20, 20
P = PayloadType


def _rules(*rows: tuple) -> tuple[PayloadRule, ...]:
    return tuple(PayloadRule(*row) for row in rows)


_IKE_SA_INIT_I = _rules(
    (P.NOTIFY, 0, _MAX_NOTIFY, False), (P.SA, 1, 1, False), (P.KE, 1, 1, False),
    (P.NONCE, 1, 1, False), (P.VENDOR_ID, 0, _MAX_VID, False))
_IKE_SA_INIT_R = _rules(
    (P.NOTIFY, 0, _MAX_NOTIFY, False, True), (P.SA, 1, 1, False), (P.KE, 1, 1, False),
    (P.NONCE, 1, 1, False), (P.CERTREQ, 0, _MAX_CERTREQ, False), (P.VENDOR_ID, 0, _MAX_VID, False))
_IKE_AUTH_I = _rules(
    (P.SKF, 0, 1, True, True), (P.NOTIFY, 0, _MAX_NOTIFY, True), (P.EAP, 0, 1, True, True),
    (P.AUTH, 0, 1, True, True), (P.IDi, 0, 1, True), (P.CERT, 0, _MAX_CERT, True),
    (P.CERTREQ, 0, _MAX_CERTREQ, True), (P.IDr, 0, 1, True), (P.SA, 0, 1, True),
    (P.TSi, 0, 1, True), (P.TSr, 0, 1, True), (P.CP, 0, 1, True), (P.VENDOR_ID, 0, _MAX_VID, True))
_IKE_AUTH_R = _rules(
    (P.SKF, 0, 1, True, True), (P.NOTIFY, 0, _MAX_NOTIFY, True, True), (P.EAP, 0, 1, True, True),
    (P.AUTH, 0, 1, True, True), (P.CERT, 0, _MAX_CERT, True), (P.IDr, 0, 1, True),
    (P.SA, 0, 1, True), (P.TSi, 0, 1, True), (P.TSr, 0, 1, True), (P.CP, 0, 1, True),
    (P.VENDOR_ID, 0, _MAX_VID, True))
_INFORMATIONAL = _rules(
    (P.SKF, 0, 1, True, True), (P.NOTIFY, 0, _MAX_NOTIFY, True), (P.CP, 0, 1, True),
    (P.DELETE, 0, _MAX_DELETE, True), (P.VENDOR_ID, 0, _MAX_VID, True))


def _create_child(responder: bool) -> tuple[PayloadRule, ...]:
    return _rules(
        (P.SKF, 0, 1, True, True), (P.NOTIFY, 0, _MAX_NOTIFY, True, responder),
        (P.SA, 1, 1, True), (P.NONCE, 1, 1, True), (P.KE, 0, 1, True), (P.TSi, 0, 1, True),
        (P.TSr, 0, 1, True), (P.CP, 0, 1, True), (P.VENDOR_ID, 0, _MAX_VID, True))


def _ke_round(responder: bool, ke_min: int) -> tuple[PayloadRule, ...]:
    return _rules((P.SKF, 0, 1, True, True), (P.NOTIFY, 0, _MAX_NOTIFY, True, responder),
                  (P.KE, ke_min, 1, True))


E = ExchangeType
MESSAGE_RULES: dict[tuple[ExchangeType, bool], tuple[PayloadRule, ...]] = {
    (E.IKE_SA_INIT, True): _IKE_SA_INIT_I,
    (E.IKE_SA_INIT, False): _IKE_SA_INIT_R,
    (E.IKE_AUTH, True): _IKE_AUTH_I,
    (E.IKE_AUTH, False): _IKE_AUTH_R,
    (E.INFORMATIONAL, True): _INFORMATIONAL,
    (E.INFORMATIONAL, False): _INFORMATIONAL,
    (E.CREATE_CHILD_SA, True): _create_child(False),
    (E.CREATE_CHILD_SA, False): _create_child(True),
    (E.IKE_INTERMEDIATE, True): _ke_round(False, 0),
    (E.IKE_INTERMEDIATE, False): _ke_round(True, 0),
    (E.IKE_FOLLOWUP_KE, True): _ke_round(False, 1),
    (E.IKE_FOLLOWUP_KE, False): _ke_round(True, 1),
}
"""Per (exchange, is_request): allowed payloads with min/max counts and must-be-encrypted."""


def _check_clear(rules: tuple[PayloadRule, ...], msg: Message) -> None:
    by_type = {rule.ptype: rule for rule in rules}
    for p in msg.payloads:
        if isinstance(p, UnknownPayload | SkPayload | SkfPayload):
            continue
        rule = by_type.get(p.payload_type)
        if rule is None or rule.encrypted:
            raise InvalidSyntax(f"payload {p.payload_type} not allowed unencrypted")


def _check_counts(rules: tuple[PayloadRule, ...], msg: Message) -> None:
    complete = False
    by_type = msg.by_type()
    for rule in rules:
        found = len(by_type.get(rule.ptype, ()))
        if found > rule.max:
            raise InvalidSyntax(f"payload {rule.ptype.name} {found} times (max {rule.max})")
        if not complete and found < rule.min:
            raise InvalidSyntax(f"payload {rule.ptype.name} missing")
        complete = complete or (found > 0 and rule.sufficient)


def validate(msg: Message) -> None:
    """Check a decrypted message against MESSAGE_RULES; raises ``InvalidSyntax``.

    Clear payloads must be allowed unencrypted; counts are checked over clear + protected
    payloads with charon's "sufficient" rule (e.g. a lone error notify satisfies a response)."""
    try:
        rules = MESSAGE_RULES[(ExchangeType(msg.exchange_type), msg.is_request)]
    except (KeyError, ValueError):
        raise InvalidSyntax(f"unsupported exchange type {msg.exchange_type}") from None
    if msg.sk is not None:
        raise ValueError("validate() needs the decrypted message (see sk.unprotect)")
    _check_clear(rules, msg)
    _check_counts(rules, msg)
