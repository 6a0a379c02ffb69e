"""A minimal DER reader: enough to see certificates the way strongSwan's parsers see them.

The cryptography package parses X.509 well but normalises things swanctl
prints raw (serial number bytes, RDN values with their string types, the
order of names), so those fields are read here directly.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

SEQUENCE, SET, INTEGER, BIT_STRING, OCTET_STRING, OID, BOOLEAN = 0x30, 0x31, 0x02, 0x03, 0x04, 0x06, 0x01
UTCTIME, GENERALIZEDTIME = 0x17, 0x18


class DerError(ValueError):
    pass


@dataclass(frozen=True)
class Tlv:
    tag: int
    value: bytes
    raw: bytes  # the whole encoding, header included

    def children(self) -> list[Tlv]:
        return parse_all(self.value)

    @property
    def constructed(self) -> bool:
        return bool(self.tag & 0x20)


def parse(data: bytes, pos: int = 0) -> tuple[Tlv, int]:
    """One TLV at POS; (tlv, next position)."""
    if pos + 2 > len(data):
        raise DerError("truncated header")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise DerError("high tag numbers unsupported")
    length = data[pos + 1]
    hdr = 2
    if length & 0x80:
        n = length & 0x7F
        if n == 0 or n > 4 or pos + 2 + n > len(data):
            raise DerError("bad length")
        length = int.from_bytes(data[pos + 2:pos + 2 + n], "big")
        hdr += n
    end = pos + hdr + length
    if end > len(data):
        raise DerError("truncated value")
    return Tlv(tag, data[pos + hdr:end], data[pos:end]), end


def parse_one(data: bytes) -> Tlv:
    tlv, end = parse(data)
    if end != len(data):
        raise DerError("trailing data")
    return tlv


def parse_all(data: bytes) -> list[Tlv]:
    out, pos = [], 0
    while pos < len(data):
        tlv, pos = parse(data, pos)
        out.append(tlv)
    return out


def oid_str(value: bytes) -> str | None:
    """asn1_oid_to_string(): dotted form, None if malformed."""
    if not value:
        return None
    first = value[0]
    parts = [str(min(first // 40, 2)), str(first - 40 * min(first // 40, 2))]
    acc = 0
    for b in value[1:]:
        acc = (acc << 7) | (b & 0x7F)
        if not b & 0x80:
            parts.append(str(acc))
            acc = 0
    if value[-1] & 0x80:
        return None
    return ".".join(parts)


def oid_bytes(dotted: str) -> bytes:
    nums = [int(x) for x in dotted.split(".")]
    out = bytearray([nums[0] * 40 + nums[1]])
    for n in nums[2:]:
        chunk = [n & 0x7F]
        n >>= 7
        while n:
            chunk.append(0x80 | (n & 0x7F))
            n >>= 7
        out += bytes(reversed(chunk))
    return bytes(out)


def parse_time(tlv: Tlv) -> int | None:
    """asn1_parse_time(): UTCTime/GeneralizedTime to a Unix time."""
    try:
        s = tlv.value.decode("ascii")
        if tlv.tag == UTCTIME:
            year = int(s[:2])
            year += 2000 if year < 50 else 1900
            rest = s[2:]
        elif tlv.tag == GENERALIZEDTIME:
            year, rest = int(s[:4]), s[4:]
        else:
            return None
        return time_from(year, rest)
    except (ValueError, UnicodeDecodeError):
        return None


def time_from(year: int, rest: str) -> int | None:
    """MMDDhhmm[ss](Z|+hhmm|-hhmm) after the year."""
    month, day, hour, minute = int(rest[0:2]), int(rest[2:4]), int(rest[4:6]), int(rest[6:8])
    rest = rest[8:]
    second = 0
    if rest[:2].isdigit():
        second, rest = int(rest[:2]), rest[2:]
    if rest.startswith("."):  # fractional seconds are ignored
        rest = rest.lstrip(".0123456789")
    offset = 0
    if rest.startswith(("+", "-")):
        sign = 1 if rest[0] == "+" else -1
        offset = sign * (int(rest[1:3]) * 3600 + int(rest[3:5]) * 60)
    elif rest != "Z":
        return None
    dt = datetime.datetime(year, month, day, hour, minute, second, tzinfo=datetime.UTC)
    return int(dt.timestamp()) - offset
