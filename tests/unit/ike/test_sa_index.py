"""The manager's identity index: ``equals`` may only hold within one bucket (``_id_key``), and
certificate identities (DNs) spread over buckets instead of sharing one."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from vicid.identity import Identification, IdKind
from vicid.ike.manager import _id_key

PRINTABLE, UTF8 = 0x13, 0x0C
OIDS = {"C": b"\x55\x04\x06", "O": b"\x55\x04\x0a", "OU": b"\x55\x04\x0b", "CN": b"\x55\x04\x03"}


def _tlv(tag: int, body: bytes) -> bytes:
    assert len(body) < 128
    return bytes([tag, len(body)]) + body


def _dn(rdns: list[tuple[str, int, bytes]]) -> Identification:
    """A DER DN from (attribute, string type, value), as a peer may send it (any bytes)."""
    body = b"".join(_tlv(0x31, _tlv(0x30, _tlv(0x06, OIDS[a]) + _tlv(t, v))) for a, t, v in rdns)
    return Identification.from_wire(IdKind.ID_DER_ASN1_DN, _tlv(0x30, body))


def _swap_case(value: bytes, flips: list[bool]) -> bytes:
    flips = (flips + [False] * len(value))[: len(value)]
    return bytes(b ^ 0x20 if chr(b).isalpha() and flip else b for b, flip in zip(value, flips, strict=True))


rdn = st.tuples(st.sampled_from(sorted(OIDS)), st.sampled_from([PRINTABLE, UTF8]),
                st.text(alphabet="abcXYZ 01\0", min_size=1, max_size=10).map(str.encode))


@given(st.lists(rdn, min_size=1, max_size=4), st.lists(st.booleans(), max_size=10),
       st.lists(st.sampled_from([PRINTABLE, UTF8]), max_size=4), st.data())
def test_equal_dns_share_a_key(rdns, flips, types, data):
    """Case changes (PrintableString compares case-insensitively up to a NUL), other string
    types and bytes after a NUL: whenever charon's ``equals`` holds, the keys agree."""
    other = []
    for i, (attr, kind, value) in enumerate(rdns):
        kind2 = types[i] if i < len(types) else kind
        value2 = _swap_case(value, flips)
        if b"\0" in value and data.draw(st.booleans()):
            head, _, tail = value2.partition(b"\0")
            value2 = head + b"\0" + bytes(reversed(tail))
        other.append((attr, kind2, value2))
    a, b = _dn(rdns), _dn(other)
    if a.equals(b):
        assert _id_key(a) == _id_key(b)
    assert _id_key(a) == _id_key(_dn(list(rdns)))


@given(st.sampled_from(["carol.example.org", "Carol.Example.ORG", "*.example.org"]),
       st.sampled_from(["CAROL.example.org", "carol.example.org", "moon.example.org"]))
def test_equal_names_share_a_key(x, y):
    for text in ("{}", "user@{}"):
        a, b = Identification.from_string(text.format(x)), Identification.from_string(text.format(y))
        if a.equals(b):
            assert _id_key(a) == _id_key(b)


def test_certificate_identities_spread_over_buckets():
    keys = {_id_key(Identification.from_string(f"C=CH, O=vicid test, CN=client{i}.example.org"))
            for i in range(100)}
    assert len(keys) == 100
    assert _id_key(Identification.from_string("C=CH, O=vicid test, CN=client1.example.org")) == \
        _id_key(Identification.from_string("C=ch, O=VICID test, CN=CLIENT1.example.org"))
