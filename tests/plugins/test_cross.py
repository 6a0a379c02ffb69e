"""Cross-implementation exchanges: each side of an exchange runs a different plugin.

Every method two plugins provide is covered in both directions: ML-KEM (ml/pqcrypto,
openssl/cryptography, and the pure-Python reference double) and MODP 14-18 (openssl, dh).
"""

from __future__ import annotations

import pytest
from vicid_plugins import dh, ml, openssl, testing

from tests.plugins.conftest import FakeSettings
from vicid.ke import KeRegistry, KeyExchange


def exchange(initiator: KeyExchange, responder: KeyExchange) -> None:
    """The engine's order: KEi, then the responder's reply, then both secrets."""
    responder.set_peer_value(initiator.public_value())
    initiator.set_peer_value(responder.public_value())
    assert initiator.shared_secret() == responder.shared_secret()


def registry_with(ansi: str) -> KeRegistry:
    plugins = {"openssl": openssl.PLUGIN, "ml": ml.PLUGIN, "dh": dh.PLUGIN, "testing": testing.PLUGIN}
    return KeRegistry.from_plugins(FakeSettings({"charon.dh_exponent_ansi_x9_42": ansi}), plugins)


@pytest.fixture(scope="module")
def reg() -> KeRegistry:
    return registry_with("yes")


def kem_pairs(reg: KeRegistry, method: int) -> list[tuple[str, str]]:
    names = reg.providers(method)
    return [(a, b) for a in names for b in names if a != b]


@pytest.mark.parametrize("method", [35, 36, 37])
def test_mlkem_between_plugins(reg: KeRegistry, method: int) -> None:
    pairs = kem_pairs(reg, method)
    assert ("ml", "testing") in pairs  # at least two implementations on every machine
    for a, b in pairs:
        for n in range(8):
            seed = b"cross-%d" % n
            ini = reg.create_from(a, method, seed=seed if a == "testing" else None)
            res = reg.create_from(b, method, seed=seed if b == "testing" else None)
            exchange(ini, res)


@pytest.mark.parametrize("method", [36, 37])
def test_mlkem_seeded_keygen_agrees(reg: KeRegistry, method: int) -> None:
    """openssl (from_seed_bytes) and the reference derive the same ek from one seed."""
    if "openssl" not in reg.providers(method):
        pytest.skip("no ML-KEM in this OpenSSL")
    for n in range(5):
        seed = b"keygen-%d" % n
        assert reg.create_from("openssl", method, seed=seed).public_value() == \
            reg.create_from("testing", method, seed=seed).public_value()


# Pure-Python pow() with full-length exponents costs seconds for 6144/8192 bits, so the
# number of seeds shrinks with the group; short exponents get more.
SEEDS = {("yes", 14): 4, ("yes", 15): 2, ("yes", 16): 1, ("yes", 17): 1, ("yes", 18): 1,
         ("no", 14): 16, ("no", 15): 8, ("no", 16): 6, ("no", 17): 3, ("no", 18): 2}


@pytest.mark.parametrize("ansi", ["yes", "no"])
@pytest.mark.parametrize("method", [14, 15, 16, 17, 18])
def test_modp_between_openssl_and_dh(method: int, ansi: str) -> None:
    reg = registry_with(ansi)
    assert {"openssl", "dh"} <= set(reg.providers(method))
    for n in range(SEEDS[ansi, method]):
        seed_i, seed_r = b"i-%d" % n, b"r-%d" % n
        # Same seed, same exponent rule: both plugins must produce the same public value.
        a = reg.create_from("openssl", method, seed=seed_i)
        b = reg.create_from("dh", method, seed=seed_i)
        assert a.public_value() == b.public_value()
        exchange(a, reg.create_from("dh", method, seed=seed_r))
        exchange(b, reg.create_from("openssl", method, seed=seed_r))


@pytest.mark.parametrize("method", [14, 15])
def test_modp_unseeded_between_openssl_and_dh(method: int) -> None:
    for ansi in ("yes", "no"):
        reg = registry_with(ansi)
        exchange(reg.create_from("openssl", method), reg.create_from("dh", method))
        exchange(reg.create_from("dh", method), reg.create_from("openssl", method))
