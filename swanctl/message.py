"""vici messages as flat element streams, read the way libvici reads them.

swanctl never turns a reply into a tree: it walks the element stream with
``vici_parse_cb`` and looks values up with ``vici_find_str``, and both have
quirks (a section callback that does not consume its section lets the walk
continue inside it; a dotted lookup may find a section of the same depth
elsewhere).  Reproducing swanctl's text means reproducing that walk, so a
message here is the element list itself, with ports of those readers and of
``vici_dump`` (``--raw``/``--pretty``).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

SECTION_START, SECTION_END, KEY_VALUE, LIST_START, LIST_ITEM, LIST_END = 1, 2, 3, 4, 5, 6
END = 7  # end of message (not encoded)

_U16 = struct.Struct(">H")


class MessageError(ValueError):
    """A malformed message body."""


def text(value: bytes) -> str:
    """Bytes as str, lossless both ways (undecodable bytes become surrogates)."""
    return value.decode("utf-8", "surrogateescape")


def printable(value: bytes) -> bool:
    """chunk_printable(): every byte isprint() in the C locale (empty is printable)."""
    return all(0x20 <= b < 0x7F for b in value)


@dataclass
class Message:
    """A vici message body: list of (type, name, value) elements."""

    elements: list[tuple[int, str | None, bytes | None]] = field(default_factory=list)

    # -- building (vici_begin_section & co) --------------------------------
    def begin_section(self, name: str) -> Message:
        self.elements.append((SECTION_START, name, None))
        return self

    def end_section(self) -> Message:
        self.elements.append((SECTION_END, None, None))
        return self

    def add(self, name: str, value: bytes | str) -> Message:
        self.elements.append((KEY_VALUE, name, _bytes(value)))
        return self

    def add_list(self, name: str, items: Iterable[bytes | str]) -> Message:
        self.elements.append((LIST_START, name, None))
        self.elements.extend((LIST_ITEM, None, _bytes(i)) for i in items)
        self.elements.append((LIST_END, None, None))
        return self

    # -- wire format --------------------------------------------------------
    def encode(self) -> bytes:
        out = bytearray()
        for kind, name, value in self.elements:
            out.append(kind)
            if kind in (SECTION_START, KEY_VALUE, LIST_START):
                raw = _bytes(name or "")
                if len(raw) > 255:
                    raise MessageError(f"name too long: {name!r}")
                out += bytes([len(raw)]) + raw
            if kind in (KEY_VALUE, LIST_ITEM):
                assert value is not None
                if len(value) > 0xFFFF:
                    raise MessageError(f"value too long for {name!r}")
                out += _U16.pack(len(value)) + value
        return bytes(out)

    @classmethod
    def decode(cls, data: bytes) -> Message:
        """Parse a body; structure is checked like vici_message_create_from_data()."""
        elements: list[tuple[int, str | None, bytes | None]] = []
        pos, depth, in_list = 0, 0, False
        while pos < len(data):
            kind = data[pos]
            pos += 1
            name: str | None = None
            value: bytes | None = None
            if kind in (SECTION_START, KEY_VALUE, LIST_START):
                if pos >= len(data) or pos + 1 + data[pos] > len(data):
                    raise MessageError("truncated name")
                n = data[pos]
                name = text(data[pos + 1:pos + 1 + n])
                pos += 1 + n
            if kind in (KEY_VALUE, LIST_ITEM):
                if pos + 2 > len(data):
                    raise MessageError("truncated value length")
                (n,) = _U16.unpack_from(data, pos)
                if pos + 2 + n > len(data):
                    raise MessageError("truncated value")
                value = data[pos + 2:pos + 2 + n]
                pos += 2 + n
            if kind == SECTION_START and not in_list:
                depth += 1
            elif kind == SECTION_END and not in_list and depth > 0:
                depth -= 1
            elif kind == LIST_START and not in_list:
                in_list = True
            elif kind == LIST_ITEM and in_list:
                pass
            elif kind == LIST_END and in_list:
                in_list = False
            elif kind == KEY_VALUE and not in_list:
                pass
            else:
                raise MessageError(f"unexpected element type {kind}")
            elements.append((kind, name, value))
        if depth or in_list:
            raise MessageError("unterminated section or list")
        return cls(elements)

    # -- libvici readers ----------------------------------------------------
    def find(self, path: str) -> bytes | None:
        """vici_find(): value of a dotted key, the way vici_message.c finds it."""
        parts = path.split(".")
        it = iter(self.elements)
        section = keysection = 0
        for part in parts[:-1]:
            keysection += 1
            for kind, name, _ in it:
                if kind == SECTION_START:
                    section += 1
                    if section == keysection and name == part:
                        break
                elif kind == SECTION_END:
                    section -= 1
            # running off the end leaves the iterator exhausted: nothing found
        key = parts[-1]
        for kind, name, value in it:
            if kind == KEY_VALUE:
                if section == keysection and name == key:
                    return value
            elif kind == SECTION_START:
                section += 1
            elif kind == SECTION_END:
                section -= 1
        return None

    def find_str(self, path: str, default: str | None = None) -> str | None:
        """vici_find_str(): the value if found and printable, else DEFAULT."""
        value = self.find(path)
        if value is not None and printable(value):
            return text(value)
        return default

    def find_int(self, path: str, default: int = 0) -> int:
        """vici_find_int(): strtol(base 0) of the whole value, else DEFAULT."""
        value = self.find(path)
        if not value or not printable(value):
            return default
        parsed = c_strtol(text(value)[:31])
        return default if parsed is None else parsed

    def cursor(self) -> Cursor:
        return Cursor(self.elements)

    def parse_cb(self, section: SectionCb | None, kv: ValueCb | None, li: ValueCb | None) -> int:
        return self.cursor().parse_cb(section, kv, li)

    # -- convenience for the JSON mode (a tree of the message) -------------
    def tree(self) -> dict:
        """Nested dicts/lists of str (values undecodable as text stay as surrogates)."""
        root: dict = {}
        stack = [root]
        current_list: list | None = None
        for kind, name, value in self.elements:
            if kind == SECTION_START:
                sub: dict = {}
                stack[-1][name] = sub
                stack.append(sub)
            elif kind == SECTION_END:
                stack.pop()
            elif kind == KEY_VALUE:
                stack[-1][name] = value
            elif kind == LIST_START:
                current_list = []
                stack[-1][name] = current_list
            elif kind == LIST_ITEM and current_list is not None:
                current_list.append(value)
        return root


SectionCb = Callable[["Cursor", str], int]
ValueCb = Callable[["Cursor", str, bytes], int]


class Cursor:
    """Port of libvici's vici_res_t walk: one shared position and nesting level."""

    def __init__(self, elements: list[tuple[int, str | None, bytes | None]]) -> None:
        self.elements = elements
        self.pos = 0
        self.level = 0

    def _next(self) -> tuple[int, str | None, bytes | None]:
        if self.pos >= len(self.elements):
            self.pos += 1
            return (END, None, None) if self.pos == len(self.elements) + 1 else (-1, None, None)
        item = self.elements[self.pos]
        self.pos += 1
        return item

    def parse_cb(self, section: SectionCb | None, kv: ValueCb | None, li: ValueCb | None) -> int:
        """vici_parse_cb(): callbacks for the elements of the current level."""
        base = self.level
        list_name: str | None = None
        while True:
            kind, name, value = self._next()
            if kind == KEY_VALUE:
                if self.level == base and kv:
                    ret = kv(self, name or "", value or b"")
                    if ret:
                        return ret
            elif kind == SECTION_START:
                level = self.level
                self.level += 1
                if level == base and section:
                    ret = section(self, name or "")
                    if ret:
                        return ret
            elif kind == SECTION_END:
                level = self.level
                self.level -= 1
                if level == base:
                    return 0
            elif kind == END:
                self.level = 0
                return 0
            elif kind == LIST_START:
                if self.level == base:
                    list_name = name
            elif kind == LIST_ITEM:
                if list_name is not None and li:
                    ret = li(self, list_name, value or b"")
                    if ret:
                        return ret
            elif kind == LIST_END:
                if self.level == base:
                    list_name = None
            else:
                self.level = 0
                return 1


def dump(msg: Message, label: str, pretty: bool) -> str:
    """vici_dump(): the --raw (compact) and --pretty renderings."""
    if pretty:
        delta, term, separ, assign = 2, "\n", "", " = "
    else:
        delta, term, separ, assign = 0, "", " ", "="
    out = [f"{label} {{{term}"]
    ident = delta
    last = 0  # VICI_START
    for kind, name, value in msg.elements:
        pad = " " * ident
        sep = separ if last not in (SECTION_START, 0) else ""
        if kind == SECTION_START:
            out.append(f"{pad}{sep}{name} {{{term}")
            ident += delta
        elif kind == SECTION_END:
            ident -= delta
            out.append(f"{' ' * ident}}}{term}")
        elif kind == KEY_VALUE:
            out.append(f"{pad}{sep}{name}{assign}{_dump_value(value or b'')}{term}")
        elif kind == LIST_START:
            out.append(f"{pad}{sep}{name}{assign}[{term}")
            ident += delta
        elif kind == LIST_END:
            ident -= delta
            out.append(f"{' ' * ident}]{term}")
        elif kind == LIST_ITEM:
            sep = separ if last != LIST_START else ""
            out.append(f"{pad}{sep}{_dump_value(value or b'')}{term}")
        last = kind
    out.append("}\n")
    return "".join(out)


def _dump_value(value: bytes) -> str:
    return text(value) if printable(value) else "0x" + value.hex()


def _bytes(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8", "surrogateescape")


def c_strtol(s: str) -> int | None:
    """strtol(s, &end, 0) that must consume all of S (leading space and sign allowed)."""
    body = s.lstrip(" \t\n\r\f\v")
    sign = 1
    if body[:1] in "+-" and body:
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    try:
        if body[:2].lower() == "0x":
            number = int(body[2:], 16) if body[2:] and _is_digits(body[2:], 16) else None
        elif body.startswith("0") and len(body) > 1:
            number = int(body, 8) if _is_digits(body, 8) else None
        else:
            number = int(body, 10) if body and _is_digits(body, 10) else None
    except ValueError:
        return None
    if number is None:
        return None
    value = sign * number
    # strtol() reports ERANGE beyond a long, and the callers then use their default
    return value if -(2**63) <= value < 2**63 else None


def _is_digits(s: str, base: int) -> bool:
    digits = "0123456789abcdef"[:base]
    return all(c in digits for c in s.lower())


def iter_items(msg: Message, list_name: str) -> Iterator[bytes]:
    """Items of a top-level list (how swanctl collects get-conns/get-keys replies)."""
    found: list[bytes] = []

    def li(_c: Cursor, name: str, value: bytes) -> int:
        if name == list_name:
            found.append(value)
        return 0

    msg.parse_cb(None, None, li)
    return iter(found)
