"""IKE identities as charon's ``identification_t``: parsing, ``%Y`` rendering, matching, wire form.

Mirrors ``src/libstrongswan/utils/identification.c`` (strongSwan 6.x): string parsing with typed
prefixes, ``{n}:`` numeric types, ``@``/``@@``/``@#`` shortcuts and LDAP-style DNs (``atodn``),
the ``%Y`` printf hook (``dntoa`` included), and the ``matches`` family with wildcards. Pure.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from enum import IntEnum


class IdType(IntEnum):
    """ID payload types (RFC 7296 section 3.5); the wire codecs use them from here."""

    ID_IPV4_ADDR = 1
    ID_FQDN = 2
    ID_RFC822_ADDR = 3
    ID_IPV6_ADDR = 5
    ID_DER_ASN1_DN = 9
    ID_DER_ASN1_GN = 10
    ID_KEY_ID = 11


BUF_LEN = 512  # vici copies identity strings into a BUF_LEN buffer
RDN_MAX = 20
SHA1_LEN = 20  # key IDs of this length always print as hex


class IdKind(IntEnum):
    """charon's ``id_type_t`` (superset of the IKEv2 ID types)."""

    ID_ANY = 0
    ID_IPV4_ADDR = 1
    ID_FQDN = 2
    ID_RFC822_ADDR = 3
    ID_IPV4_ADDR_SUBNET = 4
    ID_IPV6_ADDR = 5
    ID_IPV6_ADDR_SUBNET = 6
    ID_IPV4_ADDR_RANGE = 7
    ID_IPV6_ADDR_RANGE = 8
    ID_DER_ASN1_DN = 9
    ID_DER_ASN1_GN = 10
    ID_KEY_ID = 11
    ID_DER_ASN1_GN_URI = 201


class IdMatch(IntEnum):
    """charon's ``id_match_t``; between MAX_WILDCARDS and PERFECT: PERFECT - number of wildcards."""

    NONE = 0
    ANY = 1
    MAX_WILDCARDS = 2
    ONE_WILDCARD = 19
    PERFECT = 20


class IdentityError(ValueError):
    pass


K = IdKind
_IP_KINDS = {K.ID_IPV4_ADDR, K.ID_IPV6_ADDR, K.ID_IPV4_ADDR_SUBNET, K.ID_IPV6_ADDR_SUBNET,
             K.ID_IPV4_ADDR_RANGE, K.ID_IPV6_ADDR_RANGE}
_V4 = {K.ID_IPV4_ADDR: 0, K.ID_IPV4_ADDR_SUBNET: 1, K.ID_IPV4_ADDR_RANGE: 2}
_V6 = {K.ID_IPV6_ADDR: 0, K.ID_IPV6_ADDR_SUBNET: 1, K.ID_IPV6_ADDR_RANGE: 2}

# --- minimal DER ------------------------------------------------------------------------------
ASN1_OID, ASN1_SEQUENCE, ASN1_SET = 0x06, 0x30, 0x31
ASN1_UTF8STRING, ASN1_PRINTABLESTRING, ASN1_IA5STRING = 0x0C, 0x13, 0x16
ASN1_CONTEXT_C_0 = 0xA0
_PRINTABLESTRING = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 '()+,-./:=?\0")


def _der_len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def der_wrap(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + _der_len(len(content)) + content


def oid_encode(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    out = bytearray([arcs[0] * 40 + arcs[1]])
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        while arc := arc >> 7:
            chunk.append(0x80 | (arc & 0x7F))
        out += bytes(reversed(chunk))
    return bytes(out)


def asn1_unwrap(blob: bytes, pos: int, end: int) -> tuple[int, int, int, int] | None:
    """``asn1_unwrap`` on blob[pos:end]: (tag, inner start, inner end, next pos) or None."""
    if end - pos < 2:
        return None
    tag, n = blob[pos], blob[pos + 1]
    pos += 2
    if n & 0x80:
        n &= 0x7F
        if n == 0 or n > end - pos or n > 8:
            return None
        length = int.from_bytes(blob[pos:pos + n], "big")
        pos += n
    else:
        length = n
    if length > end - pos:
        return None
    return tag, pos, pos + length, pos + length


# X.501 attribute names accepted by atodn: name -> (OID, string type)
X501_RDNS: tuple[tuple[str, str, int], ...] = (
    ("ND", "0.2.262.1.10.7.20", ASN1_PRINTABLESTRING),
    ("UID", "0.9.2342.19200300.100.1.1", ASN1_PRINTABLESTRING),
    ("DC", "0.9.2342.19200300.100.1.25", ASN1_PRINTABLESTRING),
    ("CN", "2.5.4.3", ASN1_PRINTABLESTRING),
    ("SN", "2.5.4.4", ASN1_PRINTABLESTRING),
    ("serialNumber", "2.5.4.5", ASN1_PRINTABLESTRING),
    ("C", "2.5.4.6", ASN1_PRINTABLESTRING),
    ("L", "2.5.4.7", ASN1_PRINTABLESTRING),
    ("ST", "2.5.4.8", ASN1_PRINTABLESTRING),
    ("STREET", "2.5.4.9", ASN1_PRINTABLESTRING),
    ("O", "2.5.4.10", ASN1_PRINTABLESTRING),
    ("OU", "2.5.4.11", ASN1_PRINTABLESTRING),
    ("organizationIdentifier", "2.5.4.97", ASN1_PRINTABLESTRING),
    ("T", "2.5.4.12", ASN1_PRINTABLESTRING),
    ("D", "2.5.4.13", ASN1_PRINTABLESTRING),
    ("postalAddress", "2.5.4.16", ASN1_PRINTABLESTRING),
    ("postalCode", "2.5.4.17", ASN1_PRINTABLESTRING),
    ("N", "2.5.4.41", ASN1_PRINTABLESTRING),
    ("G", "2.5.4.42", ASN1_PRINTABLESTRING),
    ("I", "2.5.4.43", ASN1_PRINTABLESTRING),
    ("dnQualifier", "2.5.4.46", ASN1_PRINTABLESTRING),
    ("dmdName", "2.5.4.54", ASN1_PRINTABLESTRING),
    ("pseudonym", "2.5.4.65", ASN1_PRINTABLESTRING),
    ("ID", "2.5.4.45", ASN1_PRINTABLESTRING),
    ("EN", "2.16.840.1.113730.3.1.3", ASN1_PRINTABLESTRING),
    ("employeeNumber", "2.16.840.1.113730.3.1.3", ASN1_PRINTABLESTRING),
    ("E", "1.2.840.113549.1.9.1", ASN1_IA5STRING),
    ("Email", "1.2.840.113549.1.9.1", ASN1_IA5STRING),
    ("emailAddress", "1.2.840.113549.1.9.1", ASN1_IA5STRING),
    ("UN", "1.2.840.113549.1.9.2", ASN1_IA5STRING),
    ("unstructuredName", "1.2.840.113549.1.9.2", ASN1_IA5STRING),
    ("UA", "1.2.840.113549.1.9.8", ASN1_PRINTABLESTRING),
    ("unstructuredAddress", "1.2.840.113549.1.9.8", ASN1_PRINTABLESTRING),
    ("TCGID", "1.3.6.1.4.1.1201.1.1.2.2.75", ASN1_PRINTABLESTRING),
)

# OID -> the name charon's oid table prints: atodn's names, except where oid.txt differs
OID_NAMES: dict[bytes, str] = {}
for _name, _oid, _ in X501_RDNS:
    OID_NAMES.setdefault(oid_encode(_oid), _name)
OID_NAMES.update({
    oid_encode("2.5.4.72"): "role",
    oid_encode("1.2.840.113549.1.9.2"): "unstructuredName",
    oid_encode("1.2.840.113549.1.9.8"): "unstructuredAddress",
    oid_encode("2.16.840.1.113730.3.1.3"): "employeeNumber",
})
OID_EMAIL = oid_encode("1.2.840.113549.1.9.1")
OID_XMPP_ADDR = oid_encode("1.3.6.1.5.5.7.8.5")


def _find_rdn(name: str) -> tuple[str, str, int] | None:
    low = name.lower()
    return next((r for r in X501_RDNS if r[0].lower() == low), None)


def _rdn_der(rdn: tuple[str, str, int], value: bytes) -> bytes:
    stype = rdn[2]
    if stype == ASN1_PRINTABLESTRING and not set(value) <= _PRINTABLESTRING:
        stype = ASN1_UTF8STRING
    body = der_wrap(ASN1_OID, oid_encode(rdn[1])) + der_wrap(stype, value)
    return der_wrap(ASN1_SET, der_wrap(ASN1_SEQUENCE, body))


def atodn(src: bytes) -> bytes | None:
    """LDAP/openssl-style DN text -> DER, as charon's ``atodn`` state machine; None on failure."""
    search_oid, read_oid, search_name, read_name, unknown = range(5)
    state, sep, ok = search_oid, 0, True
    rdns: list[bytes] = []
    oid_start = oid_len = name_start = name_len = whitespace = 0
    rdn: tuple[str, str, int] | None = None
    data = src + b"\0"
    for i, ch in enumerate(data):
        if state == search_oid:
            if not sep and ch == 0x2F:  # a leading '/' makes '/' the separator
                sep = 0x2F
            elif ch not in (0x20, 0):
                sep = sep or 0x2C
                oid_start, oid_len, state = i, 1, read_oid
        elif state == read_oid:
            if ch not in (0x20, 0x3D):
                oid_len += 1
            else:
                rdn = _find_rdn(data[oid_start:oid_start + oid_len].decode("latin-1"))
                if rdn is None:
                    ok, state = False, unknown
                else:
                    state = search_name
        elif state in (search_name, read_name):
            if state == search_name:
                if ch in (0x20, 0x3D):
                    continue
                if ch not in (sep, 0):
                    name_start, name_len, whitespace, state = i, 1, 0, read_name
                    continue
                name_start, name_len, whitespace, state = i, 0, 0, read_name
            if ch not in (sep, 0):
                name_len += 1
                whitespace = whitespace + 1 if ch == 0x20 else 0
            else:
                value = data[name_start:name_start + name_len - whitespace]
                if len(rdns) < RDN_MAX and rdn is not None:
                    rdns.append(_rdn_der(rdn, value))
                else:
                    ok = False
                state = search_oid
    if state == read_oid or not ok:
        return None
    return der_wrap(ASN1_SEQUENCE, b"".join(rdns))


@dataclass(frozen=True)
class Rdn:
    oid: bytes
    type: int
    value: bytes
    ends_dn: bool  # value ends exactly at the end of the DN (charon's "finished" test)


def iter_rdns(dn: bytes) -> list[Rdn]:
    """charon's RDN enumerator: stops silently at the first malformed element."""
    out: list[Rdn] = []
    outer = asn1_unwrap(dn, 0, len(dn))
    if outer is None or outer[0] != ASN1_SEQUENCE:
        return out
    sets_pos, sets_end = outer[1], outer[2]
    seqs_pos = seqs_end = 0
    while True:
        if seqs_pos >= seqs_end:
            s = asn1_unwrap(dn, sets_pos, sets_end)
            if s is None or s[0] != ASN1_SET:
                return out
            seqs_pos, seqs_end, sets_pos = s[1], s[2], s[3]
        seq = asn1_unwrap(dn, seqs_pos, seqs_end)
        if seq is None or seq[0] != ASN1_SEQUENCE:
            return out
        seqs_pos = seq[3]
        oid = asn1_unwrap(dn, seq[1], seq[2])
        if oid is None or oid[0] != ASN1_OID:
            return out
        val = asn1_unwrap(dn, oid[3], seq[2])
        if val is None:
            return out
        out.append(Rdn(dn[oid[1]:oid[2]], val[0], dn[val[1]:val[2]], val[2] == len(dn)))


_PRINTABLE = bytes(b if 0x20 <= b < 0x7F else 0x3F for b in range(256))


def _printable(data: bytes) -> str:
    """``chunk_printable(…, '?')``: non-printable bytes become '?'."""
    return bytes(data).translate(_PRINTABLE).decode("ascii")


def _hex(data: bytes) -> str:
    return ":".join(f"{b:02x}" for b in data)


def dntoa(dn: bytes) -> str:
    parts: list[str] = []
    finished = False
    rdns = iter_rdns(dn)
    for rdn in rdns:
        name = OID_NAMES.get(rdn.oid) or _hex(rdn.oid)
        parts.append(f"{name}={_printable(rdn.value)}")
        if rdn.ends_dn:
            finished = True
            break
    text = ", ".join(parts)
    if not rdns:
        return ""
    if not finished:
        return text + (", " if parts else "") + "(invalid ID_DER_ASN1_DN)"
    return text


def is_valid_dn(dn: bytes) -> bool:
    return any(r.ends_dn for r in iter_rdns(dn))


def chunk_from_hex(text: str) -> bytes:
    """strongSwan's ``chunk_from_hex``: lenient (bad digits are 0), ':' separators allowed."""
    if len(text) > 1 and text[:2] == "0x":
        text = text[2:]
    digits = len(text) - text.count(":")
    odd = digits % 2
    size = (digits + odd) // 2
    out = bytearray(size)
    pos = len(text)

    def nibble(p: int) -> int:
        return int(text[p], 16) if p >= 0 and text[p] in "0123456789abcdefABCDEF" else 0

    for i in range(size - 1, -1, -1):
        pos -= 1
        if pos >= 0 and text[pos] == ":":
            pos -= 1
        out[i] = nibble(pos)
        if i > 0 or not odd:
            pos -= 1
            out[i] |= nibble(pos) << 4
    return bytes(out)


# --- IP helpers -------------------------------------------------------------------------------

def inet_pton(v6: bool, text: str) -> bytes | None:
    """``inet_pton`` for one family (no scope IDs, no leading zeros in IPv4)."""
    if "%" in text or not text or text != text.strip():
        return None
    try:
        addr = ipaddress.IPv6Address(text) if v6 else ipaddress.IPv4Address(text)
    except ValueError:
        return None
    return addr.packed


def inet_ntop(packed: bytes) -> str:
    """glibc ``inet_ntop``: like ``ipaddress`` but with dotted IPv4 in ``::a.b.c.d``/``::ffff:a.b.c.d``."""
    if len(packed) == 4:
        return str(ipaddress.IPv4Address(packed))
    words = [int.from_bytes(packed[i:i + 2], "big") for i in range(0, 16, 2)]
    if words[:5] == [0] * 5 and (words[5] == 0xFFFF or (words[5] == 0 and words[6] != 0)):
        prefix = "::ffff:" if words[5] else "::"
        return prefix + str(ipaddress.IPv4Address(packed[12:]))
    return str(ipaddress.IPv6Address(packed))


def c_int(digits: str) -> int:
    """A C integer literal as strtol base 0 reads it (0x hex, leading-0 octal, decimal)."""
    if digits[:2].lower() == "0x":
        return int(digits[2:], 16)
    return int(digits, 8) if digits.startswith("0") else int(digits)


def c_atoi(text: str) -> int:
    m = re.match(r"[ \t\n\v\f\r]*([+-]?\d+)", text)
    return int(m.group(1)) if m else 0


def _mask_bytes(bits: int, size: int) -> bytes:
    """Netmask as ``create_ip_address_from_string`` builds it (including its C arithmetic)."""
    nbytes = int(bits / 8)  # C division truncates toward zero
    bits -= 8 * nbytes
    out = bytearray()
    for _ in range(size):
        if nbytes:
            out.append(0xFF)
            nbytes -= 1
        elif bits:
            out.append((0xFF << (8 - bits)) & 0xFF if 0 <= 8 - bits < 64 else 0)
            bits = 0
        else:
            out.append(0)
    return bytes(out)


def netmask_to_cidr(mask: bytes) -> int:
    bits = 0
    for byte in mask:
        if byte == 0:
            break
        if byte == 0xFF:
            bits += 8
            continue
        while byte & 0x80:
            bits += 1
            byte = (byte << 1) & 0xFF
    return bits


def _ip_from_string(text: str, v6: bool) -> Identification | None:
    size = 16 if v6 else 4
    if "/" in text:
        addr_s, _, rest = text.partition("/")
        addr = inet_pton(v6, addr_s)
        bits = c_atoi(rest)
        if addr is None or bits > 8 * size:
            return None
        mask = _mask_bytes(bits, size)
        net = bytes(a & m for a, m in zip(addr, mask, strict=True))
        return Identification(K.ID_IPV6_ADDR_SUBNET if v6 else K.ID_IPV4_ADDR_SUBNET, net + mask)
    if "-" in text:
        lo_s, _, hi_s = text.partition("-")
        lo, hi = inet_pton(v6, lo_s), inet_pton(v6, hi_s)
        if lo is None or hi is None or lo > hi:
            return None
        return Identification(K.ID_IPV6_ADDR_RANGE if v6 else K.ID_IPV4_ADDR_RANGE, lo + hi)
    addr = inet_pton(v6, text)
    if addr is None:
        return None
    return Identification(K.ID_IPV6_ADDR if v6 else K.ID_IPV4_ADDR, addr)


# typed prefixes: (prefix, type, regex allowed)
PREFIXES: tuple[tuple[str, IdKind, bool], ...] = (
    ("ipv4:", K.ID_IPV4_ADDR, False), ("ipv6:", K.ID_IPV6_ADDR, False),
    ("ipv4net:", K.ID_IPV4_ADDR_SUBNET, False), ("ipv6net:", K.ID_IPV6_ADDR_SUBNET, False),
    ("ipv4range:", K.ID_IPV4_ADDR_RANGE, False), ("ipv6range:", K.ID_IPV6_ADDR_RANGE, False),
    ("rfc822:", K.ID_RFC822_ADDR, True), ("email:", K.ID_RFC822_ADDR, True),
    ("userfqdn:", K.ID_RFC822_ADDR, True), ("fqdn:", K.ID_FQDN, True), ("dns:", K.ID_FQDN, True),
    ("asn1dn:", K.ID_DER_ASN1_DN, True), ("asn1gn:", K.ID_DER_ASN1_GN, False),
    ("xmppaddr:", K.ID_DER_ASN1_GN, False), ("keyid:", K.ID_KEY_ID, False),
    ("uri:", K.ID_DER_ASN1_GN_URI, False),
)
_ANY_STRINGS = {"", "%any", "%any6", "0.0.0.0", "*", "::", "0::0"}


def _raw(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def _value(text: str) -> bytes:
    """A prefixed value: ``#hex`` or the literal text (charon copies it verbatim)."""
    return chunk_from_hex(text[1:]) if text.startswith("#") else _raw(text)


def _from_prefix(text: str) -> Identification | None:
    for prefix, kind, _ in PREFIXES:
        if text[:len(prefix)].lower() == prefix:
            data = _value(text[len(prefix):])
            if prefix == "xmppaddr:":
                inner = der_wrap(ASN1_CONTEXT_C_0, der_wrap(ASN1_UTF8STRING, data))
                data = der_wrap(ASN1_CONTEXT_C_0, der_wrap(ASN1_OID, OID_XMPP_ADDR) + inner)
            return Identification(kind, data)
    return None


def _from_num_type(text: str) -> Identification | None:
    m = re.match(r"\{[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9]\d*)?", text)
    if not m:
        return None
    num = c_int(m.group(2)) if m.group(2) else 0
    if m.group(1) == "-":
        num = -num
    rest = text[m.end():]
    if num >= 1 << 64 or not rest.startswith("}:"):
        return None
    num = (num + (1 << 32)) % (1 << 32)  # stored in a C enum (int)
    num = num - (1 << 32) if num >= 1 << 31 else num
    return Identification(num, _value(rest[2:]))


@dataclass(frozen=True)
class Identification:
    """An identity: charon ``id_type_t`` (int, usually an IdKind) plus its encoding."""

    type: int
    data: bytes = b""
    regex: str | None = field(default=None)

    # --- construction ------------------------------------------------------------------------
    @classmethod
    def any(cls) -> Identification:
        return cls(K.ID_ANY)

    @classmethod
    def from_string(cls, text: str | None) -> Identification:
        """``identification_create_from_string`` (never fails: unknown forms become FQDN/KEY_ID)."""
        if text is None:
            return cls.any()
        ident = _from_prefix(text) or _from_num_type(text)
        if ident is not None:
            return ident
        if "=" in text:
            der = atodn(_raw(text))
            return cls(K.ID_DER_ASN1_DN, der) if der is not None else cls(K.ID_KEY_ID, _raw(text))
        if "@" not in text:
            if text in _ANY_STRINGS:
                return cls.any()
            if ":" not in text:
                return _ip_from_string(text, False) or cls(K.ID_FQDN, _raw(text))
            return _ip_from_string(text, True) or cls(K.ID_KEY_ID, _raw(text))
        if text.startswith("@#"):
            return cls(K.ID_KEY_ID, chunk_from_hex(text[2:]))
        if text.startswith("@@"):
            return cls(K.ID_RFC822_ADDR, _raw(text[2:]))
        if text.startswith("@"):
            return cls(K.ID_FQDN, _raw(text[1:]))
        return cls(K.ID_RFC822_ADDR, _raw(text))

    @classmethod
    def from_string_with_regex(cls, text: str) -> Identification:
        """``identification_create_from_string_with_regex`` (what vici uses for ``id`` values).

        ``fqdn:^…$``, ``email:^…$`` etc. make a POSIX-ERE-like (Python ``re``, case-insensitive)
        pattern identity; an invalid pattern raises IdentityError.
        """
        for prefix, kind, regex_ok in PREFIXES:
            if text[:len(prefix)].lower() == prefix:
                pattern = text[len(prefix):]
                if regex_ok and pattern.startswith("^") and pattern.endswith("$"):
                    try:
                        re.compile(pattern, re.IGNORECASE)
                    except re.error as exc:
                        raise IdentityError(f"invalid regular expression '{pattern}': {exc}") from None
                    return cls(kind, _raw(pattern), regex=pattern)
                break
        return cls.from_string(text)

    @classmethod
    def from_vici(cls, value: str | bytes) -> Identification:
        """A vici ``id`` value: printable ASCII only, cut to BUF_LEN-1, regex-capable."""
        raw = value.encode("latin-1", "replace") if isinstance(value, str) else bytes(value)
        if not all(0x20 <= b < 0x7F for b in raw):
            raise IdentityError("identity contains non-printable characters")
        return cls.from_string_with_regex(raw[:BUF_LEN - 1].decode("ascii"))

    @classmethod
    def from_wire(cls, id_type: int, data: bytes) -> Identification:
        """``identification_create_from_encoding`` for a received ID payload."""
        return cls(id_type, b"" if id_type == K.ID_ANY else bytes(data))

    def to_wire(self) -> tuple[IdType, bytes]:
        try:
            return IdType(self.type), self.data
        except ValueError:
            raise IdentityError(f"identity type {self.type} can't be sent in IKEv2") from None

    # --- rendering -----------------------------------------------------------------------------
    def __str__(self) -> str:
        """charon's ``%Y``."""
        if self.regex is not None:
            return self.regex
        kind, data = self.type, self.data
        if kind == K.ID_ANY:
            return "%any"
        if kind in _IP_KINDS:
            return self._ip_str()
        if kind in (K.ID_FQDN, K.ID_RFC822_ADDR, K.ID_DER_ASN1_GN_URI):
            return _printable(data)
        if kind == K.ID_DER_ASN1_DN:
            return dntoa(data)
        if kind == K.ID_DER_ASN1_GN:
            return "(ASN.1 general name)"
        if kind == K.ID_KEY_ID:
            if all(0x20 <= b < 0x7F for b in data) and len(data) != SHA1_LEN:
                return data.decode("ascii")
            return _hex(data)
        return f"(unknown ID type: {kind})"

    def _ip_str(self) -> str:
        kind = IdKind(self.type)
        v6 = kind in _V6
        size = 16 if v6 else 4
        form = (_V6 if v6 else _V4)[kind]
        need = size if form == 0 else 2 * size
        if len(self.data) < need:
            return f"(invalid {kind.name})"
        first = inet_ntop(self.data[:size])
        if form == 0:
            return first
        if form == 1:
            return f"{first}/{netmask_to_cidr(self.data[size:2 * size])}"
        return f"{first}-{inet_ntop(self.data[size:2 * size])}"

    # --- comparison ----------------------------------------------------------------------------
    def contains_wildcards(self) -> bool:
        if self.regex is not None or self.type == K.ID_ANY:
            return True
        if self.type in (K.ID_FQDN, K.ID_RFC822_ADDR):
            return b"*" in self.data
        if self.type == K.ID_DER_ASN1_DN:
            return any(r.value == b"*" for r in iter_rdns(self.data))
        return False

    def equals(self, other: Identification) -> bool:
        """charon's ``equals`` (case-insensitive for FQDN/RFC822, RDN-aware for DNs)."""
        if self.regex is not None or other.regex is not None:
            return (self.type == other.type and self.regex is not None
                    and other.regex is not None and self.data == other.data)
        if self.type == K.ID_DER_ASN1_DN:
            return other.type == K.ID_DER_ASN1_DN and _compare_dn(self.data, other.data, None)
        if self.type in (K.ID_FQDN, K.ID_RFC822_ADDR):
            return (self.type == other.type and len(self.data) == len(other.data)
                    and b"\0" not in self.data and b"\0" not in other.data
                    and self.data.lower() == other.data.lower())
        return self.type == other.type and (self.type == K.ID_ANY or self.data == other.data)

    def matches(self, other: Identification, *, rdn_matching: str | None = None) -> IdMatch | int:
        """How well ``self`` (a concrete ID) matches ``other`` (possibly with wildcards).

        Returns an IdMatch or, for DNs with n wildcards, ``PERFECT - n``. ``rdn_matching`` is
        charon's ``rdn_matching`` setting (``reordered``/``relaxed``).
        """
        if other.type == K.ID_ANY and other.regex is None:
            return IdMatch.ANY
        if self.regex is not None or self.type == K.ID_ANY:
            return IdMatch.NONE
        if self.type in (K.ID_FQDN, K.ID_RFC822_ADDR):
            return self._matches_string(other)
        if self.type == K.ID_DER_ASN1_DN:
            return self._matches_dn(other, rdn_matching)
        if self.type in _IP_KINDS:
            return _matches_range(self, other)
        return IdMatch.PERFECT if (self.type, self.data) == (other.type, other.data) else IdMatch.NONE

    def _matches_regex(self, other: Identification) -> IdMatch:
        text = str(self)
        if not self.data or len(text) >= BUF_LEN - 1 or other.regex is None:
            return IdMatch.NONE
        return IdMatch.MAX_WILDCARDS if re.search(other.regex, text, re.IGNORECASE) else IdMatch.NONE

    def _matches_string(self, other: Identification) -> IdMatch:
        if self.type != other.type:
            return IdMatch.NONE
        if other.regex is not None:
            return self._matches_regex(other)
        if self.equals(other):
            return IdMatch.PERFECT
        pattern = other.data
        if not pattern or len(self.data) < len(pattern) or pattern[:1] != b"*":
            return IdMatch.NONE
        if len(pattern) == 1:
            return IdMatch.ANY  # a lone '*' is no better than %any
        tail = pattern[1:]
        if _strncaseeq(self.data[len(self.data) - len(tail):], tail, len(tail)):
            return IdMatch.ONE_WILDCARD
        return IdMatch.NONE

    def _matches_dn(self, other: Identification, rdn_matching: str | None) -> IdMatch | int:
        if self.type != other.type:
            return IdMatch.NONE
        if other.regex is not None:
            return self._matches_regex(other)
        wc = [0]
        if rdn_matching == "reordered":
            ok = _match_dn(self.data, other.data, wc, allow_unmatched=False)
        elif rdn_matching == "relaxed":
            ok = _match_dn(self.data, other.data, wc, allow_unmatched=True)
        else:
            ok = _compare_dn(self.data, other.data, wc)
        if not ok:
            return IdMatch.NONE
        # charon caps the wildcard count so the result never drops below ONE_WILDCARD - 17
        result = IdMatch.PERFECT - min(wc[0], IdMatch.ONE_WILDCARD - IdMatch.MAX_WILDCARDS)
        return IdMatch(result) if result in IdMatch._value2member_map_ else result


def _strncaseeq(a: bytes, b: bytes, n: int) -> bool:
    """C ``strncasecmp(a, b, n) == 0`` in the C locale (stops at NUL)."""
    for i in range(n):
        ca, cb = (a[i] if i < len(a) else 0), (b[i] if i < len(b) else 0)
        if bytes([ca]).lower() != bytes([cb]).lower():
            return False
        if ca == 0:
            return True
    return True


def _rdn_equals(oid: bytes, a_type: int, a: bytes, b_type: int, b: bytes) -> bool:
    if a_type == b_type and (a_type == ASN1_PRINTABLESTRING
                             or (a_type == ASN1_IA5STRING and oid == OID_EMAIL)):
        return _strncaseeq(a, b, len(a))
    return a == b


def _compare_dn(t_dn: bytes, o_dn: bytes, wc: list[int] | None) -> bool:
    """``compare_dn``: same RDNs in the same order; '*' values in o_dn count as wildcards."""
    if wc is None and len(t_dn) != len(o_dn):
        return False
    if t_dn == o_dn:
        return True
    t_rdns, o_rdns = iter_rdns(t_dn), iter_rdns(o_dn)
    finished = False
    for i in range(max(len(t_rdns), len(o_rdns))):
        if i >= len(t_rdns) or i >= len(o_rdns):
            return False
        t, o = t_rdns[i], o_rdns[i]
        finished = False
        if t.oid != o.oid:
            return False
        if wc is not None and o.value == b"*":
            wc[0] += 1
        elif len(t.value) != len(o.value) or not _rdn_equals(t.oid, t.type, t.value, o.type, o.value):
            return False
        finished = t.ends_dn and o.ends_dn
    return finished


def _match_dn(t_dn: bytes, o_dn: bytes, wc: list[int], *, allow_unmatched: bool) -> bool:
    """``match_dn``: RDNs in any order (reordered), t_dn may carry extra RDNs (relaxed)."""
    wc[0] = 0
    if t_dn == o_dn:
        return True
    o_rdns = iter_rdns(o_dn)
    if not any(r.ends_dn for r in o_rdns):
        return False
    # exact RDNs first, wildcards last
    pool = [r for r in o_rdns if r.value != b"*"] + [r for r in o_rdns if r.value == b"*"]
    matched = [False] * len(pool)
    finished = False
    for t in iter_rdns(t_dn):
        found = False
        for i, o in enumerate(pool):
            if matched[i] or o.oid != t.oid:
                continue
            if o.value == b"*":
                wc[0] += 1
            elif len(t.value) != len(o.value) or not _rdn_equals(t.oid, t.type, t.value, o.type, o.value):
                continue
            matched[i] = found = True
            break
        if not found:
            if not allow_unmatched:
                break
            wc[0] += 1
        if t.ends_dn:
            finished = True
    return finished and all(matched)


# --- IP identity matching (``matches_range``) ---------------------------------------------------

def _subnet_to_range(enc: bytes, size: int) -> tuple[bytes, bytes]:
    net, mask = enc[:size], enc[size:2 * size]
    bits = netmask_to_cidr(mask)
    lo, hi = bytearray(net), bytearray(net)
    i = bits // 8
    if i < size:
        m = (0xFF << (8 - bits % 8)) & 0xFF
        lo[i] &= m
        hi[i] |= ~m & 0xFF
        lo[i + 1:] = bytes(size - i - 1)
        hi[i + 1:] = b"\xff" * (size - i - 1)
    return bytes(lo), bytes(hi)


def _match_subnets(net: bytes, mask: bytes | None, onet: bytes, omask: bytes | None, size: int) -> IdMatch:
    obits = netmask_to_cidr(omask) if omask is not None else 8 * size
    if not obits:
        return IdMatch.MAX_WILDCARDS
    bits = netmask_to_cidr(mask) if mask is not None else 8 * size
    if bits == obits:
        return IdMatch.PERFECT if net == onet else IdMatch.NONE
    if bits < obits or omask is None:
        return IdMatch.NONE
    for i in range((obits + 7) // 8):
        if (net[i] ^ onet[i]) & omask[i]:
            return IdMatch.NONE
    return IdMatch.ONE_WILDCARD


def _match_ranges(lo: bytes, hi: bytes, olo: bytes, ohi: bytes, size: int) -> IdMatch:
    if hi < lo or ohi < olo:
        return IdMatch.NONE
    if olo == bytes(size) and ohi == b"\xff" * size:
        return IdMatch.MAX_WILDCARDS
    if lo == olo and hi == ohi:
        return IdMatch.PERFECT
    if lo >= olo and hi <= ohi:
        return IdMatch.ONE_WILDCARD
    return IdMatch.NONE


def _ip_form(kind: int) -> tuple[int, int] | None:
    """(address size, form: 0 addr / 1 subnet / 2 range) of an IP identity type."""
    if kind in _V4:
        return 4, _V4[IdKind(kind)]
    if kind in _V6:
        return 16, _V6[IdKind(kind)]
    return None


def _matches_range(this: Identification, other: Identification) -> IdMatch:
    if this.type == other.type and this.data == other.data:
        return IdMatch.PERFECT
    mine, theirs = _ip_form(this.type), _ip_form(other.type)
    if mine is None or theirs is None or mine[0] != theirs[0] or (mine[1] == 0 and theirs[1] == 0):
        return IdMatch.NONE
    size, form, oform = mine[0], mine[1], theirs[1]
    want = (size if form == 0 else 2 * size, size if oform == 0 else 2 * size)
    if (len(this.data), len(other.data)) != want:
        return IdMatch.NONE
    if oform == 0:  # subnet/range (this) vs an address
        if form == 1:
            return _match_subnets(this.data[:size], this.data[size:], other.data, None, size)
        return _match_ranges(this.data[:size], this.data[size:], other.data, other.data, size)
    if oform == 1:
        if form == 0:
            return _match_subnets(this.data, None, other.data[:size], other.data[size:], size)
        if form == 1:
            return _match_subnets(this.data[:size], this.data[size:], other.data[:size],
                                  other.data[size:], size)
        return _match_ranges(this.data[:size], this.data[size:], *_subnet_to_range(other.data, size), size)
    if form == 0:
        lo = hi = this.data
    elif form == 1:
        lo, hi = _subnet_to_range(this.data, size)
    else:
        lo, hi = this.data[:size], this.data[size:]
    return _match_ranges(lo, hi, other.data[:size], other.data[size:], size)
