"""Acceptance (issue #9): EAP-MSCHAPv2 road warrior between two vicid daemons.

Debian's strongSwan 6.1 build has no eap-mschapv2 plugin (the lab rootfs'
``/usr/lib/ipsec/plugins`` holds eap-identity, eap-md5, eap-tls, eap-ttls, eap-gtc, eap-aka,
eap-radius and eap-tnc, but no ``libstrongswan-eap-mschapv2.so``), so both ends are vicid, each
driven by the real swanctl from the lab rootfs. The gateway moon authenticates with an ECDSA
certificate and asks carol for EAP-MSCHAPv2 after an EAP-Identity round; the MSK (RFC 3079)
keys both AUTH payloads; a ping must cross the tunnel. With a wrong password the gateway answers
with a retriable MS-CHAPv2 failure, carol gives up at once (as charon does), and nothing gets
established on either side.
"""

from __future__ import annotations

import pytest

from .test_certs_charon import ca, issue, keygen, write_node
from .test_eap_charon import conf
from .test_ike_charon import established, vicid_sas
from .test_tunnel_charon import ping

pytestmark = pytest.mark.interop

PASSWORD = "lab-mschapv2-not-secret-7"


def secrets(password: str) -> str:
    return f'secrets {{ eap-carol {{ id = carol@example.org\n secret = "{password}" }} }}\n'


def nodes(tmp_path, carol_password: str = PASSWORD):
    authority = ca("vicid interop CA", "p256")
    moon = issue("moon.example.org", keygen("ecdsa"), authority, san=["moon.example.org"])
    carol = issue("carol.example.org", keygen("ecdsa"), authority)
    moon_conf = conf(
        "192.0.2.2",
        "192.0.2.3",
        "auth = pubkey\n certs = moon.pem\n id = moon.example.org",
        "auth = eap-mschapv2\n eap_id = %any",
        "198.51.100.0/24",
        "203.0.113.0/24",
    )
    carol_conf = conf(
        "192.0.2.3",
        "192.0.2.2",
        "auth = eap-mschapv2\n id = carol@example.org",
        "auth = pubkey\n id = moon.example.org",
        "203.0.113.0/24",
        "198.51.100.0/24",
    )
    # conf() brings test_eap_charon's EAP-MD5 secret: replace it with ours
    moon_conf = moon_conf[: moon_conf.index("secrets {")] + secrets(PASSWORD)
    carol_conf = carol_conf[: carol_conf.index("secrets {")] + secrets(carol_password)
    moon_dir = write_node(tmp_path / "moon", "moon", moon, authority, moon_conf)
    carol_dir = write_node(tmp_path / "carol", "carol", carol, authority, carol_conf)
    (carol_dir / "x509" / "carol.pem").unlink()
    (carol_dir / "private" / "carol.pem").unlink()
    return moon_dir, carol_dir


def start(tmp_path, netns_pair, vicid_factory, rootfs_swanctl, carol_password: str = PASSWORD):
    moon_dir, carol_dir = nodes(tmp_path, carol_password)
    moon = vicid_factory(netns_pair.moon)
    carol = vicid_factory(netns_pair.carol)
    rootfs_swanctl(moon.vici_uri, "--load-all", "--noprompt", confdir=moon_dir, check=True)
    rootfs_swanctl(carol.vici_uri, "--load-all", "--noprompt", confdir=carol_dir, check=True)
    res = rootfs_swanctl(carol.vici_uri, "--initiate", "--child", "net", "--ike", "rw", timeout=60)
    return moon, carol, res


def test_debian_strongswan_has_no_eap_mschapv2(interop_rootfs):
    plugins = interop_rootfs.strongswan / "usr/lib/ipsec/plugins"
    assert (plugins / "libstrongswan-eap-md5.so").exists()
    assert not (plugins / "libstrongswan-eap-mschapv2.so").exists()


def test_eap_mschapv2_between_two_vicids(tmp_path, netns_pair, vicid_factory, rootfs_swanctl, rootfs_exec):
    moon, carol, res = start(tmp_path, netns_pair, vicid_factory, rootfs_swanctl)
    assert res.returncode == 0, res.stdout + res.stderr + carol.log_text()[-3000:]
    ini = established(vicid_sas(rootfs_swanctl, carol), "rw")
    resp = established(vicid_sas(rootfs_swanctl, moon), "rw", timeout=5, poll=lambda: vicid_sas(rootfs_swanctl, moon))
    assert ini["local-id"] == resp["remote-id"] == "carol@example.org"
    assert "EAP-MS-CHAPv2 succeeded: 'Welcome2strongSwan'" in carol.log_text()
    for d in (moon, carol):
        assert "EAP method EAP_MSCHAPV2 succeeded, MSK established" in d.log_text()
    out = ping(rootfs_exec, netns_pair.carol, netns_pair.carol.inner, netns_pair.moon.inner)
    assert " 0% packet loss" in out.stdout, out.stdout + out.stderr
    assert PASSWORD not in moon.log_text() + carol.log_text()


def test_eap_mschapv2_wrong_password_fails_cleanly(tmp_path, netns_pair, vicid_factory, rootfs_swanctl):
    moon, carol, res = start(tmp_path, netns_pair, vicid_factory, rootfs_swanctl, "not-the-password")
    assert res.returncode != 0
    assert "EAP-MS-CHAPv2 verification failed, retry (1)" in moon.log_text()
    assert "EAP-MS-CHAPv2 failed with error ERROR_AUTHENTICATION_FAILURE" in carol.log_text()
    assert vicid_sas(rootfs_swanctl, carol) == {}
    # moon still waits for a retry (its IKE_AUTH task is queued, so carol's INFORMATIONAL with
    # AUTHENTICATION_FAILED goes to it, as in charon): the half-open SA expires on its own
    assert all(sa.get("state") != "ESTABLISHED" for sa in vicid_sas(rootfs_swanctl, moon).values())
    assert "not-the-password" not in moon.log_text() + carol.log_text() + res.stdout
