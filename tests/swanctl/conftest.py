"""Helpers for the swanctl tests: run our swanctl in-process or as a program."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# The interop lab's fixtures (charon_factory, rootfs_swanctl, ...) for test_interop.py; they skip
# without root or a provisioned rootfs.  Importing them here makes them visible in this directory.
from tests.interop.conftest import (  # noqa: F401
    charon_factory,
    interop_host,
    interop_rootfs,
    netns_factory,
    netns_pair,
    pytest_runtest_makereport,
    rootfs_exec,
    rootfs_swanctl,
    vicid_factory,
)

REPO = Path(__file__).resolve().parents[2]
SCHEMA = REPO / "swanctl" / "schema" / "swanctl.schema.json"
VECTORS = Path(__file__).parent / "vectors"


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def run_inprocess(*args: str) -> Result:
    """swanctl.cli.main(ARGS) with stdout/stderr captured as swanctl writes them (bytes kept)."""
    from swanctl import cli

    out, err = io.BytesIO(), io.BytesIO()
    o = io.TextIOWrapper(out, encoding="utf-8", errors="surrogateescape", newline="\n", write_through=True)
    e = io.TextIOWrapper(err, encoding="utf-8", errors="surrogateescape", newline="\n", write_through=True)
    with contextlib.redirect_stdout(o), contextlib.redirect_stderr(e):
        rc = cli.main(list(args))
    o.flush()
    e.flush()
    return Result(rc, out.getvalue().decode("utf-8", "surrogateescape"),
                  err.getvalue().decode("utf-8", "surrogateescape"))


def ours_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "swanctl", *args]


def hermetic_env(**extra: str) -> dict[str, str]:
    """No host strongswan.conf, no SWANCTL_DIR: only what a test passes counts."""
    env = {k: v for k, v in os.environ.items() if k not in ("SWANCTL_DIR", "STRONGSWAN_CONF")}
    env["STRONGSWAN_CONF"] = os.devnull
    env["PYTHONPATH"] = str(REPO)
    env["TZ"] = "UTC"
    env.update(extra)
    return env


def run_ours(*args: str, timeout: float = 60, **env: str) -> subprocess.CompletedProcess:
    """Our swanctl as a program (a new session: no terminal to prompt on)."""
    return subprocess.run(ours_argv(*args), capture_output=True, text=True, timeout=timeout,
                          env=hermetic_env(**env), stdin=subprocess.DEVNULL, start_new_session=True,
                          errors="surrogateescape")


# Mounts CONFDIR's swanctl.conf and credential dirs on /etc/swanctl in a private mount
# namespace, so that our swanctl sees the same paths as the reference in its chroot.
_BIND_SH = r"""
set -e
mount --make-rprivate / 2>/dev/null || true
mount -t tmpfs tmpfs /etc/swanctl
while [ "$1" != "--" ]; do
    if [ -d "$1" ]; then mkdir -p "$2"; else touch "$2"; fi
    mount --bind "$1" "$2"
    shift 2
done
shift
exec "$@"
"""
SUBDIRS = ("conf.d", "x509", "x509ca", "x509ocsp", "x509aa", "x509ac", "x509crl", "pubkey", "private", "rsa",
           "ecdsa", "pkcs8", "pkcs12")


def etc_swanctl_usable() -> bool:
    return os.geteuid() == 0 and Path("/etc/swanctl").is_dir() and shutil.which("unshare") is not None


def run_ours_in(confdir: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Our swanctl with CONFDIR seen as /etc/swanctl (needs root and an existing /etc/swanctl)."""
    confdir = Path(confdir).resolve()
    binds: list[str] = []
    if (confdir / "swanctl.conf").exists():
        binds += [str(confdir / "swanctl.conf"), "/etc/swanctl/swanctl.conf"]
    for sub in SUBDIRS:
        if (confdir / sub).is_dir():
            binds += [str(confdir / sub), f"/etc/swanctl/{sub}"]
    argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c", _BIND_SH, "sh", *binds, "--",
            *ours_argv(*args)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=hermetic_env(),
                          stdin=subprocess.DEVNULL, start_new_session=True, errors="surrogateescape")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "interop: runs real strongSwan/libreswan daemons in network namespaces (root, provisioned rootfs)",
    )


@pytest.fixture
def sockdir() -> Iterator[Path]:
    """A short directory for unix sockets (pytest's tmp_path can exceed sun_path)."""
    d = Path(tempfile.mkdtemp(prefix="swt-", dir="/tmp"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    import time

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


DEFAULT_SOCKET = "/var/run/charon.vici"


def needs_default_socket_absent(vector: dict) -> None:
    """A few recordings show swanctl failing to reach the default socket (an option eats the
    --uri the replay appends); with a daemon listening there they cannot replay: skip, saying so."""
    if f"connecting to 'unix://{DEFAULT_SOCKET}' failed" in vector.get("stderr", "") and \
            os.path.exists(DEFAULT_SOCKET):
        pytest.skip(f"a daemon listens on {DEFAULT_SOCKET} on this host; this recording needs it absent")
