"""ESP encap/decap: round trips for every transform, published and lab-captured vectors, tampering."""

from __future__ import annotations

import pytest

from vicid.datapath.esp import EspCrypto, EspError, decap, decode_header, encap, padding_length
from vicid.ike.effects import SaKeys
from vicid.ike.wire.enums import EncrAlg as E
from vicid.ike.wire.enums import IntegAlg as I
from vicid.secrets import Secret

from .helpers import VECTORS, ipv4, ipv6, keys, read_vector

TRANSFORMS = [
    (E.AES_GCM_8, 0, 128), (E.AES_GCM_12, 0, 192), (E.AES_GCM_16, 0, 256), (E.AES_GCM_16, 0, 128),
    (E.AES_CCM_8, 0, 128), (E.AES_CCM_16, 0, 256), (E.CHACHA20_POLY1305, 0, 0), (E.NULL_AES_GMAC, 0, 128),
    (E.AES_CBC, I.HMAC_SHA2_256_128, 128), (E.AES_CBC, I.HMAC_SHA2_384_192, 192),
    (E.AES_CBC, I.HMAC_SHA2_512_256, 256), (E.AES_CBC, I.HMAC_SHA1_96, 128), (E.AES_CBC, I.HMAC_MD5_96, 128),
    (E.AES_CTR, I.HMAC_SHA2_256_128, 128), (E.NULL, I.HMAC_SHA2_256_128, 0),
]
IDS = [f"{E(e).name}-{bits}-{I(i).name}" for e, i, bits in TRANSFORMS]
INNER = [ipv4("203.0.113.1", "198.51.100.1"), ipv6("2001:db8:1::1", "2001:db8:2::1"), b"", b"\x45" * 1]


@pytest.mark.parametrize("esn", [False, True], ids=["seq32", "esn"])
@pytest.mark.parametrize(("encr", "integ", "bits"), TRANSFORMS, ids=IDS)
def test_round_trip(encr, integ, bits, esn):
    crypto = EspCrypto(keys(encr, integ, bits, esn))
    for n, inner in enumerate(INNER):
        seq = (7 << 32 | 0xFFFFFFF0) + n if esn else 1000 + n
        iv = bytes(range(crypto.iv_size)) if crypto.needs_random_iv else crypto.counter_iv(seq)
        packet = encap(crypto, 0xC0DE0001, seq, inner, 4, iv)
        assert decode_header(packet) == (0xC0DE0001, seq & 0xFFFFFFFF)
        # RFC 4303 §2.4: the ICV starts on a 4-byte boundary
        assert (len(packet) - crypto.icv_size) % 4 == 0
        out = decap(crypto, packet, seq)
        assert (out.data, out.next_header, out.seq) == (inner, 4, seq)
        assert out.pad_length == padding_length(crypto, len(inner))


@pytest.mark.parametrize(("encr", "integ", "bits"), TRANSFORMS, ids=IDS)
def test_esn_high_bits_are_authenticated(encr, integ, bits):
    crypto = EspCrypto(keys(encr, integ, bits, esn=True))
    seq = 3 << 32 | 5
    packet = encap(crypto, 1, seq, b"\x45payload", 4, bytes(crypto.iv_size) if crypto.needs_random_iv
                   else crypto.counter_iv(seq))
    with pytest.raises(EspError) as err:
        decap(crypto, packet, 2 << 32 | 5)  # same low half on the wire, wrong guess of the high half
    assert err.value.reason == "auth"


@pytest.mark.parametrize(("encr", "integ", "bits"), TRANSFORMS, ids=IDS)
def test_every_tampered_byte_fails_authentication(encr, integ, bits):
    crypto = EspCrypto(keys(encr, integ, bits))
    iv = bytes(crypto.iv_size) if crypto.needs_random_iv else crypto.counter_iv(9)
    packet = encap(crypto, 0x1234, 9, ipv4("203.0.113.1", "198.51.100.1"), 4, iv)
    for pos in range(len(packet)):
        bad = bytearray(packet)
        bad[pos] ^= 0x01
        with pytest.raises(EspError) as err:
            decap(crypto, bytes(bad), 9 if pos >= 8 else decode_header(bytes(bad))[1])
        assert err.value.reason in ("auth", "malformed")


def test_wrong_key_and_truncation():
    crypto = EspCrypto(keys(E.AES_GCM_16, bits=256, seed=1))
    other = EspCrypto(keys(E.AES_GCM_16, bits=256, seed=2))
    packet = encap(crypto, 1, 1, b"\x45abc", 4, crypto.counter_iv(1))
    with pytest.raises(EspError, match="auth"):
        decap(other, packet, 1)
    for cut in (0, 4, 8, 8 + 8 + 16, 8 + 8 + 16 + 1):
        with pytest.raises(EspError) as err:
            decap(crypto, packet[:cut], 1)
        assert err.value.reason == "malformed"
    with pytest.raises(EspError, match="malformed"):
        decode_header(b"\0\0\0")


def test_cbc_ciphertext_must_be_whole_blocks():
    crypto = EspCrypto(keys(E.AES_CBC, I.HMAC_SHA2_256_128, 128))
    packet = encap(crypto, 1, 1, b"\x45" * 20, 4, bytes(16))
    bad = packet[:40] + packet[41:]
    with pytest.raises(EspError, match="malformed"):
        decap(crypto, bad, 1)


def test_authenticated_but_bad_padding_is_dropped():
    crypto = EspCrypto(keys(E.AES_GCM_16, bits=128))
    header = (0x55).to_bytes(4, "big") + (3).to_bytes(4, "big")
    for trailer in (b"\x01\x09\x02\x04", b"\x00\x00\x07\x04"):  # wrong pad byte / pad longer than data
        packet = header + crypto.seal(0x55, 3, crypto.counter_iv(3), b"\x45\x00\x00\x00" + trailer)
        with pytest.raises(EspError) as err:
            decap(crypto, packet, 3)
        assert err.value.reason == "padding"


def test_unsupported_or_inconsistent_keys_are_refused():
    with pytest.raises(EspError, match="unsupported"):
        EspCrypto(SaKeys(E.CAMELLIA_CBC, 128, Secret(bytes(16)), I.HMAC_SHA2_256_128, Secret(bytes(32))))
    with pytest.raises(EspError, match="unsupported"):
        EspCrypto(SaKeys(E.AES_CBC, 128, Secret(bytes(16)), I.HMAC_SHA2_256_128, Secret(bytes(8))))
    with pytest.raises(EspError, match="unsupported"):
        EspCrypto(SaKeys(E.AES_GCM_16, 128, Secret(bytes(20)), I.HMAC_SHA2_256_128, Secret(bytes(32))))
    with pytest.raises(EspError, match="unsupported"):
        EspCrypto(SaKeys(E.AES_GCM_16, 128, Secret(bytes(19)), 0, None))


def test_repr_shows_no_key():
    crypto = EspCrypto(keys(E.AES_CBC, I.HMAC_SHA2_256_128, 128))
    assert "AES_CBC" in repr(crypto) and "0102" not in repr(crypto)


# --- published and captured vectors -----------------------------------------------------------

def test_rfc7634_appendix_a_esp_example():
    v = read_vector(VECTORS / "esp-rfc7634-appendix-a.txt")
    crypto = EspCrypto(SaKeys(int(v["encr_alg"]), 256, Secret(bytes.fromhex(v["keymat"])), 0, None))
    esp, inner = bytes.fromhex(v["esp"]), bytes.fromhex(v["inner"])
    spi, seq = int(v["spi"], 16), int(v["seq"])
    assert encap(crypto, spi, seq, inner, int(v["next_header"]), bytes.fromhex(v["iv"])) == esp
    out = decap(crypto, esp, seq)
    assert (out.data, out.next_header, out.pad_length) == (inner, 4, 2)


CHARON = sorted(VECTORS.glob("esp-charon61-*.txt"))


@pytest.mark.parametrize("path", CHARON, ids=lambda p: p.stem)
@pytest.mark.parametrize("way", ["i2r", "r2i"])
def test_charon61_capture(path, way):
    """charon's ESP decrypts to the ping and re-encrypts bit for bit given its IV and seq."""
    v = read_vector(path)
    side = way[0]
    encr, integ = int(v["encr_alg"]), int(v["integ_alg"])
    integ_key = Secret(bytes.fromhex(v[f"integ_{side}"])) if integ else None
    crypto = EspCrypto(SaKeys(encr, 0, Secret(bytes.fromhex(v[f"encr_{side}"])), integ, integ_key))
    packet = bytes.fromhex(v[f"packet_{way}"])
    spi, seq = decode_header(packet)
    assert spi == int(v[f"spi_{way}"], 16) and seq == 1
    out = decap(crypto, packet, seq)
    assert out.next_header == 4
    inner = out.data
    # an ICMP echo between the lab's inner addresses, 84 bytes as ping's default
    src, dst = ("203.0.113.1", "198.51.100.1") if way == "i2r" else ("198.51.100.1", "203.0.113.1")
    assert len(inner) == 84 and inner[9] == 1
    assert inner[12:16] == bytes(map(int, src.split("."))) and inner[16:20] == bytes(map(int, dst.split(".")))
    assert inner[20] == (8 if way == "i2r" else 0)  # echo request out, echo reply back
    iv = packet[8:8 + crypto.iv_size]
    assert encap(crypto, spi, seq, inner, 4, iv) == packet


def test_charon_vectors_exist():
    assert {p.stem for p in CHARON} >= {"esp-charon61-aes256gcm16", "esp-charon61-aes128-sha256",
                                       "esp-charon61-chacha20poly1305"}
