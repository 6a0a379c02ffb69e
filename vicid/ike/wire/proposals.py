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
from vicid.ike.wire.frozen import fast_init

ATTR_KEY_LENGTH = 14  # RFC 7296 §3.3.5, the only attribute IKEv2 defines
_AF_TV = 0x8000
_LAST = 0
_MORE_PROPOSALS = 2
_MORE_TRANSFORMS = 3
_SUBSTRUCT = struct.Struct("!BBH")  # Last Substruc | RESERVED | Length (also Type | RESERVED | ID)
_U8X4 = struct.Struct("!BBBB")  # Proposal Num | Protocol ID | SPI Size | Num Transforms
_U16X2 = struct.Struct("!HH")  # attribute AF + Type | Length or Value
_TRANSFORM = struct.Struct("!BBHBBH")  # Last Substruc | RESERVED | Length | Type | RESERVED | ID


@fast_init
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


@fast_init
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


@fast_init
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


@fast_init
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


def _short(need: int, left: int) -> DecodeError:
    return DecodeError(f"truncated: need {need} bytes, {left} left")


def _decode_attributes(buf: bytes, pos: int, end: int) -> tuple[TransformAttribute, ...]:
    attrs = []
    while pos < end:
        if end - pos < 4:
            raise _short(2, end - pos if end - pos < 2 else end - pos - 2)
        kind, value = _U16X2.unpack_from(buf, pos)
        pos += 4
        if kind & _AF_TV:
            attrs.append(TransformAttribute(kind & 0x7FFF, value))
        else:
            if pos + value > end:
                raise _short(value, end - pos)
            attrs.append(TransformAttribute(kind, buf[pos:pos + value]))
            pos += value
    return tuple(attrs)


def _substructure(buf: bytes, pos: int, end: int, more: int, what: str) -> tuple[int, int]:
    """The generic header of a proposal or transform at buf[pos:end]: (Last Substruc, its end)."""
    if end - pos < 4:
        raise _short(4, end - pos)
    last, _res, length = _SUBSTRUCT.unpack_from(buf, pos)
    if last != _LAST and last != more:
        raise DecodeError(f"{what} Last Substruc {last} (must be 0 or {more})")
    if length < 8:
        raise DecodeError(f"{what} length {length} < 8")
    if pos + length > end:
        raise _short(length - 4, end - pos - 4)
    return last, pos + length


def _decode_transforms(buf: bytes, pos: int, end: int) -> tuple[Transform, ...]:
    """The transforms filling buf[pos:end] exactly (Last Substruc 0 on the last one only)."""
    transforms = []
    more = True
    while more and pos < end:
        last, t_end = _substructure(buf, pos, end, _MORE_TRANSFORMS, "transform")
        ttype, _res2, tid = _SUBSTRUCT.unpack_from(buf, pos + 4)
        attrs = _decode_attributes(buf, pos + 8, t_end) if t_end > pos + 8 else ()
        transforms.append(Transform(ttype, tid, attrs))
        more = last == _MORE_TRANSFORMS
        pos = t_end
    if pos != end:
        raise DecodeError(f"{end - pos} trailing bytes after transforms")
    return tuple(transforms)


# Transform lists by their wire bytes: peers send the same few lists again and again, and the
# decoded tuples are immutable. Only lists that decoded without error are kept; bounded, since
# the bytes come from peers.
_TRANSFORMS_CACHE: dict[bytes, tuple[Transform, ...]] = {}
_CACHE_MAX_ENTRIES = 256
_CACHE_MAX_KEY = 512


def _cached_transforms(buf: bytes, pos: int, end: int) -> tuple[Transform, ...]:
    if end - pos > _CACHE_MAX_KEY:
        return _decode_transforms(buf, pos, end)
    key = buf[pos:end]
    found = _TRANSFORMS_CACHE.get(key)
    if found is None:
        found = _decode_transforms(buf, pos, end)
        if len(_TRANSFORMS_CACHE) >= _CACHE_MAX_ENTRIES:
            _TRANSFORMS_CACHE.clear()
        _TRANSFORMS_CACHE[key] = found
    return found


def _attributes_bytes(attrs: tuple[TransformAttribute, ...]) -> bytes:
    out = b""
    for a in attrs:
        if isinstance(a.value, int):
            out += _U16X2.pack(_AF_TV | a.attr_type, a.value)
        else:
            out += _U16X2.pack(a.attr_type, len(a.value)) + a.value
    return out


def _transform_bytes(t: Transform, more: bool) -> bytes:
    attrs = _attributes_bytes(t.attributes) if t.attributes else b""
    return _TRANSFORM.pack(_MORE_TRANSFORMS if more else _LAST, 0, 8 + len(attrs), t.transform_type, 0,
                           t.transform_id) + attrs


_IKE, _AH, _ESP = int(ProtocolId.IKE), int(ProtocolId.AH), int(ProtocolId.ESP)


def _check_spi_size(protocol_id: int, size: int) -> None:
    # Same acceptance as charon's proposal_substructure verify().
    if protocol_id == _IKE and size != 0 and size != 8:
        raise DecodeError(f"IKE proposal SPI size {size}")
    if (protocol_id == _AH or protocol_id == _ESP) and size != 4:
        raise DecodeError(f"AH/ESP proposal SPI size {size}")


def _decode_proposal(buf: bytes, pos: int, end: int) -> tuple[Proposal, bool, int]:
    """One proposal at buf[pos:end]: (proposal, more follow, position after it)."""
    last, p_end = _substructure(buf, pos, end, _MORE_PROPOSALS, "proposal")
    number, protocol, spi_size, count = _U8X4.unpack_from(buf, pos + 4)
    _check_spi_size(protocol, spi_size)
    t_start = pos + 8 + spi_size
    if t_start > p_end:
        raise _short(spi_size, p_end - pos - 8)
    transforms = _cached_transforms(buf, t_start, p_end)
    if len(transforms) != count:
        raise DecodeError(f"proposal announces {count} transforms, carries {len(transforms)}")
    spi = buf[pos + 8:t_start] if spi_size else b""
    return Proposal(number, protocol, spi, transforms), last == _MORE_PROPOSALS, p_end


# Encoded transform lists, keyed by the identities of their transforms; each entry holds the
# transforms, so no other object can take their ids while it is cached. The SA payloads we send
# reuse the same (immutable) Transform objects (see wire_map), so this saves re-encoding them.
_ENCODED: dict[tuple[int, ...], tuple[tuple[Transform, ...], bytes]] = {}


def _transforms_bytes(transforms: tuple[Transform, ...]) -> bytes:
    key = tuple(map(id, transforms))
    entry = _ENCODED.get(key)
    if entry is None:
        last = len(transforms) - 1
        entry = (transforms, b"".join([_transform_bytes(t, i < last) for i, t in enumerate(transforms)]))
        if type(transforms) is not tuple:  # only immutable lists can be cached
            return entry[1]
        if len(_ENCODED) >= _CACHE_MAX_ENTRIES:
            _ENCODED.clear()
        _ENCODED[key] = entry
    return entry[1]


def _proposal_bytes(p: Proposal, more: bool) -> bytes:
    transforms = p.transforms
    body = bytes([p.number, p.protocol_id, len(p.spi), len(transforms)]) + p.spi + _transforms_bytes(transforms)
    return _SUBSTRUCT.pack(_MORE_PROPOSALS if more else _LAST, 0, 4 + len(body)) + body


def decode_sa_at(buf: bytes, pos: int, end: int) -> SaPayload:
    """Decode the SA payload body buf[pos:end] (bytes). Raises only ``DecodeError``."""
    proposals: list[Proposal] = []
    more = True
    low = 1
    while more:
        p, more, pos = _decode_proposal(buf, pos, end)
        # RFC 7296 §3.3.1: numbering starts at 1 and never decreases (as charon checks).
        if p.number < low:
            raise DecodeError(f"proposal number {p.number} out of order")
        low = p.number
        proposals.append(p)
    if pos != end:
        raise DecodeError(f"{end - pos} trailing bytes after SA payload")
    return SaPayload(tuple(proposals))


def decode_sa(r: Reader) -> SaPayload:
    """Decode an SA payload body from peer bytes. Raises only ``DecodeError``."""
    data = r.rest()
    return decode_sa_at(data, 0, len(data))


def encode_sa_bytes(sa: SaPayload) -> bytes:
    """The SA payload body of ``sa``."""
    proposals = sa.proposals
    if not proposals:
        raise ValueError("an SA payload needs at least one proposal")
    last = len(proposals) - 1
    return b"".join([_proposal_bytes(p, i < last) for i, p in enumerate(proposals)])


def encode_sa(w: Writer, sa: SaPayload) -> None:
    w.bytes(encode_sa_bytes(sa))
