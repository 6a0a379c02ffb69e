"""IKEv2 payload bodies: one frozen dataclass and one ``decode_*``/``encode_*`` pair each.

The generic payload header (next payload, critical bit, length) is handled by
``message.py``; the codecs here see only the body. ``PAYLOAD_CODECS`` maps every payload
type we understand to its codec. Decoders raise only ``DecodeError``. RESERVED fields are
ignored on receipt (RFC 7296 §2.5) except in ID payloads, whose RESERVED bytes enter the
AUTH computation (§2.15) and are therefore kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

from vicid.ike.wire.buffer import DecodeError, Reader, Writer
from vicid.ike.wire.enums import PayloadType, ProtocolId
from vicid.ike.wire.notify import NotifyPayload, decode_notify, encode_notify
from vicid.ike.wire.proposals import SaPayload, decode_sa, encode_sa
from vicid.ike.wire.selectors import TsiPayload, TsrPayload, decode_tsi, decode_tsr, encode_ts

GENERIC_HEADER_LEN = 4
NONCE_MIN, NONCE_MAX = 16, 256  # RFC 7296 §3.9


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


def decode_ke(r: Reader) -> KePayload:
    """Decode a KE payload body. Raises only ``DecodeError``."""
    method = r.u16()
    r.u16()  # RESERVED
    return KePayload(method, r.rest())


def encode_ke(w: Writer, p: KePayload) -> None:
    w.u16(p.method)
    w.u16(0)
    w.bytes(p.data)


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


@dataclass(frozen=True, slots=True)
class IdiPayload(IdPayload):
    payload_type: ClassVar[PayloadType] = PayloadType.IDi


@dataclass(frozen=True, slots=True)
class IdrPayload(IdPayload):
    payload_type: ClassVar[PayloadType] = PayloadType.IDr


def _decode_id_fields(r: Reader) -> tuple[int, bytes, bytes]:
    id_type, reserved = r.u8(), r.bytes(3)
    return id_type, r.rest(), reserved


def decode_idi(r: Reader) -> IdiPayload:
    """Decode an IDi payload body. Raises only ``DecodeError``."""
    return IdiPayload(*_decode_id_fields(r))


def decode_idr(r: Reader) -> IdrPayload:
    """Decode an IDr payload body. Raises only ``DecodeError``."""
    return IdrPayload(*_decode_id_fields(r))


def encode_id(w: Writer, p: IdPayload) -> None:
    if len(p.reserved) != 3:
        raise ValueError("ID RESERVED is 3 bytes")
    w.bytes(p.body)


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


def decode_cert(r: Reader) -> CertPayload:
    """Decode a CERT payload body. Raises only ``DecodeError``."""
    return CertPayload(r.u8(), r.rest())


def decode_certreq(r: Reader) -> CertreqPayload:
    """Decode a CERTREQ payload body. Raises only ``DecodeError``."""
    return CertreqPayload(r.u8(), r.rest())


def encode_cert(w: Writer, p: CertPayload | CertreqPayload) -> None:
    w.u8(p.encoding)
    w.bytes(p.data)


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


def decode_auth(r: Reader) -> AuthPayload:
    """Decode an AUTH payload body. Raises only ``DecodeError``."""
    method = r.u8()
    r.bytes(3)  # RESERVED
    return AuthPayload(method, r.rest())


def encode_auth(w: Writer, p: AuthPayload) -> None:
    w.u8(p.method)
    w.bytes(b"\x00\x00\x00")
    w.bytes(p.data)


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


def decode_nonce(r: Reader) -> NoncePayload:
    """Decode a Nonce payload body (16..256 bytes, §3.9). Raises only ``DecodeError``."""
    data = r.rest()
    if not NONCE_MIN <= len(data) <= NONCE_MAX:
        raise DecodeError(f"nonce of {len(data)} bytes")
    return NoncePayload(data)


def encode_nonce(w: Writer, p: NoncePayload) -> None:
    w.bytes(p.data)


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


def decode_vendor_id(r: Reader) -> VendorIdPayload:
    """Decode a Vendor ID payload body. Raises only ``DecodeError``."""
    return VendorIdPayload(r.rest())


def encode_vendor_id(w: Writer, p: VendorIdPayload) -> None:
    w.bytes(p.data)


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


def decode_eap(r: Reader) -> EapPayload:
    """Decode an EAP payload body. Raises only ``DecodeError``."""
    data = r.rest()
    if len(data) < 4 or int.from_bytes(data[2:4], "big") != len(data):
        raise DecodeError("EAP length does not match the payload")
    code = data[0]
    if code not in (1, 2, 3, 4) or (code in (3, 4) and len(data) != 4):
        raise DecodeError(f"EAP code {code} with {len(data)} bytes")
    return EapPayload(data)


def encode_eap(w: Writer, p: EapPayload) -> None:
    w.bytes(p.data)


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


def decode_skf_body(r: Reader, next_payload: int) -> SkfPayload:
    """Decode an SKF body. Raises only ``DecodeError``."""
    number, total = r.u16(), r.u16()
    if not 1 <= number <= total:  # RFC 7383 §2.6
        raise DecodeError(f"fragment {number} of {total}")
    # charon ignores (zeroes) Next Payload in fragments other than the first
    return SkfPayload(next_payload if number == 1 else 0, number, total, r.rest())


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
"""Body codecs for the plain payloads; SK and SKF are framed by message.py / sk.py."""


def encode_body(p: Payload) -> bytes:
    """The body bytes of one plain payload (no generic header)."""
    if isinstance(p, UnknownPayload):
        return p.data
    w = Writer()
    PAYLOAD_CODECS[p.payload_type].encode(w, p)
    return w.getvalue()
