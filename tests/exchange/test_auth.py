"""IKE_AUTH with pre-shared keys: identities of every type, mismatches, config selection."""

from __future__ import annotations

import pytest

from tests.exchange.helpers import (
    CAROL,
    MOON,
    auth,
    child_cfg,
    creds,
    datagrams,
    ep,
    node,
    of,
    peer_cfg,
    transfer,
)
from tests.exchange.test_multi_ke import run
from vicid.creds.store import CredStore, SharedKey
from vicid.ike.config import AuthClass
from vicid.ike.effects import Alert, Completed, IkeStateChange, IkeUpDown, Log
from vicid.ike.wire.enums import NotifyType
from vicid.ike.wire.message import decode_message
from vicid.secrets import Secret

IKE = "aes256gcm16-sha512-x25519"


def messages(node_) -> list[str]:
    return [e.msg for e in of(node_.log, Log)]


def test_psk_mismatch(pair):
    p = pair(carol_psk=b"a different secret entirely")
    p.initiate(request_id=3)
    transfer(p.carol, p.moon, 0.0)
    transfer(p.moon, p.carol, 0.0)
    # IKE_AUTH  HDR, SK {IDi, IDr, AUTH(wrong key), SAi2, TSi, TSr} -->
    transfer(p.carol, p.moon, 0.0)
    #          <--  HDR, SK {N(AUTHENTICATION_FAILED)}
    moon = transfer(p.moon, p.carol, 0.0)
    assert "tried 1 shared key for 'moon.example.org' - 'carol.example.org', but MAC mismatched" in messages(p.moon)
    assert [a.type for a in of(moon, Alert)] == ["peer-auth-failed"]
    assert [e.state for e in of(moon, IkeStateChange)] == ["DESTROYING"]
    assert [e.up for e in of(moon, IkeUpDown)] == [False]
    assert p.moon.manager.ike_sas() == []
    carol = p.carol.drain()
    assert "received AUTHENTICATION_FAILED notify error" in messages(p.carol)
    assert [a.type for a in of(carol, Alert)] == ["local-auth-failed"]
    assert [(c.request_id, c.ok) for c in of(carol, Completed)] == [(3, False)]
    assert p.carol.manager.ike_sas() == [] and datagrams(carol) == []


def test_initiator_rejects_wrong_responder_mac():
    """The responder signs with another key than carol has: carol sends a protected
    INFORMATIONAL with N(AUTHENTICATION_FAILED) and gives up; moon deletes its IKE_SA."""
    carol_peer = peer_cfg("pq", CAROL, MOON, "carol", "moon", IKE, [child_cfg()])
    moon_peer = peer_cfg("pq", MOON, "%any", "moon", "carol", IKE, [child_cfg()])
    carol_store = CredStore()
    carol_store.shared["x"] = SharedKey("IKE", Secret(b"s1" * 10), ["moon"])
    moon_store = CredStore()  # moon verifies with "y" but signs with the better match "z"
    moon_store.shared["y"] = SharedKey("IKE", Secret(b"s1" * 10), ["carol"])
    moon_store.shared["z"] = SharedKey("IKE", Secret(b"s2" * 10), ["carol", "moon"])
    carol = node("carol", CAROL, [carol_peer], carol_store, "c")
    moon = node("moon", MOON, [moon_peer], moon_store, "m")
    carol.manager.initiate(carol_peer, carol_peer.children[0], ep(CAROL), ep(MOON), 0.0)
    for _ in range(3):
        transfer(carol, moon, 0.0)
        transfer(moon, carol, 0.0)
    assert "tried 1 shared key for 'carol' - 'moon', but MAC mismatched" in messages(carol)
    assert [a.type for a in of(carol.log, Alert)] == ["peer-auth-failed"]
    info = decode_message(datagrams(carol.log)[-1].data[4:])
    assert info.exchange_type == 37 and info.message_id == 2 and info.sk is not None
    assert carol.manager.ike_sas() == []
    # moon had established; the INFORMATIONAL makes it delete the IKE_SA (``ike_delete``)
    assert "local-auth-failed" in [a.type for a in of(moon.log, Alert)]
    assert [e.up for e in of(moon.log, IkeUpDown)] == [True, False]
    assert moon.manager.ike_sas() == []


@pytest.mark.parametrize("carol_id,moon_id", [
    ("carol@example.org", "moon.example.org"),
    ("192.0.2.3", "192.0.2.2"),
    ("2001:db8::3", "2001:db8::2"),
    ("C=CH, O=strongSwan, CN=carol", "C=CH, O=strongSwan, CN=moon"),
    ("@#0123456789abcdef", "@#fedcba9876543210"),
    ("@carol", "@@moon@example.org"),
])
def test_identity_types(pair, carol_id, moon_id):
    carol_peer = peer_cfg("pq", CAROL, MOON, carol_id, moon_id, IKE, [child_cfg()])
    moon_peer = peer_cfg("pq", MOON, "%any", moon_id, carol_id, IKE, [child_cfg()])
    carol = node("carol", CAROL, [carol_peer], creds(carol_id, moon_id), "c")
    moon = node("moon", MOON, [moon_peer], creds(carol_id, moon_id), "m")
    carol.manager.initiate(carol_peer, carol_peer.children[0], ep(CAROL), ep(MOON), 0.0)
    for _ in range(3):
        transfer(carol, moon, 0.0)
        transfer(moon, carol, 0.0)
    from vicid.identity import Identification

    for n, mine, theirs in ((carol, carol_id, moon_id), (moon, moon_id, carol_id)):
        (view,) = n.manager.list_sas(0.0)
        assert view.state == "ESTABLISHED"
        assert view.local_id == str(Identification.from_string(mine))
        assert view.remote_id == str(Identification.from_string(theirs))


def test_default_identity_is_ip_address():
    carol_peer = peer_cfg("pq", CAROL, MOON, None, None, IKE, [child_cfg()])
    moon_peer = peer_cfg("pq", MOON, "%any", None, None, IKE, [child_cfg()])
    carol = node("carol", CAROL, [carol_peer], creds("%any"), "c")
    moon = node("moon", MOON, [moon_peer], creds(), "m")
    carol.manager.initiate(carol_peer, carol_peer.children[0], ep(CAROL), ep(MOON), 0.0)
    for _ in range(3):
        transfer(carol, moon, 0.0)
        transfer(moon, carol, 0.0)
    assert "no IDi configured, default to IP address 192.0.2.3" in messages(carol)
    assert "no IDr configured, default to IP address 192.0.2.2" in messages(moon)
    assert (carol.sa.view(0).local_id, carol.sa.view(0).remote_id) == (CAROL, MOON)


def test_responder_selects_config_by_identity():
    """Two connections with the same addresses: the one whose remote id matches wins."""
    c1 = peer_cfg("alice", CAROL, MOON, "alice@example.org", "moon", IKE, [child_cfg("a")])
    c2 = peer_cfg("bob", CAROL, MOON, "bob@example.org", "moon", IKE, [child_cfg("b")])
    moon_peers = [peer_cfg("rw-alice", MOON, "%any", "moon", "alice@example.org", IKE, [child_cfg("a")]),
                  peer_cfg("rw-bob", MOON, "%any", "moon", "bob@example.org", IKE, [child_cfg("b")])]
    store = creds("%any")
    moon = node("moon", MOON, moon_peers, store, "m")
    for cfg, expected in ((c2, "rw-bob"), (c1, "rw-alice")):
        carol = node("carol", CAROL, [cfg], store, cfg.name)
        carol.manager.initiate(cfg, cfg.children[0], ep(CAROL), ep(MOON), 0.0)
        for _ in range(3):
            transfer(carol, moon, 0.0)
            transfer(moon, carol, 0.0)
        assert carol.sa.state.value == "ESTABLISHED"
        assert moon.manager.ike_sas()[-1].name == expected
        assert f"selected peer config '{expected}'" in messages(moon)


def test_responder_switches_config_on_auth_class():
    """The first candidate requires public key authentication: charon switches configs."""
    from dataclasses import replace

    pubkey = replace(peer_cfg("pk", MOON, "%any", "moon", "carol", IKE, [child_cfg()]),
                     remote_auth=(auth("carol", AuthClass.PUBKEY),))
    psk = peer_cfg("psk", MOON, "%any", "moon", "carol", IKE, [child_cfg()])
    carol_peer = peer_cfg("pq", CAROL, MOON, "carol", "moon", IKE, [child_cfg()])
    moon = node("moon", MOON, [pubkey, psk], creds("%any"), "m")
    carol = node("carol", CAROL, [carol_peer], creds("%any"), "c")
    carol.manager.initiate(carol_peer, carol_peer.children[0], ep(CAROL), ep(MOON), 0.0)
    run_pair(carol, moon)
    log = messages(moon)
    assert "constraint requires public key authentication, but pre-shared key was used" in log
    assert "switching to peer config 'psk'" in log
    assert moon.sa.name == "psk" and moon.sa.state.value == "ESTABLISHED"


def test_no_peer_config_for_identity():
    carol_peer = peer_cfg("pq", CAROL, MOON, "mallory", "moon", IKE, [child_cfg()])
    moon_peer = peer_cfg("pq", MOON, "%any", "moon", "carol", IKE, [child_cfg()])
    carol = node("carol", CAROL, [carol_peer], creds("%any"), "c")
    moon = node("moon", MOON, [moon_peer], creds("%any"), "m")
    carol.manager.initiate(carol_peer, None, ep(CAROL), ep(MOON), 0.0, request_id=1)
    run_pair(carol, moon)
    assert "no matching peer config found" in messages(moon)
    assert [c.ok for c in of(carol.log, Completed)] == [False]
    auth_resp = datagrams(moon.log)[-1]
    assert decode_message(auth_resp.data[4:]).exchange_type == 35
    assert moon.manager.ike_sas() == [] == carol.manager.ike_sas()
    assert NotifyType.AUTHENTICATION_FAILED


def run_pair(a, b, now: float = 0.0) -> None:
    class P:
        carol, moon = a, b
    run(P, now)


def test_public_key_authentication_without_a_private_key():
    from dataclasses import replace

    carol_peer = replace(peer_cfg("pq", CAROL, MOON, "carol", "moon", IKE, [child_cfg()]),
                         local_auth=(auth("carol", AuthClass.PUBKEY),))
    moon_peer = peer_cfg("pq", MOON, "%any", "moon", "carol", IKE, [child_cfg()])
    carol = node("carol", CAROL, [carol_peer], creds("%any"), "c")
    moon = node("moon", MOON, [moon_peer], creds("%any"), "m")
    carol.manager.initiate(carol_peer, None, ep(CAROL), ep(MOON), 0.0, request_id=6)
    run_pair(carol, moon)
    assert "no private key found for 'carol'" in messages(carol)
    assert [a.type for a in of(carol.log, Alert)] == ["local-auth-failed"]
    assert [(c.request_id, c.ok) for c in of(carol.log, Completed)] == [(6, False)]
    assert carol.manager.ike_sas() == []
