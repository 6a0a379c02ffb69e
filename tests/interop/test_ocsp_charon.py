"""Acceptance (issue #9): vicid checks charon's certificate by OCSP, and by a CRL over HTTP.

charon 6.1 (carol) initiates with a certificate whose AIA names an OCSP responder; the
responder (tests/unit/creds/ocsp_responder.py, cryptography.x509.ocsp) listens on 127.0.0.1
inside moon's namespace, where vicid responds to IKE. A good status brings the tunnel up and
the response is cached (listed as OCSP_RESPONSE); a revoked one is refused with charon's
messages. The request carries a nonce, which the responder echoes. The same HTTP server serves
the CA's CRL at the certificate's CRL distribution point: vicid fetches it while that IKE_SA
waits, caches it (``--list-certs --type x509_crl``, flushed with ``--flush-certs``) and accepts
or refuses carol as the CRL says.
"""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.unit.creds.ocsp_responder import HttpResponder, Responder, loopback_socket

from .test_certs_charon import ca, crl, issue, keygen, start_pair, swanctl_conf, write_pair
from .test_ike_charon import established, vicid_sas

pytestmark = pytest.mark.interop


@pytest.mark.parametrize("status", ["good", "revoked"])
def test_charon_certificate_checked_by_ocsp(
    status, tmp_path, netns_pair, charon_factory, vicid_factory, rootfs_swanctl
):
    sock = loopback_socket(netns_pair.moon.netns)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/ocsp"
    authority = ca("vicid interop CA", "p256")
    moon = issue("moon.example.org", keygen("ecdsa"), authority, san=["moon.example.org"])
    carol = issue("carol.example.org", keygen("ecdsa"), authority, san=["carol.example.org"], ocsp_uri=url)
    responder = Responder(authority, statuses={carol.cert.serial_number: status})
    responder.now = (
        carol.cert.not_valid_before_utc + (carol.cert.not_valid_after_utc - carol.cert.not_valid_before_utc) / 30
    )  # ~ real now
    server = HttpResponder(responder, sock, "127.0.0.1")
    try:
        moon_dir, carol_dir = write_pair(tmp_path, authority, moon, carol, moon_extra="revocation = strict")
        vicid, _charon, res = start_pair(
            "charon", moon_dir, carol_dir, netns_pair, charon_factory, vicid_factory, rootfs_swanctl
        )
    finally:
        server.close()
    log = vicid.log_text()
    assert len(responder.requests) == 1
    request = x509.ocsp.load_der_ocsp_request(responder.requests[0])
    assert request.serial_number == carol.cert.serial_number
    assert request.extensions.get_extension_for_class(x509.OCSPNonce)
    assert f"requesting ocsp status from '{url}' ..." in log
    assert 'ocsp response correctly signed by "C=CH, O=vicid test, CN=vicid interop CA"' in log
    if status == "good":
        assert res.returncode == 0, res.stdout + res.stderr + log[-3000:]
        ike = established(vicid_sas(rootfs_swanctl, vicid), "certs")
        assert ike["remote-id"] == "carol.example.org"
        assert "certificate status is good" in log
        listed = rootfs_swanctl(vicid.vici_uri, "--list-certs", "--type", "ocsp_response", check=True).stdout
        assert "ocsp" in listed.lower(), listed
    else:
        assert res.returncode != 0
        assert "certificate was revoked on" in log and "reason: key compromise" in log
        assert "no trusted ECDSA public key found for 'carol.example.org'" in log
        assert "received AUTHENTICATION_FAILED notify error" in res.stdout + res.stderr


@pytest.mark.parametrize("initiator,status", [("charon", "good"), ("charon", "revoked"), ("vicid", "good")])
def test_charon_certificate_checked_by_a_crl_over_http(
    initiator, status, tmp_path, netns_pair, charon_factory, vicid_factory, rootfs_swanctl
):
    """vicid responds (moon) and checks carol's certificate, or initiates (carol) and checks
    moon's while it processes the IKE_AUTH response."""
    vicid_ns = netns_pair.moon if initiator == "charon" else netns_pair.carol
    sock = loopback_socket(vicid_ns.netns)
    authority = ca("vicid interop CA", "p256")
    server = HttpResponder(Responder(authority), sock, "127.0.0.1")
    url = f"{server.base}/ca.crl"
    checked = "carol" if initiator == "charon" else "moon"
    moon = issue("moon.example.org", keygen("ecdsa"), authority, san=["moon.example.org"],
                 crl_uri=url if checked == "moon" else None)
    carol = issue("carol.example.org", keygen("ecdsa"), authority, san=["carol.example.org"],
                  crl_uri=url if checked == "carol" else None)
    peer = carol if checked == "carol" else moon
    listed = [(peer.cert.serial_number, x509.ReasonFlags.key_compromise)] if status == "revoked" else [(4711, None)]
    server.crls["/ca.crl"] = crl(authority, listed).public_bytes(serialization.Encoding.DER)
    try:
        strict = "revocation = strict"  # on vicid's side: only a good CRL will do
        carol_conf = swanctl_conf("192.0.2.3", "192.0.2.2", "carol.example.org", "moon.example.org",
                                  "203.0.113.0/24", "198.51.100.0/24", "carol.pem", extra_remote=strict)
        if checked == "carol":
            moon_dir, carol_dir = write_pair(tmp_path, authority, moon, carol, moon_extra=strict)
        else:
            moon_dir, carol_dir = write_pair(tmp_path, authority, moon, carol, carol_conf=carol_conf)
        vicid, _charon, res = start_pair(
            initiator, moon_dir, carol_dir, netns_pair, charon_factory, vicid_factory, rootfs_swanctl
        )
    finally:
        server.close()
    log = vicid.log_text()
    assert server.gets == ["/ca.crl"]
    assert f"fetching crl from '{url}' ..." in log
    assert 'crl correctly signed by "C=CH, O=vicid test, CN=vicid interop CA"' in log
    listed_crls = rootfs_swanctl(vicid.vici_uri, "--list-certs", "--type", "x509_crl", check=True).stdout
    if status == "good":
        assert res.returncode == 0, res.stdout + res.stderr + log[-3000:]
        ike = established(vicid_sas(rootfs_swanctl, vicid), "certs")
        assert ike["remote-id"] == f"{checked}.example.org"
        assert "crl is valid: until" in log and "certificate status is good" in log
        assert 'issuer:   "C=CH, O=vicid test, CN=vicid interop CA"' in listed_crls, listed_crls
        rootfs_swanctl(vicid.vici_uri, "--flush-certs", "--type", "x509_crl", check=True)
        after = rootfs_swanctl(vicid.vici_uri, "--list-certs", "--type", "x509_crl", check=True).stdout
        assert "vicid interop CA" not in after, after
    else:
        assert res.returncode != 0
        assert "certificate was revoked on" in log and "reason: key compromise" in log
        assert "no trusted ECDSA public key found for 'carol.example.org'" in log
        assert "received AUTHENTICATION_FAILED notify error" in res.stdout + res.stderr
