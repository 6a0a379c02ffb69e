"""Acceptance: our swanctl against strongSwan 6.1's swanctl, on charon 6.1 and on vicid.

Every command of swanctl 6.1 runs twice in one test run -- the reference
swanctl from the lab's rootfs and ours from the host -- against the same
daemon state, and stdout, stderr and exit code must be equal:

* listings and daemon information live, normalising only timestamps and
  ages (SA ages and lifetimes, certificate "expires in", uptime) -- and for
  --stats the daemon's own load figures (threads busy, queued jobs, heap),
  which change between any two calls;
* load commands live on two daemons started alike, one per client, with
  the vici requests recorded on both sides and compared byte for byte,
  and the daemons' resulting state compared afterwards;
* SA commands (initiate, rekey, terminate, install, redirect, monitor-sa,
  log, ...) whose output carries fresh SPIs: the reference runs live
  through a recorder and ours gets the same daemon replies from a
  replayer, so their outputs must be identical without any normalisation;
  ours also runs them live.  The same is done with vicid initiating to
  charon (vicid's engine), and --monitor-sa/--log are compared on both.

Ours sees the configuration directory as /etc/swanctl (a private mount
namespace) so file paths in messages are the reference's.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.interop.conftest import CONFIGS
from tests.interop.rootfs import enter_argv
from tests.shell.conftest import start_vicid, stop_vicid
from tests.swanctl import pki
from tests.swanctl.conftest import etc_swanctl_usable, run_ours, run_ours_in
from tests.swanctl.viciproxy import CLIENT, Recorder, Replayer

pytestmark = pytest.mark.interop

_AGES = [
    (re.compile(r"(established|installed) \d+s ago"), r"\1 Ns ago"),
    (re.compile(r"(rekeying|reauth|expires) in -?\d+s"), r"\1 in Ns"),
    (re.compile(r", +\d+s ago"), ", Ns ago"),  # last use of a CHILD_SA
    (re.compile(r"((?:established|rekey-time|reauth-time|life-time|install-time|use-in|use-out)(?: = |=))-?\d+"),
     r"\1N"),
    (re.compile(r"\((expires in|valid in) \d+ \w+\)"), r"(\1 N)"),
    (re.compile(r"\((expired) \(\d+ \w+ ago\)"), r"(\1 N ago)"),
]
_STATS = [
    (re.compile(r"uptime: .*, since .*"), "uptime: T"),
    (re.compile(r"running=[^}]*? since=[^}]*?\}"), "running=T since=T}"),
    (re.compile(r"(running|since) = .*"), r"\1 = T"),
    (re.compile(r"worker threads: (\d+) total, \d+ idle, working: [\d/]+"), r"worker threads: \1 total, load"),
    (re.compile(r"job queues: [\d/]+"), "job queues: load"),
    (re.compile(r"jobs scheduled: \d+"), "jobs scheduled: load"),
    (re.compile(r"mallinfo: .*"), "mallinfo: heap"),
    (re.compile(r"\b(idle|critical|high|medium|low|scheduled|sbrk|mmap|used|free)( = |=)\d+"), r"\1\2N"),
]


def normalise(text: str, stats: bool = False) -> str:
    for pattern, repl in _AGES + (_STATS if stats else []):
        text = pattern.sub(repl, text)
    return text


class Diffs:
    """Collects mismatches so one run reports every differing command."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.compared = 0

    def check(self, label: str, ref: subprocess.CompletedProcess, ours: subprocess.CompletedProcess,
              stats: bool = False, stderr: bool = True) -> None:
        self.compared += 1
        for what, a, b in (("exit code", ref.returncode, ours.returncode),
                           ("stdout", normalise(ref.stdout, stats), normalise(ours.stdout, stats)),
                           ("stderr", normalise(ref.stderr, stats), normalise(ours.stderr, stats))):
            if what == "stderr" and not stderr:
                continue
            if a != b:
                self.items.append(f"{label}: {what} differs\n--- swanctl 6.1\n{a}\n--- ours\n{b}")

    def equal(self, label: str, a: object, b: object) -> None:
        self.compared += 1
        if a != b:
            self.items.append(f"{label}: differs\n--- swanctl 6.1\n{a}\n--- ours\n{b}")

    def assert_none(self) -> None:
        assert not self.items, f"{len(self.items)} of {self.compared} comparisons differ:\n\n" + "\n\n".join(
            self.items)


@pytest.fixture(scope="module", autouse=True)
def _lab_ready() -> None:
    if not etc_swanctl_usable():
        pytest.skip("needs root and an /etc/swanctl to mount configurations on (install.sh installs it)")


@pytest.fixture
def certconf(tmp_path: Path) -> Path:
    return pki.make_confdir(tmp_path / "certconf")


@pytest.fixture
def short_dir() -> Iterator[Path]:
    d = Path(tempfile.mkdtemp(prefix="swi-", dir="/tmp"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


LISTINGS = [
    ["--list-sas"], ["--list-sas", "--raw"], ["--list-sas", "--pretty"], ["--list-sas", "--ike", "pq"],
    ["--list-sas", "--ike-id", "1", "--child", "net"], ["--list-sas", "--noblock"],
    ["--list-conns"], ["--list-conns", "--raw"], ["--list-conns", "--pretty"], ["--list-conns", "--ike", "rsa-peer"],
    ["--list-pols"], ["--list-pols", "--pretty"], ["--list-pols", "--drop", "--pass"],
    ["--list-authorities"], ["--list-authorities", "--raw"], ["--list-authorities", "--name", "test-ca"],
    ["--list-certs"], ["--list-certs", "--short"], ["--list-certs", "--utc"], ["--list-certs", "--pem"],
    ["--list-certs", "--raw"], ["--list-certs", "--type", "x509", "--flag", "ca"],
    ["--list-certs", "--type", "x509_crl"], ["--list-certs", "--type", "pubkey"],
    ["--list-certs", "--subject", "moon.example.org"],
    ["--list-pools"], ["--list-pools", "--leases"], ["--list-pools", "--pretty"], ["--list-pools", "--name", "rw-pool"],
    ["--list-algs"], ["--list-algs", "--raw"],
    ["--version"], ["--version", "--daemon"], ["--version", "--daemon", "--pretty"],
    ["--stats"], ["--stats", "--raw"], ["--stats", "--pretty"],
    ["--counters"], ["--counters", "--all"], ["--counters", "--name", "pq", "--raw"],
    ["--flush-certs"], ["--flush-certs", "--type", "x509_crl", "--raw"],
    ["--reload-settings"], ["--reload-settings", "--pretty"],
    ["--initiate", "--child", "nonexistent"], ["--terminate", "--ike", "nonexistent"],
    ["--rekey", "--ike", "nonexistent"], ["--redirect", "--ike", "nonexistent", "--gateway", "192.0.2.99"],
    ["--install", "--child", "nonexistent"], ["--uninstall", "--child", "nonexistent"],
]


def compare_listings(diffs: Diffs, label: str, uri: str, reference: Callable[..., subprocess.CompletedProcess]) -> None:
    """Each command line by both clients, several command lines at a time (none changes state)."""

    def both(args: list[str]) -> tuple[subprocess.CompletedProcess, subprocess.CompletedProcess]:
        return reference(uri, *args), run_ours(*args, "--uri", uri)

    with ThreadPoolExecutor(max_workers=6) as pool:
        for args, (ref, ours) in zip(LISTINGS, pool.map(both, LISTINGS), strict=True):
            diffs.check(f"{label} {' '.join(args)}", ref, ours, stats=args[0] == "--stats")


def test_listings_on_charon_with_the_lab_and_certificate_configs(
        netns_factory, charon_factory, rootfs_swanctl, certconf: Path) -> None:
    lab = netns_factory(("moon", "carol", "sun"))
    moon = charon_factory(lab.moon, "moon")
    carol = charon_factory(lab.carol, "carol")
    sun = charon_factory(lab.sun, certconf, name="sun")
    assert carol.swanctl("--initiate", "--child", "net", "--ike", "pq").returncode == 0
    assert carol.swanctl("--install", "--child", "net", "--ike", "classic").returncode == 0  # a trap policy
    diffs = Diffs()
    for label, daemon in (("moon", moon), ("carol", carol), ("cert", sun)):
        compare_listings(diffs, f"charon/{label}", daemon.vici_uri, rootfs_swanctl)
    diffs.assert_none()
    assert diffs.compared == 3 * len(LISTINGS)


def compare_waiting(diffs: Diffs, label: str, socket_path: Path, rootfs: Path) -> None:
    """--monitor-sa and --log side by side for a while, then SIGINT to both."""
    from tests.swanctl.conftest import hermetic_env, ours_argv

    for args in (["--monitor-sa"], ["--log"], ["--log", "--pretty"]):
        argv = enter_argv(rootfs, ["swanctl", *args, "--uri", f"unix:///run/{socket_path.name}"], netns=None,
                          run_dir=socket_path.parent)
        procs = [subprocess.Popen(a, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                  stdin=subprocess.DEVNULL, start_new_session=True)
                 for a, env in ((argv, None), (ours_argv(*args, "--uri", f"unix://{socket_path}"), hermetic_env()))]
        time.sleep(1.2)
        results = []
        for p in procs:
            p.send_signal(signal.SIGINT)
            out, err = p.communicate(timeout=20)
            results.append(subprocess.CompletedProcess(p.args, p.returncode, out, err))
        diffs.check(f"{label} {' '.join(args)}", *results)


def test_listings_on_vicid_with_the_lab_and_certificate_configs(
        tmp_path: Path, rootfs_swanctl, interop_rootfs, certconf: Path) -> None:
    diffs = Diffs()
    for label, confdir in (("moon", CONFIGS / "moon"), ("carol", CONFIGS / "carol"), ("cert", certconf)):
        (tmp_path / label).mkdir()
        vicid = start_vicid(tmp_path / label)
        try:
            loaded = rootfs_swanctl(vicid.uri, "--load-all", "--noprompt", confdir=confdir)
            assert loaded.returncode == 0, loaded.stdout + loaded.stderr
            compare_listings(diffs, f"vicid/{label}", vicid.uri, rootfs_swanctl)
            if label == "moon":
                compare_waiting(diffs, "vicid", vicid.unix, interop_rootfs.strongswan)
        finally:
            stop_vicid(vicid)
    diffs.assert_none()


# -- loading --------------------------------------------------------------------------------------


class Side:
    """One client and its own daemon, every connection recorded."""

    def __init__(self, name: str, daemon_socket: Path, sock_dir: Path,
                 run: Callable[[Path, str, list[str]], subprocess.CompletedProcess]) -> None:
        self.recorder = Recorder(sock_dir / f"{name}.vici", daemon_socket)
        self.run_client = run
        self.daemon_uri = f"unix://{daemon_socket}"

    def run(self, confdir: Path, args: list[str]) -> tuple[subprocess.CompletedProcess, list[bytes]]:
        before = len(self.recorder.transcripts)
        res = self.run_client(confdir, self.recorder.uri, args)
        time.sleep(0.05)  # the recorder thread sees the hang-up
        requests = [p for t in self.recorder.transcripts[before:] for d, p in t.packets if d == CLIENT]
        return res, requests

    def close(self) -> None:
        self.recorder.close()


def _state(rootfs_swanctl, uri: str) -> str:
    out = []
    for args in (["--list-conns", "--raw"], ["--list-certs", "--raw"], ["--list-pools", "--raw"],
                 ["--list-authorities", "--raw"]):
        out.append(rootfs_swanctl(uri, *args).stdout)
    return "".join(out)


def _variant(certconf: Path, tmp: Path) -> Path:
    """The certificate configuration with a connection, pool, authority and secret removed."""
    d = tmp / "certconf-less"
    shutil.copytree(certconf, d)
    text = (d / "swanctl.conf").read_text()
    text = text.replace("    rsa-peer : connections.rw-cert {", "    rsa-peer-gone : connections.nothing {")
    text = re.sub(r"    rw-pool6 \{\n        addrs = 2001:db8:1::/112\n    \}\n", "", text)
    text = text.replace("authorities {\n    test-ca {", "authorities {\n    other-ca {")
    text = text.replace("    xauth-x {", "    xauth-y {")
    (d / "swanctl.conf").write_text(text)
    (d / "pkcs12" / "mars.p12").unlink()
    return d


LOAD_STEPS = [
    ("moon", ["--load-all", "--noprompt"]),
    ("moon", ["--load-all", "--noprompt"]),
    ("carol", ["--load-creds", "--noprompt"]),
    ("carol", ["--load-conns"]),
    ("carol", ["--load-pools"]),
    ("carol", ["--load-authorities"]),
    ("cert", ["--load-all", "--noprompt", "--raw"]),
    ("cert", ["--load-all"]),
    ("less", ["--load-all", "--pretty"]),
    ("less", ["--load-all", "--noprompt"]),
    ("cert", ["--load-creds", "--clear"]),
    ("cert", ["--load-creds", "--clear", "--noprompt", "--pretty"]),
    ("cert", ["--load-authorities", "--raw"]),
    ("cert", ["--load-pools", "--pretty"]),
    ("cert", ["--load-conns", "--raw"]),
    ("moon", ["--load-all", "--noprompt"]),
]


def run_load_sequence(diffs: Diffs, label: str, ref: Side, ours: Side, confdirs: dict[str, Path],
                      rootfs_swanctl) -> None:
    for step, (conf, args) in enumerate(LOAD_STEPS):
        r, r_requests = ref.run(confdirs[conf], args)
        o, o_requests = ours.run(confdirs[conf], args)
        name = f"{label} step {step} ({conf}) {' '.join(args)}"
        diffs.check(name, r, o)
        diffs.equal(f"{name}: requests", [x.hex() for x in r_requests], [x.hex() for x in o_requests])
        diffs.equal(f"{name}: daemon state", _state(rootfs_swanctl, ref.daemon_uri),
                    _state(rootfs_swanctl, ours.daemon_uri))


def _clients(rootfs_swanctl) -> tuple[Callable, Callable]:
    def reference(confdir: Path, uri: str, args: list[str]) -> subprocess.CompletedProcess:
        return rootfs_swanctl(uri, *args, confdir=confdir)

    def ours(confdir: Path, uri: str, args: list[str]) -> subprocess.CompletedProcess:
        return run_ours_in(confdir, *args, "--uri", uri)

    return reference, ours


def test_load_commands_on_charon(netns_factory, charon_factory, rootfs_swanctl, certconf: Path,
                                 tmp_path: Path, short_dir: Path) -> None:
    lab = netns_factory((("a", "192.0.2.11", "198.51.100.11"), ("b", "192.0.2.12", "198.51.100.12")))
    a = charon_factory(lab.a, "moon", name="a", load_all=False)
    b = charon_factory(lab.b, "moon", name="b", load_all=False)
    confdirs = {"moon": CONFIGS / "moon", "carol": CONFIGS / "carol", "cert": certconf,
                "less": _variant(certconf, tmp_path)}
    reference, ours = _clients(rootfs_swanctl)
    ref, our = Side("ref", a.vici_socket, short_dir, reference), Side("ours", b.vici_socket, short_dir, ours)
    diffs = Diffs()
    try:
        run_load_sequence(diffs, "charon", ref, our, confdirs, rootfs_swanctl)
    finally:
        ref.close()
        our.close()
    diffs.assert_none()


def test_load_commands_on_vicid(rootfs_swanctl, certconf: Path, tmp_path: Path, short_dir: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    va, vb = start_vicid(tmp_path / "a"), start_vicid(tmp_path / "b")
    confdirs = {"moon": CONFIGS / "moon", "carol": CONFIGS / "carol", "cert": certconf,
                "less": _variant(certconf, tmp_path)}
    reference, ours = _clients(rootfs_swanctl)
    ref, our = Side("ref", va.unix, short_dir, reference), Side("ours", vb.unix, short_dir, ours)
    diffs = Diffs()
    try:
        run_load_sequence(diffs, "vicid", ref, our, confdirs, rootfs_swanctl)
    finally:
        ref.close()
        our.close()
        stop_vicid(va)
        stop_vicid(vb)
    diffs.assert_none()


# -- broken configurations -------------------------------------------------------------------------


def _broken(tmp: Path, certconf: Path) -> dict[str, tuple[Path, list[str]]]:
    """name -> (confdir, extra arguments)."""
    cases: dict[str, tuple[Path, list[str]]] = {}

    def make(name: str, text: str | None, base: Path = CONFIGS / "moon") -> Path:
        d = tmp / name
        shutil.copytree(base, d)
        if text is not None:
            (d / "swanctl.conf").write_text(text)
        cases[name] = (d, [])
        return d

    moon = (CONFIGS / "moon" / "swanctl.conf").read_text()
    make("syntax-error", moon.replace("        version = 2\n", "        version = 2\n        a.b = c\n"))
    make("unknown-key", moon.replace("        version = 2\n", "        version = 2\n        frobnicate = yes\n")
         + "connections { other { remote_addrs = 192.0.2.77 } }\n")
    make("missing-cert-file", moon.replace("            id = moon.example.org\n",
                                           "            id = moon.example.org\n            certs = nothere.pem\n"))
    wrong = make("wrong-key-password", None, certconf)
    text = (wrong / "swanctl.conf").read_text()
    (wrong / "swanctl.conf").write_text(text.replace("secret = venus-pass", "secret = not-venus-pass")
                                        .replace("secret = mars-pass", "secret = not-mars-pass"))
    make("missing-key-file", (CONFIGS / "moon" / "swanctl.conf").read_text().replace(
        "secrets {", "secrets {\n    private-k {\n        file = missing.pem\n        secret = x\n    }"))
    cases["no-swanctl-conf"] = (CONFIGS / "moon", ["--file", "/etc/swanctl/nonexistent.conf"])
    return cases


def test_broken_files_fail_like_swanctl_and_leave_the_same_state(
        netns_factory, charon_factory, rootfs_swanctl, certconf: Path, tmp_path: Path, short_dir: Path) -> None:
    lab = netns_factory((("a", "192.0.2.11", "198.51.100.11"), ("b", "192.0.2.12", "198.51.100.12")))
    a = charon_factory(lab.a, "moon", name="a")
    b = charon_factory(lab.b, "moon", name="b")
    reference, ours = _clients(rootfs_swanctl)
    ref, our = Side("ref", a.vici_socket, short_dir, reference), Side("ours", b.vici_socket, short_dir, ours)
    diffs = Diffs()
    results = {}
    try:
        for name, (confdir, extra) in _broken(tmp_path, certconf).items():
            for args in (["--load-all", "--noprompt", *extra], ["--load-all", "--noprompt", *extra]):
                r, r_req = ref.run(confdir, args)
                o, o_req = our.run(confdir, args)
                diffs.check(f"{name} {' '.join(args)}", r, o)
                diffs.equal(f"{name}: requests", [x.hex() for x in r_req], [x.hex() for x in o_req])
                diffs.equal(f"{name}: daemon state", _state(rootfs_swanctl, ref.daemon_uri),
                            _state(rootfs_swanctl, our.daemon_uri))
                results.setdefault(name, o)  # the first run: the one that changes something
            # back to a known state before the next case
            for side in (ref, our):
                side.run(CONFIGS / "moon", ["--load-all", "--noprompt"])
    finally:
        ref.close()
        our.close()
    diffs.assert_none()
    # what swanctl does, and so we do: a syntax error means an empty configuration
    assert results["syntax-error"].stdout.endswith("no connections found, 1 unloaded\n")
    assert "syntax error, unexpected ., expecting : or '{' or '='" in results["syntax-error"].stderr
    assert results["unknown-key"].returncode == 22
    assert "unknown option: frobnicate, config discarded" in results["unknown-key"].stderr
    assert "loading certs certificate '/etc/swanctl/x509/nothere.pem' failed" in results["missing-cert-file"].stderr
    assert "configured decryption secret for 'venus.der' invalid" in results["wrong-key-password"].stderr


# -- SA commands: live reference recorded, replayed to ours ----------------------------------------


SA_COMMANDS = [
    ["--initiate", "--child", "net", "--ike", "pq3"],
    ["--initiate", "--ike", "classic", "--child", "net", "--loglevel", "2", "--timeout", "10"],
    ["--initiate", "--ike", "big", "--pretty"],
    ["--list-sas"], ["--list-sas", "--raw"], ["--list-sas", "--ike", "pq3", "--pretty"],
    ["--rekey", "--ike", "pq3"], ["--rekey", "--child", "net", "--ike", "classic"],
    ["--rekey", "--ike", "classic", "--reauth", "--raw"],
    ["--list-sas"],
    ["--redirect", "--ike", "nothere", "--gateway", "192.0.2.9"],
    ["--terminate", "--child", "net", "--ike", "big"], ["--terminate", "--ike", "big", "--force", "--timeout", "5"],
    ["--terminate", "--ike", "pq3", "--raw"], ["--terminate", "--ike-id", "99"],
    ["--install", "--child", "net", "--ike", "pq3"], ["--list-pols"], ["--list-pols", "--trap", "--raw"],
    ["--uninstall", "--child", "net", "--ike", "pq3"], ["--uninstall", "--child", "net"],
    ["--install", "--child", "net", "--pretty"], ["--uninstall", "--child", "net", "-r"],
    ["--terminate", "--ike", "classic"],
]


def test_sa_commands_recorded_and_replayed(netns_pair, charon_factory, rootfs_swanctl, short_dir: Path) -> None:
    charon_factory(netns_pair.moon, "moon")
    carol = charon_factory(netns_pair.carol, "carol")
    diffs = Diffs()
    for n, args in enumerate(SA_COMMANDS):
        with Recorder(short_dir / f"rec{n}.vici", carol.vici_socket) as rec:
            ref = rootfs_swanctl(rec.uri, *args, timeout=60)
        time.sleep(0.05)
        with Replayer(short_dir / f"rep{n}.vici", rec.transcripts) as rep:
            ours = run_ours(*args, "--uri", rep.uri)
        diffs.check(" ".join(args), ref, ours)
        diffs.equal(f"{' '.join(args)}: requests", [], rep.mismatches)
    # and ours, live, drives charon through the same life cycle
    for args in (["--initiate", "--child", "net", "--ike", "pq"], ["--rekey", "--ike", "pq"],
                 ["--install", "--child", "net", "--ike", "classic"], ["--uninstall", "--child", "net", "--ike",
                                                                       "classic"],
                 ["--terminate", "--ike", "pq"]):
        live = run_ours(*args, "--uri", carol.vici_uri)
        label = args[0].strip("-")
        diffs.equal(f"live {' '.join(args)}", (0, f"{label} completed successfully"),
                    (live.returncode, live.stdout.splitlines()[-1] if live.stdout else live.stderr))
    diffs.assert_none()


VICID_SA_COMMANDS = [
    ["--initiate", "--child", "net", "--ike", "pq"],
    ["--list-sas"], ["--list-sas", "--raw"], ["--list-sas", "--pretty"], ["--list-sas", "--ike", "pq"],
    ["--list-sas", "--child", "net"], ["--list-conns"], ["--list-pols"],
    ["--initiate", "--child", "net", "--ike", "nothere"], ["--rekey", "--ike", "pq"],
    ["--terminate", "--ike", "pq"], ["--list-sas"],
]


def test_sa_commands_on_vicid_recorded_and_replayed(netns_pair, charon_factory, vicid_factory, rootfs_swanctl,
                                                    short_dir: Path) -> None:
    """vicid (carol's config) initiating to charon 6.1: the same method as for charon."""
    charon_factory(netns_pair.moon, "moon")
    vicid = vicid_factory(netns_pair.carol)
    rootfs_swanctl(vicid.vici_uri, "--load-all", "--noprompt", confdir=CONFIGS / "carol", check=True)
    diffs = Diffs()
    outputs = []
    for n, args in enumerate(VICID_SA_COMMANDS):
        with Recorder(short_dir / f"rec{n}.vici", vicid.vici_socket) as rec:
            ref = rootfs_swanctl(rec.uri, *args, timeout=60)
        outputs.append(ref)
        time.sleep(0.05)
        with Replayer(short_dir / f"rep{n}.vici", rec.transcripts) as rep:
            ours = run_ours(*args, "--uri", rep.uri)
        diffs.check(f"vicid {' '.join(args)}", ref, ours)
        diffs.equal(f"vicid {' '.join(args)}: requests", [], rep.mismatches)
        if args[:1] == ["--list-sas"]:  # and live, ages normalised
            diffs.check(f"vicid live {' '.join(args)}", rootfs_swanctl(vicid.vici_uri, *args),
                        run_ours(*args, "--uri", vicid.vici_uri))
    diffs.assert_none()
    assert outputs[0].returncode == 0 and outputs[0].stdout.endswith("initiate completed successfully\n")
    assert "pq: #1, ESTABLISHED, IKEv2" in outputs[1].stdout and "  net: #1" in outputs[1].stdout


def _run_until_signal(argv: list[str], during: Callable[[], None]) -> subprocess.CompletedProcess:
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         stdin=subprocess.DEVNULL, start_new_session=True)
    time.sleep(1.0)
    during()
    time.sleep(1.0)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=20)
    return subprocess.CompletedProcess(argv, p.returncode, out, err)


@pytest.mark.parametrize("args", [["--monitor-sa"], ["--monitor-sa", "--pretty"], ["--log"], ["--log", "--raw"]])
def test_monitor_and_log_recorded_and_replayed(args: list[str], netns_pair, charon_factory, rootfs_swanctl,
                                               interop_rootfs, short_dir: Path) -> None:
    from tests.swanctl.conftest import hermetic_env, ours_argv

    charon_factory(netns_pair.moon, "moon")
    carol = charon_factory(netns_pair.carol, "carol")

    def traffic() -> None:
        carol.swanctl("--initiate", "--child", "net", "--ike", "classic")
        carol.swanctl("--terminate", "--ike", "classic")

    with Recorder(short_dir / "rec.vici", carol.vici_socket) as rec:
        ref = _run_until_signal(enter_argv(interop_rootfs.strongswan, ["swanctl", *args, "--uri",
                                                                         "unix:///run/rec.vici"],
                                           netns=None, run_dir=short_dir), traffic)
    with Replayer(short_dir / "rep.vici", rec.transcripts[:1]) as rep:
        p = subprocess.Popen(ours_argv(*args, "--uri", rep.uri), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=hermetic_env(), start_new_session=True)
        time.sleep(1.5)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=20)
    assert rep.mismatches == []
    assert ref.stdout, "the reference saw no events"
    assert (p.returncode, out, err) == (ref.returncode, ref.stdout, ref.stderr)


def test_watch_and_monitor_live_on_charon(netns_pair, charon_factory) -> None:
    """The extensions and the waiting commands against a live charon: no duplicates, events seen."""
    import json

    from tests.swanctl.conftest import hermetic_env, ours_argv

    charon_factory(netns_pair.moon, "moon")
    carol = charon_factory(netns_pair.carol, "carol")
    assert carol.swanctl("--initiate", "--child", "net", "--ike", "pq").returncode == 0

    def traffic() -> None:
        assert carol.swanctl("--initiate", "--child", "net", "--ike", "classic").returncode == 0
        assert carol.swanctl("--terminate", "--ike", "classic").returncode == 0

    env = hermetic_env()
    watch = subprocess.Popen(ours_argv("--list-sas", "--watch=0.3", "--json", "--uri", carol.vici_uri),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                             start_new_session=True)
    monitor = subprocess.Popen(ours_argv("--monitor-sa", "--uri", carol.vici_uri), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    time.sleep(1.0)
    traffic()
    time.sleep(1.0)
    for p in (watch, monitor):
        p.send_signal(signal.SIGINT)
    w_out, w_err = watch.communicate(timeout=20)
    m_out, m_err = monitor.communicate(timeout=20)
    assert watch.returncode == 0 and monitor.returncode == 0, w_err + m_err
    names = [[sa["name"] for sa in json.loads(line)["ike_sas"]] for line in w_out.splitlines()]
    assert len(names) >= 5 and all(n.count("pq") == 1 for n in names)
    assert any("classic" in n for n in names)  # seen while it existed
    assert m_err == "disconnecting...\n"
    assert "classic: #" in m_out and "  net: #" in m_out and "INSTALLED, TUNNEL-in-UDP" in m_out
