"""Acceptance (issue #9): certificate authentication between vicid and charon 6.1, both ways.

A fresh PKI per test (made with cryptography, never shipped keys): one CA, moon's and carol's
certificates with RSA, ECDSA or Ed25519 keys, loaded with strongSwan 6.1's swanctl from
``x509ca/``, ``x509/``, ``private/`` (and ``x509crl/``). Net-to-net tunnels must come up with
RFC 7427 signatures and carry a ping; a revoked certificate and an unknown CA must be refused
with charon's messages.
"""

from __future__ import annotations

import datetime
import shutil
from functools import partial
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.unit.creds import pki
from tests.unit.creds.pki import keygen

from .conftest import CONFIGS
from .test_ike_charon import established, vicid_sas
from .test_tunnel_charon import ping

pytestmark = pytest.mark.interop

# the daemons check validity against the real clock
REAL = datetime.datetime.now(datetime.UTC)
_TIMES = {"not_before": REAL - datetime.timedelta(days=1), "not_after": REAL + datetime.timedelta(days=30)}
issue = partial(pki.issue, **_TIMES)
ca = partial(pki.ca, **_TIMES)
crl = partial(pki.crl, now=REAL)

SCHEMES = {"rsa": "RSA_EMSA_PKCS1_SHA2_256", "ecdsa": "ECDSA_WITH_SHA256_DER", "ed25519": "ED25519"}


def swanctl_conf(me: str, other: str, my_id: str, other_id: str, local_ts: str, remote_ts: str,
                 cert: str, extra_remote: str = "") -> str:
    return f"""
connections {{
    certs {{
        version = 2
        local_addrs = {me}
        remote_addrs = {other}
        proposals = aes256gcm16-sha512-x25519
        local {{
            auth = pubkey
            certs = {cert}
            id = {my_id}
        }}
        remote {{
            auth = pubkey
            id = {other_id}
            {extra_remote}
        }}
        children {{
            net {{
                local_ts = {local_ts}
                remote_ts = {remote_ts}
                esp_proposals = aes256gcm16-x25519
            }}
        }}
    }}
}}
"""


def write_node(d: Path, name: str, issued, cacert, conf: str, crls=()) -> Path:
    for sub in ("x509", "x509ca", "private", "x509crl"):
        (d / sub).mkdir(parents=True, exist_ok=True)
    shutil.copy(CONFIGS / name / "strongswan.conf", d / "strongswan.conf")
    (d / "swanctl.conf").write_text(conf)
    (d / "x509" / f"{name}.pem").write_bytes(issued.pem)
    (d / "x509ca" / "ca.pem").write_bytes(cacert.pem)
    (d / "private" / f"{name}.pem").write_bytes(issued.key_pem())
    for i, item in enumerate(crls):
        (d / "x509crl" / f"crl{i}.pem").write_bytes(item.public_bytes(serialization.Encoding.PEM))
    return d


def write_pair(tmp: Path, authority, moon, carol, *, moon_extra: str = "", carol_conf: str | None = None,
               moon_crls=()) -> tuple[Path, Path]:
    """moon's and carol's swanctl directories for a net-to-net `certs` connection; ``moon_extra``
    goes into moon's remote section, ``carol_conf`` replaces carol's swanctl.conf."""
    moon_dir = write_node(tmp / "moon", "moon", moon, authority, swanctl_conf(
        "192.0.2.2", "192.0.2.3", "moon.example.org", "carol.example.org", "198.51.100.0/24",
        "203.0.113.0/24", "moon.pem", extra_remote=moon_extra), moon_crls)
    carol_dir = write_node(tmp / "carol", "carol", carol, authority, carol_conf or carol_swanctl_conf())
    return moon_dir, carol_dir


def carol_swanctl_conf(auth: str = "pubkey") -> str:
    conf = swanctl_conf("192.0.2.3", "192.0.2.2", "carol.example.org", "moon.example.org", "203.0.113.0/24",
                        "198.51.100.0/24", "carol.pem")
    pubkey = "auth = pubkey\n            certs = carol.pem"
    return conf.replace(pubkey, pubkey.replace("pubkey", auth, 1), 1)


def make_pki(tmp: Path, kind: str, *, carol_ca=None, moon_crls=()) -> tuple[Path, Path, object]:
    authority = ca("vicid interop CA", "p256")
    moon = issue("moon.example.org", keygen(kind), authority, san=["moon.example.org"])
    carol = issue("carol.example.org", keygen(kind), carol_ca or authority, san=["carol.example.org"])
    moon_dir, carol_dir = write_pair(tmp, authority, moon, carol, moon_crls=moon_crls)
    return moon_dir, carol_dir, carol


def start_pair(initiator: str, moon_dir: Path, carol_dir: Path, netns_pair, charon_factory,
               vicid_factory, rootfs_swanctl):
    """(vicid, charon, swanctl --initiate result): vicid is carol if it initiates, else moon."""
    if initiator == "vicid":
        charon = charon_factory(netns_pair.moon, moon_dir)
        vicid = vicid_factory(netns_pair.carol)
        loaded = rootfs_swanctl(vicid.vici_uri, "--load-all", "--noprompt", confdir=carol_dir)
        assert loaded.returncode == 0, loaded.stdout + loaded.stderr
        res = rootfs_swanctl(vicid.vici_uri, "--initiate", "--child", "net", "--ike", "certs", timeout=60)
    else:
        vicid = vicid_factory(netns_pair.moon)
        loaded = rootfs_swanctl(vicid.vici_uri, "--load-all", "--noprompt", confdir=moon_dir)
        assert loaded.returncode == 0, loaded.stdout + loaded.stderr
        charon = charon_factory(netns_pair.carol, carol_dir)
        res = charon.swanctl("--initiate", "--child", "net", "--ike", "certs", timeout=60)
    return vicid, charon, res


@pytest.mark.parametrize("kind", list(SCHEMES))
@pytest.mark.parametrize("initiator", ["vicid", "charon"])
def test_net_to_net_with_certificates(kind, initiator, tmp_path, netns_pair, charon_factory, vicid_factory,
                                      rootfs_swanctl, rootfs_exec):
    moon_dir, carol_dir, _ = make_pki(tmp_path, kind)
    vicid, charon, res = start_pair(initiator, moon_dir, carol_dir, netns_pair, charon_factory,
                                    vicid_factory, rootfs_swanctl)
    assert res.returncode == 0, res.stdout + res.stderr
    ike = established(vicid_sas(rootfs_swanctl, vicid), "certs")
    peer = established(charon.list_sas(), "certs")
    assert ike["initiator-spi"] == peer["initiator-spi"]
    assert {ike["local-id"], ike["remote-id"]} == {"moon.example.org", "carol.example.org"}
    scheme = SCHEMES[kind]
    assert f"with {scheme} successful" in charon.log_text()
    assert f"with {scheme} successful" in vicid.log_text()
    out = ping(rootfs_exec, netns_pair.carol, netns_pair.carol.inner, netns_pair.moon.inner)
    assert " 0% packet loss" in out.stdout, out.stdout + out.stderr
    listed = rootfs_swanctl(vicid.vici_uri, "--list-certs", check=True).stdout
    assert "subject:  \"C=CH, O=vicid test, CN=vicid interop CA\"" in listed
    assert "has private key" in listed


@pytest.mark.parametrize("initiator", ["vicid", "charon"])
def test_revoked_certificate_is_rejected(initiator, tmp_path, netns_pair, charon_factory, vicid_factory,
                                         rootfs_swanctl):
    """carol's certificate is on the CA's CRL, which moon has in x509crl/."""
    authority = ca("vicid interop CA", "p256")
    moon = issue("moon.example.org", keygen("ecdsa"), authority, san=["moon.example.org"])
    carol = issue("carol.example.org", keygen("ecdsa"), authority, san=["carol.example.org"])
    revoked = crl(authority, [(carol.cert.serial_number, x509.ReasonFlags.key_compromise)])
    moon_dir = write_node(tmp_path / "moon", "moon", moon, authority, swanctl_conf(
        "192.0.2.2", "192.0.2.3", "moon.example.org", "carol.example.org", "198.51.100.0/24",
        "203.0.113.0/24", "moon.pem"), [revoked])
    carol_dir = write_node(tmp_path / "carol", "carol", carol, authority, swanctl_conf(
        "192.0.2.3", "192.0.2.2", "carol.example.org", "moon.example.org", "203.0.113.0/24",
        "198.51.100.0/24", "carol.pem"))
    vicid, charon, res = start_pair(initiator, moon_dir, carol_dir, netns_pair, charon_factory,
                                    vicid_factory, rootfs_swanctl)
    assert res.returncode != 0
    moon_log = vicid.log_text() if initiator == "charon" else charon.log_text()
    assert "certificate was revoked on" in moon_log and "reason: key compromise" in moon_log
    assert "no trusted ECDSA public key found for 'carol.example.org'" in moon_log


@pytest.mark.parametrize("initiator", ["vicid", "charon"])
def test_wrong_ca_is_rejected(initiator, tmp_path, netns_pair, charon_factory, vicid_factory, rootfs_swanctl):
    """carol's certificate comes from a CA moon does not trust."""
    rogue = ca("vicid rogue CA", "p256")
    moon_dir, carol_dir, _ = make_pki(tmp_path, "ecdsa", carol_ca=rogue)
    vicid, charon, res = start_pair(initiator, moon_dir, carol_dir, netns_pair, charon_factory,
                                    vicid_factory, rootfs_swanctl)
    assert res.returncode != 0
    moon_log = vicid.log_text() if initiator == "charon" else charon.log_text()
    assert 'no issuer certificate found for "C=CH, O=vicid test, CN=carol.example.org"' in moon_log
    assert '  issuer is "C=CH, O=vicid test, CN=vicid rogue CA"' in moon_log
    assert "no trusted ECDSA public key found for 'carol.example.org'" in moon_log
    carol_out = res.stdout + res.stderr
    assert "received AUTHENTICATION_FAILED notify error" in carol_out
