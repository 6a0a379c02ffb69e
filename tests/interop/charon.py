"""strongSwan 6.1 charon (and its swanctl) from the cached rootfs, as a test peer.

    c = start_charon(rootfs, node, confdir, run_dir=tmp / "moon")
    c.swanctl("--initiate", "--child", "net", "--ike", "pq")
    c.stop()

A charon CONFDIR holds ``swanctl.conf`` and ``strongswan.conf`` and optionally
credential/include subdirectories (x509/, private/, conf.d/, ...); they are
bind-mounted, not copied, so an edited file is picked up by ``--load-all``.
The run dir (host side) becomes the instance's /run: ``charon.vici`` (vici
socket, usable from the host: path-based unix sockets cross namespaces),
``charon.log`` if strongswan.conf logs to /run/charon.log, ``stderr.log``,
``daemon.pid``.  The run dir is kept after stop() for post-mortems.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from . import swanctl_raw
from .netns import Node
from .rootfs import CMD_TIMEOUT, Bind, Daemon, run_in_rootfs, tail, vici_answers

CHARON = "/usr/lib/ipsec/charon"
# Optional subdirectories of a swanctl confdir mirrored onto /etc/swanctl/.
SWANCTL_SUBDIRS = (
    "conf.d", "x509", "x509ca", "x509ocsp", "x509aa", "x509ac", "x509crl",
    "pubkey", "private", "rsa", "ecdsa", "pkcs8", "pkcs12",
)
# AF_UNIX sun_path is 108 bytes including the terminator.
MAX_SOCKET_PATH = 107


def swanctl_binds(confdir: Path) -> list[Bind]:
    """Bind mounts putting CONFDIR's swanctl.conf and subdirs on /etc/swanctl."""
    binds: list[Bind] = []
    if (confdir / "swanctl.conf").exists():
        binds.append((confdir / "swanctl.conf", "/etc/swanctl/swanctl.conf"))
    binds += [(confdir / d, f"/etc/swanctl/{d}") for d in SWANCTL_SUBDIRS if (confdir / d).is_dir()]
    return binds


def charon_binds(confdir: Path) -> list[Bind]:
    if not (confdir / "swanctl.conf").is_file() or not (confdir / "strongswan.conf").is_file():
        raise FileNotFoundError(f"{confdir} needs swanctl.conf and strongswan.conf")
    return [*swanctl_binds(confdir), (confdir / "strongswan.conf", "/etc/strongswan.conf")]


class Charon(Daemon):
    """One charon instance in one namespace."""

    kind = "charon"

    def __init__(self, rootfs: Path, node: Node, confdir: Path, run_dir: Path, name: str) -> None:
        super().__init__(rootfs, node.netns, run_dir, charon_binds(confdir), name)
        self.node = node
        self.confdir = confdir

    @property
    def vici_socket(self) -> Path:
        """Host path of the vici socket (connect with the vici package, or vicid tooling)."""
        return self.run_dir / "charon.vici"

    @property
    def vici_uri(self) -> str:
        return f"unix://{self.vici_socket}"

    @property
    def log(self) -> Path:
        """charon.log, written if strongswan.conf has a filelog to /run/charon.log."""
        return self.run_dir / "charon.log"

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def swanctl(self, *args: str, timeout: float = CMD_TIMEOUT, check: bool = False) -> subprocess.CompletedProcess:
        """Run the rootfs swanctl (6.1) against this charon."""
        return self.exec("swanctl", *args, timeout=timeout, check=check)

    def list_sas(self, *args: str) -> dict[str, dict]:
        """``swanctl --list-sas --pretty`` parsed into {ike_sa_name: attributes}."""
        res = self.swanctl("--list-sas", "--pretty", *args, check=True)
        return swanctl_raw.sas(res.stdout)

    def failure_context(self) -> str:
        return f"{super().failure_context()}\n--- {self.log} ---\n{tail(self.log)}"

    def start(self, *, timeout: float = 10.0, load_all: bool = True) -> Charon:
        if len(str(self.vici_socket)) > MAX_SOCKET_PATH:
            raise ValueError(f"run dir too long for a unix socket path: {self.vici_socket}")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._spawn([CHARON])
        self._wait_ready(lambda: vici_answers(self.vici_socket), timeout, "vici")
        if load_all:
            res = self.swanctl("--load-all", "--noprompt")
            if res.returncode != 0:
                self.stop()
                raise RuntimeError(f"swanctl --load-all failed for {self.name}:\n{res.stdout}{res.stderr}")
        return self


def start_charon(
    rootfs: Path,
    node: Node,
    confdir: Path,
    *,
    run_dir: Path,
    name: str | None = None,
    load_all: bool = True,
    timeout: float = 10.0,
) -> Charon:
    """Start charon in NODE's namespace; returns once vici answers (and configs are loaded)."""
    return Charon(rootfs, node, Path(confdir).resolve(), Path(run_dir), name or node.name).start(
        timeout=timeout, load_all=load_all
    )


def rootfs_swanctl(
    rootfs: Path,
    uri: str | Path,
    *args: str,
    confdir: Path | None = None,
    netns: str | None = None,
    timeout: float = CMD_TIMEOUT,
    check: bool = False,
) -> subprocess.CompletedProcess:
    """Run strongSwan 6.1's swanctl against any vici endpoint, e.g. vicid's.

    URI is ``unix:///host/path.sock`` (or a bare host path) -- its directory is
    bind-mounted into the chroot -- or ``tcp://host:port`` (reached from NETNS,
    the host's namespace by default).  CONFDIR (swanctl.conf + optional
    credential subdirs) is mounted on /etc/swanctl for ``--load-all`` and
    friends; swanctl's --file options may name paths below /etc/swanctl too.
    """
    uri = str(uri)
    run_dir: Path | None = None
    with tempfile.TemporaryDirectory(prefix="vicid-swanctl-") as empty:
        if uri.startswith("unix://") or uri.startswith("/"):
            host_path = Path(uri.removeprefix("unix://"))
            run_dir = host_path.parent
            uri = f"unix:///run/{host_path.name}"
        binds = swanctl_binds(Path(confdir).resolve()) if confdir else []
        if confdir and not binds:
            raise FileNotFoundError(f"{confdir} has no swanctl.conf")
        return run_in_rootfs(
            rootfs,
            ["swanctl", *args, "--uri", uri],
            netns=netns,
            run_dir=run_dir or Path(empty),
            binds=binds,
            timeout=timeout,
            check=check,
        )


def algorithms(charon: Charon) -> str:
    """``swanctl --list-algs`` of a running charon (e.g. to assert ML_KEM_768[openssl])."""
    return charon.swanctl("--list-algs", check=True).stdout


__all__: Sequence[str] = ("Charon", "algorithms", "charon_binds", "rootfs_swanctl", "start_charon", "swanctl_binds")
