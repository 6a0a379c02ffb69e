"""Revocation data fetched while one IKE_SA waits (vicid.ike.fetch): the IKE_AUTH whose
certificate needs an OCSP response or a CRL is parked, a Fetch effect goes to the shell,
nothing is sent until ``fetch_complete`` answers, and then the message is processed again
from the task that asked. Retransmits during the wait are ignored, a failed or unanswered
fetch counts as no revocation information, and an IKE_SA that dies meanwhile stops waiting."""

from __future__ import annotations

from dataclasses import replace

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.exchange.helpers import CAROL, MOON, child_cfg, datagrams, ep, node, of, peer_cfg, transfer
from tests.exchange.test_multi_ke import run
from tests.unit.creds.ocsp_responder import Responder
from tests.unit.creds.pki import DAY, NOW, ca, crl, issue, keygen, pubkey_auth, store_with
from vicid.creds.manager import CredentialManager
from vicid.creds.store import Authority, Certificate, CertType
from vicid.ike.config import UniquePolicy
from vicid.ike.effects import Fetch, IkeUpDown, Log
from vicid.ike.fetch import GRACE
from vicid.ike.sa import IkeState
from vicid.ike.wire.enums import ExchangeType

IKE = "aes256gcm16-sha512-x25519"
OCSP_URI = "http://ocsp.example.org/"
CRL_URI = "http://crl.example.org/ca.crl"
DAVE = "192.0.2.4"
STRICT, IFURI = 0, 1  # revocation = strict / ifuri (the Validation they require)


def messages(n) -> list[str]:
    return [e.msg for e in of(n.log, Log)]


def der(item) -> bytes:
    return item.public_bytes(serialization.Encoding.DER)


class Lab:
    """carol (and dave, with the same certificate) initiate to moon, which checks carol's
    certificate online; moon's credential manager is deferred like the daemon's."""

    def __init__(
        self,
        *,
        ocsp: bool = True,
        cdp: bool = False,
        revocation: int | None = None,
        authority_crl: bool = False,
        moon_ocsp: bool = False,
        timeout: float = 10.0,
    ) -> None:
        self.ca = ca()
        self.carol_cert = issue(
            "carol.example.org",
            keygen("p256"),
            self.ca,
            san=["carol.example.org"],
            ocsp_uri=OCSP_URI if ocsp else None,
            crl_uri=CRL_URI if cdp else None,
        )
        self.moon_cert = issue(
            "moon.example.org",
            keygen("p256"),
            self.ca,
            san=["moon.example.org"],
            ocsp_uri=OCSP_URI if moon_ocsp else None,
        )
        child = [child_cfg()]
        self.carol_peer = replace(
            peer_cfg("pq", CAROL, MOON, None, None, IKE, child),
            local_auth=(pubkey_auth("carol.example.org", self.carol_cert.cfg()),),
            remote_auth=(pubkey_auth("moon.example.org"),),
        )
        self.dave_peer = replace(self.carol_peer, local_addrs=DAVE)
        self.moon_peer = replace(
            peer_cfg("pq", MOON, "%any", None, None, IKE, child, unique=UniquePolicy.UNIQUE_NEVER),
            local_auth=(pubkey_auth("moon.example.org", self.moon_cert.cfg()),),
            remote_auth=(pubkey_auth("carol.example.org", revocation=revocation),),
        )
        carol_store = store_with(self.ca, self.carol_cert, keys=(self.carol_cert.key,))
        dave_store = store_with(self.ca, self.carol_cert, keys=(self.carol_cert.key,))
        moon_store = store_with(self.ca, self.moon_cert, keys=(self.moon_cert.key,))
        if authority_crl:
            moon_store.authorities["ca"] = Authority(
                "ca", Certificate(CertType.X509, self.ca.der, parsed=self.ca.cert), crl_uris=[CRL_URI]
            )
        self.carol = node("carol", CAROL, [self.carol_peer], carol_store, "c")
        self.dave = node("dave", DAVE, [self.dave_peer], dave_store, "d")
        self.moon = node("moon", MOON, [self.moon_peer], moon_store, "m")
        self.carol.manager.ctx.credmgr = CredentialManager(
            carol_store, clock=lambda: NOW, deferred=True, fetch_timeout=timeout
        )
        self.dave.manager.ctx.credmgr = CredentialManager(dave_store, clock=lambda: NOW)
        self.moon.manager.ctx.credmgr = CredentialManager(
            moon_store, clock=lambda: NOW, deferred=True, fetch_timeout=timeout
        )
        self.responder = Responder(self.ca)

    def start(self, now: float = 0.0) -> None:
        """carol's IKE_SA_INIT and first IKE_AUTH reach moon, which parks it."""
        self.carol.manager.initiate(
            self.carol_peer, self.carol_peer.children[0], ep(CAROL), ep(MOON), now, request_id=1
        )
        run(self, now)

    def fetches(self, n) -> list[Fetch]:
        return of(n.log, Fetch)

    def answer(self, n, fetch: Fetch, body: bytes | None, now: float) -> None:
        n.manager.fetch_complete(fetch.fetch_id, body, now)
        run(self, now)

    def up(self, n) -> list[bool]:
        return [e.up for e in of(n.log, IkeUpDown)]


def test_ocsp_fetch_parks_ike_auth_and_resumes_with_the_answer():
    lab = Lab()
    lab.start()
    # carol: HDR, SK {IDi, CERT, CERTREQ, AUTH, ...} --> moon: needs carol's OCSP status first
    [fetch] = lab.fetches(lab.moon)
    assert (fetch.uri, fetch.content_type, fetch.timeout) == (OCSP_URI, "application/ocsp-request", 10.0)
    request = x509.ocsp.load_der_ocsp_request(fetch.data)
    assert request.serial_number == lab.carol_cert.cert.serial_number
    sa = lab.moon.sa
    assert sa.state == IkeState.CONNECTING and sa.tm.fetch.parked is not None
    assert lab.up(lab.moon) == [] and lab.up(lab.carol) == []
    assert lab.moon.manager.next_deadline() <= 10.0 + GRACE
    # <-- HDR, SK {IDr, CERT, AUTH, ...} once the responder answered
    lab.answer(lab.moon, fetch, lab.responder.answer(fetch.data), 1.0)
    assert lab.up(lab.moon) == [True] and lab.up(lab.carol) == [True]
    log = messages(lab.moon)
    assert f"  requesting ocsp status from '{OCSP_URI}' ..." in log
    assert "certificate status is good" in log
    assert "authentication of 'carol.example.org' with ECDSA_WITH_SHA256_DER successful" in log
    assert [c.type for c in lab.moon.manager.ctx.credmgr.store.cache] == [CertType.OCSP_RESPONSE]
    assert sa.tm.fetch.answers == {} and sa.tm.fetch.parked is None
    assert len(lab.fetches(lab.moon)) == 1


def test_retransmits_during_the_wait_are_ignored():
    lab = Lab()
    lab.start()
    [fetch] = lab.fetches(lab.moon)
    # carol's retransmission timer fires: the same IKE_AUTH request again, moon stays silent
    carol_deadline = lab.carol.manager.next_deadline()
    assert carol_deadline is not None and carol_deadline < 10.0
    lab.carol.manager.handle_timer(carol_deadline)
    resent = datagrams(transfer(lab.carol, lab.moon, carol_deadline))
    assert resent
    assert datagrams(lab.moon.drain()) == []
    assert lab.moon.manager.drops["already_processing"] == len(resent)
    assert "ignoring request with ID 1, already processing" in messages(lab.moon)
    assert len(lab.fetches(lab.moon)) == 1  # no second fetch
    lab.answer(lab.moon, fetch, lab.responder.answer(fetch.data), carol_deadline + 0.5)
    assert lab.up(lab.moon) == [True] and lab.up(lab.carol) == [True]


def routed(lab: Lab, now: float) -> None:
    """Pump datagrams among carol, dave and moon by destination address until quiet."""
    nodes = {n.host: n for n in (lab.carol, lab.dave, lab.moon)}
    for _ in range(20):
        sent = [(d, n) for n in nodes.values() for d in datagrams(n.drain())]
        if not sent:
            return
        for d, _n in sent:
            nodes[str(d.dst[0])].manager.receive_datagram(d.data, d.src, d.dst, now)
    raise AssertionError("no quiescence")


def test_other_ike_sas_go_on_and_share_the_fetch():
    lab = Lab()
    lab.start()
    [fetch] = lab.fetches(lab.moon)
    # dave, same certificate: his IKE_AUTH waits for the same fetch (no second request) ...
    lab.dave.manager.initiate(lab.dave_peer, lab.dave_peer.children[0], ep(DAVE), ep(MOON), 0.5, request_id=2)
    routed(lab, 0.5)
    assert len(lab.fetches(lab.moon)) == 1
    assert "  waiting for ocsp request to 'http://ocsp.example.org/' ..." in messages(lab.moon)
    waiting = lab.moon.manager.ctx.fetches.pending[fetch.fetch_id].waiting
    assert len(waiting) == 2
    # ... and one answer resumes both
    lab.moon.manager.fetch_complete(fetch.fetch_id, lab.responder.answer(fetch.data), 1.0)
    routed(lab, 1.0)
    assert lab.up(lab.moon) == [True, True] and lab.up(lab.carol) == [True] and lab.up(lab.dave) == [True]
    assert len(lab.responder.requests) == 1


def test_a_failed_fetch_is_no_revocation_information():
    # relaxed (default): accepted, status not available
    lab = Lab()
    lab.start()
    [fetch] = lab.fetches(lab.moon)
    lab.answer(lab.moon, fetch, None, 1.0)
    log = messages(lab.moon)
    assert f"ocsp request to {OCSP_URI} failed" in log and "certificate status is not available" in log
    assert lab.up(lab.moon) == [True] and lab.up(lab.carol) == [True]
    assert lab.moon.manager.ctx.credmgr.store.cache == []
    # strict: refused with charon's constraint message
    lab = Lab(revocation=STRICT)
    lab.start()
    [fetch] = lab.fetches(lab.moon)
    lab.answer(lab.moon, fetch, None, 1.0)
    assert "constraint check failed: RULE_CRL_VALIDATION is FAILED, but requires at least GOOD" in messages(lab.moon)
    assert True not in lab.up(lab.moon) and lab.moon.manager.ike_sas() == []
    assert "received AUTHENTICATION_FAILED notify error" in messages(lab.carol)


def test_an_unanswered_fetch_times_out_as_failed():
    lab = Lab(revocation=IFURI, timeout=5.0)
    lab.start()
    [fetch] = lab.fetches(lab.moon)
    deadline = lab.moon.manager.next_deadline()
    assert deadline == 5.0 + GRACE
    lab.moon.manager.handle_timer(deadline)
    run(lab, deadline)
    assert "constraint check failed: RULE_CRL_VALIDATION is FAILED, but requires at least SKIPPED" in messages(lab.moon)
    assert lab.moon.manager.ike_sas() == []
    lab.moon.manager.fetch_complete(fetch.fetch_id, lab.responder.answer(fetch.data), deadline + 1)  # too late
    assert datagrams(lab.moon.drain()) == []


def test_half_open_timeout_during_the_wait():
    lab = Lab(timeout=60.0)
    lab.start()
    [fetch] = lab.fetches(lab.moon)
    assert lab.moon.manager.next_deadline() == 30.0  # half_open_timeout comes first
    lab.moon.manager.handle_timer(30.0)
    assert lab.moon.manager.ike_sas() == []
    assert lab.moon.manager.ctx.fetches.pending == {}  # nobody waits: the fetch is dropped
    lab.moon.manager.fetch_complete(fetch.fetch_id, lab.responder.answer(fetch.data), 31.0)
    assert datagrams(lab.moon.drain()) == []


def test_crl_fetched_from_the_distribution_point_and_cached():
    lab = Lab(ocsp=False, cdp=True, revocation=STRICT)
    lab.start()
    [fetch] = lab.fetches(lab.moon)
    assert (fetch.uri, fetch.data, fetch.content_type) == (CRL_URI, b"", "")
    good = crl(lab.ca, [(12345, None)])
    lab.answer(lab.moon, fetch, der(good), 1.0)
    log = messages(lab.moon)
    assert f"  fetching crl from '{CRL_URI}' ..." in log
    assert '  crl correctly signed by "C=CH, O=vicid test, CN=vicid test CA"' in log
    assert "  crl is valid: until Mar 08 00:00:00 2026" in log
    assert lab.up(lab.moon) == [True] and lab.up(lab.carol) == [True]
    [cached] = lab.moon.manager.ctx.credmgr.store.cache
    assert cached.type == CertType.X509_CRL and cached.der == der(good)
    # the next IKE_SA (dave, same certificate) uses the cached CRL: no fetch
    lab.dave.manager.initiate(lab.dave_peer, lab.dave_peer.children[0], ep(DAVE), ep(MOON), 2.0)
    routed(lab, 2.0)
    assert lab.up(lab.moon) == [True, True] and lab.up(lab.dave) == [True]
    assert len(lab.fetches(lab.moon)) == 1 and "  using cached crl" in messages(lab.moon)


def test_revoked_by_a_fetched_crl_from_the_authority_uri():
    lab = Lab(ocsp=False, authority_crl=True)
    lab.start()
    [fetch] = lab.fetches(lab.moon)
    assert fetch.uri == CRL_URI
    revoked = crl(lab.ca, [(lab.carol_cert.cert.serial_number, x509.ReasonFlags.key_compromise)])
    lab.answer(lab.moon, fetch, revoked.public_bytes(serialization.Encoding.PEM), 1.0)  # PEM works too
    log = messages(lab.moon)
    assert "certificate was revoked on Feb 28 00:00:00 2026, reason: key compromise" in log
    assert "no trusted ECDSA public key found for 'carol.example.org'" in log
    assert True not in lab.up(lab.moon) and lab.moon.manager.ike_sas() == []


def test_crl_of_another_issuer_or_garbage_is_refused():
    lab = Lab(ocsp=False, cdp=True, revocation=STRICT)
    lab.start()
    [fetch] = lab.fetches(lab.moon)
    lab.answer(lab.moon, fetch, der(crl(ca("other CA"), [])), 1.0)
    log = messages(lab.moon)
    assert (
        "issuer of fetched CRL 'C=CH, O=vicid test, CN=other CA' does not match certificate's issuer "
        "'C=CH, O=vicid test, CN=vicid test CA'"
    ) in log
    assert True not in lab.up(lab.moon)
    lab = Lab(ocsp=False, cdp=True)
    lab.start()
    [fetch] = lab.fetches(lab.moon)
    lab.answer(lab.moon, fetch, b"not a crl", 1.0)
    assert "crl fetched successfully but parsing failed" in messages(lab.moon)
    assert lab.up(lab.moon) == [True]  # relaxed


def test_ocsp_then_crl_fallback_each_fetched_in_turn():
    """OCSP says unknown: the CRL is fetched next, in a second wait of the same message."""
    lab = Lab(cdp=True, revocation=STRICT)
    lab.responder.statuses[lab.carol_cert.cert.serial_number] = "unknown"
    lab.start()
    [ocsp] = lab.fetches(lab.moon)
    lab.answer(lab.moon, ocsp, lab.responder.answer(ocsp.data), 1.0)
    [_, crl_fetch] = lab.fetches(lab.moon)
    assert crl_fetch.uri == CRL_URI and lab.up(lab.moon) == []
    assert "ocsp check failed, fallback to crl" in messages(lab.moon)
    lab.answer(lab.moon, crl_fetch, der(crl(lab.ca, [])), 2.0)
    assert lab.up(lab.moon) == [True] and lab.up(lab.carol) == [True]


def test_initiator_waits_for_the_responders_status_without_retransmitting():
    lab = Lab(ocsp=False, moon_ocsp=True)
    lab.start()
    [fetch] = lab.fetches(lab.carol)  # carol checks moon's certificate in the IKE_AUTH response
    sa = lab.carol.sa
    assert sa.tm.fetch.parked is not None and not sa.tm.fetch.parked.msg.is_request
    assert sa.tm.fetch.parked.msg.exchange == ExchangeType.IKE_AUTH
    assert lab.carol.manager.next_deadline() == 10.0 + GRACE  # no retransmission meanwhile
    assert lab.up(lab.moon) == [True] and lab.up(lab.carol) == []
    lab.answer(lab.carol, fetch, lab.responder.answer(fetch.data), 1.0)
    assert lab.up(lab.carol) == [True]
    assert "authentication of 'moon.example.org' with ECDSA_WITH_SHA256_DER successful" in messages(lab.carol)


def test_terminate_during_the_wait():
    lab = Lab()
    lab.start()
    [fetch] = lab.fetches(lab.moon)
    uid = lab.moon.sa.uniqueid
    lab.moon.manager.terminate_ike(uid, 1.0)
    assert lab.moon.manager.ike_sas() == [] and lab.moon.manager.ctx.fetches.pending == {}
    lab.moon.manager.fetch_complete(fetch.fetch_id, lab.responder.answer(fetch.data), 2.0)
    assert datagrams(lab.moon.drain()) == []


def test_a_stale_cached_crl_is_fetched_again_and_replaced():
    lab = Lab(ocsp=False, cdp=True, revocation=STRICT)
    stale = crl(lab.ca, [], next_update=NOW - DAY, now=NOW - 8 * DAY)
    cache = lab.moon.manager.ctx.credmgr.store.cache
    cache.append(Certificate(CertType.X509_CRL, der(stale), parsed=stale))
    lab.start()
    assert "  crl is stale: since Feb 28 00:00:00 2026" in messages(lab.moon)
    [fetch] = lab.fetches(lab.moon)
    fresh = crl(lab.ca, [], number=2)  # newer by its crlNumber
    lab.answer(lab.moon, fetch, der(fresh), 1.0)
    assert lab.up(lab.moon) == [True]
    assert [c.der for c in cache] == [der(fresh)]
