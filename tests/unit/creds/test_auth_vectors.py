"""Signature AUTH vectors captured from charon 6.1 in the lab (tests/vectors/auth-charon61-*.txt,
written by tests/interop/test_capture_auth_vectors.py; provenance in each file's header).

For RSA-PSS, ECDSA P-256, Ed25519 and RSA PKCS#1 v1.5: vicid parses charon's AUTH data to the
scheme charon logged, verifies charon's signature over charon's octets with the certificate's
key, rebuilds the octets itself from their parts (IKE_SA_INIT request, Nr, SK_pi, IDi'), and
for the deterministic schemes signs them to the very same AUTH data.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from vicid.ike.crypto import signature as sig
from vicid.ike.crypto.auth import signed_octets
from vicid.ike.wire.enums import PrfAlg
from vicid.ike.wire.payloads import IdiPayload
from vicid.secrets import Secret

VECTORS = Path(__file__).resolve().parents[2] / "vectors"
KINDS = ["rsa-pss", "ecdsa-p256", "ed25519", "rsa-pkcs1"]
DETERMINISTIC = {"ed25519", "rsa-pkcs1"}
PRF_LEN = 64  # PRF_HMAC_SHA2_512


def load(kind: str) -> dict[str, str]:
    fields = {}
    for line in (VECTORS / f"auth-charon61-{kind}.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            key, value = line.split(" = ", 1)
            fields[key] = value
    return fields


@pytest.mark.parametrize("kind", KINDS)
def test_charon_signature_verifies(kind):
    v = load(kind)
    cert = x509.load_der_x509_certificate(bytes.fromhex(v["cert"]))
    octets, auth = bytes.fromhex(v["octets"]), bytes.fromhex(v["auth"])
    scheme, signature = sig.parse_auth_data(auth)
    assert scheme.log_name() == v["scheme"]
    assert sig.algorithm_identifier(scheme) == auth[1 : 1 + auth[0]]  # we would send the same identifier
    assert sig.verify(cert.public_key(), scheme, octets, signature)
    assert not sig.verify(cert.public_key(), scheme, octets[:-1] + bytes([octets[-1] ^ 1]), signature)


@pytest.mark.parametrize("kind", KINDS)
def test_signed_octets_are_rebuilt(kind):
    v = load(kind)
    octets, nonces = bytes.fromhex(v["octets"]), bytes.fromhex(v["nonces"])
    ni, nr = nonces[: len(nonces) // 2], nonces[len(nonces) // 2 :]
    message = octets[: len(octets) - len(nr) - PRF_LEN]
    assert message[18] == 34 and ni in message  # charon's IKE_SA_INIT request, carrying Ni
    ours = signed_octets(
        PrfAlg.PRF_HMAC_SHA2_512, message, nr, Secret(bytes.fromhex(v["sk_pi"])), IdiPayload(2, b"carol.example.org")
    )
    assert ours == octets


@pytest.mark.parametrize("kind", sorted(DETERMINISTIC))
def test_deterministic_signature_is_reproduced(kind):
    v = load(kind)
    key = serialization.load_der_private_key(bytes.fromhex(v["key"]), None)
    scheme, _ = sig.parse_auth_data(bytes.fromhex(v["auth"]))
    ours = sig.build_auth_data(scheme, sig.sign(key, scheme, bytes.fromhex(v["octets"])))
    assert ours.hex() == v["auth"]
