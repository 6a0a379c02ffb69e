from __future__ import annotations

import pytest

from tests.unit.wire.samples import ALL_PAYLOADS, SA
from vicid.ike.wire.buffer import DecodeError, Reader, Writer
from vicid.ike.wire.enums import NotifyType, PayloadType
from vicid.ike.wire.errors import UnsupportedCriticalPayload
from vicid.ike.wire.message import check_critical, decode_payload_chain, encode_payload_chain
from vicid.ike.wire.notify import decode_invalid_ke_data, decode_signature_hash_algorithms
from vicid.ike.wire.payloads import PAYLOAD_CODECS, KePayload, UnknownPayload, decode_ke, encode_ke
from vicid.ike.wire.proposals import decode_sa, encode_sa


@pytest.mark.parametrize("payload", ALL_PAYLOADS, ids=lambda p: type(p).__name__)
def test_single_payload_round_trip(payload):
    data = encode_payload_chain([payload])
    assert decode_payload_chain(Reader(data), payload.payload_type) == [payload]


def test_chain_round_trip_links_next_payload():
    data = encode_payload_chain(ALL_PAYLOADS)
    assert data[0] == ALL_PAYLOADS[1].payload_type
    assert decode_payload_chain(Reader(data), ALL_PAYLOADS[0].payload_type) == ALL_PAYLOADS


def test_every_registered_type_has_a_sample():
    sampled = {p.payload_type for p in ALL_PAYLOADS}
    assert set(PAYLOAD_CODECS) <= sampled


def test_ke_wire_bytes():
    w = Writer()
    encode_ke(w, KePayload(31, b"\x01\x02"))
    assert w.getvalue() == bytes.fromhex("001f0000") + b"\x01\x02"
    assert decode_ke(Reader(bytes.fromhex("001fffff0102"))) == KePayload(31, b"\x01\x02")  # RESERVED ignored


def test_key_length_attribute_is_tv_800e():
    w = Writer()
    encode_sa(w, SA)
    data = w.getvalue()
    assert bytes.fromhex("800e0100") in data  # AES-GCM 256
    assert decode_sa(Reader(data)) == SA
    assert SA.proposals[0].transforms[0].key_length == 256


def test_sa_rejects_bad_last_substruc_and_counts():
    w = Writer()
    encode_sa(w, SA)
    good = bytearray(w.getvalue())
    bad = bytearray(good)
    bad[0] = 1
    with pytest.raises(DecodeError):
        decode_sa(Reader(bytes(bad)))
    bad = bytearray(good)
    bad[7] += 1  # Num Transforms of proposal 1
    with pytest.raises(DecodeError):
        decode_sa(Reader(bytes(bad)))


@pytest.mark.parametrize("ptype,body", [
    (PayloadType.NONCE, b"\x00" * 15),
    (PayloadType.NONCE, b"\x00" * 257),
    (PayloadType.NOTIFY, bytes.fromhex("00000011") + b"\x00"),  # INVALID_KE_PAYLOAD, 1 byte
    (PayloadType.NOTIFY, bytes.fromhex("0000000e") + b"\x00"),  # NO_PROPOSAL_CHOSEN with data
    (PayloadType.NOTIFY, bytes.fromhex("07000001")),  # unknown protocol
    (PayloadType.DELETE, bytes.fromhex("03030001") + b"abc"),  # ESP with 3-byte SPI
    (PayloadType.DELETE, bytes.fromhex("03040002") + b"abcd"),  # 2 SPIs announced, 1 sent
    (PayloadType.TSi, bytes.fromhex("02000000") + bytes.fromhex("07000010") + bytes(12)),
    (PayloadType.TSi, bytes.fromhex("01000000") + bytes.fromhex("07000010") + bytes(11)),
    (PayloadType.TSi, bytes.fromhex("01000000") + bytes.fromhex("0a000004")),  # empty label
    (PayloadType.TSi, bytes.fromhex("01000000") + bytes.fromhex("07000010 0050 0014") + bytes(8)),
    (PayloadType.EAP, bytes.fromhex("03010005ff")),  # SUCCESS must be 4 bytes
    (PayloadType.EAP, bytes.fromhex("02010009ff")),  # length field mismatch
    (PayloadType.SKF, bytes.fromhex("00030002")),  # fragment 3 of 2
    (PayloadType.KE, b"\x00"),
])
def test_strict_body_decoding(ptype, body):
    data = bytes([0, 0]) + (4 + len(body)).to_bytes(2, "big") + body
    with pytest.raises(DecodeError):
        decode_payload_chain(Reader(data), ptype)


def test_truncated_generic_header_and_length_overflow():
    with pytest.raises(DecodeError):
        decode_payload_chain(Reader(b"\x00\x00"), PayloadType.NONCE)
    with pytest.raises(DecodeError):
        decode_payload_chain(Reader(bytes.fromhex("00000030") + bytes(16)), PayloadType.NONCE)
    with pytest.raises(DecodeError):
        decode_payload_chain(Reader(bytes.fromhex("00000003")), PayloadType.VENDOR_ID)


def test_trailing_bytes_after_last_payload():
    data = encode_payload_chain([ALL_PAYLOADS[1]]) + b"\x00"
    with pytest.raises(DecodeError):
        decode_payload_chain(Reader(data), PayloadType.KE)


def test_unknown_payloads_kept_and_critical_rejected():
    plain = bytes.fromhex("000000060102")
    assert decode_payload_chain(Reader(plain), 200) == [UnknownPayload(200, b"\x01\x02")]
    critical = bytes.fromhex("008000060102")
    payloads = decode_payload_chain(Reader(critical), 200)
    with pytest.raises(UnsupportedCriticalPayload) as info:
        check_critical(payloads)
    assert info.value.payload_type == 200
    assert info.value.notify_data() == b"\xc8"


def test_critical_bit_ignored_for_known_payloads():
    data = bytes.fromhex("00800014") + b"\x01" * 16
    assert decode_payload_chain(Reader(data), PayloadType.NONCE)[0].data == b"\x01" * 16


def test_notify_helpers():
    assert decode_invalid_ke_data(b"\x00\x1f") == 31
    assert decode_signature_hash_algorithms(bytes.fromhex("0002000300040005")) == (2, 3, 4, 5)
    with pytest.raises(DecodeError):
        decode_signature_hash_algorithms(b"\x00")
    with pytest.raises(DecodeError):
        decode_invalid_ke_data(b"")
    assert NotifyType.INVALID_KE_PAYLOAD < 16384
