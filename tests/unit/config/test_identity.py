"""Identities: parsing, %Y rendering, matching and wire form (charon 6.1 behaviour)."""

import charon61_cases as charon
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vicid.identity import (
    Identification,
    IdentityError,
    IdKind,
    IdMatch,
    IdType,
    atodn,
    chunk_from_hex,
)

ID = Identification.from_string


@pytest.mark.parametrize(("value", "expected"), sorted(charon.IDS.items()))
def test_render_matches_charon61(value, expected):
    assert str(Identification.from_vici(value)) == expected


@pytest.mark.parametrize(("text", "kind"), [
    ("moon.strongswan.org", IdKind.ID_FQDN),
    ("@moon", IdKind.ID_FQDN),
    ("@@user", IdKind.ID_RFC822_ADDR),
    ("user@example.org", IdKind.ID_RFC822_ADDR),
    ("@#0102", IdKind.ID_KEY_ID),
    ("C=CH, O=strongSwan, CN=moon", IdKind.ID_DER_ASN1_DN),
    ("UNKNOWN=foo", IdKind.ID_KEY_ID),
    ("10.0.0.1", IdKind.ID_IPV4_ADDR),
    ("fe80::1", IdKind.ID_IPV6_ADDR),
    ("10.0.0.0/8", IdKind.ID_IPV4_ADDR_SUBNET),
    ("10.0.0.1-10.0.0.5", IdKind.ID_IPV4_ADDR_RANGE),
    ("10.0.0.5-10.0.0.1", IdKind.ID_FQDN),
    ("foo:bar", IdKind.ID_KEY_ID),
    ("%any", IdKind.ID_ANY), ("*", IdKind.ID_ANY), ("", IdKind.ID_ANY), ("::", IdKind.ID_ANY),
    ("FQDN:x", IdKind.ID_FQDN), ("email:a@b", IdKind.ID_RFC822_ADDR), ("userfqdn:a@b", IdKind.ID_RFC822_ADDR),
    ("dns:x", IdKind.ID_FQDN), ("keyid:x", IdKind.ID_KEY_ID), ("asn1dn:#3000", IdKind.ID_DER_ASN1_DN),
    ("asn1gn:#3003", IdKind.ID_DER_ASN1_GN), ("uri:http://x/", IdKind.ID_DER_ASN1_GN_URI),
    ("ipv6:#" + "00" * 16, IdKind.ID_IPV6_ADDR), ("{11}:x", IdKind.ID_KEY_ID), ("{0x2}:x", IdKind.ID_FQDN),
])
def test_parse_types(text, kind):
    assert ID(text).type == kind


def test_dn_der_encoding():
    # C/O/CN as PrintableString; non-printable-string chars switch to UTF8String; E is IA5String
    der = ID("C=CH, O=strongSwan, CN=moon").data
    # the asn1dn:# form of what charon 6.1 renders as "CN=moon" (lab-checked) parses identically
    assert ID("CN=moon").data == bytes.fromhex("300f310d300b060355040313046d6f6f6e")
    assert der[0] == 0x30
    assert b"\x13\x02CH" in der and b"\x13\x0astrongSwan" in der and b"\x13\x04moon" in der
    assert b"\x0c\x03a_b" in ID("CN=a_b").data
    assert b"\x16\x03x@y" in ID("E=x@y").data
    assert ID("/C=CH/O=strongSwan/CN=moon").data == der
    assert ID("C=CH,O=strongSwan,CN=moon").data == der
    assert atodn(b"CN") is None  # unterminated attribute name
    assert atodn(b", ".join(b"CN=x" for _ in range(21))) is None  # more than 20 RDNs


def test_key_id_rendering():
    assert str(ID("@#" + "ab" * 20)) == ":".join(["ab"] * 20)
    assert str(ID("keyid:abcdefghijklmnopqrs")) == "abcdefghijklmnopqrs"  # 19 printable bytes
    assert str(Identification(IdKind.ID_FQDN, b"a\x01b")) == "a?b"
    assert chunk_from_hex("0x0102") == b"\x01\x02"
    assert chunk_from_hex("01:02:03") == b"\x01\x02\x03"
    assert chunk_from_hex("1:02:3") == b"\x02\x03"  # charon skips ':' only before low nibbles
    assert chunk_from_hex("abc") == b"\x0a\xbc"


def test_invalid_dn_rendering():
    rdn = ID("CN=a").data[2:]
    bad = bytes([0x30, len(rdn) + 1]) + rdn + b"\x05"
    assert str(Identification(IdKind.ID_DER_ASN1_DN, bad)) == "CN=a, (invalid ID_DER_ASN1_DN)"
    assert str(Identification(IdKind.ID_DER_ASN1_DN, b"\x30\x05")) == ""
    assert str(Identification(IdKind.ID_IPV4_ADDR, b"\x01")) == "(invalid ID_IPV4_ADDR)"


# --- matching ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("concrete", "pattern", "result"), [
    ("moon.strongswan.org", "moon.strongswan.org", IdMatch.PERFECT),
    ("moon.strongswan.org", "MOON.strongswan.org", IdMatch.PERFECT),
    ("moon.strongswan.org", "*.strongswan.org", IdMatch.ONE_WILDCARD),
    ("moon.strongswan.org", "*", IdMatch.ANY),
    ("moon.strongswan.org", "%any", IdMatch.ANY),
    ("moon.strongswan.org", "sun.strongswan.org", IdMatch.NONE),
    ("carol@example.org", "*@example.org", IdMatch.ONE_WILDCARD),
    ("carol@example.org", "*@example.com", IdMatch.NONE),
    ("carol@example.org", "@example.org", IdMatch.NONE),  # FQDN vs RFC822
    ("C=CH, O=strongSwan, CN=moon", "C=CH, O=strongSwan, CN=moon", IdMatch.PERFECT),
    ("C=CH, O=strongSwan, CN=moon", "c=ch, o=strongswan, cn=MOON", IdMatch.PERFECT),
    ("C=CH, O=strongSwan, CN=moon", "C=CH, O=strongSwan, CN=*", IdMatch.ONE_WILDCARD),
    ("C=CH, O=strongSwan, CN=moon", "C=CH, O=*, CN=*", IdMatch.PERFECT - 2),
    ("C=CH, O=strongSwan, CN=moon", "C=CH, CN=moon", IdMatch.NONE),
    ("C=CH, O=strongSwan, CN=moon", "O=strongSwan, C=CH, CN=moon", IdMatch.NONE),
    ("10.0.0.1", "10.0.0.0/8", IdMatch.ONE_WILDCARD),
    ("10.0.0.1", "10.0.0.1-10.0.0.5", IdMatch.ONE_WILDCARD),
    ("10.0.0.9", "10.0.0.1-10.0.0.5", IdMatch.NONE),
    ("10.0.0.1", "0.0.0.0/0", IdMatch.MAX_WILDCARDS),
    ("10.0.0.1", "10.0.0.1", IdMatch.PERFECT),
    ("10.0.0.1", "fe80::1", IdMatch.NONE),
    ("@#0102", "@#0102", IdMatch.PERFECT),
    ("@#0102", "%any", IdMatch.ANY),
])
def test_matches(concrete, pattern, result):
    assert ID(concrete).matches(ID(pattern)) == result


def test_rdn_matching_modes():
    dn, reordered = ID("C=CH, O=strongSwan, CN=moon"), ID("O=strongSwan, C=CH, CN=moon")
    assert dn.matches(reordered, rdn_matching="reordered") == IdMatch.PERFECT
    assert dn.matches(ID("C=CH, CN=moon"), rdn_matching="relaxed") == IdMatch.ONE_WILDCARD
    assert dn.matches(ID("C=CH, CN=moon"), rdn_matching="reordered") == IdMatch.NONE


def test_regex_identities():
    pattern = Identification.from_vici("email:^.*@strongswan\\.org$")
    assert pattern.regex is not None and str(pattern) == "^.*@strongswan\\.org$"
    assert ID("Carol@strongSwan.org").matches(pattern) == IdMatch.MAX_WILDCARDS
    assert ID("carol@example.org").matches(pattern) == IdMatch.NONE
    assert pattern.contains_wildcards()
    with pytest.raises(IdentityError):
        Identification.from_vici("fqdn:^(unclosed$")
    assert Identification.from_vici("keyid:^x$").regex is None  # keyid: has no regex form


def test_equals_and_wildcards():
    assert ID("Moon.strongswan.org").equals(ID("moon.strongswan.org"))
    assert ID("CN=moon, O=x").equals(ID("cn=MOON, o=X"))
    assert not ID("CN=moon").equals(ID("CN=*"))
    assert ID("CN=*").contains_wildcards() and ID("*@x").contains_wildcards()
    assert not ID("10.0.0.0/8").contains_wildcards()


def test_wire_round_trip():
    for text in ("moon.strongswan.org", "a@b", "10.0.0.1", "fe80::1", "CN=moon", "@#0102"):
        ident = ID(text)
        id_type, data = ident.to_wire()
        assert isinstance(id_type, IdType)
        assert Identification.from_wire(id_type, data) == ident
    with pytest.raises(IdentityError):
        ID("10.0.0.0/8").to_wire()
    with pytest.raises(IdentityError):
        Identification.from_vici("CN=\x01")


names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=20)
values = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABC0123456789 .-_@", min_size=1, max_size=12).map(
    lambda s: s.strip(" ") or "x")


@given(st.lists(st.tuples(st.sampled_from(["C", "O", "OU", "CN", "L", "ST", "DC", "E", "SN"]), values),
                min_size=1, max_size=8))
def test_dn_render_parse_round_trip(rdns):
    text = ", ".join(f"{k}={v}" for k, v in rdns if "," not in v)
    dn = ID(text)
    assert dn.type == IdKind.ID_DER_ASN1_DN
    assert str(dn) == text
    assert ID(str(dn)).data == dn.data
    assert dn.matches(ID(text)) == IdMatch.PERFECT


@given(names, names)
def test_fqdn_and_email_round_trip(host, user):
    fqdn = f"{host}.example"
    assert str(ID(fqdn)) == fqdn and str(ID("@" + fqdn)) == fqdn
    assert str(ID(f"{user}@{fqdn}")) == f"{user}@{fqdn}"
    assert ID(f"{user}@{fqdn}").matches(ID(f"*@{fqdn}")) == IdMatch.ONE_WILDCARD


@given(st.binary(min_size=1, max_size=32))
def test_key_id_round_trip(raw):
    ident = ID("@#" + raw.hex())
    assert ident.data == raw
    rendered = str(ident)
    if all(0x20 <= b < 0x7F for b in raw) and len(raw) != 20:
        assert rendered == raw.decode()
    else:
        assert chunk_from_hex(rendered) == raw


@given(st.ip_addresses())
def test_address_round_trip(addr):
    ident = ID(str(addr))
    if not addr.packed.strip(b"\0"):
        assert ident.type == IdKind.ID_ANY
        return
    assert ident.data == addr.packed
    assert ID(str(ident)).data == addr.packed
