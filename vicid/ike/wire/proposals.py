"""SA payload substructures: proposals, transforms, transform attributes (RFC 7296 §3.3).

Transform types include the RFC 9370 ADDKE1..7 types (6..12); unknown types and IDs are kept
as plain integers so that proposal selection can skip them (RFC 7296 §3.3.6).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import ClassVar

from vicid.ike.wire.buffer import DecodeError, Reader, Writer
from vicid.ike.wire.enums import PayloadType, ProtocolId

ATTR_KEY_LENGTH = 14  # RFC 7296 §3.3.5, the only attribute IKEv2 defines
_AF_TV = 0x8000
_LAST = 0
_MORE_PROPOSALS = 2
_MORE_TRANSFORMS = 3
_SUBSTRUCT = struct.Struct("!BBH")  # Last Substruc | RESERVED | Length (also Type | RESERVED | ID)


@dataclass(frozen=True, slots=True)
class TransformAttribute:
    """Data attribute, TV (AF=1, 2-byte value) or TLV (AF=0, variable value).

    ```
    |A|       Attribute Type        |    AF=0  Attribute Length     |
    |F|                             |    AF=1  Attribute Value      |
    |                   AF=0  Attribute Value                       |
    ```
    """

    attr_type: int
    value: int | bytes

    @property
    def is_tv(self) -> bool:
        return isinstance(self.value, int)


@dataclass(frozen=True, slots=True)
class Transform:
    """Transform substructure.

    ```
    | Last Substruc |   RESERVED    |        Transform Length       |
    |Transform Type |   RESERVED    |          Transform ID         |
    ~                      Transform Attributes                     ~
    ```
    """

    transform_type: int
    transform_id: int
    attributes: tuple[TransformAttribute, ...] = ()

    @property
    def key_length(self) -> int | None:
        """Key Length attribute in bits, if present."""
        for a in self.attributes:
            if a.attr_type == ATTR_KEY_LENGTH and isinstance(a.value, int):
                return a.value
        return None


def transform(transform_type: int, transform_id: int, key_length: int | None = None) -> Transform:
    """Build a transform, adding the Key Length attribute when ``key_length`` is given."""
    attrs = () if key_length is None else (TransformAttribute(ATTR_KEY_LENGTH, key_length),)
    return Transform(transform_type, transform_id, attrs)


@dataclass(frozen=True, slots=True)
class Proposal:
    """Proposal substructure.

    ```
    | Last Substruc |   RESERVED    |         Proposal Length       |
    | Proposal Num  |  Protocol ID  |    SPI Size   |Num  Transforms|
    ~                        SPI (variable)                         ~
    ~                        <Transforms>                           ~
    ```
    """

    number: int
    protocol_id: int
    spi: bytes
    transforms: tuple[Transform, ...]


@dataclass(frozen=True, slots=True)
class SaPayload:
    """Security Association payload: a list of proposals (RFC 7296 §3.3).

    ```
    | Next Payload  |C|  RESERVED   |         Payload Length        |
    ~                          <Proposals>                          ~
    ```
    """

    payload_type: ClassVar[PayloadType] = PayloadType.SA
    proposals: tuple[Proposal, ...]


def _decode_attribute(r: Reader) -> TransformAttribute:
    kind = r.u16()
    if kind & _AF_TV:
        return TransformAttribute(kind & 0x7FFF, r.u16())
    return TransformAttribute(kind, r.bytes(r.u16()))


def _encode_attribute(w: Writer, a: TransformAttribute) -> None:
    if isinstance(a.value, int):
        w.u16(_AF_TV | a.attr_type)
        w.u16(a.value)
    else:
        w.u16(a.attr_type)
        w.u16(len(a.value))
        w.bytes(a.value)


def _decode_transform(r: Reader) -> tuple[Transform, bool]:
    last, _res, length = _SUBSTRUCT.unpack(r.view(4))  # one unpack per field group: SAs carry many
    if last not in (_LAST, _MORE_TRANSFORMS):
        raise DecodeError(f"transform Last Substruc {last} (must be 0 or 3)")
    if length < 8:
        raise DecodeError(f"transform length {length} < 8")
    body = r.sub(length - 4)
    ttype, _res2, tid = _SUBSTRUCT.unpack(body.view(4))
    attrs = []
    while not body.at_end():
        attrs.append(_decode_attribute(body))
    return Transform(ttype, tid, tuple(attrs)), last == _MORE_TRANSFORMS


def _encode_transform(w: Writer, t: Transform, more: bool) -> None:
    w.u8(_MORE_TRANSFORMS if more else _LAST)
    w.u8(0)
    start = w.position
    w.u16(0)
    w.u8(t.transform_type)
    w.u8(0)
    w.u16(t.transform_id)
    for a in t.attributes:
        _encode_attribute(w, a)
    w.patch_u16(start, w.position - start + 2)


def _check_spi_size(protocol_id: int, size: int) -> None:
    # Same acceptance as charon's proposal_substructure verify().
    if protocol_id == ProtocolId.IKE and size not in (0, 8):
        raise DecodeError(f"IKE proposal SPI size {size}")
    if protocol_id in (ProtocolId.AH, ProtocolId.ESP) and size != 4:
        raise DecodeError(f"AH/ESP proposal SPI size {size}")


def _decode_proposal(r: Reader) -> tuple[Proposal, bool]:
    last, _res, length = _SUBSTRUCT.unpack(r.view(4))
    if last not in (_LAST, _MORE_PROPOSALS):
        raise DecodeError(f"proposal Last Substruc {last} (must be 0 or 2)")
    if length < 8:
        raise DecodeError(f"proposal length {length} < 8")
    body = r.sub(length - 4)
    number, protocol, spi_size, count = body.u8(), body.u8(), body.u8(), body.u8()
    _check_spi_size(protocol, spi_size)
    spi = body.bytes(spi_size)
    transforms, more = [], True
    while more and not body.at_end():
        t, more = _decode_transform(body)
        transforms.append(t)
    body.expect_end("transforms")
    if len(transforms) != count:
        raise DecodeError(f"proposal announces {count} transforms, carries {len(transforms)}")
    return Proposal(number, protocol, spi, tuple(transforms)), last == _MORE_PROPOSALS


def _encode_proposal(w: Writer, p: Proposal, more: bool) -> None:
    w.u8(_MORE_PROPOSALS if more else _LAST)
    w.u8(0)
    start = w.position
    w.u16(0)
    w.bytes(bytes([p.number, p.protocol_id, len(p.spi), len(p.transforms)]))
    w.bytes(p.spi)
    for i, t in enumerate(p.transforms):
        _encode_transform(w, t, i + 1 < len(p.transforms))
    w.patch_u16(start, w.position - start + 2)


def decode_sa(r: Reader) -> SaPayload:
    """Decode an SA payload body from peer bytes. Raises only ``DecodeError``."""
    proposals: list[Proposal] = []
    more = True
    while more:
        p, more = _decode_proposal(r)
        # RFC 7296 §3.3.1: numbering starts at 1 and never decreases (as charon checks).
        if p.number < (proposals[-1].number if proposals else 1):
            raise DecodeError(f"proposal number {p.number} out of order")
        proposals.append(p)
    r.expect_end("SA payload")
    return SaPayload(tuple(proposals))


def encode_sa(w: Writer, sa: SaPayload) -> None:
    if not sa.proposals:
        raise ValueError("an SA payload needs at least one proposal")
    for i, p in enumerate(sa.proposals):
        _encode_proposal(w, p, i + 1 < len(sa.proposals))
