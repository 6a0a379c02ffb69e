"""IKE_AUTH with certificates: RSA (PKCS#1 v1.5, PSS), ECDSA P-256/384/521, Ed25519/Ed448,
RFC 7427 and classic AUTH methods, CERT/CERTREQ, chain validation and identities."""

from __future__ import annotations

from dataclasses import replace

import pytest
from cryptography import x509

from tests.exchange.helpers import CAROL, MOON, child_cfg, datagrams, ep, node, of, peer_cfg
from tests.exchange.test_multi_ke import run
from tests.unit.creds.pki import NOW, ca, crl, issue, keygen, pubkey_auth, store_with
from vicid.creds.manager import CredentialManager
from vicid.ike.config import CertPolicy
from vicid.ike.effects import Alert, Completed, IkeUpDown, Log
from vicid.ike.sa import Ext
from vicid.ike.settings import EngineSettings
from vicid.ike.wire.enums import PayloadType
from vicid.ike.wire.message import decode_message

IKE = "aes256gcm16-sha512-x25519"


def messages(n) -> list[str]:
    return [e.msg for e in of(n.log, Log)]


class Lab:
    """moon and carol with certificates from one CA (or what a test passes)."""

    def __init__(self, kind: str = "p256", moon_kind: str | None = None, *, carol_ca=None, moon_trusts=None,
                 carol_remote=None, moon_remote=None, carol_settings=None, moon_settings=None,
                 moon_crls=(), **peer_kw) -> None:
        self.ca = carol_ca or ca()
        self.moon_ca = ca("vicid moon CA") if moon_trusts == "other" else self.ca
        self.moon_cert = issue("moon.example.org", keygen(moon_kind or kind), self.moon_ca,
                               san=["moon.example.org"])
        self.carol_cert = issue("carol.example.org", keygen(kind), self.ca, san=["carol.example.org"])
        carol_local = pubkey_auth("carol.example.org", self.carol_cert.cfg())
        moon_local = pubkey_auth("moon.example.org", self.moon_cert.cfg())
        self.carol_peer = replace(peer_cfg("pq", CAROL, MOON, None, None, IKE, [child_cfg()], **peer_kw),
                                  local_auth=(carol_local,),
                                  remote_auth=(carol_remote or pubkey_auth("moon.example.org"),))
        self.moon_peer = replace(peer_cfg("pq", MOON, "%any", None, None, IKE, [child_cfg()], **peer_kw),
                                 local_auth=(moon_local,),
                                 remote_auth=(moon_remote or pubkey_auth("carol.example.org"),))
        carol_store = store_with(self.moon_ca if moon_trusts != "other" else self.ca, self.carol_cert,
                                 keys=(self.carol_cert.key,))
        moon_trusted = ca("another CA") if moon_trusts == "wrong" else self.ca
        moon_store = store_with(moon_trusted, self.moon_ca, self.moon_cert, keys=(self.moon_cert.key,),
                                crls=moon_crls)
        self.carol = node("carol", CAROL, [self.carol_peer], carol_store, "c", carol_settings)
        self.moon = node("moon", MOON, [self.moon_peer], moon_store, "m", moon_settings)
        for n, store in ((self.carol, carol_store), (self.moon, moon_store)):
            n.manager.ctx.credmgr = CredentialManager(store, clock=lambda: NOW)

    def run(self, request_id: int | None = 1) -> None:
        self.carol.manager.initiate(self.carol_peer, self.carol_peer.children[0], ep(CAROL), ep(MOON), 0.0,
                                    request_id=request_id)
        run(self, 0.0)

    def established(self) -> bool:
        return [e.up for e in of(self.carol.log, IkeUpDown)] == [True] and \
            [e.up for e in of(self.moon.log, IkeUpDown)] == [True]


@pytest.mark.parametrize("kind,scheme", [
    ("rsa", "RSA_EMSA_PKCS1_SHA2_256"), ("p256", "ECDSA_WITH_SHA256_DER"),
    ("p384", "ECDSA_WITH_SHA384_DER"), ("p521", "ECDSA_WITH_SHA512_DER"),
    ("ed25519", "ED25519"), ("ed448", "ED448")])
def test_rfc7427_signatures(kind, scheme):
    lab = Lab(kind)
    lab.run()
    assert lab.established(), messages(lab.moon)[-15:]
    log = messages(lab.moon)
    assert f"authentication of 'carol.example.org' with {scheme} successful" in log
    assert f"authentication of 'moon.example.org' (myself) with {scheme} successful" in log
    assert 'received end entity cert "C=CH, O=vicid test, CN=carol.example.org"' in log
    assert 'sending cert request for "C=CH, O=vicid test, CN=vicid test CA"' in log
    assert '  using trusted ca certificate "C=CH, O=vicid test, CN=vicid test CA"' in log
    assert "  reached self-signed root ca with a path length of 0" in log
    carol = lab.carol.sa
    assert carol.supports(Ext.SIGNATURE_AUTH) and str(carol.other_id) == "moon.example.org"


@pytest.mark.parametrize("kind,method", [("rsa", "RSA signature"), ("p256", "ECDSA-256 signature"),
                                         ("p384", "ECDSA-384 signature"), ("p521", "ECDSA-521 signature")])
def test_classic_signatures_without_rfc7427(kind, method):
    off = replace(EngineSettings(), signature_authentication=False)
    lab = Lab(kind, carol_settings=off, moon_settings=off)
    lab.run()
    assert lab.established()
    assert f"authentication of 'carol.example.org' with {method} successful" in messages(lab.moon)


def test_ed25519_needs_rfc7427():
    off = replace(EngineSettings(), signature_authentication=False)
    lab = Lab("ed25519", carol_settings=off, moon_settings=off)
    lab.run()
    assert "private key of type ED25519 not supported" in messages(lab.carol)
    assert [a.type for a in of(lab.carol.log, Alert)] == ["local-auth-failed"]


def test_rsa_pss_by_config():
    lab = Lab("rsa", carol_remote=pubkey_auth("moon.example.org"))
    lab.carol_peer = replace(lab.carol_peer, local_auth=(pubkey_auth("carol.example.org", lab.carol_cert.cfg(),
                                                                   auth="rsa/pss-sha256"),))
    lab.carol.peers[:] = [lab.carol_peer]
    lab.run()
    assert lab.established()
    assert "authentication of 'carol.example.org' with RSA_EMSA_PSS_SHA2_256_SALT_32 " \
           "successful" in messages(lab.moon)


def test_identities_default_to_the_certificate_subject():
    """Without ``id`` the subject DN is sent; remote ids match the DN with wildcards."""
    lab = Lab("p256", moon_remote=pubkey_auth("C=CH, O=vicid test, CN=*"),
              carol_remote=pubkey_auth("%any"))
    lab.carol_peer = replace(lab.carol_peer, local_auth=(pubkey_auth(None, lab.carol_cert.cfg()),))
    lab.carol.peers[:] = [lab.carol_peer]
    lab.run()
    assert lab.established(), messages(lab.moon)[-10:]
    assert str(lab.moon.sa.other_id) == "C=CH, O=vicid test, CN=carol.example.org"
    assert "no IDi configured, default to cert subject 'C=CH, O=vicid test, CN=carol.example.org'" \
        in messages(lab.carol)


def test_wrong_ca_is_rejected():
    lab = Lab("p256", moon_trusts="wrong")
    lab.ca_only = True
    # moon trusts only "another CA" and its own chain: carol's CA is unknown to it
    lab.moon.manager.ctx.credmgr.store.certs[:] = [c for c in lab.moon.manager.ctx.credmgr.store.certs
                                                  if c.parsed != lab.ca.cert or lab.moon_ca is not lab.ca]
    lab.run(request_id=4)
    log = messages(lab.moon)
    assert 'no issuer certificate found for "C=CH, O=vicid test, CN=carol.example.org"' in log
    assert '  issuer is "C=CH, O=vicid test, CN=vicid test CA"' in log
    assert "no trusted ECDSA public key found for 'carol.example.org'" in log
    assert [a.type for a in of(lab.moon.log, Alert)] == ["peer-auth-failed"]
    assert "received AUTHENTICATION_FAILED notify error" in messages(lab.carol)
    assert [(c.request_id, c.ok) for c in of(lab.carol.log, Completed)] == [(4, False)]


def test_revoked_certificate_is_rejected():
    issuer = ca()
    lab = Lab("p256", carol_ca=issuer)
    revoked = crl(issuer, [(lab.carol_cert.cert.serial_number, x509.ReasonFlags.key_compromise)])
    lab.moon.manager.ctx.credmgr.store.add_cert(
        __import__("vicid.creds.store", fromlist=["Certificate"]).Certificate(
            __import__("vicid.creds.store", fromlist=["CertType"]).CertType.X509_CRL, b"", parsed=revoked))
    lab.run()
    log = messages(lab.moon)
    assert 'checking certificate status of "C=CH, O=vicid test, CN=carol.example.org"' in log
    assert "certificate was revoked on Feb 28 00:00:00 2026, reason: key compromise" in log
    assert "no trusted ECDSA public key found for 'carol.example.org'" in log
    assert not lab.established()


def test_send_cert_never_needs_the_peer_to_have_it():
    lab = Lab("p256", send_cert=CertPolicy.NEVER_SEND)
    lab.run()
    assert not lab.established()
    sent = [decode_message(d.data[4:]) for d in datagrams(lab.carol.log)[1:2]]
    assert sent and all(p.payload_type != PayloadType.CERT for m in sent for p in m.all_payloads()
                        if hasattr(p, "payload_type"))
    assert "no trusted ECDSA public key found for 'carol.example.org'" in messages(lab.moon)


def test_intermediate_ca_is_sent_and_used():
    root = ca("vicid root CA")
    sub = issue("vicid sub CA", keygen("p256"), root, ca=True)
    lab = Lab("p256", carol_ca=sub)
    # moon trusts the root only; carol sends her certificate and the intermediate
    lab.carol.manager.ctx.credmgr.store.add_cert(_cert(root))
    moon_store = lab.moon.manager.ctx.credmgr.store
    moon_store.certs[:] = [c for c in moon_store.certs if c.parsed != sub.cert]
    moon_store.add_cert(_cert(root))
    lab.run()
    log = messages(lab.moon)
    assert '  using untrusted intermediate certificate "C=CH, O=vicid test, CN=vicid sub CA"' in log
    assert "  reached self-signed root ca with a path length of 1" in log
    assert 'sending issuer cert "C=CH, O=vicid test, CN=vicid sub CA"' in messages(lab.carol)


def _cert(issued):
    from vicid.creds.store import Certificate, CertType, X509Flag

    return Certificate(CertType.X509, issued.der, X509Flag.CA, issued.cert)
