"""Responder config lookup as charon's backend manager ranks it."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import ip_address

import pytest

from tests.exchange.helpers import auth, peer_cfg
from vicid.identity import Identification
from vicid.ike.config import AuthClass, IkeVersion
from vicid.ike.config_match import (
    best_ike_config,
    complies,
    host_quality,
    ike_configs,
    ike_match,
    peer_candidates,
)
from vicid.ike.proposal import parse_proposal
from vicid.ike.wire.enums import ProtocolId

ME, OTHER = (ip_address("192.0.2.2"), 500), (ip_address("192.0.2.3"), 500)
IKE = "aes256gcm16-sha512-x25519"


@pytest.mark.parametrize("addrs,port,quality", [
    ("192.0.2.2", 500, 130), ("192.0.2.2", 4500, 129), ("%any", 500, 2), ("%any6", 500, 0),
    ("192.0.2.0/24", 500, 26), ("192.0.2.0/24, 192.0.2.2", 500, 130), ("10.0.0.0/8", 500, 0),
    ("192.0.2.1-192.0.2.9", 500, 2), ("moon.example.org", 500, 0), ("%any4", 500, 2),
])
def test_host_quality(addrs, port, quality):
    assert host_quality(addrs, port, ME) == quality


def test_ike_match_weights_and_version():
    cfg = peer_cfg("a", "192.0.2.2", "%any", None, None, IKE)
    assert ike_match(cfg, ME, OTHER) == 130 * 8 + 2 * 16 + 4
    assert ike_match(replace(cfg, version=IkeVersion.IKE_ANY), ME, OTHER) == 130 * 8 + 2 * 16
    assert ike_match(replace(cfg, version=IkeVersion.IKEV1), ME, OTHER) == 0
    assert ike_match(replace(cfg, remote_addrs="198.51.100.1"), ME, OTHER) == 0


def test_best_ike_config_prefers_specific_addresses():
    generic = peer_cfg("generic", "%any", "%any", None, None, IKE)
    specific = peer_cfg("specific", "%any", "192.0.2.3", None, None, IKE)
    assert best_ike_config([generic, specific], ME, OTHER).name == "specific"
    assert [c.name for c in ike_configs([generic, specific], ME, OTHER)] == ["specific", "generic"]
    assert best_ike_config([peer_cfg("x", "%any", "10.0.0.1", None, None, IKE)], ME, OTHER) is None


def test_peer_candidates_ranked_by_identity_and_filtered_by_proposal():
    wild = peer_cfg("wild", "%any", "%any", "moon", "*.example.org", IKE)
    exact = peer_cfg("exact", "%any", "%any", "moon", "carol.example.org", IKE)
    other = peer_cfg("other", "%any", "%any", "moon", "dave.example.org", IKE)
    aes = peer_cfg("aes", "%any", "%any", "moon", "carol.example.org", "aes128-sha256-ecp256")
    proposal = parse_proposal(ProtocolId.IKE, IKE)
    found = peer_candidates([wild, exact, other, aes], ME, OTHER, Identification.any(),
                            Identification.from_string("carol.example.org"), proposal)
    assert [c.name for c in found] == ["exact", "wild"]


def test_complies():
    carol = Identification.from_string("carol.example.org")
    assert complies(AuthClass.PSK, carol, auth("carol.example.org")) is None
    assert complies(AuthClass.PSK, carol, auth("*.example.org")) is None
    assert complies(AuthClass.PSK, carol, auth(None, AuthClass.PUBKEY)) == (
        "constraint requires public key authentication, but pre-shared key was used")
    assert complies(AuthClass.PSK, carol, auth("dave.example.org")) == (
        "constraint check failed: identity 'dave.example.org' (ID_FQDN) required, not matched by "
        "'carol.example.org' (ID_FQDN)")
