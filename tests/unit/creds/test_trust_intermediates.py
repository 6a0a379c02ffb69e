"""Chain edge cases with intermediate CAs: loaded (trusted) versus received on the wire
(untrusted), expired intermediates and path lengths counted through either kind."""

from __future__ import annotations

from tests.unit.creds.pki import DAY, NOW, ca, issue, keygen
from vicid.creds.trust import TrustStore, verify_chain


def run(leaf, trusted, untrusted=()):
    lines: list[str] = []
    result = verify_chain(leaf.cert, TrustStore(list(trusted), list(untrusted)), NOW, lambda _g, _l, m: lines.append(m))
    return result, lines


def test_intermediate_loaded_versus_from_the_wire():
    root = ca()
    sub = issue("sub CA", keygen("p256"), root, ca=True)
    leaf = issue("carol", keygen("ed25519"), sub)
    loaded, lines = run(leaf, [root.cert, sub.cert])
    assert loaded is not None and loaded.im_certs == [sub.cert]
    assert '  using trusted intermediate ca certificate "C=CH, O=vicid test, CN=sub CA"' in lines
    wire, lines = run(leaf, [root.cert], [sub.cert])
    assert wire is not None and wire.im_certs == [sub.cert] and wire.ca_cert == root.cert
    assert '  using untrusted intermediate certificate "C=CH, O=vicid test, CN=sub CA"' in lines
    assert "  reached self-signed root ca with a path length of 1" in lines
    missing, lines = run(leaf, [root.cert])
    assert missing is None and 'no issuer certificate found for "C=CH, O=vicid test, CN=carol"' in lines


def test_untrusted_self_signed_intermediate_is_no_anchor():
    rogue = ca("rogue CA")
    leaf = issue("carol", keygen("p256"), rogue)
    result, lines = run(leaf, [ca().cert], [rogue.cert])
    assert result is None
    assert '  self-signed certificate "C=CH, O=vicid test, CN=rogue CA" is not trusted' in lines


def test_expired_intermediate_from_the_wire():
    root = ca()
    sub = issue("sub CA", keygen("p256"), root, ca=True, not_before=NOW - 10 * DAY, not_after=NOW - DAY)
    leaf = issue("carol", keygen("p256"), sub)
    result, lines = run(leaf, [root.cert], [sub.cert])
    assert result is None and lines[-1].startswith("issuer certificate invalid (valid from")


def test_intermediate_without_ca_flag_from_the_wire():
    root = ca()
    sub = issue("sub CA", keygen("p256"), root)  # no basicConstraints CA
    leaf = issue("carol", keygen("p256"), sub)
    result, lines = run(leaf, [root.cert], [sub.cert])
    assert result is None and 'no issuer certificate found for "C=CH, O=vicid test, CN=carol"' in lines


def test_path_length_counts_wire_and_loaded_intermediates():
    root = ca(path_len=1)
    sub1 = issue("sub1 CA", keygen("p256"), root, ca=True)
    sub2 = issue("sub2 CA", keygen("p256"), sub1, ca=True)
    leaf = issue("carol", keygen("p256"), sub2)
    result, lines = run(leaf, [root.cert, sub1.cert], [sub2.cert])
    assert result is None and "path length of 2 violates constraint of 1" in lines
    limited = issue("sub1 CA", keygen("p256"), ca(), ca=True, path_len=0)
    deeper = issue("sub2 CA", keygen("p256"), limited, ca=True)
    leaf2 = issue("carol", keygen("p256"), deeper)
    result, lines = run(leaf2, [limited.cert], [deeper.cert])
    assert result is None and "path length of 1 violates constraint of 0" in lines
