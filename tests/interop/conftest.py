"""pytest fixtures for interop tests against real strongSwan 6.1 / libreswan 5.2.

Fixtures (all tests using them should carry ``@pytest.mark.interop``):

    interop_rootfs   session  Trees(strongswan=Path, libreswan=Path); provisions
                              on first use, skips if impossible (no root, no
                              network); VICID_INTEROP_REQUIRE=1 makes it fail.
    netns_pair       function Lab with nodes "moon" and "carol" (netns.Lab)
    netns_factory    function make_lab(nodes=("moon", "carol")) -> Lab, any count
    charon_factory   function start(node, confdir="moon", *, name=None,
                              load_all=True, timeout=10.0) -> Charon
    pluto_factory    function start(node, confdir="carol-libreswan", *, name=None,
                              timeout=10.0) -> Pluto
    rootfs_swanctl   function swanctl(uri, *args, confdir=None, netns=None,
                              timeout=30.0, check=False) -> CompletedProcess
    rootfs_exec      function run(node, *cmd, timeout=30.0, check=False)
                              -> CompletedProcess: a strongSwan-tree program
                              (ping, tcpdump, ip...) in NODE's namespace

``confdir`` may be a name under tests/interop/configs/ or any path.  Daemons
are stopped and namespaces deleted after each test, also on failure; a failing
test's report gets the tails of the daemons' logs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from . import netns as netns_mod
from .charon import MAX_SOCKET_PATH, Charon, start_charon
from .charon import rootfs_swanctl as _rootfs_swanctl
from .pluto import Pluto, start_pluto
from .provision import ProvisionError, Trees, describe, is_provisioned, provision
from .rootfs import run_in_rootfs
from .vicid import Vicid

CONFIGS = Path(__file__).parent / "configs"
_DAEMONS = pytest.StashKey[list]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "interop: runs real strongSwan/libreswan daemons in network namespaces (root, provisioned rootfs)",
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """Attach daemon log tails to the report of a failing test."""
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for d in item.stash.get(_DAEMONS, []):
            report.sections.append((f"{d.kind} {d.name} ({d.run_dir})", d.failure_context()))


def _skip_or_fail(config: pytest.Config, reason: str) -> None:
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"\n[interop] {reason}", yellow=True)
    if os.environ.get("VICID_INTEROP_REQUIRE") == "1":
        pytest.fail(f"interop required but unavailable: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def interop_host(pytestconfig: pytest.Config) -> None:
    """Root, iproute2 and util-linux are needed for any namespace work."""
    if os.geteuid() != 0:
        _skip_or_fail(pytestconfig, "interop tests need root (network namespaces, mounts, chroot)")
    for tool in ("ip", "unshare", "chroot"):
        if shutil.which(tool) is None:
            _skip_or_fail(pytestconfig, f"interop tests need host tool {tool!r}")
    if not os.path.exists("/dev/net/tun"):
        _skip_or_fail(pytestconfig, "interop tests need /dev/net/tun (charon's kernel-libipsec)")


@pytest.fixture(scope="session")
def interop_rootfs(interop_host: None, pytestconfig: pytest.Config) -> Trees:
    """The provisioned strongSwan 6.1 / libreswan 5.2 trees (built if missing)."""
    reporter = pytestconfig.pluginmanager.get_plugin("terminalreporter")
    if not is_provisioned() and reporter is not None:
        reporter.write_line("\n[interop] provisioning rootfs trees (once per machine, ~1 min)...")
    try:
        trees = provision(log=lambda m: reporter.write_line(f"[interop] {m}") if reporter else None)
    except ProvisionError as e:
        _skip_or_fail(pytestconfig, f"cannot provision interop rootfs: {e}")
    if reporter is not None and pytestconfig.getoption("verbose") > 0:
        reporter.write_line("\n" + describe(trees))
    return trees


@pytest.fixture
def netns_factory(interop_host: None) -> Iterator[Callable[..., netns_mod.Lab]]:
    labs: list[netns_mod.Lab] = []

    def make(nodes=("moon", "carol")) -> netns_mod.Lab:
        lab = netns_mod.create_lab(nodes)
        labs.append(lab)
        return lab

    yield make
    for lab in reversed(labs):
        lab.close()


@pytest.fixture
def netns_pair(netns_factory: Callable[..., netns_mod.Lab]) -> netns_mod.Lab:
    """Namespaces moon (192.0.2.2, 198.51.100.1) and carol (192.0.2.3, 203.0.113.1)."""
    return netns_factory(("moon", "carol"))


def _confdir(conf: str | Path) -> Path:
    p = Path(conf)
    return p if p.is_absolute() or p.exists() else CONFIGS / p


def _run_dir(tmp_path: Path, name: str) -> Path:
    """Per-instance run dir under tmp_path, unless that is too long for a socket."""
    d = tmp_path / name
    if len(str(d / "charon.vici")) > MAX_SOCKET_PATH:
        d = Path(tempfile.mkdtemp(prefix=f"vicid-{name}-"))
    return d


@pytest.fixture
def charon_factory(
    interop_rootfs: Trees, netns_factory: object, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[..., Charon]]:
    """Start charon 6.1 instances in namespaces; all are stopped at teardown.

    Depends on netns_factory only for teardown order: daemons stop first,
    then their namespaces go.
    """
    started: list = request.node.stash.setdefault(_DAEMONS, [])

    def start(node: netns_mod.Node, confdir: str | Path = "moon", *, name: str | None = None,
              load_all: bool = True, timeout: float = 10.0) -> Charon:
        name = name or node.name
        c = start_charon(interop_rootfs.strongswan, node, _confdir(confdir),
                         run_dir=_run_dir(tmp_path, f"charon-{name}"), name=name, load_all=load_all,
                         timeout=timeout)
        started.append(c)
        return c

    yield start
    for d in reversed(started):
        d.stop()


@pytest.fixture
def vicid_factory(netns_factory: object, tmp_path: Path, request: pytest.FixtureRequest
                  ) -> Iterator[Callable[..., Vicid]]:
    """Start vicid (this checkout) in namespaces; all are stopped at teardown, before the namespaces."""
    started: list = request.node.stash.setdefault(_DAEMONS, [])

    def start(node: netns_mod.Node, *, name: str | None = None, extra_conf: str = "") -> Vicid:
        name = name or node.name
        v = Vicid(node, _run_dir(tmp_path, f"vicid-{name}"), name, extra_conf).start()
        started.append(v)
        return v

    yield start
    for d in reversed(started):
        d.stop()


@pytest.fixture
def pluto_factory(
    interop_rootfs: Trees, netns_factory: object, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[..., Pluto]]:
    """Start libreswan pluto instances in namespaces; all are stopped at teardown."""
    started: list = request.node.stash.setdefault(_DAEMONS, [])

    def start(node: netns_mod.Node, confdir: str | Path = "carol-libreswan", *, name: str | None = None,
              timeout: float = 10.0) -> Pluto:
        name = name or node.name
        p = start_pluto(interop_rootfs.libreswan, node, _confdir(confdir),
                        run_dir=_run_dir(tmp_path, f"pluto-{name}"), name=name, timeout=timeout)
        started.append(p)
        return p

    yield start
    for d in reversed(started):
        d.stop()


@pytest.fixture
def rootfs_swanctl(interop_rootfs: Trees) -> Callable[..., subprocess.CompletedProcess]:
    """strongSwan 6.1's swanctl against any vici URI (host socket path or tcp://)."""

    def swanctl(uri: str | Path, *args: str, confdir: str | Path | None = None, **kw) -> subprocess.CompletedProcess:
        conf = _confdir(confdir) if confdir is not None else None
        return _rootfs_swanctl(interop_rootfs.strongswan, uri, *args, confdir=conf, **kw)

    return swanctl


@pytest.fixture
def rootfs_exec(interop_rootfs: Trees) -> Callable[..., subprocess.CompletedProcess]:
    """Run a program of the strongSwan tree (ping, tcpdump...) in a node's namespace.

    The host may lack such tools; a node running vicid has no daemon to exec through.
    """

    def run(node: netns_mod.Node, *cmd: str, timeout: float = 30.0, check: bool = False):
        return run_in_rootfs(interop_rootfs.strongswan, cmd, netns=node.netns, timeout=timeout, check=check)

    return run
