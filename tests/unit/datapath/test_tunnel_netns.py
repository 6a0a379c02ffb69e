"""vicid datapath <-> vicid datapath: a ping through two TUN devices in namespaces we create.

No engine: both ends get the same SAs by hand (tunnel_peer.py). Checks the whole path charon's
kernel-libipsec takes: kernel route in table 220 -> TUN -> policy -> ESP-in-UDP 4500 -> peer ->
decrypt -> selector check -> TUN -> kernel, and back.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.unit.kernel.netns import ip, require_root

ROOT = Path(__file__).resolve().parents[3]


def _pair(base: str):
    names = {"carol": f"{base}-carol", "moon": f"{base}-moon"}
    addrs = {"carol": ("192.0.2.3/24", "203.0.113.1/32"), "moon": ("192.0.2.2/24", "198.51.100.1/32")}
    for name in names.values():
        ip("netns", "add", name)
    ip("-n", names["carol"], "link", "add", "wan", "type", "veth", "peer", "name", "wan", "netns", names["moon"])
    for node, ns in names.items():
        outer, inner = addrs[node]
        ip("-n", ns, "link", "set", "lo", "up")
        ip("-n", ns, "addr", "add", inner, "dev", "lo")
        ip("-n", ns, "addr", "add", outer, "dev", "wan")
        ip("-n", ns, "link", "set", "wan", "up")
        subprocess.run(["ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv4.conf.all.rp_filter=0",
                        "net.ipv4.conf.default.rp_filter=0"], check=True, timeout=10)
    return names


def _start(ns: str, node: str) -> subprocess.Popen:
    proc = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-m", "tests.unit.datapath.tunnel_peer",
                             node], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert line.startswith("ready"), line + proc.stderr.read()
    return proc


def _stop(proc: subprocess.Popen) -> dict:
    proc.send_signal(signal.SIGTERM)  # our own child, by PID
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def test_ping_between_two_vicid_datapaths():
    require_root()
    names = _pair(f"vicid-dp-{os.getpid()}")
    procs = []
    try:
        procs = [_start(names["moon"], "moon"), _start(names["carol"], "carol")]
        table = ip("-n", names["carol"], "route", "show", "table", "220").stdout
        assert "198.51.100.0/24 dev ipsec0 proto static src 203.0.113.1" in table, table
        ping = subprocess.run(["ip", "netns", "exec", names["carol"], "ping", "-c", "3", "-i", "0.2", "-W", "2",
                               "-I", "203.0.113.1", "198.51.100.1"], capture_output=True, text=True, timeout=20)
        assert " 0% packet loss" in ping.stdout, ping.stdout + ping.stderr
        moon, carol = (_stop(p) for p in procs)
        procs = []
        assert carol["stats"]["packets_out"] >= 3 and carol["stats"]["packets_in"] >= 3, carol
        assert moon["stats"]["packets_in"] >= 3 and moon["stats"]["packets_out"] >= 3, moon
        assert not carol["drops"].get("auth") and not moon["drops"].get("auth")
        print(f"carol {carol}\nmoon {moon}\n{ping.stdout.strip().splitlines()[-1]}")
    finally:
        for proc in procs:
            proc.kill()
            proc.wait(timeout=5)
        for ns in names.values():
            ip("netns", "del", ns, check=False)
