"""Chain validation edge cases (charon's credential manager rules and log lines)."""

from __future__ import annotations

from cryptography import x509

from tests.unit.creds.pki import DAY, NOW, ca, crl, issue, keygen
from vicid.creds.manager import CredentialManager
from vicid.creds.revocation import check_online
from vicid.creds.trust import TrustStore, Validation, has_subject, ike_compliant, spki_sha1, verify_chain
from vicid.identity import Identification, IdMatch


def run(subject, trusted, untrusted=(), now=NOW, crls=()):
    lines: list[str] = []
    store = TrustStore(list(trusted), list(untrusted), list(crls))
    result = verify_chain(subject.cert, store, now, lambda _g, _l, m: lines.append(m))
    return result, lines, store


def test_chain_to_trusted_root():
    root = ca()
    leaf = issue("carol", keygen("p256"), root)
    result, lines, _ = run(leaf, [root.cert])
    assert result is not None and result.ca_cert == root.cert and result.im_certs == []
    assert lines == ['  using trusted ca certificate "C=CH, O=vicid test, CN=vicid test CA"',
                     "  reached self-signed root ca with a path length of 0"]


def test_expired_subject():
    root = ca()
    leaf = issue("carol", keygen("p256"), root, not_before=NOW - 10 * DAY, not_after=NOW - DAY)
    result, lines, _ = run(leaf, [root.cert])
    assert result is None
    assert lines[-1] == "subject certificate invalid (valid from Feb 19 00:00:00 2026 to Feb 28 00:00:00 2026)"


def test_not_yet_valid_subject():
    root = ca()
    leaf = issue("carol", keygen("ed25519"), root, not_before=NOW + DAY, not_after=NOW + 9 * DAY)
    result, lines, _ = run(leaf, [root.cert])
    assert result is None and lines[-1].startswith("subject certificate invalid (valid from Mar 02")


def test_expired_issuer():
    root = ca(not_before=NOW - 10 * DAY, not_after=NOW - DAY)
    leaf = issue("carol", keygen("p256"), root)
    result, lines, _ = run(leaf, [root.cert])
    assert result is None and lines[-1].startswith("issuer certificate invalid")


def test_path_length_constraint():
    root = ca(path_len=0)
    sub = issue("sub CA", keygen("p256"), root, ca=True)
    leaf = issue("carol", keygen("p256"), sub)
    result, lines, _ = run(leaf, [root.cert], [sub.cert])
    assert result is None
    assert "path length of 1 violates constraint of 0" in lines
    ok_root = ca(path_len=1)
    ok_sub = issue("sub CA", keygen("p256"), ok_root, ca=True)
    result, lines, _ = run(issue("carol", keygen("p256"), ok_sub), [ok_root.cert], [ok_sub.cert])
    assert result is not None and result.im_certs == [ok_sub.cert]
    assert '  using untrusted intermediate certificate "C=CH, O=vicid test, CN=sub CA"' in lines


def test_issuer_without_ca_flag_is_no_issuer():
    fake = issue("not a CA", keygen("p256"))  # self-signed, no basicConstraints
    leaf = issue("carol", keygen("p256"), fake)
    result, lines, _ = run(leaf, [fake.cert])
    assert result is None
    assert lines == ['no issuer certificate found for "C=CH, O=vicid test, CN=carol"',
                     '  issuer is "C=CH, O=vicid test, CN=not a CA"']


def test_unknown_ca_and_untrusted_self_signed():
    leaf = issue("carol", keygen("rsa"), ca("rogue CA"))
    result, lines, _ = run(leaf, [ca().cert])
    assert result is None and lines[1] == '  issuer is "C=CH, O=vicid test, CN=rogue CA"'
    selfie = ca("selfie")
    result, lines, _ = run(selfie, [], [selfie.cert])
    assert result is None and lines == ['  self-signed certificate "C=CH, O=vicid test, CN=selfie" is not trusted']


def test_wrong_key_usage_is_not_ike_compliant():
    root = ca()
    ku = x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=True,
                       data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                       encipher_only=False, decipher_only=False)
    assert not ike_compliant(issue("carol", keygen("p256"), root, key_usage=ku).cert)
    ds = x509.KeyUsage(True, False, False, False, False, False, False, False, False)
    assert ike_compliant(issue("carol", keygen("p256"), root, key_usage=ds).cert)
    assert ike_compliant(issue("carol", keygen("p256"), root).cert)  # no keyUsage: RFC 4945


def test_crl_revoked_good_stale_and_failed():
    root = ca()
    leaf = issue("carol", keygen("p256"), root, serial=4711)
    result, _, store = run(leaf, [root.cert], crls=[crl(root, [(4711, x509.ReasonFlags.superseded)])])
    lines: list[str] = []
    assert not check_online(result, store, NOW, lambda _g, _l, m: lines.append(m))
    assert "certificate was revoked on Feb 28 00:00:00 2026, reason: superseded" in lines
    result, _, store = run(leaf, [root.cert], crls=[crl(root, [(1, None)])])
    assert check_online(result, store, NOW, lambda *_: None) and result.crl_validation == Validation.GOOD
    result, _, store = run(leaf, [root.cert], crls=[crl(root, [], next_update=NOW - DAY)])
    assert check_online(result, store, NOW, lambda *_: None) and result.crl_validation == Validation.STALE
    with_uri = issue("carol", keygen("p256"), root, crl_uri="http://crl.example.org/ca.crl")
    result, _, store = run(with_uri, [root.cert])
    assert check_online(result, store, NOW, lambda *_: None) and result.crl_validation == Validation.FAILED
    result, _, store = run(leaf, [root.cert])
    assert check_online(result, store, NOW, lambda *_: None) and result.crl_validation == Validation.SKIPPED


def test_crl_of_another_issuer_is_ignored():
    root, other = ca(), ca("other CA")
    leaf = issue("carol", keygen("p256"), root, serial=99)
    forged = crl(other, [(99, None)])
    result, _, store = run(leaf, [root.cert], crls=[forged])
    assert check_online(result, store, NOW, lambda *_: None)


def test_identity_matching_subject_and_alt_names():
    leaf = issue("carol", keygen("p256"), ca(), san=["carol.example.org", "carol@example.org"])
    assert has_subject(leaf.cert, Identification.from_string("carol.example.org")) == IdMatch.PERFECT
    assert has_subject(leaf.cert, Identification.from_string("carol@example.org")) == IdMatch.PERFECT
    assert has_subject(leaf.cert, Identification.from_string("C=CH, O=vicid test, CN=carol")) == IdMatch.PERFECT
    assert has_subject(leaf.cert, Identification.from_string("C=CH, O=vicid test, CN=*")) > 0
    assert has_subject(leaf.cert, Identification.from_string("moon.example.org")) == IdMatch.NONE


def test_certreq_key_ids_and_private_key_lookup():
    from tests.unit.creds.pki import store_with

    root = ca()
    leaf = issue("carol", keygen("ed25519"), root, san=["carol.example.org"])
    mgr = CredentialManager(store_with(root, leaf, keys=(leaf.key,)), clock=lambda: NOW)
    assert mgr.ca_by_keyid(spki_sha1(root.cert)) == root.cert
    assert mgr.ca_certs() == [root.cert]
    local = mgr.private_key(Identification.from_string("carol.example.org"))
    assert local is not None and local.cert == leaf.cert and local.im_certs == []
    assert mgr.private_key(Identification.from_string("moon.example.org")) is None
    keys = list(mgr.public_keys("ED25519", Identification.from_string("carol.example.org")))
    assert len(keys) == 1 and "PrivateKey" not in repr(keys)
