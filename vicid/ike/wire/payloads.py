"""IKEv2 payload bodies: one frozen dataclass and one ``decode_*``/``encode_*`` pair each.

The generic payload header (next payload, critical bit, length) is handled by
``message.py``; the codecs here see only the body. ``PAYLOAD_CODECS`` maps every payload
type we understand to its codec. Decoders raise only ``DecodeError``. RESERVED fields are
ignored on receipt (RFC 7296 §2.5) except in ID payloads, whose RESERVED bytes enter the
AUTH computation (§2.15) and are therefore kept.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

from vicid.ike.wire.buffer import DecodeError, Reader, Writer
from vicid.ike.wire.enums import PayloadType, ProtocolId
from vicid.ike.wire.frozen import fast_init
from vicid.ike.wire.notify import NotifyPayload, decode_notify, decode_notify_at, encode_notify, encode_notify_bytes
from vicid.ike.wire.proposals import SaPayload, decode_sa, decode_sa_at, encode_sa, encode_sa_bytes
from vicid.ike.wire.selectors import (
    TsiPayload,
    TsrPayload,
    decode_tsi,
    decode_tsi_at,
    decode_tsr,
    decode_tsr_at,
    encode_ts,
    encode_ts_bytes,
)

GENERIC_HEADER_LEN = 4
NONCE_MIN, NONCE_MAX = 16, 256  # RFC 7296 §3.9
_U16 = struct.Struct("!H")
_U16X2 = struct.Struct("!HH")
_U8_PAD3 = struct.Struct("!B3x")  # a one-byte field and 3 bytes RESERVED


@fast_init
@dataclass(frozen=True, slots=True)
class KePayload:
    """Key Exchange payload (RFC 7296 §3.4, RFC 9370).

    ```
    | Next Payload  |C|  RESERVED   |         Payload Length        |
    |   Key Exchange Method Num     |           RESERVED            |
    ~                       Key Exchange Data                       ~
    ```
    """

    payload_type: ClassVar[PayloadType] = PayloadType.KE
    method: int
    data: bytes


def _short(need: int, left: int) -> DecodeError:
    return DecodeError(f"truncated: need {need} bytes, {left} left")


def _at(decode_at: Callable[[bytes, int, int], Any]) -> Callable[[Reader], Any]:
    """The ``Reader`` form of a body decoder over ``(bytes, start, end)``: it takes the rest."""
    def decode(r: Reader) -> Any:
        data = r.rest()
        return decode_at(data, 0, len(data))
    decode.__name__ = decode_at.__name__.removesuffix("_at")
    decode.__doc__ = decode_at.__doc__
    return decode


def decode_ke_at(buf: bytes, pos: int, end: int) -> KePayload:
    """Decode a KE payload body. Raises only ``DecodeError``."""
    if end - pos < 4:
        raise _short(4, end - pos)
    return KePayload(_U16.unpack_from(buf, pos)[0], buf[pos + 4:end])  # then 2 bytes RESERVED


decode_ke = _at(decode_ke_at)


def encode_ke(w: Writer, p: KePayload) -> None:
    w.u16(p.method)
    w.u16(0)
    w.bytes(p.data)


@fast_init
@dataclass(frozen=True, slots=True)
class IdPayload:
    """Identification payload IDi/IDr (RFC 7296 §3.5).

    ```
    | Next Payload  |C|  RESERVED   |         Payload Length        |
    |   ID Type     |                 RESERVED                      |
    ~                   Identification Data                         ~
    ```
    ``body`` (ID Type | RESERVED | data) is IDi'/IDr' of §2.15, hashed into the AUTH octets.
    """

    id_type: int
    data: bytes
    reserved: bytes = b"\x00\x00\x00"

    @property
    def body(self) -> bytes:
        return bytes([self.id_type]) + self.reserved + self.data


@fast_init
@dataclass(frozen=True, slots=True)
class IdiPayload(IdPayload):
    payload_type: ClassVar[PayloadType] = PayloadType.IDi


@fast_init
@dataclass(frozen=True, slots=True)
class IdrPayload(IdPayload):
    payload_type: ClassVar[PayloadType] = PayloadType.IDr


def decode_idi_at(buf: bytes, pos: int, end: int) -> IdiPayload:
    """Decode an IDi payload body. Raises only ``DecodeError``."""
    if end - pos < 4:
        raise _short(4, end - pos)
    return IdiPayload(buf[pos], buf[pos + 4:end], buf[pos + 1:pos + 4])


def decode_idr_at(buf: bytes, pos: int, end: int) -> IdrPayload:
    """Decode an IDr payload body. Raises only ``DecodeError``."""
    if end - pos < 4:
        raise _short(4, end - pos)
    return IdrPayload(buf[pos], buf[pos + 4:end], buf[pos + 1:pos + 4])


decode_idi = _at(decode_idi_at)
decode_idr = _at(decode_idr_at)


def encode_id(w: Writer, p: IdPayload) -> None:
    if len(p.reserved) != 3:
        raise ValueError("ID RESERVED is 3 bytes")
    w.bytes(p.body)


@fast_init
@dataclass(frozen=True, slots=True)
class CertPayload:
    """Certificate payload (RFC 7296 §3.6).

    ```
    | Next Payload  |C|  RESERVED   |         Payload Length        |
    | Cert Encoding |                                               |
    ~                       Certificate Data                        ~
    ```
    """

    payload_type: ClassVar[PayloadType] = PayloadType.CERT
    encoding: int
    data: bytes


@fast_init
@dataclass(frozen=True, slots=True)
class CertreqPayload:
    """Certificate Request payload (RFC 7296 §3.7): data = concatenated SHA-1 SPKI hashes.

    ```
    | Next Payload  |C|  RESERVED   |         Payload Length        |
    | Cert Encoding |                                               |
    ~                    Certification Authority                    ~
    ```
    """

    payload_type: ClassVar[PayloadType] = PayloadType.CERTREQ
    encoding: int
    data: bytes


def decode_cert_at(buf: bytes, pos: int, end: int) -> CertPayload:
    """Decode a CERT payload body. Raises only ``DecodeError``."""
    if pos >= end:
        raise _short(1, 0)
    return CertPayload(buf[pos], buf[pos + 1:end])


def decode_certreq_at(buf: bytes, pos: int, end: int) -> CertreqPayload:
    """Decode a CERTREQ payload body. Raises only ``DecodeError``."""
    if pos >= end:
        raise _short(1, 0)
    return CertreqPayload(buf[pos], buf[pos + 1:end])


decode_cert = _at(decode_cert_at)
decode_certreq = _at(decode_certreq_at)


def encode_cert(w: Writer, p: CertPayload | CertreqPayload) -> None:
    w.u8(p.encoding)
    w.bytes(p.data)


@fast_init
@dataclass(frozen=True, slots=True)
class AuthPayload:
    """Authentication payload (RFC 7296 §3.8).

    ```
    | Next Payload  |C|  RESERVED   |         Payload Length        |
    | Auth Method   |                RESERVED                       |
    ~                      Authentication Data                      ~
    ```
    """

    payload_type: ClassVar[PayloadType] = PayloadType.AUTH
    method: int
    data: bytes


def decode_auth_at(buf: bytes, pos: int, end: int) -> AuthPayload:
    """Decode an AUTH payload body. Raises only ``DecodeError``."""
    if end - pos < 4:
        raise _short(4, end - pos)
    return AuthPayload(buf[pos], buf[pos + 4:end])  # 3 bytes RESERVED between


decode_auth = _at(decode_auth_at)


def encode_auth(w: Writer, p: AuthPayload) -> None:
    w.u8(p.method)
    w.bytes(b"\x00\x00\x00")
    w.bytes(p.data)


@fast_init
@dataclass(frozen=True, slots=True)
class NoncePayload:
    """Nonce payload Ni/Nr (RFC 7296 §3.9): 16..256 bytes.

    ```
    | Next Payload  |C|  RESERVED   |         Payload Length        |
    ~                            Nonce Data                         ~
    ```
    """

    payload_type: ClassVar[PayloadType] = PayloadType.NONCE
    data: bytes


def decode_nonce_at(buf: bytes, pos: int, end: int) -> NoncePayload:
    """Decode a Nonce payload body (16..256 bytes, §3.9). Raises only ``DecodeError``."""
    if not NONCE_MIN <= end - pos <= NONCE_MAX:
        raise DecodeError(f"nonce of {end - pos} bytes")
    return NoncePayload(buf[pos:end])


decode_nonce = _at(decode_nonce_at)


def encode_nonce(w: Writer, p: NoncePayload) -> None:
    w.bytes(p.data)


@fast_init
@dataclass(frozen=True, slots=True)
class DeletePayload:
    """Delete payload (RFC 7296 §3.11); IKE: SPI size 0 and no SPIs, AH/ESP: 4-byte SPIs.

    ```
    | Next Payload  |C|  RESERVED   |         Payload Length        |
    | Protocol ID   |   SPI Size    |          Num of SPIs          |
    ~               Security Parameter Index(es) (SPI)              ~
    ```
    """

    payload_type: ClassVar[PayloadType] = PayloadType.DELETE
    protocol_id: int
    spis: tuple[bytes, ...] = ()

    @property
    def spi_size(self) -> int:
        return 0 if self.protocol_id in (ProtocolId.NONE, ProtocolId.IKE) else 4


def decode_delete(r: Reader) -> DeletePayload:
    """Decode a Delete payload body. Raises only ``DecodeError``."""
    protocol, spi_size, count = r.u8(), r.u8(), r.u16()
    expected = {0: 0, ProtocolId.IKE: 0, ProtocolId.AH: 4, ProtocolId.ESP: 4}.get(protocol)
    if expected is None or spi_size != expected:
        raise DecodeError(f"delete for protocol {protocol} with SPI size {spi_size}")
    if spi_size == 0:
        count = 0  # nothing follows for the IKE SA itself (§3.11)
    spis = tuple(r.bytes(spi_size) for _ in range(count))
    r.expect_end("Delete payload")
    return DeletePayload(protocol, spis)


def encode_delete(w: Writer, p: DeletePayload) -> None:
    if any(len(s) != p.spi_size for s in p.spis):
        raise ValueError("SPI size does not match the protocol")
    w.u8(p.protocol_id)
    w.u8(p.spi_size)
    w.u16(len(p.spis))
    for s in p.spis:
        w.bytes(s)


@fast_init
@dataclass(frozen=True, slots=True)
class VendorIdPayload:
    """Vendor ID payload (RFC 7296 §3.12): opaque bytes.

    ```
    | Next Payload  |C|  RESERVED   |         Payload Length        |
    ~                        Vendor ID (VID)                        ~
    ```
    """

    payload_type: ClassVar[PayloadType] = PayloadType.VENDOR_ID
    data: bytes


def decode_vendor_id_at(buf: bytes, pos: int, end: int) -> VendorIdPayload:
    """Decode a Vendor ID payload body. Raises only ``DecodeError``."""
    return VendorIdPayload(buf[pos:end])


decode_vendor_id = _at(decode_vendor_id_at)


def encode_vendor_id(w: Writer, p: VendorIdPayload) -> None:
    w.bytes(p.data)


@fast_init
@dataclass(frozen=True, slots=True)
class CpAttribute:
    """Configuration attribute (RFC 7296 §3.15.1); the R bit is reserved.

    ```
    |R|         Attribute Type      |            Length             |
    ~                             Value                             ~
    ```
    """

    attr_type: int
    value: bytes = b""


@fast_init
@dataclass(frozen=True, slots=True)
class CpPayload:
    """Configuration payload (RFC 7296 §3.15).

    ```
    | Next Payload  |C| RESERVED    |         Payload Length        |
    |   CFG Type    |                    RESERVED                   |
    ~                   Configuration Attributes                    ~
    ```
    """

    payload_type: ClassVar[PayloadType] = PayloadType.CP
    cfg_type: int
    attributes: tuple[CpAttribute, ...] = ()


# value lengths charon's configuration_attribute.c accepts per type (0 = a request)
_ADDR4 = frozenset({0, 4})
_CP_LENGTHS: dict[int, frozenset[int]] = {
    1: _ADDR4, 2: _ADDR4, 3: _ADDR4, 4: _ADDR4, 5: _ADDR4, 6: _ADDR4, 20: _ADDR4,  # IPv4 kinds
    13: frozenset({0, 8}),  # INTERNAL_IP4_SUBNET: address and netmask
    8: frozenset({0, 17}), 15: frozenset({0, 17}),  # IPv6 address/subnet: address and prefix
    10: frozenset({0, 16}), 11: frozenset({0, 16}), 12: frozenset({0, 16}), 21: frozenset({0, 16}),
}
_SUPPORTED_ATTRIBUTES = 14


def decode_cp(r: Reader) -> CpPayload:
    """Decode a Configuration payload body; attribute lengths are checked per type as charon's
    ``verify`` does (unknown types take any length). Raises only ``DecodeError``."""
    cfg_type = r.u8()
    r.bytes(3)  # RESERVED
    attrs = []
    while not r.at_end():
        attr_type = r.u16() & 0x7FFF  # R bit: ignored on receipt
        value = r.bytes(r.u16())
        allowed = _CP_LENGTHS.get(attr_type)
        if (allowed is not None and len(value) not in allowed) or (
                attr_type == _SUPPORTED_ATTRIBUTES and len(value) % 2):
            raise DecodeError(f"invalid attribute length {len(value)} for configuration attribute {attr_type}")
        attrs.append(CpAttribute(attr_type, value))
    return CpPayload(cfg_type, tuple(attrs))


def encode_cp(w: Writer, p: CpPayload) -> None:
    w.u8(p.cfg_type)
    w.bytes(b"\x00\x00\x00")
    for a in p.attributes:
        w.u16(a.attr_type & 0x7FFF)
        w.u16(len(a.value))
        w.bytes(a.value)


@fast_init
@dataclass(frozen=True, slots=True)
class EapPayload:
    """EAP payload (RFC 7296 §3.16): one EAP message (RFC 3748), length-checked like charon.

    ```
    | Next Payload  |C|  RESERVED   |         Payload Length        |
    ~                       EAP Message                             ~
    ```
    """

    payload_type: ClassVar[PayloadType] = PayloadType.EAP
    data: bytes


def decode_eap_at(buf: bytes, pos: int, end: int) -> EapPayload:
    """Decode an EAP payload body. Raises only ``DecodeError``."""
    data = buf[pos:end]
    if len(data) < 4 or int.from_bytes(data[2:4], "big") != len(data):
        raise DecodeError("EAP length does not match the payload")
    code = data[0]
    if code not in (1, 2, 3, 4) or (code in (3, 4) and len(data) != 4):
        raise DecodeError(f"EAP code {code} with {len(data)} bytes")
    return EapPayload(data)


decode_eap = _at(decode_eap_at)


def encode_eap(w: Writer, p: EapPayload) -> None:
    w.bytes(p.data)


@fast_init
@dataclass(frozen=True, slots=True)
class SkPayload:
    """Encrypted and Authenticated payload (RFC 7296 §3.14); must be the last payload.

    ```
    | Next Payload  |C|  RESERVED   |         Payload Length        |
    |                     Initialization Vector                     |
    ~                    Encrypted IKE Payloads                     ~
    |               |             Padding (0-255 octets)            |
    +-+-+-+-+-+-+-+-+                               +-+-+-+-+-+-+-+-+
    |                                               |  Pad Length   |
    ~                    Integrity Checksum Data                    ~
    ```
    ``first_inner`` is the header's Next Payload: the type of the first inner payload.
    ``data`` is IV | ciphertext | ICV, as carried.
    """

    payload_type: ClassVar[PayloadType] = PayloadType.SK
    first_inner: int
    data: bytes


@fast_init
@dataclass(frozen=True, slots=True)
class SkfPayload:
    """Encrypted and Authenticated Fragment payload (RFC 7383 §2.5).

    ```
    | Next Payload  |C|  RESERVED   |         Payload Length        |
    |        Fragment Number        |        Total Fragments        |
    |                     Initialization Vector                     |
    ~                      Encrypted content                        ~
    |               |             Padding (0-255 octets)            |
    +-+-+-+-+-+-+-+-+                               +-+-+-+-+-+-+-+-+
    |                                               |  Pad Length   |
    ~                    Integrity Checksum Data                    ~
    ```
    ``first_inner`` is non-zero only in fragment 1 (§2.5).
    """

    payload_type: ClassVar[PayloadType] = PayloadType.SKF
    first_inner: int
    number: int
    total: int
    data: bytes


def decode_skf_at(buf: bytes, pos: int, end: int, next_payload: int) -> SkfPayload:
    """Decode an SKF body. Raises only ``DecodeError``."""
    if end - pos < 4:
        raise _short(4, end - pos)
    number, total = _U16X2.unpack_from(buf, pos)
    if not 1 <= number <= total:  # RFC 7383 §2.6
        raise DecodeError(f"fragment {number} of {total}")
    # charon ignores (zeroes) Next Payload in fragments other than the first
    return SkfPayload(next_payload if number == 1 else 0, number, total, buf[pos + 4:end])


def decode_skf_body(r: Reader, next_payload: int) -> SkfPayload:
    """Decode an SKF body. Raises only ``DecodeError``."""
    data = r.rest()
    return decode_skf_at(data, 0, len(data), next_payload)


@fast_init
@dataclass(frozen=True, slots=True)
class UnknownPayload:
    """A payload type we do not implement, kept as raw bytes (RFC 7296 §2.5)."""

    payload_type: int
    data: bytes
    critical: bool = False


Payload = Any  # one of the dataclasses above, SaPayload, NotifyPayload, Tsi/TsrPayload


class Codec(NamedTuple):
    cls: type
    decode: Callable[[Reader], Any]
    encode: Callable[[Writer, Any], None]


PAYLOAD_CODECS: dict[PayloadType, Codec] = {
    PayloadType.SA: Codec(SaPayload, decode_sa, encode_sa),
    PayloadType.KE: Codec(KePayload, decode_ke, encode_ke),
    PayloadType.IDi: Codec(IdiPayload, decode_idi, encode_id),
    PayloadType.IDr: Codec(IdrPayload, decode_idr, encode_id),
    PayloadType.CERT: Codec(CertPayload, decode_cert, encode_cert),
    PayloadType.CERTREQ: Codec(CertreqPayload, decode_certreq, encode_cert),
    PayloadType.AUTH: Codec(AuthPayload, decode_auth, encode_auth),
    PayloadType.NONCE: Codec(NoncePayload, decode_nonce, encode_nonce),
    PayloadType.NOTIFY: Codec(NotifyPayload, decode_notify, encode_notify),
    PayloadType.DELETE: Codec(DeletePayload, decode_delete, encode_delete),
    PayloadType.VENDOR_ID: Codec(VendorIdPayload, decode_vendor_id, encode_vendor_id),
    PayloadType.TSi: Codec(TsiPayload, decode_tsi, encode_ts),
    PayloadType.TSr: Codec(TsrPayload, decode_tsr, encode_ts),
    PayloadType.CP: Codec(CpPayload, decode_cp, encode_cp),
    PayloadType.EAP: Codec(EapPayload, decode_eap, encode_eap),
}
"""Body codecs for the plain payloads; SK and SKF are framed by message.py / crypto/sk.py."""


def _reader_form(decode: Callable[[Reader], Any]) -> Callable[[bytes, int, int], Any]:
    def decode_at(buf: bytes, pos: int, end: int) -> Any:
        r = Reader(memoryview(buf)[pos:end])
        payload = decode(r)
        r.expect_end("payload body")
        return payload
    return decode_at


BODY_DECODERS: dict[int, Callable[[bytes, int, int], Any]] = {
    PayloadType.SA: decode_sa_at,
    PayloadType.KE: decode_ke_at,
    PayloadType.IDi: decode_idi_at,
    PayloadType.IDr: decode_idr_at,
    PayloadType.CERT: decode_cert_at,
    PayloadType.CERTREQ: decode_certreq_at,
    PayloadType.AUTH: decode_auth_at,
    PayloadType.NONCE: decode_nonce_at,
    PayloadType.NOTIFY: decode_notify_at,
    PayloadType.DELETE: _reader_form(decode_delete),
    PayloadType.VENDOR_ID: decode_vendor_id_at,
    PayloadType.TSi: decode_tsi_at,
    PayloadType.TSr: decode_tsr_at,
    PayloadType.CP: _reader_form(decode_cp),
    PayloadType.EAP: decode_eap_at,
}
"""PAYLOAD_CODECS' decoders over ``(bytes, body start, body end)``: the payload chain decodes
each body in place (no Reader per payload); each must take the whole body or raise."""
assert BODY_DECODERS.keys() == PAYLOAD_CODECS.keys()


def _writer_form(encode: Callable[[Writer, Any], None]) -> Callable[[Any], bytes]:
    def encode_bytes(p: Any) -> bytes:
        w = Writer()
        encode(w, p)
        return w.getvalue()
    return encode_bytes


def _data(p: Any) -> bytes:
    return p.data


def _ke_bytes(p: KePayload) -> bytes:
    return _U16X2.pack(p.method, 0) + p.data


def _id_bytes(p: IdPayload) -> bytes:
    if len(p.reserved) != 3:
        raise ValueError("ID RESERVED is 3 bytes")
    return p.body


def _cert_bytes(p: CertPayload | CertreqPayload) -> bytes:
    return bytes([p.encoding]) + p.data


def _auth_bytes(p: AuthPayload) -> bytes:
    return _U8_PAD3.pack(p.method) + p.data


BODY_ENCODERS: dict[type, Callable[[Any], bytes]] = {
    SaPayload: encode_sa_bytes,
    KePayload: _ke_bytes,
    IdiPayload: _id_bytes,
    IdrPayload: _id_bytes,
    CertPayload: _cert_bytes,
    CertreqPayload: _cert_bytes,
    AuthPayload: _auth_bytes,
    NoncePayload: _data,
    NotifyPayload: encode_notify_bytes,
    DeletePayload: _writer_form(encode_delete),
    VendorIdPayload: _data,
    TsiPayload: encode_ts_bytes,
    TsrPayload: encode_ts_bytes,
    CpPayload: _writer_form(encode_cp),
    EapPayload: _data,
}
"""Body encoders of the plain payload classes (exact classes; subclasses go through PAYLOAD_CODECS)."""


def encode_body(p: Payload) -> bytes:
    """The body bytes of one plain payload (no generic header)."""
    encode = BODY_ENCODERS.get(type(p))
    if encode is not None:
        return encode(p)
    if isinstance(p, UnknownPayload):
        return p.data
    w = Writer()
    PAYLOAD_CODECS[p.payload_type].encode(w, p)
    return w.getvalue()
