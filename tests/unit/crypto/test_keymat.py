from __future__ import annotations

import pytest

from tests.unit.crypto.vectors import load
from vicid.ike.crypto import keymat
from vicid.ike.crypto.prf import prf, prf_plus
from vicid.ike.wire.enums import EncrAlg, IntegAlg, PrfAlg
from vicid.secrets import Secret

CAVP = {v["name"]: v for v in load("ikev2_kdf_cavp.txt")}
GCM256 = keymat.IkeSuite(EncrAlg.AES_GCM_16, 256, PrfAlg.PRF_HMAC_SHA2_256)
CBC = keymat.IkeSuite(EncrAlg.AES_CBC, 128, PrfAlg.PRF_HMAC_SHA2_256, IntegAlg.HMAC_SHA1_96)
NI, NR = b"\x01" * 32, b"\x02" * 32
SPI_I, SPI_R = b"\xaa" * 8, b"\xbb" * 8


def _concat(keys: keymat.IkeKeys) -> bytes:
    return b"".join(getattr(keys, f).reveal() for f in
                    ("sk_d", "sk_ai", "sk_ar", "sk_ei", "sk_er", "sk_pi", "sk_pr"))


@pytest.mark.parametrize("n,alg", [(1, "sha256"), (2, "sha256"), (1, "sha384"), (2, "sha384"),
                                   (1, "sha512"), (2, "sha512")])
def test_cavp_chain_g_ir_to_sk_keys(n, alg):
    """Known answer for the whole initial chain: the CAVP SKEYSEED output is the key of the
    matching prf+ vector and its Ni | Nr start the prf+ seed, followed by SPIi | SPIr."""
    seed_v, plus_v = CAVP[f"prf_{alg}_{n}"], CAVP[f"prf_plus_{alg}_{n}"]
    nonces, seed = bytes.fromhex(seed_v["data"]), bytes.fromhex(plus_v["data"])
    assert seed.startswith(nonces) and plus_v["key"] == seed_v["out"]
    spis = seed[len(nonces):]
    suite = keymat.IkeSuite(EncrAlg.AES_CBC, 128, PrfAlg[seed_v["alg"].split(":")[1]],
                            IntegAlg.HMAC_SHA1_96)
    half = len(nonces) // 2
    keys = keymat.initial_ike_keys(suite, Secret(bytes.fromhex(seed_v["key"])),
                                   nonces[:half], nonces[half:], spis[:8], spis[8:])
    dkm = bytes.fromhex(plus_v["out"])
    stream = _concat(keys)
    common = min(len(stream), len(dkm))
    assert stream[:common] == dkm[:common]


def test_key_sizes():
    assert keymat.ike_key_sizes(GCM256) == (32, 0, 36)
    assert keymat.ike_key_sizes(CBC) == (32, 20, 16)
    chacha = keymat.IkeSuite(EncrAlg.CHACHA20_POLY1305, None, PrfAlg.PRF_HMAC_SHA2_512)
    assert keymat.ike_key_sizes(chacha) == (64, 0, 36)
    assert keymat.ike_key_sizes(keymat.IkeSuite(EncrAlg.AES_CCM_16, 128, PrfAlg.PRF_AES128_XCBC)) == (16, 0, 19)
    with pytest.raises(ValueError):
        keymat.ike_key_sizes(keymat.IkeSuite(EncrAlg.AES_CBC, 100, PrfAlg.PRF_HMAC_SHA1, 2))


def test_initial_split_order():
    keys = keymat.initial_ike_keys(CBC, Secret(b"g" * 32), NI, NR, SPI_I, SPI_R)
    sk = prf(PrfAlg.PRF_HMAC_SHA2_256, NI + NR, b"g" * 32)
    stream = prf_plus(PrfAlg.PRF_HMAC_SHA2_256, sk, NI + NR + SPI_I + SPI_R, 32 * 3 + 40 + 32)
    assert _concat(keys) == stream
    assert keys.sk_ai.reveal() == stream[32:52] and keys.sk_pr.reveal() == stream[-32:]
    assert "g" * 8 not in repr(keys) and "secret" in repr(keys)


def test_additional_ke_update_rfc9370():
    k0 = keymat.initial_ike_keys(GCM256, Secret(b"x" * 32), NI, NR, SPI_I, SPI_R)
    k1 = keymat.additional_ke_keys(GCM256, k0, Secret(b"m" * 32), NI, NR, SPI_I, SPI_R)
    seed = prf(GCM256.prf, k0.sk_d.reveal(), b"m" * 32 + NI + NR)
    assert _concat(k1) == prf_plus(GCM256.prf, seed, NI + NR + SPI_I + SPI_R, 32 * 3 + 72)


def test_ike_rekey_uses_old_prf_and_all_secrets():
    old = keymat.initial_ike_keys(CBC, Secret(b"x" * 32), NI, NR, SPI_I, SPI_R)
    new_suite = keymat.IkeSuite(EncrAlg.AES_GCM_16, 128, PrfAlg.PRF_HMAC_SHA2_384)
    s0, s1, s2 = Secret(b"a" * 32), Secret(b"b" * 32), Secret(b"c" * 32)
    ni, nr, spi_i, spi_r = b"\x03" * 32, b"\x04" * 32, b"\x05" * 8, b"\x06" * 8
    new = keymat.rekeyed_ike_keys(new_suite, old, (s0, s1, s2), ni, nr, spi_i, spi_r)
    seed = prf(CBC.prf, old.sk_d.reveal(), b"a" * 32 + ni + nr + b"b" * 32 + b"c" * 32)
    stream = prf_plus(CBC.prf, seed, ni + nr + spi_i + spi_r, 48 * 3 + 40)
    assert _concat(new) == stream and new.prf == PrfAlg.PRF_HMAC_SHA2_384
    assert len(new.sk_d) == 48


def test_child_keymat():
    sk_d = Secret(b"d" * 32)
    suite = keymat.ChildSuite(EncrAlg.AES_CBC, 256, IntegAlg.HMAC_SHA2_256_128)
    keys = keymat.derive_child_keys(suite, PrfAlg.PRF_HMAC_SHA2_256, sk_d, NI, NR)
    stream = prf_plus(PrfAlg.PRF_HMAC_SHA2_256, b"d" * 32, NI + NR, 128)
    assert (keys.encr_i.reveal(), keys.integ_i.reveal()) == (stream[:32], stream[32:64])
    assert (keys.encr_r.reveal(), keys.integ_r.reveal()) == (stream[64:96], stream[96:])
    gcm = keymat.ChildSuite(EncrAlg.AES_GCM_16, 128)
    multi = keymat.derive_child_keys(gcm, PrfAlg.PRF_HMAC_SHA2_256, sk_d, NI, NR,
                                     (Secret(b"0"), Secret(b"1"), Secret(b"2")))
    stream = prf_plus(PrfAlg.PRF_HMAC_SHA2_256, b"d" * 32, b"0" + NI + NR + b"12", 40)
    assert multi.encr_i.reveal() + multi.encr_r.reveal() == stream and len(multi.integ_i) == 0


def test_ciphers_pair_up():
    keys = keymat.initial_ike_keys(CBC, Secret(b"g" * 32), NI, NR, SPI_I, SPI_R)
    i_out, i_in = keymat.ike_sk_ciphers(CBC, keys, initiator=True)
    r_out, r_in = keymat.ike_sk_ciphers(CBC, keys, initiator=False)
    assert r_in.open(b"aad", bytes(16), i_out.seal(b"aad", bytes(16), bytes(32))) == bytes(32)
    assert i_in.open(b"aad", bytes(16), r_out.seal(b"aad", bytes(16), bytes(32))) == bytes(32)
    assert keys.sk_ei.reveal().hex() not in repr(i_out)
