"""Captures signature AUTH vectors from charon 6.1 in the lab (opt-in: VICID_CAPTURE_AUTH_VECTORS=1).

charon (carol) initiates to vicid with a certificate (RSA-PSS, ECDSA P-256, Ed25519, RSA PKCS#1
v1.5), logging at ``ike = 4`` / ``enc = 3``: the AUTH octets it signs ("octets = message +
nonce + prf(Sk_px, IDx')"), Sk_pi, the nonces and the AUTH payload data it generates. This test
writes them with carol's certificate to ``tests/vectors/auth-charon61-<kind>.txt``, which
tests/unit/creds/test_auth_vectors.py checks. Lab keys only, made for the run; carol's throwaway key is stored too
so that deterministic signatures (Ed25519, PKCS#1 v1.5) can be compared byte for byte.
"""

from __future__ import annotations

import datetime
import os
import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from .test_certs_charon import ca, carol_swanctl_conf, issue, keygen, start_pair, write_pair

pytestmark = pytest.mark.interop
VECTORS = Path(__file__).resolve().parents[1] / "vectors"
KINDS = {
    "rsa-pss": ("rsa", "rsa/pss-sha256"),
    "ecdsa-p256": ("ecdsa", "ecdsa-sha256"),
    "ed25519": ("ed25519", "pubkey"),
    "rsa-pkcs1": ("rsa", "rsa-sha256"),
}
_DUMP_LINE = re.compile(r"^\s*\d+: ((?:[0-9A-F]{2} ?){1,16})")


def dumps(log: str, title: str) -> list[bytes]:
    """Every ``%B`` hex dump that follows a line containing ``title``."""
    out: list[bytes] = []
    lines = log.splitlines()
    for i, line in enumerate(lines):
        if title not in line:
            continue
        data = bytearray()
        for follow in lines[i + 1 :]:
            body = re.sub(r"^.*?\[\w+\] (<[^>]*> )?", "", follow)
            m = _DUMP_LINE.match(body)
            if not m:
                break
            data += bytes.fromhex(m.group(1).replace(" ", ""))
        out.append(bytes(data))
    return out


@pytest.mark.skipif(
    os.environ.get("VICID_CAPTURE_AUTH_VECTORS") != "1",
    reason="writes tests/vectors/auth-charon61-*.txt; run with VICID_CAPTURE_AUTH_VECTORS=1",
)
@pytest.mark.parametrize("kind", list(KINDS))
def test_capture(kind, tmp_path, netns_pair, charon_factory, vicid_factory, rootfs_swanctl):
    key_kind, auth = KINDS[kind]
    authority = ca("vicid interop CA", "p256")
    moon = issue("moon.example.org", keygen("ecdsa"), authority, san=["moon.example.org"])
    carol = issue("carol.example.org", keygen(key_kind), authority, san=["carol.example.org"])
    moon_dir, carol_dir = write_pair(tmp_path, authority, moon, carol, carol_conf=carol_swanctl_conf(auth))
    conf = (carol_dir / "strongswan.conf").read_text()
    conf = re.sub(r"ike = \d", "ike = 4", conf)
    conf = re.sub(r"enc = \d", "enc = 3", conf)
    (carol_dir / "strongswan.conf").write_text(conf)
    _vicid, charon, res = start_pair(
        "charon", moon_dir, carol_dir, netns_pair, charon_factory, vicid_factory, rootfs_swanctl
    )
    assert res.returncode == 0, res.stdout + res.stderr
    log = charon.log_text()
    (octets,) = dumps(log, "octets = message + nonce + prf(Sk_px, IDx')")[:1]
    (sk_pi,) = dumps(log, "Sk_pi secret")[:1]
    (nonces,) = dumps(log, "] <certs|1> nonces =>")[:1]
    scheme = re.search(r"authentication of 'carol.example.org' \(myself\) with (\S+) successful", log).group(1)
    # the AUTH payload's data is the chunk dumped while generating it
    auth_at = log.index("generating payload of type AUTH\n")
    auth_data = dumps(log[auth_at:], "generated data for this payload")[0][4:]  # minus the generic header
    assert auth_data[0] == 14, "not an RFC 7427 AUTH payload"
    auth_data = auth_data[4:]  # method and reserved octets
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d")
    text = "\n".join(
        [
            f"# charon 6.1.0 (lab rootfs, OpenSSL 3.6) as IKE_SA initiator, auth = {auth}; captured {when}",
            "# by tests/interop/test_capture_auth_vectors.py from charon's filelog (ike = 4, enc = 3).",
            "# octets = IKE_SA_INIT request | Nr | prf(SK_pi, IDi'); IDi' is FQDN carol.example.org.",
            "# prf = PRF_HMAC_SHA2_512 (proposal aes256gcm16-sha512-x25519)",
            f"scheme = {scheme}",
            f"octets = {octets.hex()}",
            f"nonces = {nonces.hex()}",
            f"sk_pi = {sk_pi.hex()}",
            f"auth = {auth_data.hex()}",
            "cert = " + carol.der.hex(),
            "# carol's key, PKCS#8: a throwaway key made for this capture, so deterministic schemes can be",
            "# compared byte for byte",
            "key = "
            + carol.key.private_bytes(
                serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ).hex(),
            "",
        ]
    )
    (VECTORS / f"auth-charon61-{kind}.txt").write_text(text)
