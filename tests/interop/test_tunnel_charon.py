"""Acceptance (issue #6): traffic flows through a vicid <-> charon 6.1 tunnel, as ESP on the wire.

This host has no kernel ESP, so vicid carries ESP itself (userspace, TUN device, ESP-in-UDP on
4500) and charon uses kernel-libipsec: the same situation on both sides.
"""

from __future__ import annotations

import re
import threading
import time

import pytest

from .conftest import CONFIGS
from .test_ike_charon import established, vicid_sas

pytestmark = pytest.mark.interop


def ping(rootfs_exec, node, src, dst, count=5):
    res = rootfs_exec(node, "ping", "-c", str(count), "-i", "0.2", "-W", "2", "-I", str(src), str(dst), timeout=30)
    return res


@pytest.mark.parametrize("initiator", ["vicid", "charon"])
def test_ping_through_pq_tunnel(initiator, netns_pair, charon_factory, vicid_factory, rootfs_swanctl, rootfs_exec):
    moon_ns, carol_ns = netns_pair.moon, netns_pair.carol
    if initiator == "vicid":
        charon_factory(moon_ns, "moon")
        carol = vicid_factory(carol_ns)
        rootfs_swanctl(carol.vici_uri, "--load-all", "--noprompt", confdir=CONFIGS / "carol", check=True)
        res = rootfs_swanctl(carol.vici_uri, "--initiate", "--child", "net", "--ike", "pq", timeout=60)
    else:
        vmoon = vicid_factory(moon_ns)
        rootfs_swanctl(vmoon.vici_uri, "--load-all", "--noprompt", confdir=CONFIGS / "moon", check=True)
        carol = charon_factory(carol_ns, "carol")
        res = carol.swanctl("--initiate", "--child", "net", "--ike", "pq", timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    # capture on the wire while pinging: ESP in UDP only, never the cleartext ICMP
    capture: dict[str, str] = {}
    sniffer = threading.Thread(target=lambda: capture.update(out=rootfs_exec(
        moon_ns, "timeout", "3", "tcpdump", "-i", "wan", "-n", "-l", "-c", "20", "ip", timeout=10).stdout))
    sniffer.start()
    time.sleep(0.5)
    out = ping(rootfs_exec, carol_ns, carol_ns.inner, moon_ns.inner)
    sniffer.join()
    assert re.search(r" 0% packet loss", out.stdout), out.stdout + out.stderr
    wire = capture.get("out", "")
    assert "UDP-encap: ESP(spi=" in wire, wire
    assert "ICMP echo" not in wire, wire
    vicid = carol if initiator == "vicid" else vmoon
    name = "pq"
    ike = established(vicid_sas(rootfs_swanctl, vicid), name)
    (child,) = [c for c in ike["child-sas"].values()]
    assert int(child["packets-in"]) >= 5 and int(child["packets-out"]) >= 5, child
    assert child.get("encap") == "yes"
