"""OCSP as charon's revocation plugin does it: responder URIs from the certificate's AIA or the
authority, nonce, CA-signed or delegated responses, cache, fallback to CRLs, and the
``revocation`` constraint; with an in-process responder (cryptography.x509.ocsp) and once over
HTTP on loopback through the shell's fetcher."""

from __future__ import annotations

import datetime

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from tests.unit.creds.ocsp_responder import Responder, serve
from tests.unit.creds.pki import DAY, NOW, ca, crl, issue, keygen, store_with
from vicid.creds.manager import CredentialManager
from vicid.creds.ocsp import build_request, usable_until
from vicid.creds.store import Authority, Certificate, CertType, X509Flag
from vicid.creds.trust import Validation, verify_chain
from vicid.daemon.fetch import http_fetch
from vicid.identity import Identification
from vicid.ike.auth_info import _validation_problem

URI = "http://ocsp.example.org/"
CAROL = Identification.from_string("carol.example.org")


class Pki:
    def __init__(self, *, aia: bool = True, kind: str = "p256") -> None:
        self.ca = ca(kind=kind)
        self.carol = issue(
            "carol.example.org", keygen("p256"), self.ca, san=["carol.example.org"], ocsp_uri=URI if aia else None
        )


def check(pki: Pki, responder: Responder | None, *, store=None, fetch=True, crls=(), clock=NOW, **mgr):
    """(accepted, crl_validation, log lines, manager) for carol's certificate received in a CERT payload."""
    store = store or store_with(pki.ca, crls=crls)
    fetcher = None
    if responder is not None and fetch:
        fetcher = responder.fetcher
    lines: list[str] = []
    mgr_obj = CredentialManager(store, clock=lambda: clock, fetcher=fetcher, **mgr)
    found = list(mgr_obj.public_keys("ANY", CAROL, received=[pki.carol.cert], log=lambda _g, _l, m: lines.append(m)))
    return bool(found), (found[0][1].crl_validation if found else None), lines, mgr_obj


def test_good_response_from_the_aia_uri_is_verified_and_cached():
    pki = Pki()
    responder = Responder(pki.ca)
    ok, validation, lines, mgr = check(pki, responder)
    assert ok and validation == Validation.GOOD
    assert f"  requesting ocsp status from '{URI}' ..." in lines
    assert '  ocsp response correctly signed by "C=CH, O=vicid test, CN=vicid test CA"' in lines
    assert "  ocsp response is valid: until Mar 03 00:00:00 2026" in lines
    assert "certificate status is good" in lines
    assert not any("crl" in line for line in lines)  # OCSP good: no CRL check
    request = x509.ocsp.load_der_ocsp_request(responder.requests[0])
    assert request.serial_number == pki.carol.cert.serial_number
    assert len(request.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce) == 16
    cached = [c for c in mgr.store.cache if c.type == CertType.OCSP_RESPONSE]
    assert len(cached) == 1
    # the second check uses the cache and asks nobody
    lines.clear()
    found = list(mgr.public_keys("ANY", CAROL, received=[pki.carol.cert], log=lambda _g, _l, m: lines.append(m)))
    assert found and "  using cached ocsp response" in lines and len(responder.requests) == 1
    assert not any("requesting" in line for line in lines)


def test_revoked_response_rejects_the_certificate():
    pki = Pki()
    responder = Responder(pki.ca, statuses={pki.carol.cert.serial_number: "revoked"})
    ok, _, lines, mgr = check(pki, responder)
    assert not ok
    assert "certificate was revoked on Feb 28 00:00:00 2026, reason: key compromise" in lines
    assert not any("fallback to crl" in line for line in lines)
    assert [c.type for c in mgr.store.cache] == [CertType.OCSP_RESPONSE]


def test_unknown_status_falls_back_to_the_crl():
    pki = Pki()
    responder = Responder(pki.ca, statuses={pki.carol.cert.serial_number: "unknown"})
    ok, validation, lines, _ = check(pki, responder, crls=(crl(pki.ca, []),))
    assert ok and validation == Validation.GOOD
    assert "  ocsp response contains no status on our certificate" in lines
    assert "ocsp check failed, fallback to crl" in lines
    assert '  crl correctly signed by "C=CH, O=vicid test, CN=vicid test CA"' in lines
    revoked = crl(pki.ca, [(pki.carol.cert.serial_number, x509.ReasonFlags.superseded)])
    ok, _, lines, _ = check(pki, responder, crls=(revoked,))
    assert not ok and "certificate was revoked on Feb 28 00:00:00 2026, reason: superseded" in lines


def test_unknown_status_without_crl_fails_and_strict_refuses():
    pki = Pki()
    responder = Responder(pki.ca, statuses={pki.carol.cert.serial_number: "unknown"})
    ok, validation, lines, _ = check(pki, responder)
    assert ok and validation == Validation.FAILED  # accepted unless revocation = strict/ifuri
    assert "certificate status is not available" in lines
    assert _validation_problem(Validation.GOOD, validation) is not None  # strict
    assert _validation_problem(Validation.SKIPPED, validation) is not None  # ifuri: a URI was there
    assert _validation_problem(Validation.FAILED, validation) is None  # relaxed


def test_no_uri_is_skipped_and_ifuri_accepts():
    pki = Pki(aia=False)
    ok, validation, lines, _ = check(pki, Responder(pki.ca))
    assert ok and validation == Validation.SKIPPED
    assert "ocsp check skipped, no ocsp found" in lines
    assert _validation_problem(Validation.SKIPPED, validation) is None
    assert _validation_problem(Validation.GOOD, validation) is not None


def test_stale_response_is_not_cached_and_strict_refuses():
    pki = Pki()
    ok, validation, lines, mgr = check(pki, Responder(pki.ca, stale=True))
    assert ok and validation == Validation.STALE
    assert "  ocsp response is stale: since Feb 28 00:00:00 2026" in lines
    assert "ocsp information stale, fallback to crl" in lines
    assert mgr.store.cache == []
    assert _validation_problem(Validation.GOOD, validation) is not None


def test_response_without_next_update_is_usable_for_30_seconds():
    pki = Pki()
    responder = Responder(pki.ca, no_next_update=True)
    response = x509.ocsp.load_der_ocsp_response(responder.answer(build_request(pki.carol.cert, pki.ca.cert, b"")))
    assert usable_until(response) == response.produced_at_utc + datetime.timedelta(seconds=30)
    # producedAt is the builder's real time: usable at it, stale 30 s later
    now = response.produced_at_utc
    ok, validation, _, _ = check(pki, responder, clock=now)
    assert ok and validation == Validation.GOOD
    _, validation, lines, _ = check(pki, responder, clock=now + datetime.timedelta(seconds=31))
    assert validation == Validation.STALE and any(line.startswith("  ocsp response is stale") for line in lines)


def test_bad_signature_and_wrong_nonce_are_ignored():
    pki = Pki()
    ok, validation, lines, mgr = check(pki, Responder(pki.ca, bad_signature=True))
    assert ok and validation == Validation.FAILED
    assert "OCSP response verification failed, invalid signature" in lines
    assert mgr.store.cache == []
    ok, validation, lines, _ = check(pki, Responder(pki.ca, nonce="wrong"))
    assert validation == Validation.FAILED and "nonce in ocsp response doesn't match" in lines
    ok, validation, _, _ = check(pki, Responder(pki.ca, nonce="none"))  # no nonce: accepted
    assert validation == Validation.GOOD


def test_unsuccessful_response_and_unreachable_responder():
    pki = Pki()
    responder = Responder(pki.ca, status=x509.ocsp.OCSPResponseStatus.TRY_LATER)
    _, validation, lines, _ = check(pki, responder)
    assert validation == Validation.FAILED and "ocsp check failed, fallback to crl" in lines
    _, validation, lines, _ = check(pki, Responder(pki.ca), fetch=False)
    assert validation == Validation.FAILED and f"ocsp request to {URI} failed" in lines


def test_delegated_responder_needs_ocsp_signing():
    pki = Pki()
    signer = issue("vicid OCSP responder", keygen("p256"), pki.ca, eku=[ExtendedKeyUsageOID.OCSP_SIGNING])
    ok, validation, lines, _ = check(pki, Responder(pki.ca, signer=signer))
    assert ok and validation == Validation.GOOD
    assert '  ocsp response correctly signed by "C=CH, O=vicid test, CN=vicid OCSP responder"' in lines
    plain = issue("vicid OCSP responder", keygen("p256"), pki.ca)  # no id-kp-OCSPSigning
    _, validation, lines, _ = check(pki, Responder(pki.ca, signer=plain))
    assert validation == Validation.FAILED
    assert (
        "ocsp response verification failed, no signer certificate "
        "'C=CH, O=vicid test, CN=vicid OCSP responder' found" in lines
    )
    # a signer certificate not in the response but loaded as x509ocsp is accepted
    store = store_with(pki.ca)
    store.add_cert(Certificate(CertType.X509, plain.der, X509Flag.OCSP, plain.cert))
    _, validation, _, _ = check(pki, Responder(pki.ca, signer=plain, include_signer=False), store=store)
    assert validation == Validation.GOOD


def test_authority_ocsp_uris_are_asked_first():
    pki = Pki(aia=False)
    store = store_with(pki.ca)
    cacert = Certificate(CertType.X509, pki.ca.der, X509Flag.CA, pki.ca.cert)
    store.authorities["ca"] = Authority("ca", cacert, ocsp_uris=["http://authority.example.org/"])
    ok, validation, lines, _ = check(pki, Responder(pki.ca), store=store)
    assert ok and validation == Validation.GOOD
    assert "  requesting ocsp status from 'http://authority.example.org/' ..." in lines


def test_enable_ocsp_no_skips_it():
    pki = Pki()
    responder = Responder(pki.ca, statuses={pki.carol.cert.serial_number: "revoked"})
    ok, validation, _, _ = check(pki, responder, enable_ocsp=False)
    assert ok and validation == Validation.SKIPPED and responder.requests == []


def test_intermediate_link_is_checked_too():
    root = ca()
    sub = issue("sub CA", keygen("p256"), root, ca=True, ocsp_uri=URI)
    leaf = issue("carol.example.org", keygen("p256"), sub, san=["carol.example.org"])
    store = store_with(root)
    responder = Responder(root, statuses={sub.cert.serial_number: "revoked"})
    mgr = CredentialManager(store, clock=lambda: NOW, fetcher=responder.fetcher)
    found = list(mgr.public_keys("ANY", CAROL, received=[leaf.cert], received_im=[sub.cert]))
    assert found == [] and len(responder.requests) == 1


def test_request_encoding():
    pki = Pki()
    der = build_request(pki.carol.cert, pki.ca.cert, b"\x01" * 16)
    request = x509.ocsp.load_der_ocsp_request(der)
    assert request.hash_algorithm.name == "sha1"
    assert request.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == b"\x01" * 16


def test_over_http_on_loopback_with_the_shell_fetcher():
    pki = Pki(aia=False)
    responder = Responder(pki.ca, statuses={pki.carol.cert.serial_number: "revoked"})
    server = serve(responder)
    try:
        store = store_with(pki.ca)
        cacert = Certificate(CertType.X509, pki.ca.der, X509Flag.CA, pki.ca.cert)
        store.authorities["ca"] = Authority("ca", cacert, ocsp_uris=[server.url])
        lines: list[str] = []
        mgr = CredentialManager(store, clock=lambda: NOW, fetcher=http_fetch, fetch_timeout=5)
        found = list(mgr.public_keys("ANY", CAROL, received=[pki.carol.cert], log=lambda _g, _l, m: lines.append(m)))
        assert found == [] and len(responder.requests) == 1
        assert "certificate was revoked on Feb 28 00:00:00 2026, reason: key compromise" in lines
    finally:
        server.close()
    assert http_fetch(server.url, b"x", "application/ocsp-request", 1) is None  # closed: no answer
    assert http_fetch("ldap://example.org/", b"x", "application/ocsp-request", 1) is None


@pytest.mark.parametrize("kind", ["ed25519", "mldsa65"])
def test_responses_signed_with_other_key_types(kind):
    pki = Pki(kind=kind)
    ok, validation, _, _ = check(pki, Responder(pki.ca))
    assert ok and validation == Validation.GOOD


def test_verify_chain_unaffected_by_ocsp():
    pki = Pki()
    store = CredentialManager(store_with(pki.ca), clock=lambda: NOW).trust_store()
    assert verify_chain(pki.carol.cert, store, NOW + 2 * DAY) is not None


def test_cached_response_is_listed_and_flushed_by_type():
    from types import SimpleNamespace

    from vicid.vici.commands.creds import flush_certs, list_certs
    from vicid.vici.dispatcher import Request

    pki = Pki()
    _, _, _, mgr = check(pki, Responder(pki.ca))
    state = SimpleNamespace(creds=mgr.store)
    listed: list = []
    request = Request("list-certs", {"type": b"OCSP_RESPONSE"}, emit=lambda event, body: listed.append(body))
    list_certs(state, request)
    assert [b["type"] for b in listed] == ["OCSP_RESPONSE"]
    assert x509.ocsp.load_der_ocsp_response(listed[0]["data"]).serial_number == pki.carol.cert.serial_number
    assert flush_certs(state, Request("flush-certs", {"type": b"x509_crl"})) == {"success": "yes"}
    assert len(mgr.store.cache) == 1
    assert flush_certs(state, Request("flush-certs", {"type": b"ocsp_response"})) == {"success": "yes"}
    assert mgr.store.cache == []
