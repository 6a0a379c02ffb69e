"""FIPS 203 known answers for ML-KEM-512/768/1024 through every backend that can take them.

cryptography derives keys from the 64-byte seed d || z, so it runs key generation and
seed-based decapsulation; pqcrypto 1.0 takes no seed, so it runs decapsulation with the
expanded decapsulation key. Neither accepts the encapsulation randomness m: the encapsulation
vectors run against the pure-Python reference double in vicid_plugins.testing.
"""

from __future__ import annotations

import pytest
from vicid_plugins.ml import PqcryptoMlKem
from vicid_plugins.testing import ReferenceMlKem

from tests.plugins.conftest import read_vectors
from vicid.ke import InvalidKeData, KeRegistry, UnsupportedKeMethod

SETS = {35: "ke-mlkem-512.txt", 36: "ke-mlkem-768.txt", 37: "ke-mlkem-1024.txt"}
NAMES = {35: "512", 36: "768", 37: "1024"}


def cases(section: str) -> list:
    return [
        pytest.param(method, case, id=f"{NAMES[method]}-{n}")
        for method, name in SETS.items()
        for n, case in enumerate(read_vectors(name)[section])
    ]


def openssl_or_skip(registry: KeRegistry, method: int, seed: bytes | None = None):
    try:
        return registry.create_from("openssl", method, seed=seed)
    except UnsupportedKeMethod:
        pytest.skip(f"the linked OpenSSL/cryptography has no ML-KEM {NAMES[method]}")


@pytest.mark.parametrize(("method", "case"), cases("keygen"))
def test_keygen_openssl(registry: KeRegistry, method: int, case: dict) -> None:
    ke = openssl_or_skip(registry, method, bytes.fromhex(case["d"] + case["z"]))
    assert ke.public_value().hex() == case["ek"]


@pytest.mark.parametrize(("method", "case"), cases("keygen"))
def test_keygen_reference(method: int, case: dict) -> None:
    ke = ReferenceMlKem(method, seed=bytes.fromhex(case["d"] + case["z"]))
    assert ke.public_value().hex() == case["ek"]


@pytest.mark.parametrize(("method", "case"), cases("encaps"))
def test_encaps_reference(method: int, case: dict) -> None:
    # The responder role: encapsulation key in, ciphertext out, with m from the vector.
    ke = ReferenceMlKem(method, seed=bytes.fromhex(case["m"]))
    ke.set_peer_value(bytes.fromhex(case["ek"]))
    assert ke.public_value().hex() == case["c"]
    assert ke.shared_secret().reveal().hex() == case["k"]


def decaps_dk_cases() -> list:
    params = []
    for method, name in SETS.items():
        dk_case, *ct_cases = read_vectors(name)["decaps-dk"]
        for n, case in enumerate(ct_cases):
            params.append(pytest.param(method, dk_case["dk"], case, id=f"{NAMES[method]}-{n}"))
    return params


@pytest.mark.parametrize(("method", "dk", "case"), decaps_dk_cases())
def test_decaps_pqcrypto(method: int, dk: str, case: dict) -> None:
    ke = PqcryptoMlKem.with_decaps_key(method, bytes.fromhex(dk))
    ke.set_peer_value(bytes.fromhex(case["c"]))
    assert ke.shared_secret().reveal().hex() == case["k"]


@pytest.mark.parametrize(("method", "dk", "case"), decaps_dk_cases())
def test_decaps_reference_dk(method: int, dk: str, case: dict) -> None:
    ke = ReferenceMlKem.with_decaps_key(method, bytes.fromhex(dk))
    ke.set_peer_value(bytes.fromhex(case["c"]))
    assert ke.shared_secret().reveal().hex() == case["k"]


@pytest.mark.parametrize(("method", "case"), cases("decaps-seed"))
def test_decaps_openssl(registry: KeRegistry, method: int, case: dict) -> None:
    ke = openssl_or_skip(registry, method, bytes.fromhex(case["seed"]))
    assert ke.public_value().hex() == case["ek"]  # initiator: KeyGen from d || z
    ke.set_peer_value(bytes.fromhex(case["c"]))  # then Decaps
    assert ke.shared_secret().reveal().hex() == case["k"]


@pytest.mark.parametrize(("method", "case"), cases("decaps-seed"))
def test_decaps_reference_seed(method: int, case: dict) -> None:
    ke = ReferenceMlKem(method, seed=bytes.fromhex(case["seed"]))
    assert ke.public_value().hex() == case["ek"]
    ke.set_peer_value(bytes.fromhex(case["c"]))
    assert ke.shared_secret().reveal().hex() == case["k"]


@pytest.mark.parametrize(("method", "case"), cases("bad-ciphertext"))
@pytest.mark.parametrize("plugin", ["openssl", "ml"])
def test_bad_ciphertext_length_rejected(registry: KeRegistry, plugin: str, method: int, case: dict) -> None:
    if plugin == "openssl":
        ke = openssl_or_skip(registry, method, bytes.fromhex(case["seed"]))
    else:
        ke = registry.create_from(plugin, method)
    ke.public_value()
    with pytest.raises(InvalidKeData, match="ciphertext"):
        ke.set_peer_value(bytes.fromhex(case["c"]))


@pytest.mark.parametrize(("method", "case"), cases("bad-ek"))
@pytest.mark.parametrize("plugin", ["openssl", "ml"])
def test_bad_encapsulation_key_rejected(registry: KeRegistry, plugin: str, method: int, case: dict) -> None:
    # Responder role: a fresh object's first call is set_peer_value(ek).
    ke = openssl_or_skip(registry, method) if plugin == "openssl" else registry.create_from(plugin, method)
    ek = bytes.fromhex(case["ek"])
    # a key of the right length fails the modulus check, and the error says so for both
    # plugins (OpenSSL's own rejection does not name the reason)
    reason = "modulus check" if len(ek) == ke.encaps_key_size else "encapsulation key"
    with pytest.raises(InvalidKeData, match=reason):
        ke.set_peer_value(ek)
    assert ke.role == "fresh"  # nothing was encapsulated
