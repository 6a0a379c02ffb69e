"""Fixtures that run the real vicid daemon as a process and talk to it like a user would."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "interop" / "configs"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Vicid:
    proc: subprocess.Popen
    dir: Path
    unix: Path
    tcp_port: int
    conf: Path

    @property
    def uri(self) -> str:
        return f"unix://{self.unix}"

    @property
    def log(self) -> str:
        return (self.dir / "vicid.log").read_text()

    def session(self, tcp: bool = False):
        import vici

        if tcp:
            sock = socket.create_connection(("127.0.0.1", self.tcp_port), timeout=10)
        else:
            sock = socket.socket(socket.AF_UNIX)
            sock.settimeout(10)
            sock.connect(str(self.unix))
        return vici.Session(sock)

    def alive(self) -> bool:
        return self.proc.poll() is None


def write_conf(path: Path, uris: list[str], extra: str = "", ports: tuple[int, int] = (0, 0)) -> None:
    # ephemeral IKE ports by default: tests never collide with a daemon on the host
    path.write_text(
        "charon {\n"
        f"  plugins {{ vici {{ socket = {', '.join(uris)} }} }}\n"
        f"  filelog {{ test {{ path = {path.parent / 'vicid.log'}\n default = 2\n flush_line = yes\n }} }}\n"
        f"  port = {ports[0]}\n  port_nat_t = {ports[1]}\n"
        f"{extra}"
        "}\n"
    )


def start_vicid(tmp: Path, uris: list[str] | None = None, extra: str = "",
                ports: tuple[int, int] = (0, 0)) -> Vicid:
    unix = tmp / "charon.vici"
    port = free_port()
    conf = tmp / "strongswan.conf"
    write_conf(conf, uris or [f"unix://{unix}", f"tcp://127.0.0.1:{port}"], extra, ports)
    proc = subprocess.Popen([sys.executable, "-m", "vicid", "--foreground", "--conf", str(conf),
                             "--pid-file", str(tmp / "vicid.pid")],
                            stdout=subprocess.DEVNULL, stderr=open(tmp / "stderr.log", "w"))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"vicid exited: {(tmp / 'stderr.log').read_text()}")
        if (tmp / "vicid.pid").exists() and (unix.exists() or uris):
            break
        time.sleep(0.02)
    else:
        proc.kill()
        raise RuntimeError("vicid did not come up within 20 s")
    return Vicid(proc, tmp, unix, port, conf)


def stop_vicid(v: Vicid) -> None:
    if v.proc.poll() is None:
        v.proc.send_signal(signal.SIGTERM)  # by PID, never by name
        try:
            v.proc.wait(10)
        except subprocess.TimeoutExpired:
            v.proc.kill()
            v.proc.wait()


@pytest.fixture
def vicid(tmp_path):
    v = start_vicid(tmp_path)
    yield v
    stop_vicid(v)


@pytest.fixture(scope="session")
def swanctl_bin() -> str:
    path = shutil.which("swanctl") or ("/usr/sbin/swanctl" if os.path.exists("/usr/sbin/swanctl") else None)
    if path is None:
        pytest.skip("strongSwan's swanctl is not installed (install.sh installs Debian's strongswan-swanctl)")
    return path


def run_swanctl(binary: str, uri: str, *args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([binary, *args, "--uri", uri], capture_output=True, text=True, timeout=timeout)
