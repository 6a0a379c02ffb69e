"""Small libstrongswan string helpers whose quirks show in swanctl's requests.

chunk_from_hex/chunk_from_base64 never fail (odd digits, stray characters
and missing padding all decode to something), and the token enumerator that
splits "a, b,'c,d'" has its own trimming rules; swanctl sends whatever they
produce, so these are ports rather than stdlib calls.
"""

from __future__ import annotations

from collections.abc import Iterator


def _hex2bin(c: str) -> int:
    if "0" <= c <= "9":
        return ord(c) - 48
    if "A" <= c <= "F":
        return ord(c) - 55
    if "a" <= c <= "f":
        return ord(c) - 87
    return 0


def from_hex(text: str) -> bytes:
    """chunk_from_hex(): optional 0x, optional ':' separators, filled from the right."""
    if len(text) > 1 and text[0] == "0" and text[1] == "x":
        text = text[2:]
    length = len(text) - text.count(":")
    odd = length % 2 == 1
    if odd:
        length += 1
    length //= 2
    out = bytearray(length)
    pos = len(text)
    for i in range(length - 1, -1, -1):
        pos -= 1
        if text[pos] == ":":
            pos -= 1
        out[i] = _hex2bin(text[pos])
        if i > 0 or not odd:
            pos -= 1
            out[i] |= _hex2bin(text[pos]) << 4
    return bytes(out)


def _b642bin(c: str) -> int:
    if "A" <= c <= "Z":
        return ord(c) - 65
    if "a" <= c <= "z":
        return ord(c) - 97 + 26
    if "0" <= c <= "9":
        return ord(c) - 48 + 52
    if c in "+-":
        return 62
    if c in "/_":
        return 63
    if c == "=":
        return 0
    return 0xFF  # (char)-1


def from_base64(text: str) -> bytes:
    """chunk_from_base64(): groups of four, '=' shortens the output, junk decodes as 0xff."""
    length = len(text) // 4 * 3
    out = bytearray(length)
    pos = outlen = 0
    for i in range(0, length, 3):
        outlen += 3
        b = [0, 0, 0, 0]
        for j in range(4):
            c = text[pos]
            if c == "=" and outlen > 0:
                outlen -= 1
            b[j] = _b642bin(c)
            pos += 1
        out[i] = ((b[0] << 2) | (b[1] >> 4)) & 0xFF
        out[i + 1] = ((b[1] << 4) | (b[2] >> 2)) & 0xFF
        out[i + 2] = ((b[2] << 6) | b[3]) & 0xFF
    return bytes(out[:outlen])


def tokens(value: str, sep: str = ",", trim: str = " ") -> Iterator[str]:
    """enumerator_create_token(): split on SEP, trim TRIM, honour '...' and "..." tokens."""
    s, pos = value, 0
    while True:
        while pos < len(s) and (s[pos] in trim or s[pos] in sep):
            pos += 1
        if pos < len(s) and s[pos] in "\"'":
            end = s.find(s[pos], pos + 1)
            if end >= 0:
                yield s[pos + 1:end]
                pos = end + 1
                continue
        cuts = [i for i in (s.find(c, pos) for c in sep) if i >= 0]
        if cuts:
            cut = min(cuts)
            token, pos, last = s[pos:cut], cut + 1, False
        else:
            token, pos, last = s[pos:], len(s), True
        token = token.rstrip(trim) if trim else token
        if not last or token:
            yield token
        if last:
            return


def path_dirname(path: str) -> str:
    """path_dirname(): "." without a separator, trailing and repeated separators skipped."""
    pos = path.rfind("/")
    if pos >= 0 and pos == len(path) - 1:
        while pos > 0 and path[pos] == "/":
            pos -= 1
        pos = path.rfind("/", 0, pos + 1)
    if pos < 0:
        return "."
    while pos > 0 and path[pos] == "/":
        pos -= 1
    return path[:pos + 1]
