"""Run programs of a cached rootfs inside a test namespace, without touching it.

A reference daemon runs as  ``ip netns exec NS sh -c ENTER ... chroot ROOTFS CMD``.
``ip netns exec`` gives the process tree a private (slave) mount namespace, so
the ENTER script can bind-mount per-instance files over the shared, read-only
in spirit rootfs: the instance's run dir on ROOTFS/run (sockets, pid files,
logs -- all readable from the host), its configuration files over
ROOTFS/etc/..., and /proc, /sys (the namespace's), /dev (for /dev/net/tun).
The mounts die with the process tree.  Every step exec()s, so the PID of the
Popen object *is* the daemon's PID and stop() signals exactly that process.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import struct
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from . import netns

CMD_TIMEOUT = 30.0

# $1 rootfs, $2 host dir for ROOTFS/run ("" = empty tmpfs), then SRC DST pairs
# to bind-mount (DST relative to the rootfs) up to "--", then the command.
_ENTER_SH = r"""
set -e
root=$1; rundir=$2; shift 2
mount --make-rslave / 2>/dev/null || true
mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys"
mount --rbind /dev "$root/dev"
if [ -n "$rundir" ]; then mount --bind "$rundir" "$root/run"; else mount -t tmpfs tmpfs "$root/run"; fi
while [ "$1" != "--" ]; do
    mount --bind "$1" "$root$2"
    shift 2
done
shift
exec chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 TERM=dumb "$@"
"""

Bind = tuple[Path, str]  # (host path, absolute path inside the rootfs)


def enter_argv(
    rootfs: Path,
    cmd: Sequence[str],
    *,
    netns: str | None,
    run_dir: Path | None = None,
    binds: Sequence[Bind] = (),
) -> list[str]:
    """argv that runs CMD from ROOTFS in NETNS (or the host's netns if None)."""
    for src, dst in binds:
        if not src.exists():
            raise FileNotFoundError(src)
        if not (rootfs / dst.lstrip("/")).exists():
            raise FileNotFoundError(f"bind target {dst} missing in {rootfs}")
    prefix = ["ip", "netns", "exec", netns] if netns else ["unshare", "--mount", "--propagation", "private", "--"]
    flat = [str(x) for src, dst in binds for x in (src, dst)]
    return [*prefix, "sh", "-c", _ENTER_SH, "sh", str(rootfs), str(run_dir or ""), *flat, "--", *cmd]


def run_in_rootfs(
    rootfs: Path,
    cmd: Sequence[str],
    *,
    netns: str | None,
    run_dir: Path | None = None,
    binds: Sequence[Bind] = (),
    timeout: float = CMD_TIMEOUT,
    check: bool = False,
    input: str | None = None,
) -> subprocess.CompletedProcess:
    """Run CMD to completion (text output captured, always with a timeout)."""
    argv = enter_argv(rootfs, cmd, netns=netns, run_dir=run_dir, binds=binds)
    res = subprocess.run(
        argv,
        timeout=timeout,
        capture_output=True,
        text=True,
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
    )
    # present the command as the caller thinks of it
    res.args = list(cmd)
    if check:
        res.check_returncode()
    return res


def vici_answers(path: Path, timeout: float = 1.0) -> bool:
    """True if a vici server on unix socket PATH answers a "version" request.

    Hand-made minimal packet (length, CMD_REQUEST=0, name) so readiness needs
    neither a subprocess nor the vici package.
    """
    name = b"version"
    packet = bytes([0, len(name)]) + name
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(str(path))
            s.sendall(struct.pack("!I", len(packet)) + packet)
            header = _recv_exact(s, 4)
            body = _recv_exact(s, struct.unpack("!I", header)[0])
            return body[:1] == b"\x01"  # CMD_RESPONSE
    except OSError:
        return False


def _recv_exact(s: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("vici peer closed")
        buf += chunk
    return buf


def tail(path: Path, n: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return f"({path} unreadable)"


_live: set[Daemon] = set()
_atexit_registered = False


def _stop_all() -> None:
    for d in list(_live):
        with contextlib.suppress(Exception):
            d.stop()


class Daemon:
    """A long-running rootfs program inside a namespace, tracked by PID."""

    kind = "daemon"

    def __init__(self, rootfs: Path, netns: str, run_dir: Path, binds: Sequence[Bind], name: str) -> None:
        self.rootfs = rootfs
        self.netns = netns
        self.run_dir = run_dir
        self.binds = list(binds)
        self.name = name
        self.proc: subprocess.Popen | None = None
        self.started_in: float | None = None  # seconds until ready

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    @property
    def stderr_log(self) -> Path:
        return self.run_dir / "stderr.log"

    def exec(self, *cmd: str, timeout: float = CMD_TIMEOUT, check: bool = False) -> subprocess.CompletedProcess:
        """Run a rootfs command (ping, ip, tcpdump, ...) in this instance's view."""
        return run_in_rootfs(
            self.rootfs, cmd, netns=self.netns, run_dir=self.run_dir, binds=self.binds, timeout=timeout,
            check=check,
        )

    def _spawn(self, cmd: Sequence[str]) -> None:
        global _atexit_registered
        if not _atexit_registered:
            atexit.register(_stop_all)
            netns.on_cleanup(_stop_all)  # also runs on SIGTERM, before namespaces go
            _atexit_registered = True
        argv = enter_argv(self.rootfs, cmd, netns=self.netns, run_dir=self.run_dir, binds=self.binds)
        with open(self.stderr_log, "ab") as err:
            self.proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=err, stderr=subprocess.STDOUT, start_new_session=True
            )
        (self.run_dir / "daemon.pid").write_text(f"{self.proc.pid}\n")
        _live.add(self)

    def _wait_ready(self, ready, timeout: float, what: str) -> None:
        t0 = time.monotonic()
        while not ready():
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} {self.name} exited ({self.proc and self.proc.returncode}):\n"
                                   f"{self.failure_context()}")
            if time.monotonic() - t0 > timeout:
                self.stop()
                raise TimeoutError(f"{self.kind} {self.name}: {what} not ready after {timeout} s\n"
                                   f"{self.failure_context()}")
            time.sleep(0.02)
        self.started_in = time.monotonic() - t0

    def failure_context(self) -> str:
        return f"--- {self.stderr_log} ---\n{tail(self.stderr_log)}"

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, grace: float = 5.0) -> int | None:
        """SIGTERM, then SIGKILL after GRACE seconds; returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        _live.discard(self)
        with contextlib.suppress(FileNotFoundError):
            (self.run_dir / "daemon.pid").unlink()
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} pid={self.pid} netns={self.netns} run_dir={self.run_dir}>"
