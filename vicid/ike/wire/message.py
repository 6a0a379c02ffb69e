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

from vicid.ike.wire.buffer import DecodeError, Reader
from vicid.ike.wire.enums import ExchangeType, PayloadType
from vicid.ike.wire.errors import InvalidSyntax, UnsupportedCriticalPayload
from vicid.ike.wire.frozen import fast_init
from vicid.ike.wire.header import HEADER_LEN, IkeHeader, decode_header_at, pack_header
from vicid.ike.wire.notify import NotifyPayload
from vicid.ike.wire.payloads import (
    BODY_DECODERS,
    BODY_ENCODERS,
    GENERIC_HEADER_LEN,
    Payload,
    SkfPayload,
    SkPayload,
    UnknownPayload,
    decode_skf_at,
    encode_body,
)

_CRITICAL = 0x80
_GENERIC = struct.Struct("!BBH")  # Next Payload, C + RESERVED, Payload Length
_SK, _SKF = int(PayloadType.SK), int(PayloadType.SKF)
_BODY_DECODERS = {int(t): decode for t, decode in BODY_DECODERS.items()}  # plain int keys hash faster
_BODY_ENCODERS = BODY_ENCODERS
# tuples, not X | Y: a union in isinstance() is built anew on every call
_ENCRYPTED_CLASSES = (SkPayload, SkfPayload)
_OPAQUE_CLASSES = (UnknownPayload, SkPayload, SkfPayload)


@fast_init
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
        payloads = self.payloads
        if payloads and isinstance(last := payloads[-1], _ENCRYPTED_CLASSES):
            return last
        return None

    def all_payloads(self) -> Iterator[Payload]:
        """Clear payloads (without SK/SKF) followed by the protected ones."""
        yield from (p for p in self.payloads if not isinstance(p, _ENCRYPTED_CLASSES))
        yield from self.encrypted

    def by_type(self) -> dict[int, list[Payload]]:
        """Clear (without SK/SKF) and protected payloads grouped by type, in message order
        (read-only: shared by every lookup on this message)."""
        index = self._by_type
        if index is None:
            index = {}
            for group in (self.payloads, self.encrypted):
                for p in group:
                    if group is self.payloads and isinstance(p, _ENCRYPTED_CLASSES):
                        continue
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

def _decode_chain(buf: bytes, pos: int, end: int, first: int, inner: bool) -> list[Payload]:
    """decode_payload_chain over buf[pos:end] (bytes), each body decoded in place."""
    payloads: list[Payload] = []
    append = payloads.append
    ptype = first
    while ptype:
        if end - pos < GENERIC_HEADER_LEN:
            raise DecodeError(f"truncated: need {GENERIC_HEADER_LEN} bytes, {end - pos} left")
        next_type, flags, length = _GENERIC.unpack_from(buf, pos)
        if length < GENERIC_HEADER_LEN:
            raise DecodeError(f"payload {ptype} length {length}")
        body, pos = pos + GENERIC_HEADER_LEN, pos + length
        if pos > end:
            raise DecodeError(f"truncated: need {length - 4} bytes, {end - body} left")
        decode = _BODY_DECODERS.get(ptype)
        if decode is not None:
            append(decode(buf, body, pos))
            ptype = next_type
        elif ptype == _SK or ptype == _SKF:
            if inner:
                raise DecodeError("SK/SKF payload inside an encrypted payload")
            append(SkPayload(next_type, buf[body:pos]) if ptype == _SK else decode_skf_at(buf, body, pos, next_type))
            break
        else:
            append(UnknownPayload(ptype, buf[body:pos], bool(flags & _CRITICAL)))
            ptype = next_type
    if pos != end:
        raise DecodeError(f"{end - pos} trailing bytes after last payload")
    return payloads


def decode_payload_chain(r: Reader, first: int, *, inner: bool = False) -> list[Payload]:
    """Decode payloads from ``first`` until Next Payload 0 or an SK/SKF payload, which must
    end the data (RFC 7296 §3.14). ``inner`` forbids SK/SKF (no nesting). Raises only
    ``DecodeError``."""
    data = r.rest()
    return _decode_chain(data, 0, len(data), first, inner)


def check_critical(payloads: Iterable[Payload]) -> None:
    """Raise ``UnsupportedCriticalPayload`` for the first unknown payload with C set (§2.5)."""
    for p in payloads:
        if isinstance(p, UnknownPayload) and p.critical:
            raise UnsupportedCriticalPayload(p.payload_type)


def _payload_body(p: Payload) -> bytes:
    if isinstance(p, SkPayload):
        return p.data
    if isinstance(p, SkfPayload):
        return p.number.to_bytes(2, "big") + p.total.to_bytes(2, "big") + p.data
    return encode_body(p)


def encode_payload_chain(payloads: tuple[Payload, ...] | list[Payload], last_next: int = 0) -> bytes:
    """Generic headers + bodies; C is set only on unknown payloads that carried it."""
    if not payloads:
        return b""
    out: list[bytes] = []
    append = out.append
    next_types = [p.payload_type for p in payloads[1:]]
    next_types.append(last_next)
    for p, next_type in zip(payloads, next_types, strict=True):
        encode = _BODY_ENCODERS.get(type(p))
        if encode is not None:  # one of the plain payload classes itself
            body = encode(p)
            append(_GENERIC.pack(next_type, 0, GENERIC_HEADER_LEN + len(body)))
        else:  # SK/SKF (Next Payload: the first inner type), unknown payloads, subclasses
            body = _payload_body(p)
            critical = _CRITICAL if isinstance(p, UnknownPayload) and p.critical else 0
            if isinstance(p, _ENCRYPTED_CLASSES):
                next_type = p.first_inner
            append(_GENERIC.pack(next_type, critical, GENERIC_HEADER_LEN + len(body)))
        append(body)
    return b"".join(out)


def first_type(payloads: tuple[Payload, ...] | list[Payload]) -> int:
    return payloads[0].payload_type if payloads else PayloadType.NONE


def encode_message(header: IkeHeader, payloads: tuple[Payload, ...] | list[Payload]) -> bytes:
    """Encode header + clear payloads, filling in Next Payload and Length."""
    body = encode_payload_chain(payloads)
    return pack_header(header, first_type(payloads), HEADER_LEN + len(body)) + body


def decode_message(data: bytes | memoryview, header: IkeHeader | None = None) -> Message:
    """Decode a whole IKE message (without non-ESP marker) from peer bytes.

    Raises ``DecodeError`` on malformed data and ``UnsupportedCriticalPayload`` for unknown
    critical payloads in clear. SK/SKF stays encrypted (see ``crypto/sk.py``). ``header``: the
    header of ``data`` if the caller has decoded it already."""
    if type(data) is not bytes:
        data = bytes(data)
    if header is None:
        header = decode_header_at(data)
    elif len(data) < HEADER_LEN:
        raise DecodeError(f"truncated: need {HEADER_LEN} bytes, {len(data)} left")
    if header.length != len(data):
        raise DecodeError(f"IKE header length {header.length} != datagram {len(data)}")
    payloads = _decode_chain(data, HEADER_LEN, len(data), header.next_payload, False)
    check_critical(payloads)
    return Message(header, tuple(payloads))


def decode_inner_payloads(plain: bytes, first_inner: int) -> list[Payload]:
    """The payloads of decrypted SK/SKF content (no SK/SKF inside). Raises only ``DecodeError``."""
    if type(plain) is not bytes:
        plain = bytes(plain)
    return _decode_chain(plain, 0, len(plain), first_inner, True)


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


# MESSAGE_RULES as plain-int tables: (exchange, is_request) -> (rules, payload types allowed
# unencrypted, (type, min, max, sufficient) per rule)
_Counts = tuple[tuple[int, int, int, bool], ...]
_RULE_TABLES: dict[tuple[int, bool], tuple[tuple[PayloadRule, ...], frozenset[int], _Counts]] = {
    (int(exchange), is_request): (
        rules, frozenset(int(r.ptype) for r in rules if not r.encrypted),
        tuple((int(r.ptype), r.min, r.max, r.sufficient) for r in rules))
    for (exchange, is_request), rules in MESSAGE_RULES.items()
}


def _check_clear(clear_ok: frozenset[int], msg: Message) -> None:
    for p in msg.payloads:
        # unknown payloads and SK/SKF are not subject to the rules
        if p.payload_type not in clear_ok and not isinstance(p, _OPAQUE_CLASSES):
            raise InvalidSyntax(f"payload {p.payload_type} not allowed unencrypted")


def _check_counts(rules: tuple[PayloadRule, ...], counts: _Counts, msg: Message) -> None:
    complete = False
    by_type = msg.by_type()
    for i, (ptype, low, high, sufficient) in enumerate(counts):
        found = by_type.get(ptype)
        found = len(found) if found else 0
        if found > high:
            raise InvalidSyntax(f"payload {rules[i].ptype.name} {found} times (max {high})")
        if not complete and found < low:
            raise InvalidSyntax(f"payload {rules[i].ptype.name} missing")
        if sufficient and found:
            complete = True


def validate(msg: Message) -> None:
    """Check a decrypted message against MESSAGE_RULES; raises ``InvalidSyntax``.

    Clear payloads must be allowed unencrypted; counts are checked over clear + protected
    payloads with charon's "sufficient" rule (e.g. a lone error notify satisfies a response)."""
    header = msg.header
    tables = _RULE_TABLES.get((header.exchange_type, not header.is_response))
    if tables is None:
        raise InvalidSyntax(f"unsupported exchange type {msg.exchange_type}")
    if msg.sk is not None:
        raise ValueError("validate() needs the decrypted message (see sk.unprotect)")
    rules, clear_ok, counts = tables
    _check_clear(clear_ok, msg)
    _check_counts(rules, counts, msg)
