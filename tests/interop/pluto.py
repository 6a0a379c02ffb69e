"""libreswan 5.2 pluto from the cached rootfs, as a second reference peer.

A pluto CONFDIR holds ``ipsec.conf`` and optionally ``ipsec.secrets``; both
are bind-mounted over /etc in the chroot.  Each start gets a fresh, empty NSS
database in RUN_DIR/nss (libreswan keeps keys and certificates there).  The
run dir is the instance's /run: ``pluto/pluto.ctl`` (whack socket),
``pluto/pluto.log`` if ipsec.conf logs there, ``stderr.log``.

The host kernel has no ESP and libreswan has no userspace ESP, so pluto can
negotiate IKE SAs but never install a CHILD_SA here.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from .netns import Node
from .rootfs import CMD_TIMEOUT, Bind, Daemon, tail

PLUTO = "/usr/libexec/ipsec/pluto"


def pluto_binds(confdir: Path) -> list[Bind]:
    if not (confdir / "ipsec.conf").is_file():
        raise FileNotFoundError(f"{confdir} needs ipsec.conf (and usually ipsec.secrets)")
    binds: list[Bind] = [(confdir / "ipsec.conf", "/etc/ipsec.conf")]
    if (confdir / "ipsec.secrets").is_file():
        binds.append((confdir / "ipsec.secrets", "/etc/ipsec.secrets"))
    return binds


class Pluto(Daemon):
    """One pluto instance in one namespace."""

    kind = "pluto"

    def __init__(self, rootfs: Path, node: Node, confdir: Path, run_dir: Path, name: str) -> None:
        super().__init__(rootfs, node.netns, run_dir, pluto_binds(confdir), name)
        self.node = node
        self.confdir = confdir

    @property
    def ctl_socket(self) -> Path:
        return self.run_dir / "pluto" / "pluto.ctl"

    @property
    def log(self) -> Path:
        """pluto.log, written if ipsec.conf has logfile=/run/pluto/pluto.log."""
        return self.run_dir / "pluto" / "pluto.log"

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def ipsec(self, *args: str, timeout: float = CMD_TIMEOUT, check: bool = False) -> subprocess.CompletedProcess:
        """libreswan's ``ipsec`` tool for this instance (add, up, delete, trafficstatus...)."""
        return self.exec("ipsec", *args, timeout=timeout, check=check)

    def whack(self, *args: str, timeout: float = CMD_TIMEOUT, check: bool = False) -> subprocess.CompletedProcess:
        return self.exec("ipsec", "whack", "--ctlsocket", "/run/pluto/pluto.ctl", *args, timeout=timeout,
                         check=check)

    def failure_context(self) -> str:
        return f"{super().failure_context()}\n--- {self.log} ---\n{tail(self.log)}"

    def start(self, *, timeout: float = 10.0) -> Pluto:
        (self.run_dir / "pluto").mkdir(parents=True, exist_ok=True)
        (self.run_dir / "nss").mkdir(exist_ok=True)
        res = self.exec("certutil", "-N", "-d", "sql:/run/nss", "--empty-password")
        if res.returncode != 0:
            raise RuntimeError(f"certutil -N failed for {self.name}:\n{res.stdout}{res.stderr}")
        self._spawn([PLUTO, "--nofork", "--stderrlog", "--config", "/etc/ipsec.conf",
                     "--nssdir", "/run/nss", "--rundir", "/run/pluto"])
        self._wait_ready(self._ready, timeout, "whack socket")
        return self

    def _ready(self) -> bool:
        return self.ctl_socket.is_socket() and self.whack("--status", timeout=5).returncode == 0


def start_pluto(
    rootfs: Path, node: Node, confdir: Path, *, run_dir: Path, name: str | None = None, timeout: float = 10.0
) -> Pluto:
    """Start pluto in NODE's namespace; returns once whack answers."""
    return Pluto(rootfs, node, Path(confdir).resolve(), Path(run_dir), name or node.name).start(timeout=timeout)
