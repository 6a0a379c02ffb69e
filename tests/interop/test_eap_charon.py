"""Acceptance (issue #9): EAP-MD5 road warrior between vicid and charon 6.1, both ways.

The gateway (moon) authenticates with an ECDSA certificate, the client (carol) with EAP-MD5
(no MSK: AUTH over SK_p); charon loads eap-md5 and eap-identity. Traffic must flow.
"""

from __future__ import annotations

import pytest

from .test_certs_charon import ca, issue, keygen, write_node
from .test_ike_charon import established, vicid_sas
from .test_tunnel_charon import ping

pytestmark = pytest.mark.interop

PLUGINS = "eap-identity eap-md5 "
SECRET = 'eap-carol { id = carol@example.org\n secret = "lab-eap-not-secret-42" }'


def conf(me: str, other: str, local: str, remote: str, local_ts: str, remote_ts: str,
         secrets: str = SECRET) -> str:
    """A road-warrior `rw` connection with `net` children; ``secrets`` fills the secrets block."""
    return f"""
connections {{
    rw {{
        version = 2
        local_addrs = {me}
        remote_addrs = {other}
        proposals = aes256gcm16-sha512-x25519
        local {{ {local} }}
        remote {{ {remote} }}
        children {{
            net {{
                local_ts = {local_ts}
                remote_ts = {remote_ts}
                esp_proposals = aes256gcm16-x25519
            }}
        }}
    }}
}}
secrets {{ {secrets} }}
"""


def with_eap_plugins(d) -> None:
    text = (d / "strongswan.conf").read_text()
    (d / "strongswan.conf").write_text(text.replace("load = random", f"load = {PLUGINS}random"))


@pytest.mark.parametrize("initiator", ["vicid", "charon"])
def test_eap_md5_road_warrior(initiator, tmp_path, netns_pair, charon_factory, vicid_factory, rootfs_swanctl,
                              rootfs_exec):
    authority = ca("vicid interop CA", "p256")
    moon = issue("moon.example.org", keygen("ecdsa"), authority, san=["moon.example.org"])
    carol = issue("carol.example.org", keygen("ecdsa"), authority)
    moon_dir = write_node(tmp_path / "moon", "moon", moon, authority, conf(
        "192.0.2.2", "192.0.2.3", "auth = pubkey\n certs = moon.pem\n id = moon.example.org",
        "auth = eap-md5\n eap_id = %any", "198.51.100.0/24", "203.0.113.0/24"))
    carol_dir = write_node(tmp_path / "carol", "carol", carol, authority, conf(
        "192.0.2.3", "192.0.2.2", "auth = eap-md5\n id = carol@example.org",
        "auth = pubkey\n id = moon.example.org", "203.0.113.0/24", "198.51.100.0/24"))
    (carol_dir / "x509" / "carol.pem").unlink()
    (carol_dir / "private" / "carol.pem").unlink()
    with_eap_plugins(moon_dir)
    with_eap_plugins(carol_dir)
    if initiator == "vicid":
        charon = charon_factory(netns_pair.moon, moon_dir)
        vicid = vicid_factory(netns_pair.carol)
        rootfs_swanctl(vicid.vici_uri, "--load-all", "--noprompt", confdir=carol_dir, check=True)
        res = rootfs_swanctl(vicid.vici_uri, "--initiate", "--child", "net", "--ike", "rw", timeout=60)
    else:
        vicid = vicid_factory(netns_pair.moon)
        rootfs_swanctl(vicid.vici_uri, "--load-all", "--noprompt", confdir=moon_dir, check=True)
        charon = charon_factory(netns_pair.carol, carol_dir)
        res = charon.swanctl("--initiate", "--child", "net", "--ike", "rw", timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    ike = established(vicid_sas(rootfs_swanctl, vicid), "rw")
    established(charon.list_sas(), "rw")
    assert ike["remote-id" if initiator == "charon" else "local-id"] == "carol@example.org"
    assert "EAP method EAP_MD5 succeeded, no MSK established" in vicid.log_text()
    out = ping(rootfs_exec, netns_pair.carol, netns_pair.carol.inner, netns_pair.moon.inner)
    assert " 0% packet loss" in out.stdout, out.stdout + out.stderr
    assert "lab-eap-not-secret-42" not in vicid.log_text()
