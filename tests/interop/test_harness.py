"""Selftest of the interop harness: reference charon <-> charon, no vicid yet.

If these fail, acceptance tests of vicid built on the same fixtures cannot be
trusted; they also document how the fixtures are meant to be used.
"""

from __future__ import annotations

import re
import time

import pytest

from . import netns, swanctl_raw
from .charon import algorithms
from .provision import mlkem_provider

PSK_CHILD = "net"


def _established(sas: dict, conn: str) -> dict:
    assert conn in sas, f"no IKE_SA {conn}: {sas}"
    ike = sas[conn]
    assert ike["state"] == "ESTABLISHED", ike
    return ike


def _ping(node_daemon, src: str, dst: str) -> str:
    res = node_daemon.exec("ping", "-c", "3", "-i", "0.2", "-W", "2", "-I", src, dst, timeout=15)
    assert res.returncode == 0 and " 0% packet loss" in res.stdout, res.stdout + res.stderr
    return res.stdout


@pytest.mark.interop
def test_rootfs_is_strongswan_61_with_mlkem(interop_rootfs):
    versions = interop_rootfs.versions()
    assert versions["strongswan"]["strongswan-charon"].startswith("6.1"), versions["strongswan"]
    assert versions["libreswan"]["libreswan"].startswith("5.2"), versions["libreswan"]
    assert mlkem_provider(interop_rootfs.strongswan) is not None


@pytest.mark.interop
def test_pq_tunnel_charon_to_charon(netns_pair, charon_factory):
    moon_ns, carol_ns = netns_pair["moon"], netns_pair["carol"]
    moon = charon_factory(moon_ns, "moon")
    carol = charon_factory(carol_ns, "carol")
    assert "ML_KEM_768[openssl]" in algorithms(carol)

    t0 = time.monotonic()
    res = carol.swanctl("--initiate", "--child", PSK_CHILD, "--ike", "pq", timeout=30)
    initiate_s = time.monotonic() - t0
    assert res.returncode == 0, res.stdout + res.stderr
    assert re.search(r"selected proposal: IKE:AES_GCM_16_256/PRF_HMAC_SHA2_512/CURVE_25519/KE1_ML_KEM_768",
                     res.stdout), res.stdout

    c_ike = _established(carol.list_sas(), "pq")
    m_ike = _established(moon.list_sas(), "pq")
    assert c_ike["ake1"] == m_ike["ake1"] == "ML_KEM_768"
    assert c_ike["dh-group"] == m_ike["dh-group"] == "CURVE_25519"
    assert (c_ike["initiator-spi"], c_ike["responder-spi"]) == (m_ike["initiator-spi"], m_ike["responder-spi"])
    assert c_ike["initiator"] == "yes" and m_ike.get("initiator", "no") == "no"
    (c_child,) = swanctl_raw.child_sas(c_ike).values()
    (m_child,) = swanctl_raw.child_sas(m_ike).values()
    assert c_child["state"] == m_child["state"] == "INSTALLED"
    assert (c_child["spi-in"], c_child["spi-out"]) == (m_child["spi-out"], m_child["spi-in"])
    assert c_child["local-ts"] == m_child["remote-ts"] == ["203.0.113.0/24"]

    # --raw gives the same SA as --pretty
    raw = swanctl_raw.sas(carol.swanctl("--list-sas", "--raw", check=True).stdout)
    assert raw["pq"]["initiator-spi"] == c_ike["initiator-spi"]

    _ping(carol, carol_ns.inner, moon_ns.inner)
    (c_child,) = swanctl_raw.child_sas(carol.list_sas()["pq"]).values()
    assert int(c_child["packets-out"]) >= 3 and int(c_child["packets-in"]) >= 3, c_child

    res = carol.swanctl("--terminate", "--ike", "pq", timeout=30)
    assert res.returncode == 0, res.stdout + res.stderr
    assert carol.list_sas() == {}
    deadline = time.monotonic() + 5
    while moon.list_sas() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert moon.list_sas() == {}
    print(f"charon start: moon {moon.started_in:.3f} s, carol {carol.started_in:.3f} s; "
          f"swanctl --initiate pq: {initiate_s:.3f} s")


@pytest.mark.interop
def test_rootfs_swanctl_via_host_socket(netns_pair, charon_factory, rootfs_swanctl):
    moon = charon_factory(netns_pair["moon"], "moon", load_all=False)
    # plain host path and unix:// URI both work; the socket dir is mounted in
    res = rootfs_swanctl(moon.vici_socket, "--stats", check=True)
    assert "loaded plugins:" in res.stdout and "kernel-libipsec" in res.stdout
    res = rootfs_swanctl(moon.vici_uri, "--version", "--daemon", check=True)
    assert re.match(r"strongSwan 6\.1\.\d+ charon", res.stdout), res.stdout
    # a confdir for --load-all from outside the instance
    res = rootfs_swanctl(moon.vici_uri, "--load-all", "--noprompt", confdir="moon", check=True)
    assert "loaded connection 'pq'" in res.stdout, res.stdout
    conns = rootfs_swanctl(moon.vici_uri, "--list-conns", "--pretty", check=True).stdout
    assert "pq" in swanctl_raw.events(conns, "list-conn event")[0]


@pytest.mark.interop
def test_libreswan_initiates_to_charon(netns_pair, charon_factory, pluto_factory):
    moon = charon_factory(netns_pair["moon"], "moon")
    carol = pluto_factory(netns_pair["carol"], "carol-libreswan")
    carol.ipsec("add", "classic", check=True)
    try:
        res = carol.ipsec("up", "classic", timeout=30)
        # IKE works; the CHILD_SA cannot be installed (no kernel ESP here)
        assert "established IKE SA" in res.stdout + res.stderr, res.stdout + res.stderr
        assert _established(moon.list_sas(), "pq")["dh-group"] == "CURVE_25519"
    finally:
        carol.ipsec("delete", "classic")


@pytest.mark.interop
def test_three_nodes_on_a_bridge(netns_factory, rootfs_exec):
    lab = netns_factory(("moon", "carol", "dave"))
    assert lab.hub is not None and all(ns.startswith(netns.PREFIX) for ns in lab.namespaces)
    for src, dst in (("dave", "moon"), ("carol", "dave")):
        res = rootfs_exec(lab[src], "ping", "-c", "1", "-W", "2", lab[dst].outer, timeout=10)
        assert res.returncode == 0, res.stdout + res.stderr
    names = list(lab.namespaces)
    lab.close()
    assert not set(names) & netns.existing_namespaces()


def test_swanctl_raw_parser_handles_both_formats():
    pretty = "list-sa event {\n  a {\n    state = ESTABLISHED\n    ts = [\n      10.0.0.0/8\n    ]\n  }\n}\n"
    raw = "list-sa event {a {state=ESTABLISHED id=C=CH, O=x, CN=y ts=[10.0.0.0/8]}}\nlist-sas reply {}\n"
    assert swanctl_raw.sas(pretty) == {"a": {"state": "ESTABLISHED", "ts": ["10.0.0.0/8"]}}
    assert swanctl_raw.sas(raw) == {"a": {"state": "ESTABLISHED", "id": "C=CH, O=x, CN=y", "ts": ["10.0.0.0/8"]}}
