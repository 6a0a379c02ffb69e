"""Acceptance (issue #9): EAP-TLS road warrior between vicid and charon 6.1, both ways.

The gateway moon authenticates with an ECDSA certificate, the client carol with EAP-TLS (her
certificate, CN=carol with subjectAltName carol@example.org, from the same CA), after an
EAP-Identity round (``eap_id = %any``); moon requires the CA with ``cacerts``. charon 6.1's
Debian build ships eap-tls (``/usr/lib/ipsec/plugins/libstrongswan-eap-tls.so`` in the lab
rootfs) and negotiates TLS 1.2 unless ``libtls.version_max`` allows 1.3 (RFC 9190), so both
versions are run; the MSKs must agree for the AUTH payloads to verify, and a ping must cross the
tunnel. A client certificate from an unknown CA is refused by the gateway with a TLS alert.
"""

from __future__ import annotations

import pytest

from .test_certs_charon import ca, issue, keygen, write_node
from .test_eap_charon import conf as eap_conf
from .test_ike_charon import established, vicid_sas
from .test_tunnel_charon import ping

pytestmark = pytest.mark.interop

PLUGINS = "eap-identity eap-tls "
VERSION_NAMES = {"1.2": "TLS 1.2", "1.3": "TLS 1.3"}


def conf(me: str, other: str, local: str, remote: str, local_ts: str, remote_ts: str) -> str:
    return eap_conf(me, other, local, remote, local_ts, remote_ts, secrets="")


def charon_tls(d, version: str) -> None:
    """eap-tls for charon, and the TLS version ceiling through libtls (as charon.tls falls back)."""
    text = (d / "strongswan.conf").read_text()
    text = text.replace("load = random", f"load = {PLUGINS}random")
    (d / "strongswan.conf").write_text(text + f"\nlibtls {{\n    version_max = {version}\n}}\n")


def make_nodes(tmp_path, version: str, *, carol_ca=None, kind: str = "ecdsa"):
    authority = ca("vicid interop CA", "p256")
    moon = issue("moon.example.org", keygen(kind), authority, san=["moon.example.org"])
    carol = issue("carol", keygen(kind), carol_ca or authority, san=["carol@example.org"])
    moon_dir = write_node(
        tmp_path / "moon",
        "moon",
        moon,
        authority,
        conf(
            "192.0.2.2",
            "192.0.2.3",
            "auth = pubkey\n certs = moon.pem\n id = moon.example.org",
            "auth = eap-tls\n eap_id = %any\n cacerts = ca.pem",
            "198.51.100.0/24",
            "203.0.113.0/24",
        ),
    )
    carol_dir = write_node(
        tmp_path / "carol",
        "carol",
        carol,
        authority,
        conf(
            "192.0.2.3",
            "192.0.2.2",
            "auth = eap-tls\n certs = carol.pem\n id = carol@example.org",
            "auth = pubkey\n id = moon.example.org",
            "203.0.113.0/24",
            "198.51.100.0/24",
        ),
    )
    charon_tls(moon_dir, version)
    charon_tls(carol_dir, version)
    return moon_dir, carol_dir


def start(initiator, moon_dir, carol_dir, version, netns_pair, charon_factory, vicid_factory, rootfs_swanctl):
    extra = f"    tls {{ version_max = {version} }}\n"
    if initiator == "vicid":
        charon = charon_factory(netns_pair.moon, moon_dir)
        vicid = vicid_factory(netns_pair.carol, extra_conf=extra)
        rootfs_swanctl(vicid.vici_uri, "--load-all", "--noprompt", confdir=carol_dir, check=True)
        res = rootfs_swanctl(vicid.vici_uri, "--initiate", "--child", "net", "--ike", "rw", timeout=60)
    else:
        vicid = vicid_factory(netns_pair.moon, extra_conf=extra)
        rootfs_swanctl(vicid.vici_uri, "--load-all", "--noprompt", confdir=moon_dir, check=True)
        charon = charon_factory(netns_pair.carol, carol_dir)
        res = charon.swanctl("--initiate", "--child", "net", "--ike", "rw", timeout=60)
    return vicid, charon, res


@pytest.mark.parametrize("version", ["1.2", "1.3"])
@pytest.mark.parametrize("initiator", ["vicid", "charon"])
def test_eap_tls_road_warrior(
    initiator, version, tmp_path, netns_pair, charon_factory, vicid_factory, rootfs_swanctl, rootfs_exec
):
    moon_dir, carol_dir = make_nodes(tmp_path, version)
    vicid, charon, res = start(
        initiator, moon_dir, carol_dir, version, netns_pair, charon_factory, vicid_factory, rootfs_swanctl
    )
    assert res.returncode == 0, res.stdout + res.stderr + vicid.log_text()[-4000:]
    ike = established(vicid_sas(rootfs_swanctl, vicid), "rw")
    established(charon.list_sas(), "rw")
    assert ike["remote-id" if initiator == "charon" else "local-id"] == "carol@example.org"
    log = vicid.log_text()
    assert f"negotiated {VERSION_NAMES[version]} using suite" in log
    assert "EAP method EAP_TLS succeeded, MSK established" in log
    assert "EAP method EAP_TLS succeeded, MSK established" in charon.log_text()
    out = ping(rootfs_exec, netns_pair.carol, netns_pair.carol.inner, netns_pair.moon.inner)
    assert " 0% packet loss" in out.stdout, out.stdout + out.stderr


@pytest.mark.parametrize("version", ["1.2", "1.3"])
@pytest.mark.parametrize("initiator", ["vicid", "charon"])
def test_eap_tls_fragmented_flights(
    initiator, version, tmp_path, netns_pair, charon_factory, vicid_factory, rootfs_swanctl, rootfs_exec
):
    """RSA-3072 certificates make the TLS flights larger than the 1024-octet fragment size:
    L/M flags and acknowledgments both ways."""
    moon_dir, carol_dir = make_nodes(tmp_path, version, kind="rsa3072")
    vicid, charon, res = start(
        initiator, moon_dir, carol_dir, version, netns_pair, charon_factory, vicid_factory, rootfs_swanctl
    )
    assert res.returncode == 0, res.stdout + res.stderr + vicid.log_text()[-4000:]
    established(vicid_sas(rootfs_swanctl, vicid), "rw")
    assert "EAP method EAP_TLS succeeded, MSK established" in charon.log_text()
    out = ping(rootfs_exec, netns_pair.carol, netns_pair.carol.inner, netns_pair.moon.inner)
    assert " 0% packet loss" in out.stdout, out.stdout + out.stderr


@pytest.mark.parametrize("initiator", ["vicid", "charon"])
def test_eap_tls_client_from_unknown_ca_is_rejected(
    initiator, tmp_path, netns_pair, charon_factory, vicid_factory, rootfs_swanctl
):
    moon_dir, carol_dir = make_nodes(tmp_path, "1.2", carol_ca=ca("unknown CA", "p256"))
    vicid, charon, res = start(
        initiator, moon_dir, carol_dir, "1.2", netns_pair, charon_factory, vicid_factory, rootfs_swanctl
    )
    assert res.returncode != 0, res.stdout
    assert vicid_sas(rootfs_swanctl, vicid).get("rw", {}).get("state") != "ESTABLISHED"
    gateway = charon if initiator == "vicid" else vicid
    assert "no trusted certificate found for 'carol@example.org' to verify TLS peer" in gateway.log_text()
