"""Acceptance (issue #6): a 10 MB TCP transfer and a ping through the post-quantum tunnel.

Three pairs: vicid <-> charon 6.1 (kernel-libipsec) initiated from each side, and vicid <-> vicid.
carol (203.0.113.1) sends random bytes to moon (198.51.100.1); both ends hash them and the
digests must match. Meanwhile tcpdump on moon's outer interface must see ESP in UDP only: no
cleartext TCP or ICMP between the inner addresses, and none of the payload's bytes.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable

import pytest

from .conftest import CONFIGS
from .tcpxfer import MARKER, transfer
from .test_ike_charon import established, vicid_sas

pytestmark = pytest.mark.interop

SIZE = 10 * 1024 * 1024


def start_vicid(node, vicid_factory, rootfs_swanctl, confdir: str):
    vicid = vicid_factory(node)
    rootfs_swanctl(vicid.vici_uri, "--load-all", "--noprompt", confdir=CONFIGS / confdir, check=True)
    return vicid


def bring_up(pair: str, lab, charon_factory, vicid_factory, rootfs_swanctl) -> list:
    """Start moon (responder) and carol (initiator) as PAIR says, initiate carol's pq tunnel.

    PAIR is "<carol>-<moon>"; returns the vicid instances (their list-sas is checked later).
    """
    carol_kind, moon_kind = pair.split("-")
    vicids = []
    if moon_kind == "vicid":
        vicids.append(start_vicid(lab.moon, vicid_factory, rootfs_swanctl, "moon"))
    else:
        charon_factory(lab.moon, "moon")
    if carol_kind == "vicid":
        carol = start_vicid(lab.carol, vicid_factory, rootfs_swanctl, "carol")
        vicids.append(carol)
        res = rootfs_swanctl(carol.vici_uri, "--initiate", "--child", "net", "--ike", "pq", timeout=60)
    else:
        res = charon_factory(lab.carol, "carol").swanctl("--initiate", "--child", "net", "--ike", "pq",
                                                         timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    return vicids


def sniff(rootfs_exec, node, iface: str, seconds: float = 4) -> tuple[threading.Thread, dict[str, str]]:
    """tcpdump on one of NODE's interfaces in the background (-x: packet bytes in hex)."""
    out: dict[str, str] = {}

    def run() -> None:
        res = rootfs_exec(node, "timeout", str(seconds), "tcpdump", "-i", iface, "-n", "-l", "-x",
                          "-c", "300", "ip", timeout=seconds + 10)
        out["text"] = res.stdout
    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


def wire_bytes(text: str) -> str:
    """All packet bytes of tcpdump -x output as one hex string."""
    return "".join(m.group(1).replace(" ", "") for m in re.finditer(r"^\s+0x[0-9a-f]+:\s+([0-9a-f ]+)$", text, re.M))


@pytest.mark.parametrize("pair", ["vicid-charon", "charon-vicid", "vicid-vicid"])
def test_ping_and_10mb_transfer(pair: str, netns_pair, charon_factory, vicid_factory, rootfs_swanctl,
                                rootfs_exec, record_property: Callable) -> None:
    moon_ns, carol_ns = netns_pair.moon, netns_pair.carol
    vicids = bring_up(pair, netns_pair, charon_factory, vicid_factory, rootfs_swanctl)
    ping = rootfs_exec(carol_ns, "ping", "-c", "3", "-i", "0.2", "-W", "2", "-I", carol_ns.inner,
                       moon_ns.inner, timeout=30)
    assert " 0% packet loss" in ping.stdout, ping.stdout + ping.stderr

    # the wire, and (as a control that the checks can see cleartext) moon's TUN device
    sniffers = [sniff(rootfs_exec, moon_ns, "wan"), sniff(rootfs_exec, moon_ns, "ipsec0")]
    time.sleep(0.7)  # tcpdump is listening
    sent, received = transfer(carol_ns.netns, carol_ns.inner, moon_ns.netns, moon_ns.inner, SIZE)
    for thread, _ in sniffers:
        thread.join()
    (_, capture), (_, tun) = sniffers
    record_property("seconds", round(received.seconds, 2))
    print(f"\n{pair}: {SIZE >> 20} MiB in {received.seconds:.2f} s = {received.mbit_s:.0f} Mbit/s")
    assert received.bytes == sent.bytes == SIZE
    assert received.sha256 == sent.sha256

    wire = capture.get("text", "")
    headers = [line for line in wire.splitlines() if not line.startswith("\t")]
    # UDP GSO sends bursts as one super-packet that the veth hands to tcpdump unsplit, so a
    # 10 MiB transfer can show fewer than a hundred captured frames under load
    assert sum("UDP-encap: ESP(spi=" in h for h in headers) >= 20, wire[:3000]
    assert not any(f"{carol_ns.inner}." in h or f"{moon_ns.inner}." in h for h in headers), "cleartext TCP"
    assert MARKER.hex() not in wire_bytes(wire), "payload bytes in clear on the wire"
    assert MARKER.hex() in wire_bytes(tun.get("text", "")), "control: cleartext inside the tunnel"

    for vicid in vicids:
        ike = established(vicid_sas(rootfs_swanctl, vicid), "pq")
        (child,) = ike["child-sas"].values()
        assert child.get("encap") == "yes"
        assert int(child["bytes-in"]) + int(child["bytes-out"]) >= SIZE, child


def test_throughput_benchmark_runs(interop_rootfs, capsys) -> None:
    """bench/throughput.py end to end on a small scale, so it cannot rot (no timing asserted)."""
    from bench import throughput

    assert throughput.main(["--mbytes", "1", "--rounds", "1"]) == 0
    out = capsys.readouterr().out
    assert "vicid <-> vicid" in out and "vicid <-> charon" in out and "charon <-> charon" in out
    assert out.count("ratio") == 3  # two pairs against the reference, and the goal line
