"""A throw-away network namespace ``vicid-dp-<pid>[-n]`` for kernel/datapath tests (root only)."""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest

_counter = itertools.count()


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=15, check=check)


def require_root() -> None:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2 to create a network namespace")


@contextlib.contextmanager
def namespace(outer: str = "192.0.2.3/24", inner: str = "203.0.113.1/32") -> Iterator[str]:
    """A namespace with lo up (INNER on it) and a veth "wan" (OUTER); deleted afterwards."""
    n = next(_counter)
    name = f"vicid-dp-{os.getpid()}" + (f"-{n}" if n else "")
    ip("netns", "add", name)
    try:
        ip("-n", name, "link", "set", "lo", "up")
        ip("-n", name, "addr", "add", inner, "dev", "lo")
        ip("-n", name, "link", "add", "wan", "type", "veth", "peer", "name", "wanp")
        ip("-n", name, "addr", "add", outer, "dev", "wan")
        ip("-n", name, "link", "set", "wan", "up")
        ip("-n", name, "link", "set", "wanp", "up")
        yield name
    finally:
        pids = ip("netns", "pids", name, check=False).stdout.split()
        for pid in pids:  # only processes inside our own namespace, by PID
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), 9)
        ip("netns", "del", name, check=False)
