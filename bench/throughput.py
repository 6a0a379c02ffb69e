"""TCP throughput through a post-quantum tunnel: vicid's userspace ESP vs charon's kernel-libipsec.

Three tunnels, each between two network namespaces of its own (moon 192.0.2.2 protecting
198.51.100.0/24, carol 192.0.2.3 protecting 203.0.113.0/24, connection "pq" of the interop
configs, AES-256-GCM ESP in UDP): vicid <-> vicid, vicid (carol) <-> charon 6.1 (moon), and
charon 6.1 <-> charon 6.1 as the reference. This host has no kernel ESP, so both daemons carry
ESP in userspace over TUN. A TCP sender in carol's namespace pushes random bytes to a receiver
in moon's (tests/interop/tcpxfer.py; both hash them and the digests must match). The tunnels
take turns, round after round, so background load hits all alike; the median of the rounds is
printed with the ratio to charon <-> charon (goal: >= 1.0), next to the CPU time both daemons
used per transfer (user + system, from /proc): on a machine shared with other jobs the rate
swings with their load, the CPU a daemon spends per byte much less.

Run as root: ``python -m bench.throughput [--mbytes 20] [--rounds 3]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.interop import netns, provision
from tests.interop.charon import rootfs_swanctl, start_charon
from tests.interop.conftest import CONFIGS
from tests.interop.netns import run as run_cmd
from tests.interop.tcpxfer import transfer
from tests.interop.vicid import Vicid

PAIRS = ("vicid-vicid", "vicid-charon", "charon-charon")  # "<carol>-<moon>"
REFERENCE = "charon-charon"


@dataclass
class Tunnel:
    """One lab with its two daemons and the pq tunnel up."""

    pair: str
    lab: netns.Lab
    daemons: list = field(default_factory=list)
    mbit_s: list[float] = field(default_factory=list)
    cpu_s: list[float] = field(default_factory=list)  # both daemons, per transfer
    pids: list[str] = field(default_factory=list)

    def close(self) -> None:
        for daemon in reversed(self.daemons):
            daemon.stop()
        self.lab.close()


def start(kind: str, node: netns.Node, conf: str, rootfs: Path, run_dir: Path):
    """vicid (configs loaded with strongSwan 6.1's swanctl) or charon 6.1, in NODE's namespace."""
    if kind == "charon":
        return start_charon(rootfs, node, CONFIGS / conf, run_dir=run_dir / f"charon-{node.netns}")
    vicid = Vicid(node, run_dir / f"vicid-{node.netns}", node.name).start()
    rootfs_swanctl(rootfs, vicid.vici_uri, "--load-all", "--noprompt", confdir=CONFIGS / conf, check=True)
    return vicid


def bring_up(pair: str, rootfs: Path, run_dir: Path) -> Tunnel:
    carol_kind, moon_kind = pair.split("-")
    tunnel = Tunnel(pair, netns.create_lab(("moon", "carol")))
    try:
        tunnel.daemons.append(start(moon_kind, tunnel.lab.moon, "moon", rootfs, run_dir))
        carol = start(carol_kind, tunnel.lab.carol, "carol", rootfs, run_dir)
        tunnel.daemons.append(carol)
        rootfs_swanctl(rootfs, carol.vici_uri, "--initiate", "--child", "net", "--ike", "pq", timeout=60,
                       check=True)
        tunnel.pids = daemon_pids(tunnel)
    except BaseException:
        tunnel.close()
        raise
    return tunnel


def daemon_pids(tunnel: Tunnel) -> list[str]:
    """The processes in both namespaces once the tunnel is up: the two daemons (and their helpers)."""
    return [pid for node in (tunnel.lab.carol, tunnel.lab.moon)
            for pid in run_cmd(["ip", "netns", "pids", node.netns]).stdout.split()]


def cpu_seconds(pids: list[str]) -> float:
    """User + system time of PIDS so far (all their threads)."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def measure(tunnel: Tunnel, size: int, port: int) -> float:
    carol, moon = tunnel.lab.carol, tunnel.lab.moon
    before = cpu_seconds(tunnel.pids)
    sent, received = transfer(carol.netns, carol.inner, moon.netns, moon.inner, size, port=port)
    tunnel.cpu_s.append(cpu_seconds(tunnel.pids) - before)
    if (received.bytes, received.sha256) != (sent.bytes, sent.sha256):
        raise RuntimeError(f"{tunnel.pair}: the data arrived corrupted or incomplete")
    return received.mbit_s


def run(size: int, rounds: int, pairs: tuple[str, ...], log: Callable[[str], None]
        ) -> dict[str, tuple[list[float], list[float]]]:
    trees = provision.provision(log=log)
    run_dir = Path(tempfile.mkdtemp(prefix="vicid-bench-", dir="/run"))
    tunnels: list[Tunnel] = []
    try:
        for pair in pairs:
            tunnels.append(bring_up(pair, trees.strongswan, run_dir))
        for t in tunnels:  # warm-up: TCP windows, TUN queues, Python's caches
            measure(t, min(size, 1 << 20), 5001)
            t.cpu_s.clear()
        for n in range(rounds):
            for t in tunnels:
                t.mbit_s.append(measure(t, size, 5002 + n))
                log(f"round {n + 1}: {t.pair:14} {t.mbit_s[-1]:7.1f} Mbit/s  {t.cpu_s[-1]:5.2f} s CPU")
        return {t.pair: (t.mbit_s, t.cpu_s) for t in tunnels}
    finally:
        for t in tunnels:
            t.close()
        shutil.rmtree(run_dir, ignore_errors=True)


def report(results: dict[str, tuple[list[float], list[float]]], size: int, rounds: int) -> None:
    print(f"TCP throughput through the pq tunnel (AES-256-GCM ESP in UDP), {size >> 20} MiB per transfer, "
          f"median of {rounds} (CPU: both daemons, per transfer):")
    ref = statistics.median(results[REFERENCE][0]) if REFERENCE in results else None
    ref_cpu = statistics.median(results[REFERENCE][1]) if REFERENCE in results else None
    for pair, (values, cpu) in results.items():
        median, median_cpu = statistics.median(values), statistics.median(cpu)
        ratio = f"  ratio {median / ref:.2f} vs charon <-> charon" if ref and pair != REFERENCE else ""
        cpu_ratio = f" ({median_cpu / ref_cpu:.2f}x)" if ref_cpu and pair != REFERENCE else ""
        print(f"  {pair.replace('-', ' <-> '):20} {median:7.1f} Mbit/s  {median_cpu:5.2f} s CPU{cpu_ratio}{ratio}")
    if ref:
        best = max(statistics.median(v) for p, (v, _) in results.items() if p != REFERENCE)
        print(f"  goal: vicid >= charon (ratio >= 1.0): {'met' if best >= ref else 'not met'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mbytes", type=int, default=20, help="MiB per transfer (default 20)")
    parser.add_argument("--rounds", type=int, default=3, help="transfers per tunnel (default 3)")
    parser.add_argument("--pairs", default=",".join(PAIRS), help=f"comma-separated subset of {','.join(PAIRS)}")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every round")
    args = parser.parse_args(argv)
    pairs = tuple(p for p in args.pairs.split(",") if p)
    if unknown := set(pairs) - set(PAIRS):
        parser.error(f"unknown pairs: {', '.join(sorted(unknown))}")
    size = args.mbytes << 20
    results = run(size, args.rounds, pairs, print if args.verbose else lambda _m: None)
    report(results, size, args.rounds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
