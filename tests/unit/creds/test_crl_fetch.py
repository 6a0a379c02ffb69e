"""CRLs fetched from a certificate's distribution point (or an authority's ``crl_uris``): on the
spot through a synchronous fetcher (here the shell's HTTP client on loopback), or, in a
deferred manager, by raising FetchNeeded until the answer is given for the message."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization

from tests.unit.creds.ocsp_responder import Responder, serve
from tests.unit.creds.pki import NOW, ca, crl, issue, keygen, store_with
from vicid.creds.fetching import Answer, FetchNeeded
from vicid.creds.manager import CredentialManager
from vicid.creds.store import CertType
from vicid.creds.trust import Validation
from vicid.daemon.fetch import http_fetch
from vicid.identity import Identification

CAROL = Identification.from_string("carol.example.org")
URI = "http://crl.example.org/ca.crl"


def der(item) -> bytes:
    return item.public_bytes(serialization.Encoding.DER)


def test_crl_over_http_with_the_shell_fetcher_is_cached():
    root = ca()
    server = serve(Responder(root))
    try:
        url = f"{server.base}/ca.crl"
        server.crls["/ca.crl"] = der(crl(root, []))
        leaf = issue("carol.example.org", keygen("p256"), root, san=["carol.example.org"], crl_uri=url)
        mgr = CredentialManager(store_with(root), clock=lambda: NOW, fetcher=http_fetch, fetch_timeout=5)
        lines: list[str] = []
        found = list(mgr.public_keys("ANY", CAROL, received=[leaf.cert], log=lambda _g, _l, m: lines.append(m)))
        assert found and found[0][1].crl_validation == Validation.GOOD
        assert f"  fetching crl from '{url}' ..." in lines and server.gets == ["/ca.crl"]
        assert [c.type for c in mgr.store.cache] == [CertType.X509_CRL]
        found = list(mgr.public_keys("ANY", CAROL, received=[leaf.cert]))  # cached: nobody is asked
        assert found and server.gets == ["/ca.crl"]
        assert http_fetch(f"{server.base}/missing.crl", b"", "", 2) is None  # 404
    finally:
        server.close()


def test_deferred_manager_asks_for_a_fetch_and_uses_the_answer():
    root = ca()
    leaf = issue("carol.example.org", keygen("p256"), root, san=["carol.example.org"], crl_uri=URI)
    mgr = CredentialManager(store_with(root), clock=lambda: NOW, deferred=True, fetch_timeout=7)
    answers: dict = {}
    with pytest.raises(FetchNeeded) as raised:
        list(mgr.public_keys("ANY", CAROL, received=[leaf.cert], fetched=answers))
    request = raised.value.request
    assert (request.key, request.uri, request.data, request.timeout, request.what) == (("crl", URI), URI, b"", 7, "crl")
    answers[request.key] = Answer(b"", der(crl(root, [])))
    found = list(mgr.public_keys("ANY", CAROL, received=[leaf.cert], fetched=answers))
    assert found and found[0][1].crl_validation == Validation.GOOD


def test_deferred_manager_without_answers_uses_cached_data_only():
    """Where nothing can wait (EAP-TLS verifies inside the TLS handshake), no fetch happens."""
    root = ca()
    leaf = issue("carol.example.org", keygen("p256"), root, san=["carol.example.org"], crl_uri=URI)
    mgr = CredentialManager(store_with(root), clock=lambda: NOW, deferred=True)
    lines: list[str] = []
    found = list(mgr.public_keys("ANY", CAROL, received=[leaf.cert], log=lambda _g, _l, m: lines.append(m)))
    assert found and found[0][1].crl_validation == Validation.FAILED
    assert f"  not fetching crl from '{URI}' here, using cached data only" in lines
