"""Full IKEv2 handshakes per second: vicid's engine in memory, and charon 6.1 in the lab, same run.

vicid: IKE_SA_INIT (+ IKE_INTERMEDIATE) + IKE_AUTH with a CHILD_SA between two long-lived
IkeSaManagers with the real KE plugins from the entry points, set up as the daemon runs them in
the lab bench (one initiator config per SA, SAs kept, no control-log waiting, only the events a
vici client listens to, the daemon's collector policy): the protocol engine alone, without
sockets, vici or kernel. Measured two ways:
  one process   both engines in one process, one handshake after the other;
  per peer      each engine in a process of its own, 32 in flight, datagrams over a
                SOCK_SEQPACKET pair: the arrangement of charon's two daemons.
charon: charon->charon between two namespaces of the interop lab, driven as ``python -m bench``
drives its setup rate (vici ``initiate`` in bulk, 32 in flight), with its threads on every core,
plus sockets, vici and kernel-libipsec installs. Each ratio divides a vicid rate by charon's.
This VM's two vCPUs run two busy processes side by side at full speed at some times and at half
speed at others (host contention; bench/README.md): the arrangements gain from the second core
differently, so both ratios are printed, each from figures measured in the same run.
Printed with the rates: CPU ms per handshake (initiator + responder).
``--lab-vicid`` adds vicid->vicid under the lab drive. The lab part runs by default when root
and the lab is provisioned; ``--no-charon`` skips it.
``python -m bench.handshake [--count 300] [--lab-count 300] [--lab-vicid]``.
"""
from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import socket
import struct
import time
from ipaddress import ip_address

from vicid.creds.store import CredStore, SharedKey
from vicid.daemon import gc_policy
from vicid.identity import Identification
from vicid.ike.config import AuthClass, AuthConfig, AuthRule, ChildConfig, PeerConfig
from vicid.ike.effects import ChildUpDown, IkeUpDown, SendDatagram
from vicid.ike.ke import KeRegistry
from vicid.ike.manager import IkeSaManager
from vicid.ike.proposal import parse_proposal
from vicid.ike.rng import SystemRng
from vicid.ike.settings import EngineSettings
from vicid.ike.ts import parse_ts
from vicid.ike.wire.enums import ProtocolId
from vicid.secrets import Secret

PROPOSALS = {"classic": "aes256gcm16-sha512-x25519", "pq": "aes256gcm16-sha512-x25519-ke1_mlkem768"}
CAROL, MOON = "192.0.2.3", "192.0.2.2"


class _Settings(dict):
    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        return super().get(key, default)


def _auth(ident: str) -> AuthConfig:
    return AuthConfig().add(AuthRule.AUTH_CLASS, AuthClass.PSK).add(AuthRule.IDENTITY,
                                                                     Identification.from_string(ident))


def _peer(local: str, remote: str, me: str, other: str, proposal: str, lts: str, rts: str) -> PeerConfig:
    child = ChildConfig(name="net", proposals=(parse_proposal(ProtocolId.ESP, "aes256gcm16"),),
                        local_ts=(parse_ts(lts),), remote_ts=(parse_ts(rts),))
    return PeerConfig(name="bench", local_addrs=local, remote_addrs=remote,
                      proposals=(parse_proposal(ProtocolId.IKE, proposal),),
                      local_auth=(_auth(me),), remote_auth=(_auth(other),), children=(child,))


def _paired_peers(proposal: str, count: int) -> tuple[list[PeerConfig], PeerConfig]:
    """One initiator config per SA (identities p<i>.bench.example, as the lab bench loads them)
    and one responder config that takes any of them."""
    carol = [_peer(CAROL, MOON, f"p{i}.bench.example", "moon.example.org", proposal,
                   "203.0.113.0/24", "198.51.100.0/24") for i in range(count)]
    moon = _peer(MOON, "%any", "moon.example.org", "%any", proposal, "198.51.100.0/24", "203.0.113.0/24")
    return carol, moon


# the lab bench's DoS tuning (bench/lab.py TUNING): many half-open SAs from one address are the
# point of the paired drive, not an attack to answer with COOKIEs or drops
_LAB_SETTINGS = dataclasses.replace(EngineSettings(), cookie_threshold=10**6, cookie_threshold_ip=10**6,
                                    block_threshold=10**6, half_open_timeout=60.0)


def _manager(peer: PeerConfig, ke: KeRegistry, events: tuple[type, ...] = (),
             settings: EngineSettings | None = None) -> IkeSaManager:
    """An engine as the daemon runs one under the lab bench: no control-log waiting, and only
    the events a vici client listens to (the initiator's driver: child-updown) are built."""
    store = CredStore()
    store.shared["psk"] = SharedKey("IKE", Secret(b"bench-psk-not-secret-0123456789"), ["%any"])
    manager = IkeSaManager(settings or EngineSettings(), ke, SystemRng(), lambda: [peer], store)
    manager.ctx.control_log_level = -1
    manager.ctx.wants_event = lambda kind: kind in events
    return manager


def _pump(a: IkeSaManager, b: IkeSaManager, now: float) -> bool:
    """Move datagrams both ways until quiet; True once carol's CHILD_SA is up."""
    up = False
    for _ in range(64):
        moved = False
        for src, dst in ((a, b), (b, a)):
            for effect in src.drain():
                if isinstance(effect, SendDatagram):
                    dst.receive_datagram(effect.data, effect.src, effect.dst, now)
                    moved = True
                elif isinstance(effect, ChildUpDown) and effect.up and src is a:
                    up = True
        if not moved:
            return up
    return up


def vicid_rate(proposal: str, count: int, cpu: list[float] | None = None, warmup: int = 20) -> float:
    """Handshakes per second in memory; CPU seconds per handshake appended to CPU if given.

    Two long-lived engines, as two daemons under the lab drive: one initiator config per SA
    (identities p<i>.bench.example), one responder config for all, and the established SAs
    stay, so the tables grow as charon's do in the same run. WARMUP handshakes first, unmeasured.
    The process's garbage collector is set up as the daemon sets up its own (gc_policy)."""
    with gc_policy.applied():
        return _vicid_rate(proposal, count, cpu, warmup)


def _vicid_rate(proposal: str, count: int, cpu: list[float] | None, warmup: int) -> float:
    ke = KeRegistry.from_entry_points(_Settings())
    carol_peers, moon_peer = _paired_peers(proposal, warmup + count)
    carol = _manager(carol_peers[0], ke, (ChildUpDown, IkeUpDown), _LAB_SETTINGS)
    carol.ctx.peers = lambda: carol_peers  # as a daemon with every connection loaded
    moon = _manager(moon_peer, ke, settings=_LAB_SETTINGS)
    carol_host, moon_host = (ip_address(CAROL), 500), (ip_address(MOON), 500)
    now = 0.0
    for i, peer in enumerate(carol_peers):
        if i == warmup:
            start, cpu0 = time.perf_counter(), time.process_time()
        carol.initiate(peer, peer.children[0], carol_host, moon_host, now)
        if not _pump(carol, moon, now):
            raise RuntimeError("in-memory handshake did not complete")
        now += 0.01
    elapsed = time.perf_counter() - start
    if cpu is not None:
        cpu.append((time.process_time() - cpu0) / count)
    return count / elapsed


_PORTS = struct.Struct("!HH")  # source and destination port ahead of each relayed datagram


def _relay(manager: IkeSaManager, sock: socket.socket) -> int:
    """Send what the engine wants sent over the pair socket; count CHILD_SAs that came up."""
    up = 0
    for effect in manager.drain():
        if isinstance(effect, SendDatagram):
            sock.send(_PORTS.pack(effect.src[1], effect.dst[1]) + effect.data)
        elif isinstance(effect, ChildUpDown) and effect.up:
            up += 1
    return up


def _receive(manager: IkeSaManager, sock: socket.socket, here: str, there: str, marks: list[float]) -> bool:
    """Wait for the next datagram on the pair socket and hand it to the engine (the caller
    sends the answers at once, as the daemon does, so both processes work at the same time);
    False once the other side has closed the pair. A datagram with source port 0 is a mark:
    its CPU time goes to MARKS."""
    while True:
        data = sock.recv(65536)
        if not data:
            return False
        sport, dport = _PORTS.unpack_from(data)
        if sport:
            manager.receive_datagram(data[4:], (ip_address(there), sport), (ip_address(here), dport),
                                     time.monotonic())
            return True
        marks.append(time.process_time())  # the initiator's mark: warm-up done, measuring from here


def _pin(index: int) -> None:
    """Run on a core of its own where there are two (the scheduler otherwise tends to wake
    the peer on the waker's core: a socket pair's wake-ups are marked synchronous)."""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) >= 2:
        os.sched_setaffinity(0, {cores[index % len(cores)]})


def _paired_initiator(sock: socket.socket, other: socket.socket, proposal: str, count: int, window: int,
                      warmup: int, out: socket.socket) -> None:
    other.close()  # the responder's end, inherited: it must see this end close when done
    _pin(0)
    gc_policy.apply()
    carol_peers, _ = _paired_peers(proposal, warmup + count)
    ke = KeRegistry.from_entry_points(_Settings())
    carol = _manager(carol_peers[0], ke, (ChildUpDown, IkeUpDown), _LAB_SETTINGS)
    carol.ctx.peers = lambda: carol_peers  # as a daemon with every connection loaded
    _drive(carol, sock, carol_peers[:warmup], 1)  # first use of every code path, not measured
    sock.send(_PORTS.pack(0, 0))
    cpu0, start = time.process_time(), time.monotonic()
    _drive(carol, sock, carol_peers[warmup:], window)
    elapsed, cpu = time.monotonic() - start, time.process_time() - cpu0
    out.send(struct.pack("!dd", elapsed, cpu))


def _drive(carol: IkeSaManager, sock: socket.socket, peers: list[PeerConfig], window: int) -> None:
    """Initiate one IKE_SA per config, WINDOW in flight, until every CHILD_SA is up."""
    started = done = 0
    while done < len(peers):
        while started < len(peers) and started - done < window:
            peer = peers[started]
            carol.initiate(peer, peer.children[0], (ip_address(CAROL), 500), (ip_address(MOON), 500),
                           time.monotonic())
            started += 1
        done += _relay(carol, sock)
        if done < len(peers) and not _receive(carol, sock, CAROL, MOON, []):
            raise RuntimeError("the responder went away")
        done += _relay(carol, sock)


def _paired_responder(sock: socket.socket, other: socket.socket, proposal: str, out: socket.socket) -> None:
    other.close()  # the initiator's end, inherited: closed when the initiator is done
    _pin(1)
    gc_policy.apply()
    _, moon_peer = _paired_peers(proposal, 0)
    moon = _manager(moon_peer, KeRegistry.from_entry_points(_Settings()), settings=_LAB_SETTINGS)
    marks: list[float] = []
    while _receive(moon, sock, MOON, CAROL, marks):
        _relay(moon, sock)
    out.send(struct.pack("!d", time.process_time() - marks[-1]))


def paired_rate(proposal: str, count: int, window: int, warmup: int = 20) -> dict[str, float]:
    """Full handshakes per second with each peer's engine in a process of its own, as two
    daemons run (charon's pair in the lab: two processes on the machine's cores), WINDOW
    initiations in flight; datagrams cross a SOCK_SEQPACKET pair instead of the network stack.
    {"rate": handshakes/s, "ini_cpu_ms": .., "resp_cpu_ms": .. per handshake}."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    ini_out, ini_in = socket.socketpair()
    resp_out, resp_in = socket.socketpair()
    resp = ctx.Process(target=_paired_responder, args=(b, a, proposal, resp_out), daemon=True)
    ini = ctx.Process(target=_paired_initiator, args=(a, b, proposal, count, window, warmup, ini_out), daemon=True)
    resp.start()
    ini.start()
    a.close()
    b.close()
    try:
        ini.join(300)
        elapsed, ini_cpu = struct.unpack("!dd", ini_in.recv(16))
        resp.join(60)  # the responder sees the pair close and reports
        (resp_cpu,) = struct.unpack("!d", resp_in.recv(8))
    finally:
        for proc in (ini, resp):
            if proc.is_alive():
                proc.kill()
        for s in (a, b, ini_out, ini_in, resp_out, resp_in):
            s.close()
    return {"rate": count / elapsed, "ini_cpu_ms": 1000 * ini_cpu / count, "resp_cpu_ms": 1000 * resp_cpu / count}


def lab_rates(kinds: list[str], proposal_name: str, count: int, window: int,
              timeout: float = 300.0) -> dict[str, dict]:
    """KIND->KIND full handshakes per second in the interop lab, driven as ``python -m bench``
    drives its setup-rate scenario (vici ``initiate`` in bulk, WINDOW in flight, completion on
    the initiator's child-updown): {kind: {"rate": SA/s, "ini_cpu_s": .., "resp_cpu_s": ..}}."""
    import shutil
    import tempfile
    from pathlib import Path

    from bench import scenarios
    from tests.interop import provision

    trees = provision.trees()
    work = Path(tempfile.mkdtemp(prefix="vicid-handshake-"))
    env = scenarios.Env(trees.strongswan, work, lambda label, done, total: None)
    out = {}
    try:
        for kind in kinds:
            res = scenarios.setup_pair(env, kind, kind, proposal_name, latency_n=0, rate_n=count, window=window,
                                       timeout=timeout, label=f"{kind}->{kind}")
            out[kind] = {"rate": res["rate"]["rate"], "established": res["rate"]["established"],
                         "ini_cpu_s": res["ini_cpu_s"], "resp_cpu_s": res["resp_cpu_s"]}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out


def lab_available() -> str | None:
    """None if charon can run here (root, provisioned lab), else why not."""
    import os

    from tests.interop import provision

    if os.geteuid() != 0:
        return "needs root (network namespaces)"
    if not provision.stamp_ok(provision.trees().strongswan, "strongswan"):
        return "the interop lab is not provisioned (python -m tests.interop.provision)"
    return None


def _report(args: argparse.Namespace) -> None:
    why_not = "--no-charon" if args.no_charon else lab_available()
    lab_kinds = [] if why_not else (["charon", "vicid"] if args.lab_vicid else ["charon"])
    print(f"full handshakes (IKE_SA + CHILD_SA) per second, median of 3 runs of {args.count}; vicid in memory "
          f"in one process (both peers, one handshake after the other) and per peer (a process each, "
          f"{args.window} in flight)" + ("" if why_not else f"; charon 6.1 in the lab: {args.lab_count} SAs, "
                                          f"{args.window} in flight (python -m bench's setup-rate drive)")
          + "; CPU: ms per handshake (initiator + responder); goal: vicid >= charon")
    for name, proposal in PROPOSALS.items():
        runs = []
        for _ in range(3):
            cpu: list[float] = []
            runs.append((vicid_rate(proposal, args.count, cpu), cpu[0]))
        ours, cpu_s = sorted(runs)[1]
        paired = sorted((paired_rate(proposal, args.count, args.window) for _ in range(3)),
                        key=lambda run: run["rate"])[1]
        print(f"  {name:8s} vicid  one process {ours:6.1f}/s (CPU {1000 * cpu_s:.1f})"
              f"   per peer {paired['rate']:6.1f}/s (CPU {paired['ini_cpu_ms']:.1f} + {paired['resp_cpu_ms']:.1f})",
              flush=True)
        if why_not:
            print(f"  {name:8s} charon 6.1: not measured ({why_not})")
            continue
        lab = lab_rates(lab_kinds, name, args.lab_count, args.window)
        theirs = lab["charon"]
        cpu = (1000 * theirs["ini_cpu_s"] / args.lab_count, 1000 * theirs["resp_cpu_s"] / args.lab_count)
        line = (f"  {name:8s} charon 6.1 in the lab {theirs['rate']:6.1f}/s (CPU {cpu[0]:.1f} + {cpu[1]:.1f})"
                f"   ratio one process {ours / theirs['rate']:.2f}x, per peer {paired['rate'] / theirs['rate']:.2f}x"
                f"   (CPU per handshake, vicid's one process / charon's two daemons: "
                f"{1000 * cpu_s / (cpu[0] + cpu[1]):.2f})")
        if "vicid" in lab:
            line += f"   [vicid in the lab {lab['vicid']['rate']:.1f}/s = {lab['vicid']['rate'] / theirs['rate']:.2f}x]"
        print(line, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300, help="in-memory handshakes per proposal and run")
    parser.add_argument("--no-charon", action="store_true",
                        help="only vicid's in-memory rate (the default when not root or the lab is not provisioned)")
    parser.add_argument("--lab-count", type=int, default=300, help="SAs per lab run")
    parser.add_argument("--window", type=int, default=32, help="initiations in flight (per-peer engines and the lab)")
    parser.add_argument("--lab-vicid", action="store_true", help="also run vicid->vicid in the lab, same drive")
    args = parser.parse_args(argv)
    quiet = logging.getLogger("vicid")  # the engine's own log lines are not part of the output
    saved = (list(quiet.handlers), quiet.propagate)
    quiet.handlers[:] = [logging.NullHandler()]
    quiet.propagate = False
    try:
        _report(args)
    finally:
        quiet.handlers[:], quiet.propagate = saved
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
