"""EAP in IKE_AUTH: EAP-MD5 road warrior (server authenticated by certificate), EAP-Identity,
wrong secrets, and the AUTH over SK_p when the method derives no MSK."""

from __future__ import annotations

from dataclasses import replace

from tests.exchange.helpers import CAROL, MOON, child_cfg, ep, node, of, peer_cfg
from tests.exchange.test_multi_ke import run
from tests.unit.creds.pki import NOW, ca, issue, keygen, pubkey_auth, store_with
from vicid.creds.manager import CredentialManager
from vicid.creds.store import SharedKey
from vicid.identity import Identification
from vicid.ike.config import AuthClass, AuthConfig, AuthRule
from vicid.ike.effects import Alert, IkeUpDown, Log
from vicid.secrets import Secret

IKE = "aes256gcm16-sha512-x25519"


def messages(n) -> list[str]:
    return [e.msg for e in of(n.log, Log)]


def eap(eap_type: int, ident: str | None = None, eap_id: str | None = None) -> AuthConfig:
    cfg = AuthConfig().add(AuthRule.AUTH_CLASS, AuthClass.EAP).add(AuthRule.EAP_TYPE, eap_type)
    if ident:
        cfg = cfg.add(AuthRule.IDENTITY, Identification.from_string(ident))
    if eap_id:
        cfg = cfg.add(AuthRule.EAP_IDENTITY, Identification.from_string(eap_id))
    return cfg


def road_warrior(eap_type: int = 4, *, carol_secret: bytes = b"carol-eap-secret", moon_eap_id: str | None = None,
                 carol_eap_id: str | None = None):
    authority = ca()
    moon_cert = issue("moon.example.org", keygen("p256"), authority, san=["moon.example.org"])
    carol_peer = replace(peer_cfg("rw", CAROL, MOON, None, None, IKE, [child_cfg()]),
                         local_auth=(eap(eap_type, "carol@example.org", carol_eap_id),),
                         remote_auth=(pubkey_auth("moon.example.org"),))
    moon_peer = replace(peer_cfg("rw", MOON, "%any", None, None, IKE, [child_cfg()]),
                        local_auth=(pubkey_auth("moon.example.org", moon_cert.cfg()),),
                        remote_auth=(eap(eap_type, None, moon_eap_id),))
    carol_store = store_with(authority)
    carol_store.shared["eap"] = SharedKey("EAP", Secret(carol_secret), ["carol@example.org"])
    moon_store = store_with(authority, moon_cert, keys=(moon_cert.key,))
    moon_store.shared["eap"] = SharedKey("EAP", Secret(b"carol-eap-secret"), ["carol@example.org"])
    carol = node("carol", CAROL, [carol_peer], carol_store, "c")
    moon = node("moon", MOON, [moon_peer], moon_store, "m")
    for n, store in ((carol, carol_store), (moon, moon_store)):
        n.manager.ctx.credmgr = CredentialManager(store, clock=lambda: NOW)
    carol.manager.initiate(carol_peer, carol_peer.children[0], ep(CAROL), ep(MOON), 0.0, request_id=1)

    class P:
        pass
    P.carol, P.moon = carol, moon
    run(P, 0.0)
    return carol, moon


def test_eap_md5_road_warrior():
    carol, moon = road_warrior()
    assert [e.up for e in of(carol.log, IkeUpDown)] == [True] == [e.up for e in of(moon.log, IkeUpDown)]
    assert "initiating EAP_MD5 method (id 0x" in "\n".join(messages(moon))
    assert "EAP method EAP_MD5 succeeded, no MSK established" in messages(moon)
    assert "EAP method EAP_MD5 succeeded, no MSK established" in messages(carol)
    assert "authentication of 'carol@example.org' with EAP successful" in messages(moon)
    assert "authentication of 'moon.example.org' with ECDSA_WITH_SHA256_DER successful" in messages(carol)
    assert "authentication of 'moon.example.org' with EAP successful" in messages(carol)
    assert "carol-eap-secret" not in repr(carol.log + moon.log)


def test_eap_identity_then_md5():
    carol, moon = road_warrior(moon_eap_id="%any", carol_eap_id="carol")
    text = "\n".join(messages(moon))
    assert "initiating EAP_IDENTITY method" in text and "received EAP identity 'carol'" in text
    assert "server requested EAP_IDENTITY" in "\n".join(messages(carol))
    # the secrets are owned by carol@example.org, not by the EAP identity "carol"
    assert "no EAP key found for hosts 'carol' - 'moon.example.org'" in messages(carol)
    assert "EAP_MD5 method failed" in messages(carol)
    assert next(a.type for a in of(carol.log, Alert)) == "local-auth-failed"


def test_eap_md5_wrong_secret():
    carol, moon = road_warrior(carol_secret=b"not the right one")
    assert "EAP-MD5 verification failed" in messages(moon)
    assert "EAP method EAP_MD5 failed for peer carol@example.org" in messages(moon)
    assert "received EAP_FAILURE, EAP authentication failed" in messages(carol)
    assert [e.up for e in of(carol.log, IkeUpDown)] == [False]
