"""ML-DSA (FIPS 204) certificates in IKE_AUTH, vicid <-> vicid: RFC 7427 digital signatures with
the id-ml-dsa-44/65/87 AlgorithmIdentifier (no parameters; draft-ietf-ipsecme-ikev2-pqc-auth,
RFC 9881 for the certificates), pure ML-DSA with an empty context over the AUTH octets, a chain
signed with ML-DSA, and keys loaded over vici with type ``any`` as swanctl sends PKCS#8 keys.
(charon 6.1 in the lab cannot load ML-DSA credentials: tests/interop/test_mldsa_charon.py.)"""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import pytest

from tests.exchange.test_pubkey import Lab, messages
from tests.unit.creds.pki import ca, issue, keygen
from vicid.creds.store import public_key_id
from vicid.ike.crypto import signature as sig
from vicid.ike.settings import EngineSettings
from vicid.vici.commands.creds import load_key
from vicid.vici.dispatcher import Request

# SEQUENCE { OID 2.16.840.1.101.3.4.3.17/18/19 } without parameters
ALG_IDS = {
    "mldsa44": "300b0609608648016503040311",
    "mldsa65": "300b0609608648016503040312",
    "mldsa87": "300b0609608648016503040313",
}
SIG_LEN = {"mldsa44": 2420, "mldsa65": 3309, "mldsa87": 4627}


@pytest.mark.parametrize("kind", list(ALG_IDS))
def test_mldsa_certificates_both_ways(kind):
    """ML-DSA-87 certificate + signature exceed charon's default max_packet (10000 bytes), so
    both ends raise it as strongSwan advises for ML-DSA-87."""
    name = f"ML_DSA_{kind[5:]}"
    big = replace(EngineSettings(), max_packet=20000)
    lab = Lab(kind, carol_ca=ca("vicid ML-DSA CA", kind), carol_settings=big, moon_settings=big)
    lab.run()
    assert lab.established(), messages(lab.moon)[-15:]
    assert f"authentication of 'carol.example.org' with {name} successful" in messages(lab.moon)
    assert f"authentication of 'moon.example.org' with {name} successful" in messages(lab.carol)
    assert sig.algorithm_identifier(getattr(sig, name)).hex() == ALG_IDS[kind]


def test_mldsa_auth_payload_encoding():
    """The AUTH data is ``len | AlgorithmIdentifier | signature`` and verifies over the octets."""
    key = keygen("mldsa65")
    octets = b"signed octets of an IKE_SA_INIT message" * 4
    data = sig.build_auth_data(sig.ML_DSA_65, sig.sign(key, sig.ML_DSA_65, octets))
    assert data[0] == 13 and data[1:14].hex() == ALG_IDS["mldsa65"] and len(data) == 14 + SIG_LEN["mldsa65"]
    scheme, signature = sig.parse_auth_data(data)
    assert scheme == sig.ML_DSA_65 and sig.verify(key.public_key(), scheme, octets, signature)
    assert not sig.verify(keygen("mldsa65").public_key(), scheme, octets, signature)
    assert not sig.verify(key.public_key(), sig.ML_DSA_44, octets, signature)  # key type must match
    assert sig.select_schemes(key, {2, 3, 4}) == []  # the peer must announce Identity (5)
    assert sig.select_schemes(key, {5}) == [sig.ML_DSA_65]


@pytest.mark.parametrize("kind", list(ALG_IDS))
def test_mldsa_key_loads_over_vici_as_any(kind):
    issued = issue("carol.example.org", keygen(kind), ca(kind=kind))
    state = SimpleNamespace(creds=None)
    reply = load_key(state, Request("load-key", {"type": b"any", "data": issued.key_pem()}))
    assert reply == {"success": "yes", "id": public_key_id(issued.key.public_key())}
    (loaded,) = state.creds.keys.values()
    assert loaded.key_type == f"ML_DSA_{kind[5:]}"
    assert issued.key_pem() not in repr(reply).encode() and b"PRIVATE" not in repr(state.creds.keys).encode()


def test_mldsa87_exceeds_the_default_max_packet():
    lab = Lab("mldsa87", carol_ca=ca("vicid ML-DSA CA", "mldsa87"))
    lab.run()
    assert not lab.established()
    assert "message verification failed: reassembled message exceeds 10000 bytes" in messages(lab.moon)
