"""EAP-MSCHAPv2 and EAP-TLS in IKE_AUTH between two in-memory engines: the road warrior carol
authenticates with EAP, the gateway moon with a certificate; MSKs agree (the AUTH payloads
verify), wrong secrets and untrusted certificates fail cleanly."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.exchange.helpers import CAROL, MOON, child_cfg, ep, node, of, peer_cfg
from tests.exchange.test_eap import eap, messages
from tests.exchange.test_multi_ke import run
from tests.unit.creds.pki import NOW, ca, issue, keygen, pubkey_auth, store_with
from vicid.creds.manager import CredentialManager
from vicid.creds.store import SharedKey
from vicid.ike.authenticators.mschapv2 import nt_password_hash
from vicid.ike.config import AuthRule
from vicid.ike.effects import Alert, IkeUpDown
from vicid.ike.settings import EapTlsSettings, EngineSettings
from vicid.secrets import Secret

IKE = "aes256gcm16-sha512-x25519"
MSCHAPV2, TLS = 26, 13
PASSWORD = b"carol-Passw0rd"


class Pair:
    carol = None
    moon = None


def start(carol_peer, moon_peer, carol_store, moon_store, settings: EngineSettings | None = None):
    carol = node("carol", CAROL, [carol_peer], carol_store, "c", settings)
    moon = node("moon", MOON, [moon_peer], moon_store, "m", settings)
    for n, store in ((carol, carol_store), (moon, moon_store)):
        n.manager.ctx.credmgr = CredentialManager(store, clock=lambda: NOW)
    carol.manager.initiate(carol_peer, carol_peer.children[0], ep(CAROL), ep(MOON), 0.0, request_id=1)
    p = Pair()
    p.carol, p.moon = carol, moon
    run(p, 0.0)
    return carol, moon


def ups(n) -> list[bool]:
    return [e.up for e in of(n.log, IkeUpDown)]


def text(n) -> str:
    return "\n".join(messages(n))


# --- MS-CHAPv2 ----------------------------------------------------------------------------------
def mschapv2_pair(carol_secret: bytes = PASSWORD, *, ntlm: bool = False, carol_id: str = "carol@example.org"):
    authority = ca()
    moon_cert = issue("moon.example.org", keygen("p256"), authority, san=["moon.example.org"])
    carol_peer = replace(
        peer_cfg("rw", CAROL, MOON, None, None, IKE, [child_cfg()]),
        local_auth=(eap(MSCHAPV2, carol_id),),
        remote_auth=(pubkey_auth("moon.example.org"),),
    )
    moon_peer = replace(
        peer_cfg("rw", MOON, "%any", None, None, IKE, [child_cfg()]),
        local_auth=(pubkey_auth("moon.example.org", moon_cert.cfg()),),
        remote_auth=(eap(MSCHAPV2),),
    )
    carol_store = store_with(authority)
    carol_store.shared["eap"] = SharedKey("EAP", Secret(carol_secret), [carol_id])
    moon_store = store_with(authority, moon_cert, keys=(moon_cert.key,))
    if ntlm:
        moon_store.shared["ntlm"] = SharedKey("NTLM", Secret(nt_password_hash(PASSWORD)), [carol_id])
    else:
        moon_store.shared["eap"] = SharedKey("EAP", Secret(PASSWORD), [carol_id])
    return start(carol_peer, moon_peer, carol_store, moon_store)


@pytest.mark.parametrize("ntlm", [False, True])
def test_mschapv2_road_warrior(ntlm):
    carol, moon = mschapv2_pair(ntlm=ntlm)
    assert ups(carol) == [True] == ups(moon)
    assert "initiating EAP_MSCHAPV2 method (id 0x" in text(moon)
    assert "EAP-MS-CHAPv2 succeeded: 'Welcome2strongSwan'" in text(carol)
    assert "EAP method EAP_MSCHAPV2 succeeded, MSK established" in text(moon)
    assert "EAP method EAP_MSCHAPV2 succeeded, MSK established" in text(carol)
    assert "authentication of 'carol@example.org' with EAP successful" in text(moon)
    assert "authentication of 'moon.example.org' with EAP successful" in text(carol)
    assert PASSWORD.decode() not in repr(carol.log + moon.log)


def test_mschapv2_domain_user():
    """DOMAIN\\user: the whole name goes on the wire, only the user part into the hash."""
    carol, moon = mschapv2_pair(carol_id="EXAMPLE\\carol")
    assert ups(carol) == [True] == ups(moon)


def test_mschapv2_wrong_password_fails_cleanly():
    carol, moon = mschapv2_pair(carol_secret=b"not the password")
    assert "EAP-MS-CHAPv2 verification failed, retry (1)" in text(moon)
    assert "EAP-MS-CHAPv2 failed with error ERROR_AUTHENTICATION_FAILURE: '(null)'" in text(carol)
    assert "EAP_MSCHAPV2 method failed" in text(carol)
    assert ups(carol) == [False] and ups(moon) == []
    assert next(a.type for a in of(carol.log, Alert)) == "local-auth-failed"
    assert b"not the password".decode() not in repr(carol.log + moon.log)


# --- EAP-TLS ------------------------------------------------------------------------------------
def tls_pair(
    *,
    carol_ca=None,
    version_max: int = 0x0303,
    fragment_size: int = 1024,
    kind: str = "p256",
    cacert_constraint: bool = False,
):
    authority = ca()
    moon_cert = issue("moon.example.org", keygen(kind), authority, san=["moon.example.org"])
    carol_cert = issue("carol", keygen(kind), carol_ca or authority, san=["carol@example.org"])
    moon_local = pubkey_auth("moon.example.org", moon_cert.cfg())
    carol_remote = pubkey_auth("moon.example.org")
    carol_local = eap(TLS, "carol@example.org").add(AuthRule.SUBJECT_CERT, carol_cert.cfg())
    moon_remote = eap(TLS)
    if cacert_constraint:
        moon_remote = moon_remote.add(AuthRule.CA_CERT, authority.cfg())
    carol_peer = replace(
        peer_cfg("rw", CAROL, MOON, None, None, IKE, [child_cfg()]),
        local_auth=(carol_local,),
        remote_auth=(carol_remote,),
    )
    moon_peer = replace(
        peer_cfg("rw", MOON, "%any", None, None, IKE, [child_cfg()]),
        local_auth=(moon_local,),
        remote_auth=(moon_remote,),
    )
    carol_store = store_with(authority, carol_cert, keys=(carol_cert.key,))
    moon_store = store_with(authority, moon_cert, keys=(moon_cert.key,))
    settings = EngineSettings(eap_tls=EapTlsSettings(fragment_size=fragment_size, version_max=version_max))
    return start(carol_peer, moon_peer, carol_store, moon_store, settings)


@pytest.mark.parametrize("version", [0x0303, 0x0304])
def test_eap_tls_road_warrior(version):
    carol, moon = tls_pair(version_max=version, cacert_constraint=True)
    assert ups(carol) == [True] == ups(moon)
    name = {0x0303: "TLS 1.2", 0x0304: "TLS 1.3"}[version]
    assert f"negotiated {name} using suite" in text(moon)
    assert "received TLS peer certificate 'C=CH, O=vicid test, CN=carol'" in text(moon)
    assert "received TLS server certificate 'C=CH, O=vicid test, CN=moon.example.org'" in text(carol)
    assert "EAP method EAP_TLS succeeded, MSK established" in text(moon)
    assert "EAP method EAP_TLS succeeded, MSK established" in text(carol)
    assert "authentication of 'carol@example.org' with EAP successful" in text(moon)


@pytest.mark.parametrize("version", [0x0303, 0x0304])
def test_eap_tls_fragments_flights(version):
    carol, moon = tls_pair(fragment_size=300, kind="rsa", version_max=version)
    assert ups(carol) == [True] == ups(moon)
    assert "sending EAP_TLS first fragment" in text(moon) + text(carol)
    assert "sending EAP_TLS final fragment" in text(moon) + text(carol)


def test_eap_tls_client_from_unknown_ca_is_rejected():
    carol, moon = tls_pair(carol_ca=ca("unknown CA"))
    assert "no trusted certificate found for 'carol@example.org' to verify TLS peer" in text(moon)
    # moon answers with a TLS alert (as libtls does); carol gives up on it
    assert "TLS handshake failed: tlsv1 alert unknown ca" in text(carol)
    assert "EAP_TLS method failed" in text(carol)
    assert ups(carol) == [False] and ups(moon) == []


def test_eap_tls_server_from_unknown_ca_is_rejected():
    """carol pins moon's certificate for IKE (``remote.certs``) but trusts no CA for it: the TLS
    server certificate must chain to a loaded CA, so she refuses it with an alert."""
    authority, other = ca(), ca("other CA")
    moon_cert = issue("moon.example.org", keygen("p256"), authority, san=["moon.example.org"])
    carol_cert = issue("carol", keygen("p256"), other, san=["carol@example.org"])
    carol_peer = replace(
        peer_cfg("rw", CAROL, MOON, None, None, IKE, [child_cfg()]),
        local_auth=(eap(TLS, "carol@example.org"),),
        remote_auth=(pubkey_auth("moon.example.org", moon_cert.cfg()),),
    )
    moon_peer = replace(
        peer_cfg("rw", MOON, "%any", None, None, IKE, [child_cfg()]),
        local_auth=(pubkey_auth("moon.example.org", moon_cert.cfg()),),
        remote_auth=(eap(TLS),),
    )
    carol, moon = start(
        carol_peer,
        moon_peer,
        store_with(other, carol_cert, keys=(carol_cert.key,)),
        store_with(authority, other, moon_cert, keys=(moon_cert.key,)),
    )
    assert "no trusted certificate found for 'moon.example.org' to verify TLS server" in text(carol)
    assert text(carol).count("received TLS server certificate") == 1
    assert "received EAP_FAILURE, EAP authentication failed" in text(carol)
    assert True not in ups(moon) + ups(carol)
