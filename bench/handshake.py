"""Full IKEv2 handshakes per second: vicid's engine in memory, and charon 6.1 in the lab, same run.

vicid: two IkeSaManagers (the real KE plugins from the entry points) exchange datagrams in one
process, IKE_SA_INIT (+ IKE_INTERMEDIATE) + IKE_AUTH with a CHILD_SA, one handshake after the
other, set up as the daemon runs them in the lab bench (no control-log waiting, only the events a
vici client listens to are built): the cost of the protocol engine alone, both sides on one core.
charon: charon->charon between two namespaces of the interop lab, driven as ``python -m bench``
drives its setup rate (vici ``initiate`` in bulk, 32 in flight), which adds sockets, vici,
kernel-libipsec installs, and lets charon use both cores. The ratio is printed as the issue asks;
read it with that difference in mind (``--lab-vicid`` adds vicid->vicid under the same drive).
The lab part runs by default when root and the lab is provisioned; ``--no-charon`` skips it.
``python -m bench.handshake [--count 200] [--lab-count 200] [--lab-vicid]``.
"""
from __future__ import annotations

import argparse
import logging
import statistics
import time
from ipaddress import ip_address

from vicid.creds.store import CredStore, SharedKey
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


def _manager(peer: PeerConfig, ke: KeRegistry, events: tuple[type, ...] = ()) -> IkeSaManager:
    """An engine as the daemon runs one under the lab bench: no control-log waiting, and only
    the events a vici client listens to (the initiator's driver: child-updown) are built."""
    store = CredStore()
    store.shared["psk"] = SharedKey("IKE", Secret(b"bench-psk-not-secret-0123456789"), ["%any"])
    manager = IkeSaManager(EngineSettings(), ke, SystemRng(), lambda: [peer], store)
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


def vicid_rate(proposal: str, count: int) -> float:
    ke = KeRegistry.from_entry_points(_Settings())
    carol_peer = _peer(CAROL, MOON, "carol.example.org", "moon.example.org", proposal,
                       "203.0.113.0/24", "198.51.100.0/24")
    moon_peer = _peer(MOON, "%any", "moon.example.org", "carol.example.org", proposal,
                      "198.51.100.0/24", "203.0.113.0/24")
    start, now = time.perf_counter(), 0.0
    for _ in range(count):
        carol, moon = _manager(carol_peer, ke, (ChildUpDown, IkeUpDown)), _manager(moon_peer, ke)
        carol.initiate(carol_peer, carol_peer.children[0], (ip_address(CAROL), 500), (ip_address(MOON), 500), now)
        if not _pump(carol, moon, now):
            raise RuntimeError("in-memory handshake did not complete")
        now += 1.0
    return count / (time.perf_counter() - start)


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
    print(f"full handshakes (IKE_SA + CHILD_SA) per second; vicid in memory: {args.count} handshakes one "
          f"after the other (median of 3 runs)" + ("" if why_not else
          f"; in the lab: {args.lab_count} SAs, {args.window} in flight (python -m bench's setup-rate drive)"))
    for name, proposal in PROPOSALS.items():
        runs = [vicid_rate(proposal, max(1, args.count // 3)) for _ in range(3)]
        ours = statistics.median(runs)
        line = f"  {name:8s} vicid in memory {ours:7.1f}/s"
        if why_not:
            print(line + f"   charon 6.1: not measured ({why_not})")
            continue
        lab = lab_rates(lab_kinds, name, args.lab_count, args.window)
        theirs = lab["charon"]["rate"]
        line += f"   charon 6.1 in the lab {theirs:7.1f}/s   ratio {ours / theirs:.2f}x (goal >= 1.0)"
        if "vicid" in lab:
            line += f"   [vicid in the lab {lab['vicid']['rate']:.1f}/s = {lab['vicid']['rate'] / theirs:.2f}x]"
        print(line, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200, help="in-memory handshakes per proposal")
    parser.add_argument("--no-charon", action="store_true",
                        help="only vicid's in-memory rate (the default when not root or the lab is not provisioned)")
    parser.add_argument("--lab-count", type=int, default=200, help="SAs per lab run")
    parser.add_argument("--window", type=int, default=32, help="initiations in flight in the lab")
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
