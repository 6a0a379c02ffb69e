"""The vicid demo: a post-quantum IKEv2 tunnel between two network namespaces, driven by swanctl.

    moon  192.0.2.2  protects 198.51.100.0/24  vicid (or charon 6.1 with --peer strongswan)
    carol 192.0.2.3  protects 203.0.113.0/24   vicid, initiates "pq" (X25519 + ML-KEM-768)

Debian's swanctl loads each side's swanctl.conf and initiates; a ping crosses the tunnel while
tcpdump watches the wire between the namespaces; swanctl --list-sas shows the result. Everything
the demo creates (namespaces, daemons, run directory) is removed at the end, also on failure.
Run it through ./examples/demo/run.sh (root, installs first).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from tests.interop import netns
from tests.interop.charon import start_charon
from tests.interop.vicid import Vicid

HERE = Path(__file__).resolve().parent


def step(text: str) -> None:
    print(f"\n== {text}", flush=True)


def swanctl(uri: str, command: str, *args: str, check: bool = True) -> str:
    """Debian's swanctl (5.9.8) against a daemon's vici socket; prints and returns its output
    (its stderr only lists plugins it could not load, so it is shown on failure only)."""
    res = subprocess.run(["swanctl", command, "--uri", uri, *args], capture_output=True, text=True, timeout=60)
    print(res.stdout, end="", flush=True)
    if check and res.returncode != 0:
        raise RuntimeError(f"swanctl {command} failed:\n{res.stderr}")
    return res.stdout


def start_moon(peer: str, node: netns.Node, run_dir: Path) -> tuple[object, str]:
    """vicid, or charon 6.1 from the interop lab's root filesystem; returns (daemon, kind)."""
    if peer == "strongswan":
        from tests.interop.provision import provision
        trees = provision(log=lambda m: print(f"   {m}", flush=True))
        return start_charon(trees.strongswan, node, HERE / "moon", run_dir=run_dir / "moon", load_all=False), \
            "charon 6.1 (kernel-libipsec)"
    return Vicid(node, run_dir / "moon", "moon").start(), "vicid"


def ping_watching_wire(carol: netns.Node, moon: netns.Node) -> str:
    """Ping moon's inner address from carol's while tcpdump listens on moon's outer interface."""
    wire: dict[str, str] = {}
    quiet_ike = "ip and not udp port 500 and not udp[8:4] = 0"  # all but IKE (zero non-ESP marker)
    dump = threading.Thread(target=lambda: wire.update(out=moon.exec(
        "timeout", "4", "tcpdump", "-n", "-l", "-c", "6", "-i", "wan", quiet_ike, timeout=10).stdout))
    dump.start()
    time.sleep(1)  # tcpdump is listening
    res = carol.exec("ping", "-c", "3", "-i", "0.3", "-W", "2", "-I", carol.inner, moon.inner, timeout=20)
    dump.join()
    print(res.stdout, end="")
    print("   on the wire (tcpdump -i wan in moon):")
    for line in wire.get("out", "").splitlines():
        print(f"   {line}")
    if " 0% packet loss" not in res.stdout:
        raise RuntimeError("the ping did not get through the tunnel")
    return wire.get("out", "")


def run(peer: str, cleanups: list[Callable[[], None]]) -> None:
    run_dir = Path(tempfile.mkdtemp(prefix="vicid-demo-", dir="/run"))
    cleanups.append(lambda: shutil.rmtree(run_dir, ignore_errors=True))
    step("two network namespaces, joined by a veth pair (documentation addresses)")
    lab = netns.create_lab(("moon", "carol"))
    cleanups.append(lab.close)
    moon, carol = lab.moon, lab.carol
    for node in (moon, carol):
        print(f"   {node.netns}: wan {node.outer}/24, inner {node.inner} (on lo)")

    step(f"starting the daemons (moon: {'charon 6.1' if peer == 'strongswan' else 'vicid'}, carol: vicid)")
    moon_daemon, kind = start_moon(peer, moon, run_dir)
    cleanups.append(moon_daemon.stop)
    carol_daemon = Vicid(carol, run_dir / "carol", "carol").start()
    cleanups.append(carol_daemon.stop)
    print(f"   moon: {kind}, pid {moon_daemon.proc.pid}")
    print(f"   carol: vicid, pid {carol_daemon.proc.pid}")

    for name, daemon in (("moon", moon_daemon), ("carol", carol_daemon)):
        step(f"{name}: swanctl --load-all --file examples/demo/{name}/swanctl.conf")
        swanctl(daemon.vici_uri, "--load-all", "--noprompt", "--file", str(HERE / name / "swanctl.conf"))

    step("carol: swanctl --initiate --child net --ike pq")
    swanctl(carol_daemon.vici_uri, "--initiate", "--child", "net", "--ike", "pq")

    step(f"carol: ping -I {carol.inner} {moon.inner}, through the tunnel")
    ping_watching_wire(carol, moon)

    step("carol: swanctl --list-sas")
    swanctl(carol_daemon.vici_uri, "--list-sas")
    step("moon: swanctl --list-sas")
    swanctl(moon_daemon.vici_uri, "--list-sas")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--peer", choices=("vicid", "strongswan"), default="vicid",
                    help="what runs on moon: vicid (default) or strongSwan 6.1's charon from the interop lab")
    args = ap.parse_args(argv)
    cleanups: list[Callable[[], None]] = []
    netns.on_cleanup(lambda: _cleanup(cleanups))  # also on SIGTERM
    try:
        run(args.peer, cleanups)
    except Exception as exc:
        print(f"\ndemo failed: {exc}", file=sys.stderr)
        return 1
    finally:
        step("cleaning up: daemons stopped by PID, namespaces and run directory removed")
        _cleanup(cleanups)
    print("\ndemo finished: post-quantum tunnel established, ping went through as ESP, all cleaned up")
    return 0


def _cleanup(cleanups: list[Callable[[], None]]) -> None:
    while cleanups:
        fn = cleanups.pop()
        try:
            fn()
        except Exception as exc:  # keep cleaning up the rest
            print(f"   cleanup step failed: {exc}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
