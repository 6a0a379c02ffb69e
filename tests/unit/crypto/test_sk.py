from __future__ import annotations

import itertools
import os

import pytest

from tests.unit.wire.samples import ALL_PAYLOADS, header
from vicid.ike.crypto.cipher import IntegrityError, SkCipher, make_sk_cipher
from vicid.ike.crypto.fragments import Reassembler, fragment
from vicid.ike.crypto.sk import open_fragment, pad, protect, unpad, unprotect
from vicid.ike.crypto.transforms import encr_info, integ_info
from vicid.ike.wire.buffer import DecodeError
from vicid.ike.wire.enums import EncrAlg, ExchangeType, IntegAlg, PayloadType
from vicid.ike.wire.errors import UnsupportedCriticalPayload
from vicid.ike.wire.message import Message, decode_message
from vicid.ike.wire.payloads import KePayload, SkfPayload, SkPayload, UnknownPayload, VendorIdPayload
from vicid.secrets import Secret

SUITES = [
    (EncrAlg.AES_GCM_8, 128, None), (EncrAlg.AES_GCM_12, 192, None), (EncrAlg.AES_GCM_16, 256, None),
    (EncrAlg.AES_CCM_8, 128, None), (EncrAlg.AES_CCM_12, 192, None), (EncrAlg.AES_CCM_16, 256, None),
    (EncrAlg.CHACHA20_POLY1305, None, None),
    (EncrAlg.AES_CBC, 128, IntegAlg.HMAC_SHA1_96), (EncrAlg.AES_CBC, 256, IntegAlg.HMAC_SHA2_256_128),
    (EncrAlg.AES_CBC, 192, IntegAlg.HMAC_SHA2_384_192), (EncrAlg.AES_CBC, 256, IntegAlg.HMAC_SHA2_512_256),
    (EncrAlg.AES_CTR, 128, IntegAlg.AES_XCBC_96), (EncrAlg.AES_CTR, 256, IntegAlg.AES_CMAC_96),
]


def cipher_for(encr, bits, integ, seed: int = 1) -> SkCipher:
    key = bytes((seed * 7 + i) % 256 for i in range(encr_info(encr).key_size(bits)))
    ikey = Secret(bytes(integ_info(integ).key_size)) if integ else None
    return make_sk_cipher(encr, Secret(key), integ, ikey)


def counter_ivs(cipher: SkCipher):
    counter = itertools.count(1)
    return lambda _n: next(counter).to_bytes(cipher.iv_size, "big")


def auth_message() -> Message:
    return Message(header(ExchangeType.IKE_AUTH), (), tuple(ALL_PAYLOADS[:-1]))


def test_pad_unpad():
    assert pad(b"abc", 1) == b"abc\x00"
    assert len(pad(b"a" * 16, 16)) == 32
    assert unpad(pad(b"x" * 5, 16)) == b"x" * 5
    with pytest.raises(DecodeError):
        unpad(b"\x05")


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: f"{s[0].name}-{s[1]}-{s[2]}")
def test_sk_round_trip_and_tamper(suite):
    cipher = cipher_for(*suite)
    msg = auth_message()
    data = protect(msg, cipher, b"\x01" * cipher.iv_size)
    received = decode_message(data)
    assert isinstance(received.sk, SkPayload)
    assert received.sk.first_inner == msg.encrypted[0].payload_type
    assert unprotect(data, received, cipher).encrypted == msg.encrypted
    for pos in (5, 30, len(data) // 2, len(data) - 1):  # header, SK header, ciphertext, ICV
        bad = bytearray(data)
        bad[pos] ^= 0x01
        with pytest.raises(DecodeError):
            unprotect(bytes(bad), decode_message(bytes(bad)), cipher)


def test_wrong_key_is_integrity_error():
    data = protect(auth_message(), cipher_for(*SUITES[2]), bytes(8))
    with pytest.raises(IntegrityError):
        unprotect(data, decode_message(data), cipher_for(*SUITES[2], seed=2))


def test_empty_informational_and_clear_payloads_before_sk():
    cipher = cipher_for(*SUITES[8])
    msg = Message(header(ExchangeType.INFORMATIONAL), (VendorIdPayload(b"v"),), ())
    data = protect(msg, cipher, bytes(16))
    received = decode_message(data)
    assert received.payloads[0] == VendorIdPayload(b"v")
    assert received.sk.first_inner == PayloadType.NONE
    assert unprotect(data, received, cipher) == Message(received.header, (VendorIdPayload(b"v"),), ())


def test_critical_unknown_inside_sk():
    cipher = cipher_for(*SUITES[2])
    msg = Message(header(), (), (UnknownPayload(250, b"", True),))
    data = protect(msg, cipher, bytes(8))
    with pytest.raises(UnsupportedCriticalPayload):
        unprotect(data, decode_message(data), cipher)


@pytest.mark.parametrize("suite", [SUITES[2], SUITES[8], SUITES[6]], ids=lambda s: s[0].name)
@pytest.mark.parametrize("natt", [False, True])
def test_fragmentation_round_trip(suite, natt):
    cipher = cipher_for(*suite)
    msg = Message(header(), (), (KePayload(36, os.urandom(3000)), *ALL_PAYLOADS[:-1]))
    frags = fragment(msg, cipher, counter_ivs(cipher), fragment_size=576, non_esp_marker=natt)
    assert len(frags) > 5
    assert all(len(f) + 20 + 8 + (4 if natt else 0) <= 576 for f in frags)
    r = Reassembler(msg.message_id)
    result = None
    for i, data in enumerate(reversed(frags)):
        received = decode_message(data)
        skf = received.sk
        assert isinstance(skf, SkfPayload) and skf.total == len(frags)
        assert skf.first_inner == (PayloadType.KE if skf.number == 1 else 0)
        result = r.add(received, open_fragment(data, received, cipher))
        assert (result is None) == (i < len(frags) - 1)
    assert result is not None and result.encrypted == msg.encrypted


def test_small_message_is_not_fragmented():
    cipher = cipher_for(*SUITES[2])
    frags = fragment(auth_message(), cipher, counter_ivs(cipher))
    assert len(frags) == 1 and isinstance(decode_message(frags[0]).sk, SkPayload)


def _fragments(count_bytes: int, size: int = 400):
    cipher = cipher_for(*SUITES[2])
    msg = Message(header(), (), (KePayload(36, bytes(count_bytes)),))
    raw = fragment(msg, cipher, counter_ivs(cipher), fragment_size=size)
    return [(m, open_fragment(d, m, cipher)) for d in raw for m in [decode_message(d)]]


def test_reassembler_limits():
    frags = _fragments(3000)
    r = Reassembler(1, max_fragments=len(frags) - 1)
    with pytest.raises(DecodeError):
        r.add(*frags[0])
    r = Reassembler(1, max_size=1000)
    with pytest.raises(DecodeError):
        for f in frags:
            r.add(*f)
    with pytest.raises(DecodeError):
        Reassembler(2).add(*frags[0])


def test_reassembler_duplicates_and_totals():
    frags = _fragments(1500)
    r = Reassembler(1)
    assert r.add(*frags[0]) is None
    assert r.add(*frags[0]) is None  # duplicate ignored
    smaller = _fragments(500)
    assert r.add(*smaller[0]) is None  # smaller total: dropped silently
    assert r.total == len(frags)
    for f in frags[1:-1]:
        assert r.add(*f) is None
    assert r.add(*frags[-1]) is not None
