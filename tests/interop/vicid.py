"""vicid as a peer in a test namespace: started from this checkout, stopped by PID.

The daemon runs from the host filesystem inside the node's network namespace (``ip netns exec``),
with its own strongswan.conf whose vici socket and log live in a per-instance run dir. swanctl
reaches it through the host path of that socket: Debian's 5.9.8 directly, strongSwan 6.1's via
``rootfs_swanctl``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from .netns import Node
from .rootfs import vici_answers

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT = float(os.environ.get("VICID_START_TIMEOUT", "20"))  # slow machines (a TCG VM) set more


def vicid_conf(run_dir: Path, extra: str = "") -> str:
    return (
        "charon {\n"
        f"    plugins {{ vici {{ socket = unix://{run_dir}/charon.vici }} }}\n"
        "    fragment_size = 1280\n"
        f"    filelog {{ lab {{ path = {run_dir}/vicid.log\n"
        "        time_format = %H:%M:%S\n time_precision = ms\n ike_name = yes\n flush_line = yes\n"
        "        default = 1\n ike = 2\n cfg = 2\n net = 1\n enc = 1 } }\n"
        f"{extra}"
        "}\n"
    )


class Vicid:
    """One vicid instance in one namespace."""

    kind = "vicid"

    def __init__(self, node: Node, run_dir: Path, name: str, extra_conf: str = "") -> None:
        self.node = node
        self.run_dir = run_dir
        self.name = name
        self.conf = run_dir / "strongswan.conf"
        run_dir.mkdir(parents=True, exist_ok=True)
        self.conf.write_text(vicid_conf(run_dir, extra_conf))
        self.proc: subprocess.Popen | None = None

    @property
    def vici_socket(self) -> Path:
        return self.run_dir / "charon.vici"

    @property
    def vici_uri(self) -> str:
        return f"unix://{self.vici_socket}"

    @property
    def log(self) -> Path:
        return self.run_dir / "vicid.log"

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def start(self, timeout: float = START_TIMEOUT) -> Vicid:
        env = dict(os.environ, PYTHONPATH=str(REPO))
        with open(self.run_dir / "stderr.log", "ab") as err:
            self.proc = subprocess.Popen(
                ["ip", "netns", "exec", self.node.netns, sys.executable, "-m", "vicid", "--foreground",
                 "--conf", str(self.conf), "--pid-file", str(self.run_dir / "vicid.pid")],
                stdin=subprocess.DEVNULL, stdout=err, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"vicid {self.name} exited: {(self.run_dir / 'stderr.log').read_text()[-2000:]}")
            if self.vici_socket.exists() and vici_answers(self.vici_socket):
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"vicid {self.name}: vici did not answer within {timeout} s")

    def stop(self) -> None:
        """SIGTERM by PID (ip netns exec execs, so the PID is vicid's), SIGKILL if it lingers."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def failure_context(self) -> str:
        return f"--- {self.log} ---\n{self.log_text()[-4000:]}"
