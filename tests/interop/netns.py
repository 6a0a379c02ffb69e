"""Throw-away network namespaces for interop tests.

Every peer of a test (a reference charon/pluto or vicid itself) gets its own
network namespace, so IKE ports 500/4500, routes and the userspace-ESP TUN
device never clash with the host or with another test.  Names are
``vicid-<pid>-<node>`` (a suffix is added if a test makes several labs), so
concurrent test runs and the shared bash lab (``sslab-*``) are never touched.

Addressing uses documentation ranges only:
    outer (IKE/ESP):  192.0.2.0/24 on veth "wan"
    inner (payload):  198.51.100.1/32 (moon), 203.0.113.1/32 (carol) on lo,
                      because this kernel has no dummy driver.
Two nodes are joined by one veth pair; three or more by veths into a bridge
that lives in an extra ``vicid-<pid>-hub`` namespace.

Cleanup deletes exactly the namespaces this module created (context manager,
plus an atexit safety net); leftover processes inside them are killed by PID.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

PREFIX = f"vicid-{os.getpid()}-"
CMD_TIMEOUT = 15.0

# name -> (outer address, inner address); further nodes need explicit specs.
DEFAULT_ADDRS: dict[str, tuple[str, str]] = {
    "moon": ("192.0.2.2", "198.51.100.1"),
    "carol": ("192.0.2.3", "203.0.113.1"),
    "dave": ("192.0.2.4", "203.0.113.2"),
    "sun": ("192.0.2.5", "198.51.100.2"),
}
OUTER_PREFIXLEN = 24

_lock = threading.RLock()  # re-entrant: cleanup may run from a signal handler
_created: list[str] = []  # namespaces made by this process, in creation order
_atexit_registered = False
_before_cleanup: list[Callable[[], None]] = []  # e.g. stop daemons first


class NetnsError(RuntimeError):
    """A namespace or link operation failed."""


def run(cmd: Sequence[str], *, timeout: float = CMD_TIMEOUT, check: bool = True, **kw) -> subprocess.CompletedProcess:
    """subprocess.run with a timeout, captured text output, clear errors."""
    kw.setdefault("capture_output", True)
    kw.setdefault("stdin", subprocess.DEVNULL)
    try:
        res = subprocess.run(list(cmd), timeout=timeout, text=True, **kw)
    except subprocess.TimeoutExpired as e:
        raise NetnsError(f"timed out after {timeout} s: {' '.join(cmd)}") from e
    if check and res.returncode != 0:
        raise NetnsError(f"exit {res.returncode}: {' '.join(cmd)}\n{res.stdout}{res.stderr}")
    return res


def existing_namespaces() -> set[str]:
    return {line.split()[0] for line in run(["ip", "netns", "list"]).stdout.splitlines() if line.strip()}


def namespace_pids(ns: str) -> list[int]:
    res = run(["ip", "netns", "pids", ns], check=False)
    return [int(p) for p in res.stdout.split() if p.isdigit()]


def kill_pids(pids: Iterable[int], grace: float = 3.0) -> None:
    """SIGTERM, wait up to GRACE seconds, then SIGKILL: strictly by PID."""
    pids = list(pids)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while pids and time.monotonic() < deadline:
        pids = [p for p in pids if _alive(p)]
        time.sleep(0.05)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        # a zombie child of ours counts as gone; reap it if it is ours
        with contextlib.suppress(ChildProcessError):
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return False
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def _unique_name(base: str) -> str:
    taken = existing_namespaces() | set(_created)
    name, n = f"{PREFIX}{base}", 2
    while name in taken:
        name, n = f"{PREFIX}{base}-{n}", n + 1
    return name


def create_namespace(base: str) -> str:
    """Create a fresh namespace ``vicid-<pid>-BASE[-n]`` and remember it."""
    global _atexit_registered
    with _lock:
        name = _unique_name(base)
        run(["ip", "netns", "add", name])
        _created.append(name)
        if not _atexit_registered:
            atexit.register(cleanup_all)
            _install_sigterm_cleanup()
            _atexit_registered = True
    return name


def on_cleanup(fn: Callable[[], None]) -> None:
    """Run FN before namespaces are removed at exit or on SIGTERM (stop daemons)."""
    if fn not in _before_cleanup:
        _before_cleanup.append(fn)


def _install_sigterm_cleanup() -> None:
    """A SIGTERMed test run skips atexit; clean up, then die of SIGTERM as asked.

    Only if nobody else handles SIGTERM, and only from the main thread.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return

    def handler(signum: int, frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        cleanup_all()
        os.kill(os.getpid(), signal.SIGTERM)

    signal.signal(signal.SIGTERM, handler)


def delete_namespace(name: str) -> None:
    """Delete NAME (only if we created it), killing processes left inside."""
    with _lock:
        if name not in _created:
            raise NetnsError(f"refusing to delete {name}: not created by this process")
        pids = namespace_pids(name)
        if pids:
            print(f"netns: killing leftover processes in {name}: {pids}", file=sys.stderr)
            kill_pids(pids)
        run(["ip", "netns", "del", name], check=False)
        _created.remove(name)


def cleanup_all() -> None:
    """atexit/SIGTERM safety net: stop daemons, remove our remaining namespaces."""
    for fn in list(_before_cleanup):
        with contextlib.suppress(Exception):
            fn()
    for name in reversed(list(_created)):
        with contextlib.suppress(Exception):
            delete_namespace(name)


@dataclass
class Node:
    """One peer: a namespace with an outer address on "wan" and an inner /32 on lo."""

    name: str
    netns: str
    outer: str
    inner: str
    ifname: str = "wan"

    def exec(self, *cmd: str, timeout: float = CMD_TIMEOUT, check: bool = False) -> subprocess.CompletedProcess:
        """Run a HOST command inside this namespace (e.g. the vicid daemon's tools)."""
        return run(["ip", "netns", "exec", self.netns, *cmd], timeout=timeout, check=check)

    def ip(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return run(["ip", "-n", self.netns, *args], check=check)

    def sysctl(self, settings: dict[str, str | int]) -> None:
        """Set sysctls inside the namespace, e.g. {"net.ipv4.ip_forward": 1}."""
        self.exec("sysctl", "-qw", *(f"{k}={v}" for k, v in settings.items()), check=True)

    def operstate(self, ifname: str | None = None) -> str:
        out = self.ip("-j", "link", "show", "dev", ifname or self.ifname).stdout
        return json.loads(out)[0].get("operstate", "UNKNOWN")

    def pids(self) -> list[int]:
        return namespace_pids(self.netns)


@dataclass
class Lab:
    """A set of nodes on one outer segment; use as a context manager."""

    nodes: dict[str, Node] = field(default_factory=dict)
    hub: str | None = None

    def __getitem__(self, name: str) -> Node:
        return self.nodes[name]

    def __getattr__(self, name: str) -> Node:
        """``lab.moon`` as a shorthand for ``lab["moon"]``."""
        nodes = self.__dict__.get("nodes", {})
        if name in nodes:
            return nodes[name]
        raise AttributeError(name)

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes.values())

    @property
    def namespaces(self) -> list[str]:
        return [n.netns for n in self.nodes.values()] + ([self.hub] if self.hub else [])

    def close(self) -> None:
        errors = []
        for ns in self.namespaces:
            if ns in _created:
                try:
                    delete_namespace(ns)
                except Exception as e:  # keep going: delete the others too
                    errors.append(e)
        self.nodes.clear()
        self.hub = None
        if errors:
            raise NetnsError(f"cleanup errors: {errors}")

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


NodeSpec = tuple[str, str, str]  # (name, outer address, inner address)


def _spec(item: str | NodeSpec) -> NodeSpec:
    if isinstance(item, str):
        if item not in DEFAULT_ADDRS:
            raise NetnsError(f"no default addresses for node {item!r}; pass (name, outer, inner)")
        return (item, *DEFAULT_ADDRS[item])
    return item


def _valid_ifname(name: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_-]", "", name)[:15]
    return name or "x"


def create_lab(nodes: Sequence[str | NodeSpec] = ("moon", "carol"), up_timeout: float = 5.0) -> Lab:
    """Build namespaces for NODES, wire them up, wait until links are up.

    On any failure everything created so far is removed again.
    """
    specs = [_spec(s) for s in nodes]
    if len(specs) < 2 or len({s[0] for s in specs}) != len(specs):
        raise NetnsError(f"need at least two distinct nodes, got {nodes}")
    lab = Lab()
    try:
        for name, outer, inner in specs:
            node = Node(name, create_namespace(name), outer, inner)
            lab.nodes[name] = node
            node.ip("link", "set", "lo", "up")
            node.ip("addr", "add", f"{inner}/32", "dev", "lo")
            # Defaults first, so "wan" and charon's TUN device inherit them.
            node.sysctl({f"net.ipv4.conf.{dev}.rp_filter": 0 for dev in ("all", "default", "lo")})
        if len(specs) == 2:
            a, b = lab.nodes.values()
            a.ip("link", "add", a.ifname, "type", "veth", "peer", "name", b.ifname, "netns", b.netns)
        else:
            lab.hub = create_namespace("hub")
            hub = ["ip", "-n", lab.hub]
            run([*hub, "link", "add", "br0", "type", "bridge"])
            run([*hub, "link", "set", "br0", "up"])
            for node in lab.nodes.values():
                port = _valid_ifname(f"p-{node.name}")
                run([*hub, "link", "add", port, "type", "veth", "peer", "name", node.ifname, "netns", node.netns])
                run([*hub, "link", "set", port, "master", "br0", "up"])
        for node in lab.nodes.values():
            node.ip("addr", "add", f"{node.outer}/{OUTER_PREFIXLEN}", "dev", node.ifname)
            node.ip("link", "set", node.ifname, "up")
            node.sysctl({f"net.ipv4.conf.{node.ifname}.rp_filter": 0})
        deadline = time.monotonic() + up_timeout
        pending = list(lab.nodes.values())
        while pending:
            pending = [n for n in pending if n.operstate() != "UP"]
            if pending and time.monotonic() > deadline:
                raise NetnsError(f"links not up after {up_timeout} s: {[n.netns for n in pending]}")
            if pending:
                time.sleep(0.05)
    except BaseException:
        with contextlib.suppress(Exception):
            lab.close()
        raise
    return lab


@contextlib.contextmanager
def lab(nodes: Sequence[str | NodeSpec] = ("moon", "carol")) -> Iterator[Lab]:
    """``with lab() as l: l["moon"].exec(...)`` -- namespaces gone afterwards."""
    created = create_lab(nodes)
    try:
        yield created
    finally:
        created.close()


def reap_stale(dry_run: bool = False, kill: bool = False) -> list[str]:
    """Delete ``vicid-<pid>-*`` namespaces whose creating process is gone.

    For after a test run that was SIGKILLed (no atexit, no SIGTERM handler).
    Only namespaces whose creator PID is dead are considered; ones with
    processes inside are skipped unless KILL (those processes are daemons a
    dead harness started there; they are killed by PID).
    """
    removed = []
    for ns in sorted(existing_namespaces()):
        m = re.match(r"^vicid-(\d+)-", ns)
        if not m or _alive(int(m.group(1))):
            continue
        pids = namespace_pids(ns)
        if pids and not kill:
            print(f"netns: skipping {ns}, processes inside: {pids} (use --kill)", file=sys.stderr)
            continue
        if not dry_run:
            kill_pids(pids)
            run(["ip", "netns", "del", ns], check=False)
        removed.append(ns)
    return removed


if __name__ == "__main__":
    # python -m tests.interop.netns --reap-stale [--dry-run] [--kill]
    if "--reap-stale" in sys.argv:
        for ns in reap_stale(dry_run="--dry-run" in sys.argv, kill="--kill" in sys.argv):
            print(("would delete " if "--dry-run" in sys.argv else "deleted ") + ns)
    else:
        print(__doc__)
