"""Known answers for the (EC)DH methods: RFC 7748 (X25519/X448), RFC 5903 (ECP 19-21)."""

from __future__ import annotations

import pytest

from tests.plugins.conftest import read_vectors
from vicid.ke import KeRegistry

XDH = [(31, "ke-x25519-rfc7748.txt"), (32, "ke-x448-rfc7748.txt")]


def _xdh_cases(section: str) -> list:
    return [
        pytest.param(method, case, id=f"{method}-{section}-{n}")
        for method, name in XDH
        for n, case in enumerate(read_vectors(name)[section])
    ]


@pytest.mark.parametrize(("method", "case"), _xdh_cases("scalarmult"))
def test_rfc7748_scalar_multiplication(registry: KeRegistry, method: int, case: dict) -> None:
    ke = registry.create_from("openssl", method, seed=bytes.fromhex(case["scalar"]))
    ke.set_peer_value(bytes.fromhex(case["u"]))
    assert ke.shared_secret().reveal().hex() == case["out"]


@pytest.mark.parametrize(("method", "case"), _xdh_cases("dh"))
def test_rfc7748_diffie_hellman(registry: KeRegistry, method: int, case: dict) -> None:
    alice = registry.create(method, seed=bytes.fromhex(case["a"]))
    bob = registry.create(method, seed=bytes.fromhex(case["b"]))
    assert alice.public_value().hex() == case["a_pub"]
    assert bob.public_value().hex() == case["b_pub"]
    # Initiator sends, responder answers, as the engine drives every method.
    bob.set_peer_value(alice.public_value())
    alice.set_peer_value(bob.public_value())
    assert alice.shared_secret() == bob.shared_secret()
    assert alice.shared_secret().reveal().hex() == case["k"]


ECP = [pytest.param(c, id=name) for name, (c,) in read_vectors("ke-ecp-rfc5903.txt").items()]


@pytest.mark.parametrize("case", ECP)
def test_rfc5903_ecp(registry: KeRegistry, case: dict) -> None:
    method = int(case["method"])
    i = registry.create(method, seed=bytes.fromhex(case["i"]))
    r = registry.create(method, seed=bytes.fromhex(case["r"]))
    # KE payload data is X || Y without the SEC1 0x04 octet (RFC 5903 §7).
    assert i.public_value().hex() == case["gix"] + case["giy"]
    assert r.public_value().hex() == case["grx"] + case["gry"]
    r.set_peer_value(i.public_value())
    i.set_peer_value(r.public_value())
    # The shared secret is the x coordinate only (RFC 5903 §9, errata 9).
    assert i.shared_secret().reveal().hex() == case["girx"]
    assert r.shared_secret().reveal().hex() == case["girx"]
