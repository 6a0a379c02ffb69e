"""Reader/Writer over bytes for the IKEv2 codecs (aioquic's Buffer, split in two).

``Reader`` is the trust boundary for peer bytes: every short read or length mismatch raises
``DecodeError`` and nothing else, so callers can drop the packet with one ``except``.
"""

from __future__ import annotations

import struct

_U8 = struct.Struct("!B")
_U16 = struct.Struct("!H")
_U32 = struct.Struct("!I")
_U64 = struct.Struct("!Q")


class DecodeError(ValueError):
    """Peer bytes that do not follow the wire format (short, too long, or invalid values)."""


class Reader:
    """Sequential big-endian reader over a memoryview. Raises only ``DecodeError``."""

    __slots__ = ("_data", "_end", "_pos")

    def __init__(self, data: bytes | bytearray | memoryview) -> None:
        view = memoryview(data)
        if type(data) is not bytes and view.format != "B":  # bytes are always unsigned bytes
            view = view.cast("B")
        self._data = view
        self._pos = 0
        self._end = len(view)

    @property
    def remaining(self) -> int:
        return self._end - self._pos

    @property
    def position(self) -> int:
        return self._pos

    def at_end(self) -> bool:
        return self._pos >= self._end

    def _take(self, n: int) -> memoryview:
        if n < 0 or self._pos + n > self._end:
            raise DecodeError(f"truncated: need {n} bytes, {self.remaining} left")
        view = self._data[self._pos:self._pos + n]
        self._pos += n
        return view

    def _short(self, n: int) -> DecodeError:
        return DecodeError(f"truncated: need {n} bytes, {self.remaining} left")

    # the fixed-size reads index the view directly (no slice per field: decoding is per packet)
    def u8(self) -> int:
        pos = self._pos
        if pos >= self._end:
            raise self._short(1)
        self._pos = pos + 1
        return self._data[pos]

    def u16(self) -> int:
        pos = self._pos
        if pos + 2 > self._end:
            raise self._short(2)
        self._pos = pos + 2
        return _U16.unpack_from(self._data, pos)[0]

    def u32(self) -> int:
        pos = self._pos
        if pos + 4 > self._end:
            raise self._short(4)
        self._pos = pos + 4
        return _U32.unpack_from(self._data, pos)[0]

    def unpack(self, st: struct.Struct) -> tuple:
        """The fields of ``st`` at the current position (one call for a fixed group of fields)."""
        pos = self._pos
        if pos + st.size > self._end:
            raise self._short(st.size)
        self._pos = pos + st.size
        return st.unpack_from(self._data, pos)

    def u64(self) -> int:
        return _U64.unpack_from(self._take(8))[0]

    def bytes(self, n: int) -> bytes:
        return bytes(self._take(n))

    def view(self, n: int) -> memoryview:
        return self._take(n)

    def rest(self) -> bytes:
        return bytes(self._take(self.remaining))

    def sub(self, n: int) -> Reader:
        """A reader over the next ``n`` bytes, which are consumed from this one."""
        return Reader(self._take(n))

    def expect_end(self, what: str = "structure") -> None:
        if self._pos != self._end:
            raise DecodeError(f"{self.remaining} trailing bytes after {what}")


class Writer:
    """Big-endian writer; ``patch_u16/u32`` fill in length fields after the fact."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = bytearray()

    @property
    def position(self) -> int:
        return len(self._buf)

    def u8(self, v: int) -> None:
        if 0 <= v <= 0xFF:
            self._buf.append(v)
        else:
            self._buf += _U8.pack(v)  # raises struct.error as before

    def u16(self, v: int) -> None:
        self._buf += _U16.pack(v)

    def u32(self, v: int) -> None:
        self._buf += _U32.pack(v)

    def u64(self, v: int) -> None:
        self._buf += _U64.pack(v)

    def bytes(self, data: bytes | bytearray | memoryview) -> None:
        self._buf += data

    def patch_u16(self, pos: int, v: int) -> None:
        _U16.pack_into(self._buf, pos, v)

    def patch_u32(self, pos: int, v: int) -> None:
        _U32.pack_into(self._buf, pos, v)

    def getvalue(self) -> bytes:
        return bytes(self._buf)
