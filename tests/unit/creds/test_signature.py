"""RFC 7427 AUTH data and signature AUTH octets (``vicid.ike.crypto.signature``).

The AlgorithmIdentifier encodings are the ones RFC 7427 Appendix A and RFC 8420 list; charon
6.1 sends exactly these (``signature_params_build``)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from tests.unit.creds.pki import keygen
from vicid.ike.crypto import signature as sig
from vicid.ike.crypto.auth import signed_octets
from vicid.ike.wire.enums import AuthMethod, PrfAlg
from vicid.ike.wire.payloads import IdiPayload
from vicid.secrets import Secret

VECTORS = [  # RFC 7427 A.1.1-A.1.3, A.3.1, A.4.3; RFC 8420 §2
    (sig.RSA_SHA256, "300d06092a864886f70d01010b0500"),
    (sig.RSA_SHA384, "300d06092a864886f70d01010c0500"),
    (sig.RSA_SHA512, "300d06092a864886f70d01010d0500"),
    (sig.ECDSA_SHA256_DER, "300a06082a8648ce3d040302"),
    (sig.ECDSA_SHA384_DER, "300a06082a8648ce3d040303"),
    (sig.ECDSA_SHA512_DER, "300a06082a8648ce3d040304"),
    (sig.pss(sig.HASH_SHA256), "3041" "06092a864886f70d01010a" "3034"
     "a00f300d06096086480165030402010500" "a11c301a06092a864886f70d010108300d06096086480165030402010500"
     "a203020120"),
    (sig.ED25519, "300506032b6570"),
    (sig.ED448, "300506032b6571"),
]


@pytest.mark.parametrize("scheme,der", VECTORS, ids=lambda v: getattr(v, "name", "der"))
def test_algorithm_identifiers(scheme, der):
    assert sig.algorithm_identifier(scheme).hex() == der
    data = sig.build_auth_data(scheme, b"\x01\x02")
    assert data[0] == len(bytes.fromhex(der))
    parsed, signature = sig.parse_auth_data(data)
    assert (parsed.name, parsed.hash_id, parsed.salt_len, signature) == (scheme.name, scheme.hash_id,
                                                                          scheme.salt_len, b"\x01\x02")


@pytest.mark.parametrize("bad", [b"", b"\x20\x30", bytes.fromhex("0a300806062a864886f70d"),
                                 bytes.fromhex("07300506032b6599")])
def test_invalid_auth_data(bad):
    with pytest.raises(sig.SignatureError):
        sig.parse_auth_data(bad)


OCTETS_INPUT = dict(real_message=bytes(range(64)), peer_nonce=b"\x55" * 32, sk_p=Secret(b"\x11" * 64),
                    id_payload=IdiPayload(2, b"carol.example.org"))


def test_ed25519_auth_known_answer():
    """RFC 8032 test key 1 signing the AUTH octets: Ed25519 is deterministic."""
    key = ed25519.Ed25519PrivateKey.from_private_bytes(bytes.fromhex(
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"))
    octets = signed_octets(PrfAlg.PRF_HMAC_SHA2_512, **OCTETS_INPUT)
    assert octets[:64] == bytes(range(64)) and len(octets) == 64 + 32 + 64
    data = sig.build_auth_data(sig.ED25519, sig.sign(key, sig.ED25519, octets))
    assert data[:8].hex() == "07300506032b6570"
    assert sig.verify(key.public_key(), sig.ED25519, octets, data[8:])
    assert not sig.verify(key.public_key(), sig.ED25519, octets + b"x", data[8:])
    assert data == sig.build_auth_data(sig.ED25519, sig.sign(key, sig.ED25519, octets))


@pytest.mark.parametrize("kind", ["rsa", "p256", "p384", "p521", "ed25519", "ed448"])
def test_sign_verify_every_default_scheme(kind):
    key = keygen(kind)
    octets = signed_octets(PrfAlg.PRF_HMAC_SHA2_256, **OCTETS_INPUT)
    schemes = sig.select_schemes(key, {2, 3, 4, 5})
    assert schemes
    for scheme in schemes:
        signature = sig.sign(key, scheme, octets)
        assert sig.verify(key.public_key(), scheme, octets, signature)
        assert not sig.verify(keygen(kind).public_key(), scheme, octets, signature)


def test_scheme_selection_follows_charon():
    rsa2048, p384 = keygen("rsa"), keygen("p384")
    assert [s.name for s in sig.select_schemes(rsa2048, {2, 3, 4})] == [
        "RSA_EMSA_PKCS1_SHA2_256", "RSA_EMSA_PKCS1_SHA2_384", "RSA_EMSA_PKCS1_SHA2_512"]
    assert [s.log_name() for s in sig.select_schemes(rsa2048, {2, 3, 4}, rsa_pss=True)][:2] == [
        "RSA_EMSA_PSS_SHA2_256_SALT_32", "RSA_EMSA_PSS_SHA2_384_SALT_48"]
    assert [s.name for s in sig.select_schemes(p384, {2, 3, 4})] == ["ECDSA_WITH_SHA384_DER",
                                                                      "ECDSA_WITH_SHA512_DER"]
    assert sig.select_schemes(keygen("ed25519"), {2, 3, 4}) == []  # peer lacks "identity"
    assert sig.classic_scheme(p384) == (AuthMethod.ECDSA_384, sig.ECDSA_384)
    assert sig.classic_scheme(keygen("ed25519")) is None


def test_classic_ecdsa_is_raw_r_s():
    key = keygen("p256")
    signature = sig.sign(key, sig.ECDSA_256, b"octets")
    assert len(signature) == 64 and sig.verify(key.public_key(), sig.ECDSA_256, b"octets", signature)
    assert not sig.verify(keygen("p384").public_key(), sig.ECDSA_256, b"octets", signature)


def test_constraints_parse_like_charon():
    plain, ike = sig.parse_constraints("rsa/pss-sha256")
    assert [s.log_name() for s in ike] == ["RSA_EMSA_PSS_SHA2_256_SALT_32"]
    plain, ike = sig.parse_constraints("ecdsa-sha384-ike:ecdsa-sha256")
    assert [s.name for s in plain] == ["ECDSA_WITH_SHA384_DER", "ECDSA-384"]
    assert [s.name for s in ike] == ["ECDSA_WITH_SHA256_DER", "ECDSA-256"]
    assert [s.name for s in sig.parse_constraints("pubkey-identity")[1]] == ["ED25519", "ED448"]
