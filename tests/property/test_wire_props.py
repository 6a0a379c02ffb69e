"""Hypothesis: codec round trips per payload, and decoders that only ever raise DecodeError
(or UnsupportedCriticalPayload) on random and mutated input."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.wire.samples import ALL_PAYLOADS, header
from vicid.ike.crypto.cipher import make_sk_cipher
from vicid.ike.crypto.fragments import Reassembler
from vicid.ike.crypto.sk import decode_inner, protect, unprotect
from vicid.ike.wire.buffer import DecodeError, Reader
from vicid.ike.wire.enums import EncrAlg, ExchangeType, ProtocolId
from vicid.ike.wire.errors import UnsupportedCriticalPayload
from vicid.ike.wire.message import (
    Message,
    decode_message,
    decode_payload_chain,
    encode_message,
    encode_payload_chain,
)
from vicid.ike.wire.notify import NotifyPayload
from vicid.ike.wire.payloads import (
    _CP_LENGTHS,
    AuthPayload,
    CertPayload,
    CertreqPayload,
    CpAttribute,
    CpPayload,
    DeletePayload,
    IdiPayload,
    IdrPayload,
    KePayload,
    NoncePayload,
    SkfPayload,
    UnknownPayload,
    VendorIdPayload,
)
from vicid.ike.wire.proposals import Proposal, SaPayload, Transform, TransformAttribute
from vicid.ike.wire.selectors import (
    AddressRangeSelector,
    SecurityLabelSelector,
    TsiPayload,
    TsrPayload,
    UnknownSelector,
)
from vicid.secrets import Secret

u8 = st.integers(0, 255)
u16 = st.integers(0, 0xFFFF)
blob = st.binary(max_size=64)

attribute = st.builds(TransformAttribute, st.integers(0, 0x7FFF), u16 | st.binary(max_size=8))
transform = st.builds(Transform, u8, u16, st.lists(attribute, max_size=3).map(tuple))


@st.composite
def proposals(draw):
    protocol = draw(st.sampled_from([ProtocolId.IKE, ProtocolId.ESP, ProtocolId.AH, 7]))
    spi = {ProtocolId.IKE: st.sampled_from([b"", b"\x01" * 8])}.get(protocol, st.binary(min_size=4, max_size=4))
    numbers = draw(st.lists(st.integers(1, 255), min_size=1, max_size=4).map(sorted))
    return tuple(Proposal(n, protocol, draw(spi), tuple(draw(st.lists(transform, max_size=5))))
                 for n in numbers)


def _range(ts_type: int, n: int):
    ports = st.tuples(u16, u16).map(sorted)
    return st.builds(lambda p, proto, a, b: AddressRangeSelector(ts_type, proto, p[0], p[1], a, b),
                     ports, u8, st.binary(min_size=n, max_size=n), st.binary(min_size=n, max_size=n))


def _cp_length_ok(a: CpAttribute) -> bool:
    """The per-type value lengths the strict CP decoder accepts (charon's verify)."""
    allowed = _CP_LENGTHS.get(a.attr_type)
    return (allowed is None or len(a.value) in allowed) and not (a.attr_type == 14 and len(a.value) % 2)


_ADDRESS_ATTR = st.sampled_from([(t, n) for t, lengths in _CP_LENGTHS.items() for n in sorted(lengths)])
cp_attribute = (st.builds(CpAttribute, st.integers(0, 0x7FFF), blob).filter(_cp_length_ok)
                | _ADDRESS_ATTR.flatmap(lambda tn: st.builds(CpAttribute, st.just(tn[0]),
                                                             st.binary(min_size=tn[1], max_size=tn[1]))))

selector = (_range(7, 4) | _range(8, 16) | st.builds(SecurityLabelSelector, st.binary(min_size=1, max_size=20))
            | st.builds(UnknownSelector, st.integers(11, 255), u8, blob))
selectors = st.lists(selector, max_size=4).map(tuple)
notify_type = st.integers(0, 0xFFFF).filter(lambda t: t not in (7, 5, 14, 17, 16388, 16389, 16390, 16397,
                                                                16398, 16403, 16387, 16431, 16442))

PAYLOAD = st.one_of(
    st.builds(SaPayload, proposals()),
    st.builds(KePayload, u16, blob),
    st.builds(IdiPayload, u8, blob, st.binary(min_size=3, max_size=3)),
    st.builds(IdrPayload, u8, blob, st.binary(min_size=3, max_size=3)),
    st.builds(CertPayload, u8, blob), st.builds(CertreqPayload, u8, blob),
    st.builds(AuthPayload, u8, blob),
    st.builds(NoncePayload, st.binary(min_size=16, max_size=256)),
    st.builds(NotifyPayload, notify_type, blob, st.sampled_from(list(ProtocolId)), st.binary(max_size=8)),
    st.builds(DeletePayload, st.just(ProtocolId.ESP), st.lists(st.binary(min_size=4, max_size=4),
                                                               max_size=4).map(tuple)),
    st.builds(VendorIdPayload, blob),
    st.builds(TsiPayload, selectors), st.builds(TsrPayload, selectors),
    st.builds(CpPayload, u8, st.lists(cp_attribute, max_size=4).map(tuple)),
    st.builds(UnknownPayload, st.integers(128, 255), blob, st.just(False)),
)


@given(st.lists(PAYLOAD, max_size=6))
def test_payload_chain_round_trip(payloads):
    data = encode_payload_chain(payloads)
    first = payloads[0].payload_type if payloads else 0
    assert decode_payload_chain(Reader(data), first) == payloads


def _decode_only_allowed(data: bytes) -> None:
    try:
        decode_message(data)
    except (DecodeError, UnsupportedCriticalPayload):
        pass


@given(st.binary(max_size=512))
def test_random_bytes_never_crash(data):
    _decode_only_allowed(data)


@given(st.binary(min_size=28, max_size=300))
def test_random_bodies_with_valid_header(data):
    # put a consistent length into a random header so the payload decoders get exercised
    raw = bytearray(data)
    raw[24:28] = len(raw).to_bytes(4, "big")
    raw[16] = 33 + raw[16] % 21
    _decode_only_allowed(bytes(raw))


GOLDEN = encode_message(header(ExchangeType.IKE_SA_INIT, mid=0), ALL_PAYLOADS)


@settings(max_examples=300)
@given(st.lists(st.tuples(st.integers(0, len(GOLDEN) - 1), u8), min_size=1, max_size=6),
       st.integers(0, len(GOLDEN)))
def test_mutated_golden_message(flips, cut):
    raw = bytearray(GOLDEN)
    for pos, value in flips:
        raw[pos] = value
    _decode_only_allowed(bytes(raw[:max(cut, 28)]))


CIPHER = make_sk_cipher(EncrAlg.AES_GCM_16, Secret(bytes(20)))
SEALED = protect(Message(header(), (), tuple(ALL_PAYLOADS)), CIPHER, bytes(8))


@settings(max_examples=200)
@given(st.integers(0, len(SEALED) - 1), st.integers(1, 255))
def test_tampered_sk_only_decode_errors(pos, xor):
    raw = bytearray(SEALED)
    raw[pos] ^= xor
    try:
        unprotect(bytes(raw), decode_message(bytes(raw)), CIPHER)
    except DecodeError:
        return
    raise AssertionError("tampering went unnoticed")


@given(st.binary(max_size=200))
def test_garbage_plaintext_inside_valid_sk(plain):
    """Authenticated but malformed inner payloads still only raise DecodeError."""
    try:
        decode_inner(plain, plain[0] if plain else 0)
    except (DecodeError, UnsupportedCriticalPayload):
        pass


@given(st.lists(st.tuples(u16, u16), max_size=20))
def test_reassembler_never_crashes(numbers):
    r = Reassembler(1, max_fragments=8, max_size=100)
    for number, total in numbers:
        msg = Message(header(), (SkfPayload(41, number, total, b""),))
        try:
            r.add(msg, b"\x00" * 8)
        except (DecodeError, UnsupportedCriticalPayload):
            pass


@given(st.sampled_from(sorted(_CP_LENGTHS)), st.binary(max_size=24))
def test_cp_attribute_lengths_are_checked(attr_type, value):
    """An address attribute of a length charon refuses is a DecodeError; the others round-trip."""
    from vicid.ike.wire.buffer import Writer
    from vicid.ike.wire.payloads import decode_cp, encode_cp

    w = Writer()
    encode_cp(w, CpPayload(1, (CpAttribute(attr_type, value),)))
    if len(value) in _CP_LENGTHS[attr_type]:
        assert decode_cp(Reader(w.getvalue())) == CpPayload(1, (CpAttribute(attr_type, value),))
    else:
        with pytest.raises(DecodeError):
            decode_cp(Reader(w.getvalue()))
