"""Value syntaxes of vici configuration messages, exactly as charon reads them.

charon copies each value into a fixed C buffer (``vici_stringify``: printable ASCII only, silently
cut to the buffer size) and converts it with ``strtoul``/``strtoull`` (base 0: ``0x`` hex, leading
``0`` octal, leading blanks and a sign accepted, overflow saturates). These helpers reproduce that,
including the quirks (``"" -> 0``, ``"m" -> 0`` seconds), so vicid accepts and rejects the same
values. Every parser returns ``None`` for "invalid value".
"""

from __future__ import annotations

from collections.abc import Iterator

U32_MAX = 0xFFFFFFFF
U64_MAX = 0xFFFFFFFFFFFFFFFF
BUF_LEN = 512  # charon's BUF_LEN, the usual stringify buffer

# glibc isspace() in the C locale; only " " can pass the printable check
_C_SPACE = " \t\n\v\f\r"


def printable(raw: bytes) -> bool:
    """``chunk_printable``: every byte isprint() in the C locale."""
    return all(0x20 <= b < 0x7F for b in raw)


def stringify(raw: bytes, size: int = BUF_LEN) -> str | None:
    """``vici_stringify``: None unless printable, else the text cut to ``size - 1`` characters."""
    if not printable(raw):
        return None
    return raw[:size - 1].decode("ascii")


def strtoul(text: str, base: int = 0, bits: int = 64) -> tuple[int, str]:
    """C ``strtoul``/``strtoull`` on an unsigned long of ``bits``: (value, unparsed rest).

    Like glibc 2.38+ built with _GNU_SOURCE (C23 semantics), base 0 and 2 accept ``0b``.
    """
    pos = 0
    while pos < len(text) and text[pos] in _C_SPACE:
        pos += 1
    negative = False
    if pos < len(text) and text[pos] in "+-":
        negative = text[pos] == "-"
        pos += 1
    base, pos = _detect_base(text, pos, base)
    start, value = pos, 0
    while pos < len(text) and _digit(text[pos]) < base:
        value = value * base + _digit(text[pos])
        pos += 1
    if pos == start:
        return 0, text  # no conversion: endptr is the start of the string
    limit = (1 << bits) - 1
    if value > limit:
        return limit, text[pos:]  # ERANGE: saturated, sign ignored
    if negative:
        value = (-value) & limit
    return value, text[pos:]


def _detect_base(text: str, pos: int, base: int) -> tuple[int, int]:
    prefix = text[pos:pos + 2].lower()
    has_digit_after = pos + 2 < len(text)
    if base in (0, 16) and prefix == "0x" and has_digit_after and _digit(text[pos + 2]) < 16:
        return 16, pos + 2
    if base in (0, 2) and prefix == "0b" and has_digit_after and _digit(text[pos + 2]) < 2:
        return 2, pos + 2
    if base == 0:
        return (8 if text[pos:pos + 1] == "0" else 10), pos
    return base, pos


def _digit(ch: str) -> int:
    if ch.isdigit() and ch.isascii():
        return ord(ch) - 48
    if "a" <= ch.lower() <= "z":
        return ord(ch.lower()) - 87
    return 99


def atoi(text: str) -> int:
    """C ``atoi``: leading blanks, optional sign, decimal digits; 0 if none."""
    stripped = text.lstrip(_C_SPACE)
    sign = -1 if stripped[:1] == "-" else 1
    digits = stripped[1:] if stripped[:1] in ("+", "-") else stripped
    n = 0
    for ch in digits:
        if not ("0" <= ch <= "9"):
            break
        n = n * 10 + ord(ch) - 48
    return sign * n


# --- typed parsers (each takes the raw vici value) -------------------------------------------

BOOL_WORDS = {"yes": True, "true": True, "enabled": True, "1": True,
              "no": False, "false": False, "disabled": False, "0": False}


def parse_map(raw: bytes, table: dict[str, object]) -> object | None:
    """``parse_map``: case-insensitive lookup of the whole value in ``table``."""
    text = stringify(raw)
    if text is None:
        return None
    lowered = text.lower()
    for key, value in table.items():
        if key.lower() == lowered:
            return value
    return None


def parse_bool(raw: bytes) -> bool | None:
    return parse_map(raw, BOOL_WORDS)  # type: ignore[return-value]


def parse_uint32(raw: bytes, base: int = 0) -> int | None:
    """``parse_uint32``: 15-char buffer, strtoul must consume it all; stored as uint32 (wraps)."""
    text = stringify(raw, 16)
    if text is None:
        return None
    value, rest = strtoul(text, base)
    return None if rest else value & U32_MAX


def parse_uint64(raw: bytes) -> int | None:
    text = stringify(raw, 32)
    if text is None:
        return None
    value, rest = strtoul(text)
    return None if rest else value


def parse_time(raw: bytes) -> int | None:
    """``parse_time``: number, blanks, optional s/m/h/d (any case); seconds as uint64."""
    text = stringify(raw, 16)
    if text is None:
        return None
    value, rest = strtoul(text)
    rest = rest.lstrip(" ")
    factors = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    if rest[:1].lower() in factors:
        value = (value * factors[rest[0].lower()]) & U64_MAX
        rest = rest[1:]
    return None if rest else value


def parse_bytes(raw: bytes) -> int | None:
    """``parse_bytes``: number, blanks, optional k/m/g (x1024 each); saturates on overflow."""
    text = stringify(raw, 32)
    if text is None:
        return None
    value, rest = strtoul(text)
    rest = rest.lstrip(" ")
    factors = {"g": 1024 ** 3, "m": 1024 ** 2, "k": 1024}
    scaled = value
    if rest[:1].lower() in factors:
        scaled = (value * factors[rest[0].lower()]) & U64_MAX
        rest = rest[1:]
    if rest:
        return None
    return U64_MAX if scaled < value else scaled


def parse_string(raw: bytes) -> str | None:
    """``parse_string``: any printable value, unlimited length."""
    return raw.decode("ascii") if printable(raw) else None


# --- marks, interface IDs ---------------------------------------------------------------------

MARK_UNIQUE = 0xFFFFFFFF
MARK_UNIQUE_DIR = 0xFFFFFFFE
MARK_SAME = 0xFFFFFFFF
IF_ID_UNIQUE = 0xFFFFFFFF
IF_ID_UNIQUE_DIR = 0xFFFFFFFE


def mark_from_string(text: str, allow_unique: bool, allow_same: bool) -> tuple[int, int] | None:
    """``mark_from_string``: ``value[/mask]``, ``%unique[-dir]``, ``%same``; (value, mask)."""
    lowered = text.lower()
    if lowered.startswith("%unique"):
        if not allow_unique:
            return None
        rest = text[len("%unique"):]
        if rest.lower().startswith("-dir"):
            value, rest = MARK_UNIQUE_DIR, rest[4:]
        elif not rest or rest[0] == "/":
            value = MARK_UNIQUE
        else:
            return None
    elif lowered.startswith("%same"):
        if not allow_same:
            return None
        rest = text[len("%same"):]
        if rest and rest[0] != "/":
            return None
        value = MARK_SAME
    else:
        value, rest = strtoul(text)
        value &= U32_MAX
    mask = U32_MAX
    if rest:
        if rest[0] != "/":
            return None
        mask, rest = strtoul(rest[1:])
        mask &= U32_MAX
        if rest:
            return None
    if value not in (MARK_UNIQUE, MARK_UNIQUE_DIR):
        value &= mask
    return value, mask


def if_id_from_string(text: str) -> int | None:
    """``if_id_from_string``: a number or ``%unique``/``%unique-dir``."""
    if text.lower().startswith("%unique"):
        rest = text[len("%unique"):]
        if rest.lower().startswith("-dir"):
            value, rest = IF_ID_UNIQUE_DIR, rest[4:]
        elif not rest:
            return IF_ID_UNIQUE
        else:
            return None
    else:
        value, rest = strtoul(text)
        value &= U32_MAX
    return None if rest else value


# --- strongSwan's token enumerator ------------------------------------------------------------

def tokens(text: str, sep: str, trim: str) -> Iterator[str]:
    """``enumerator_create_token``: split on any of ``sep``, strip ``trim``; quotes group.

    Runs of separators/trim characters are skipped, so empty tokens only come from ``''``/``""``.
    """
    pos = 0
    while True:
        while pos < len(text) and (text[pos] in trim or text[pos] in sep):
            pos += 1
        if pos < len(text) and text[pos] in "\"'":
            end = text.find(text[pos], pos + 1)
            if end >= 0:
                yield text[pos + 1:end]
                pos = end + 1
                continue
        ends = [i for i in (text.find(s, pos) for s in sep) if i >= 0]
        if ends:
            end = min(ends)
            token, pos, last = text[pos:end], end + 1, False
        else:
            token, pos, last = text[pos:], len(text), True
        token = token.rstrip(trim) if trim else token
        if last and not token:
            return
        yield token
