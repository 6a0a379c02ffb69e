"""The benchmark lab: two namespaces, vicid or charon 6.1 on each side, tuned alike.

carol (192.0.2.3) initiates, moon (192.0.2.2) responds. Every initiated IKE_SA uses its own
connection ``b<i>`` on carol (own local identity ``p<i>.bench.example``): charon would otherwise
reuse the IKE_SA of an equal peer config. moon has one connection that accepts any identity,
so its table grows with SAs, not with configs. One PSK without owners serves every identity.

Both daemons get the same tuning (``TUNING``): the DoS defences that would throttle a bulk
initiation from one peer address are lifted, uniqueness checks are off (``unique = never``),
rekeying is off so nothing but setup runs, and both log at level 0 to a file. Both install
CHILD_SAs the same way, in userspace (kernel-libipsec: this host has no kernel ESP), without
routes (``install_routes = no``). charon additionally gets an IKE_SA hash table sized for
100k SAs (its default is a single bucket list); vicid's table is a dict.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.interop import netns
from tests.interop.charon import Charon, start_charon
from tests.interop.rootfs import vici_answers

REPO = Path(__file__).resolve().parents[1]
MOON, CAROL = "192.0.2.2", "192.0.2.3"
MOON_ID = "moon.bench.example"
PSK = "bench-psk-not-secret-0123456789"  # test-only key, documented here
PROPOSALS = {
    "classic": "aes256gcm16-sha512-x25519",
    "pq": "aes256gcm16-sha512-x25519-ke1_mlkem768",
}
CAROL_TS, MOON_TS = "203.0.113.0/24", "198.51.100.0/24"
ESP = "aes256gcm16"

# strongswan.conf lines both daemons share (inside ``charon { }``)
TUNING = """\
    install_routes = no
    dos_protection = yes
    cookie_threshold = 1000000
    cookie_threshold_ip = 1000000
    block_threshold = 1000000
    init_limit_half_open = 0
    ikesa_limit = 0
    half_open_timeout = 60
"""
# the interop lab's plugin list without the certificate checks nobody uses here
CHARON_PLUGINS = ("random nonce openssl pem pkcs1 pkcs8 x509 pubkey kdf aes sha1 sha2 hmac gcm curve25519 drbg "
                  "kernel-libipsec kernel-netlink socket-default vici").split()
# charon only: its IKE_SA manager hashes into ikesa_table_size buckets (default 1, a list)
CHARON_ONLY = """\
    ikesa_table_size = 65536
    ikesa_table_segments = 16
""" + f"    load = {' '.join(CHARON_PLUGINS)}\n"
VICID_ONLY = """\
    plugins {
        kernel-libipsec { load = yes }
    }
"""


def logger(path: str) -> str:
    return (f"    filelog {{\n        bench {{\n            path = {path}\n            default = 0\n"
            "            append = no\n        }\n    }\n")


def charon_conf() -> str:
    return "charon {\n" + TUNING + CHARON_ONLY + logger("/run/charon.log") + "}\n"


# vicid --foreground also logs to stderr (level 1) unless a stderr logger is configured; charon
# here logs to its one file only, so vicid gets a silent stderr logger next to the same file logger
VICID_QUIET_STDERR = "    filelog {\n        stderr {\n            default = -1\n        }\n    }\n"


def vicid_conf(run_dir: Path) -> str:
    return ("charon {\n" + TUNING + VICID_ONLY + logger(f"{run_dir}/vicid.log") + VICID_QUIET_STDERR
            + f"    plugins {{\n        vici {{ socket = unix://{run_dir}/charon.vici }}\n    }}\n" + "}\n")


# --- connections as vici load-conn bodies (identical for both daemons) ---------------------------

def initiator_conn(i: int, proposal: str) -> dict:
    return {f"b{i}": {
        "version": "2", "local_addrs": [CAROL], "remote_addrs": [MOON], "proposals": [proposal],
        "unique": "never", "rekey_time": "0", "reauth_time": "0",
        "local": {"auth": "psk", "id": f"p{i}.bench.example"},
        "remote": {"auth": "psk", "id": MOON_ID},
        "children": {"net": {"local_ts": [CAROL_TS], "remote_ts": [MOON_TS], "esp_proposals": [ESP],
                             "rekey_time": "0", "start_action": "none"}},
    }}


def responder_conn() -> dict:
    return {"r": {
        "version": "2", "local_addrs": [MOON], "proposals": list(PROPOSALS.values()),
        "unique": "never", "rekey_time": "0", "reauth_time": "0",
        "local": {"auth": "psk", "id": MOON_ID},
        "remote": {"auth": "psk", "id": "%any"},
        "children": {"net": {"local_ts": [MOON_TS], "remote_ts": [CAROL_TS], "esp_proposals": [ESP],
                             "rekey_time": "0", "start_action": "none"}},
    }}


SHARED = {"type": "IKE", "data": PSK, "owners": []}


def swanctl_conf(count: int, proposal: str) -> str:
    """The initiator's connections as a swanctl.conf (for the timed ``swanctl --load-conns``)."""
    parts = ["connections {\n"]
    for i in range(count):
        parts.append(
            f"  b{i} {{\n    version = 2\n    local_addrs = {CAROL}\n    remote_addrs = {MOON}\n"
            f"    proposals = {proposal}\n    unique = never\n    rekey_time = 0\n    reauth_time = 0\n"
            f"    local {{\n      auth = psk\n      id = p{i}.bench.example\n    }}\n"
            f"    remote {{\n      auth = psk\n      id = {MOON_ID}\n    }}\n"
            f"    children {{\n      net {{\n        local_ts = {CAROL_TS}\n        remote_ts = {MOON_TS}\n"
            f"        esp_proposals = {ESP}\n        rekey_time = 0\n        start_action = none\n"
            "      }\n    }\n  }\n")
    parts.append("}\n")
    return "".join(parts)


# --- daemons ------------------------------------------------------------------------------------

@dataclass
class Daemon:
    """vicid or charon in one namespace: its kind, PID, vici socket and how to stop it."""

    kind: str  # "vicid" / "charon"
    node: netns.Node
    run_dir: Path
    pid: int
    socket: str
    stop_fn: object = field(repr=False, default=None)

    def rss_kib(self) -> int:
        """Resident set size from /proc (VmRSS)."""
        with open(f"/proc/{self.pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise RuntimeError(f"no VmRSS for {self.kind} pid {self.pid}")

    def cpu_seconds(self) -> float:
        """user + system CPU time of the daemon so far."""
        with open(f"/proc/{self.pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def alive(self) -> bool:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def stop(self) -> None:
        if callable(self.stop_fn):
            self.stop_fn()


def start_charon_daemon(rootfs: Path, node: netns.Node, run_dir: Path) -> Daemon:
    confdir = run_dir / "conf"
    confdir.mkdir(parents=True, exist_ok=True)
    (confdir / "strongswan.conf").write_text(charon_conf())
    (confdir / "swanctl.conf").write_text("connections {\n}\n")
    charon: Charon = start_charon(rootfs, node, confdir, run_dir=run_dir / "run", name=f"bench-{node.name}",
                                  load_all=False, timeout=30)
    assert charon.pid is not None
    return Daemon("charon", node, run_dir / "run", charon.pid, str(charon.vici_socket), charon.stop)


def start_vicid_daemon(node: netns.Node, run_dir: Path, *, profile: Path | None = None,
                       timeout: float = 30.0) -> Daemon:
    """vicid from this checkout in NODE's namespace; PROFILE runs it under cProfile (stats
    written at exit) when no sampling profiler is available."""
    run_dir.mkdir(parents=True, exist_ok=True)
    conf = run_dir / "strongswan.conf"
    conf.write_text(vicid_conf(run_dir))
    sock = run_dir / "charon.vici"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    python = [sys.executable] + (["-m", "cProfile", "-o", str(profile)] if profile else []) + ["-m", "vicid"]
    with open(run_dir / "stderr.log", "ab") as err:
        proc = subprocess.Popen(["ip", "netns", "exec", node.netns, *python, "--foreground", "--conf", str(conf)],
                                stdin=subprocess.DEVNULL, stdout=err, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)

    def stop() -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)  # a cProfile run writes its stats on the way out
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    deadline = time.monotonic() + timeout
    while not (sock.exists() and vici_answers(sock)):
        if proc.poll() is not None:
            raise RuntimeError(f"vicid exited: {(run_dir / 'stderr.log').read_text()[-2000:]}")
        if time.monotonic() > deadline:
            stop()
            raise RuntimeError(f"vicid in {node.netns}: vici did not answer within {timeout} s")
        time.sleep(0.05)
    return Daemon("vicid", node, run_dir, proc.pid, str(sock), stop)
