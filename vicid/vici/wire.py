"""vici wire format, sans-I/O: segment framing, packets and message bodies.

A segment is a 4-byte big-endian length followed by that many bytes; the first byte is the packet
type. Message bodies are flat element streams (section/list/key-value) that decode to nested dicts.
Limits match charon's vici socket: segments over 512 KiB are a protocol error.

Decoders of client bytes are named ``decode_*`` and raise only :class:`ViciError`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

MESSAGE_SIZE_MAX = 512 * 1024  # VICI_MESSAGE_SIZE_MAX in charon and the vici client libraries
_LEN = struct.Struct(">I")
_U16 = struct.Struct(">H")


class ViciError(ValueError):
    """Malformed vici input (framing, packet or message body)."""


class PacketType(IntEnum):
    CMD_REQUEST = 0
    CMD_RESPONSE = 1
    CMD_UNKNOWN = 2
    EVENT_REGISTER = 3
    EVENT_UNREGISTER = 4
    EVENT_CONFIRM = 5
    EVENT_UNKNOWN = 6
    EVENT = 7


class Element(IntEnum):
    SECTION_START = 1
    SECTION_END = 2
    KEY_VALUE = 3
    LIST_START = 4
    LIST_ITEM = 5
    LIST_END = 6


@dataclass(frozen=True)
class Packet:
    type: PacketType
    name: str = ""
    body: bytes = b""


_NAMED = {PacketType.CMD_REQUEST, PacketType.EVENT_REGISTER, PacketType.EVENT_UNREGISTER, PacketType.EVENT}
_WITH_BODY = {PacketType.CMD_REQUEST, PacketType.CMD_RESPONSE, PacketType.EVENT}


class FrameReader:
    """Collects stream bytes and yields complete segments; oversized lengths are errors."""

    def __init__(self, limit: int = MESSAGE_SIZE_MAX) -> None:
        self._buf = bytearray()
        self._limit = limit

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        out: list[bytes] = []
        while len(self._buf) >= 4:
            (length,) = _LEN.unpack_from(self._buf)
            if length > self._limit:
                raise ViciError(f"segment of {length} bytes exceeds the {self._limit} byte limit")
            if len(self._buf) < 4 + length:
                break
            out.append(bytes(self._buf[4:4 + length]))
            del self._buf[:4 + length]
        return out

    @property
    def pending(self) -> int:
        """Bytes of a segment not yet complete."""
        return len(self._buf)


def _is_printable(name: bytes) -> bool:
    return all(0x20 <= b < 0x7F for b in name)


def decode_packet(segment: bytes) -> Packet:
    """Parse one segment into a packet. Raises ViciError on any malformation."""
    if not segment:
        raise ViciError("empty vici segment")
    try:
        ptype = PacketType(segment[0])
    except ValueError:
        raise ViciError(f"unknown vici packet type {segment[0]}") from None
    pos, name = 1, ""
    if ptype in _NAMED:
        if len(segment) < 2 or len(segment) < 2 + segment[1]:
            raise ViciError("truncated packet name")
        raw = segment[2:2 + segment[1]]
        if not _is_printable(raw):
            raise ViciError("non-printable packet name")
        name, pos = raw.decode("ascii"), 2 + segment[1]
    body = segment[pos:]
    if body and ptype not in _WITH_BODY:
        raise ViciError(f"unexpected data after {ptype.name}")
    return Packet(ptype, name, body)


def encode_packet(packet: Packet) -> bytes:
    """Frame a packet as one segment (length prefix included)."""
    data = bytearray([packet.type])
    if packet.type in _NAMED:
        raw = packet.name.encode("ascii")
        if len(raw) > 255:
            raise ValueError("vici packet name longer than 255 bytes")
        data += bytes([len(raw)]) + raw
    data += packet.body
    return _LEN.pack(len(data)) + bytes(data)


# --- message bodies -------------------------------------------------------------------------


class _BodyReader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = memoryview(data), 0

    def done(self) -> bool:
        return self.pos >= len(self.data)

    def u8(self) -> int:
        if self.pos >= len(self.data):
            raise ViciError("truncated vici message")
        self.pos += 1
        return self.data[self.pos - 1]

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise ViciError("truncated vici message")
        self.pos += n
        return bytes(self.data[self.pos - n:self.pos])

    def name(self) -> str:
        raw = self.take(self.u8())
        if not _is_printable(raw):
            raise ViciError("non-printable element name")
        return raw.decode("ascii")

    def value(self) -> bytes:
        (length,) = _U16.unpack(self.take(2))
        return self.take(length)


def decode_message(data: bytes) -> dict[str, Any]:
    """Decode a message body into nested dicts (sections), lists of bytes and bytes values.

    Structural rules as charon's parser: lists hold only items, cannot nest; sections must be
    balanced. A key given twice keeps its first position and its last value.
    """
    reader = _BodyReader(data)
    root: dict[str, Any] = {}
    stack = [root]
    current_list: list[bytes] | None = None
    while not reader.done():
        try:
            elem = Element(reader.u8())
        except ValueError:
            raise ViciError("unknown vici element type") from None
        if current_list is not None:
            if elem == Element.LIST_ITEM:
                current_list.append(reader.value())
            elif elem == Element.LIST_END:
                current_list = None
            else:
                raise ViciError(f"{elem.name} inside a list")
            continue
        if elem == Element.SECTION_START:
            section: dict[str, Any] = {}
            stack[-1][reader.name()] = section
            stack.append(section)
        elif elem == Element.SECTION_END:
            if len(stack) == 1:
                raise ViciError("section end at message root")
            stack.pop()
        elif elem == Element.KEY_VALUE:
            key = reader.name()
            stack[-1][key] = reader.value()
        elif elem == Element.LIST_START:
            current_list = []
            stack[-1][reader.name()] = current_list
        else:
            raise ViciError(f"{elem.name} outside a list")
    if current_list is not None or len(stack) != 1:
        raise ViciError("unterminated section or list")
    return root


_SECTION_START = bytes([Element.SECTION_START])
_SECTION_END = bytes([Element.SECTION_END])
_KEY_VALUE = bytes([Element.KEY_VALUE])
_LIST_START = bytes([Element.LIST_START])
_LIST_ITEM = bytes([Element.LIST_ITEM])
_LIST_END = bytes([Element.LIST_END])


def _value_bytes(value: Any) -> bytes:
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, bool):
        return b"yes" if value else b"no"
    if isinstance(value, int | float):
        return str(value).encode()
    raise TypeError(f"cannot encode {type(value).__name__} as a vici value")


def _name_bytes(name: str) -> bytes:
    raw = name.encode("ascii")
    if len(raw) > 255:
        raise ValueError(f"vici element name longer than 255 bytes: {name[:40]!r}...")
    return bytes((len(raw),)) + raw


def _value_field(value: Any) -> bytes:
    raw = _value_bytes(value)
    if len(raw) > 0xFFFF:
        raise ValueError("vici value longer than 65535 bytes")
    return _U16.pack(len(raw)) + raw


def encode_message(body: dict[str, Any]) -> bytes:
    """Encode nested dicts/lists/values; str/int/bool values become ASCII text."""
    out: list[bytes] = []
    _encode_into(out, body)
    return b"".join(out)


def _encode_into(out: list[bytes], body: dict[str, Any]) -> None:
    append = out.append
    for key, value in body.items():
        if value is None:
            continue
        if isinstance(value, dict):
            append(_SECTION_START + _name_bytes(key))
            _encode_into(out, value)
            append(_SECTION_END)
        elif isinstance(value, list | tuple):
            append(_LIST_START + _name_bytes(key))
            for item in value:
                append(_LIST_ITEM + _value_field(item))
            append(_LIST_END)
        else:
            append(_KEY_VALUE + _name_bytes(key) + _value_field(value))
