from __future__ import annotations

import pytest

from tests.unit.crypto.vectors import load
from vicid.ike.crypto.prf import MAX_PRF_PLUS_BLOCKS, prf, prf_plus, skeyseed
from vicid.ike.wire.enums import PrfAlg
from vicid.secrets import Secret

PRF_FILES = ["prf_hmac_sha1.txt", "prf_hmac_sha2.txt", "prf_aes_xcbc.txt", "prf_aes_cmac.txt"]
PRF_VECTORS = [v for f in PRF_FILES for v in load(f)]
KDF_VECTORS = load("ikev2_kdf_cavp.txt")


@pytest.mark.parametrize("v", PRF_VECTORS, ids=lambda v: v["name"])
def test_prf_published_vectors(v):
    alg = PrfAlg[v["alg"]]
    assert prf(alg, bytes.fromhex(v["key"]), bytes.fromhex(v["data"])).hex() == v["out"]


def test_vector_files_cover_variable_keys():
    names = {v["name"] for v in PRF_VECTORS}
    assert {"aes_xcbc_p6", "aes_xcbc_p7"} <= names  # RFC 4434 10- and 18-byte keys
    assert len([v for v in PRF_VECTORS if v["alg"] == "PRF_AES128_CMAC" and len(v["key"]) != 32]) == 2


@pytest.mark.parametrize("v", [v for v in KDF_VECTORS if v["alg"].startswith("KDF_PRF:")],
                         ids=lambda v: v["name"])
def test_skeyseed_cavp(v):
    """SP 800-135 IKEv2: SKEYSEED = prf(Ni | Nr, g^ir); data holds Ni | Nr."""
    alg = PrfAlg[v["alg"].split(":")[1]]
    nonces = bytes.fromhex(v["data"])
    half = len(nonces) // 2
    seed = skeyseed(alg, Secret(bytes.fromhex(v["key"])), nonces[:half], nonces[half:])
    assert seed.reveal().hex() == v["out"]


@pytest.mark.parametrize("v", [v for v in KDF_VECTORS if v["alg"].startswith("KDF_PRF_PLUS:")],
                         ids=lambda v: v["name"])
def test_prf_plus_cavp(v):
    alg = PrfAlg[v["alg"].split(":")[1]]
    out = bytes.fromhex(v["out"])
    assert prf_plus(alg, bytes.fromhex(v["key"]), bytes.fromhex(v["data"]), len(out)) == out


def test_prf_plus_structure_and_limit():
    alg = PrfAlg.PRF_HMAC_SHA2_256
    t1 = prf(alg, b"k", b"seed\x01")
    t2 = prf(alg, b"k", t1 + b"seed\x02")
    assert prf_plus(alg, b"k", b"seed", 40) == (t1 + t2)[:40]
    assert len(prf_plus(alg, b"k", b"s", 32 * MAX_PRF_PLUS_BLOCKS)) == 32 * 255
    with pytest.raises(ValueError):
        prf_plus(alg, b"k", b"s", 32 * 255 + 1)


def test_fixed_key_prf_truncates_nonces_for_skeyseed():
    ni, nr = bytes(range(32)), bytes(range(100, 132))
    got = skeyseed(PrfAlg.PRF_AES128_XCBC, Secret(b"gir"), ni, nr)
    assert got.reveal() == prf(PrfAlg.PRF_AES128_XCBC, ni[:8] + nr[:8], b"gir")
    got = skeyseed(PrfAlg.PRF_HMAC_SHA2_256, Secret(b"gir"), ni, nr)
    assert got.reveal() == prf(PrfAlg.PRF_HMAC_SHA2_256, ni + nr, b"gir")
