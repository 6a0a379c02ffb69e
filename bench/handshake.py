"""Full IKEv2 handshakes per second: vicid's engine in memory, and charon 6.1 in the lab.

vicid: two IkeSaManagers (the real KE plugins from the entry points) exchange datagrams in one
process, IKE_SA_INIT (+ IKE_INTERMEDIATE) + IKE_AUTH with a CHILD_SA, one handshake after the
other: the cost of the protocol engine alone. charon: one handshake after the other between two
namespaces (sequential `initiate`, the bench's latency scenario with one SA in flight), which adds
sockets, kernel-libipsec installs and the vici round trip. The ratio is printed as the issue asks;
read it with that difference in mind. Run as root: ``python -m bench.handshake [--count 200]``.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time
from ipaddress import ip_address

from vicid.creds.store import CredStore, SharedKey
from vicid.ike.config import AuthClass, AuthConfig, AuthRule, ChildConfig, PeerConfig
from vicid.ike.effects import ChildUpDown, SendDatagram
from vicid.ike.identity import Identification
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


def _manager(peer: PeerConfig, ke: KeRegistry) -> IkeSaManager:
    store = CredStore()
    store.shared["psk"] = SharedKey("IKE", Secret(b"bench-psk-not-secret-0123456789"), ["%any"])
    return IkeSaManager(EngineSettings(), ke, SystemRng(), lambda: [peer], store)


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
        carol, moon = _manager(carol_peer, ke), _manager(moon_peer, ke)
        carol.initiate(carol_peer, carol_peer.children[0], (ip_address(CAROL), 500), (ip_address(MOON), 500), now)
        if not _pump(carol, moon, now):
            raise RuntimeError("in-memory handshake did not complete")
        now += 1.0
    return count / (time.perf_counter() - start)


def charon_rate(proposal_name: str, count: int) -> float | None:
    """Sequential handshakes charon->charon in the lab (None when the lab is unavailable)."""
    try:
        from bench import scenarios
    except ImportError:
        return None
    return scenarios.sequential_rate("charon", PROPOSALS[proposal_name], count) \
        if hasattr(scenarios, "sequential_rate") else None


def _report(args: argparse.Namespace) -> None:
    print(f"full handshakes (IKE_SA + CHILD_SA) per second, {args.count} each:")
    for name, proposal in PROPOSALS.items():
        runs = [vicid_rate(proposal, max(1, args.count // 3)) for _ in range(3)]
        ours = statistics.median(runs)
        line = f"  {name:8s} vicid in memory {ours:8.1f}/s"
        theirs = None if args.no_charon else charon_rate(name, args.count)
        if theirs:
            line += f"   charon 6.1 (lab, sequential) {theirs:8.1f}/s   ratio {ours / theirs:.2f} (goal >= 1.0)"
        else:
            line += "   charon: see `python -m bench` (setup rate and latency per pair)"
        print(line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--no-charon", action="store_true", help="only vicid's in-memory rate")
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
