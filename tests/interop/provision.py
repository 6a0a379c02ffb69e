"""Build the cached Debian root filesystems that hold the reference IKEv2 peers.

vicid is checked against real strongSwan 6.1 (charon, whose openssl plugin has
ML-KEM through OpenSSL >= 3.5) and libreswan 5.2.  Debian 12 ships neither, so
we debootstrap Debian *forky* (testing) once per machine and run the daemons
chrooted from there.  dpkg refuses libreswan next to strongSwan, hence two
trees made from one base:

    /var/cache/vicid-interop/forky             strongSwan 6.1 (charon, swanctl)
    /var/cache/vicid-interop/forky-libreswan   libreswan 5.2 (pluto, NSS tools)

Each finished tree carries ``.vicid-interop-stamp`` (suite, mirror, wanted
packages, every installed package version).  A tree only ever appears at its
final path complete, through a rename; a lock file serialises concurrent runs.

    python -m tests.interop.provision [--force] [--no-reuse]
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

CACHE = Path(os.environ.get("VICID_INTEROP_CACHE", "/var/cache/vicid-interop"))
SUITE = "forky"
STAMP = ".vicid-interop-stamp"
STAMP_FORMAT = "1"

# Tools used by the tests inside the peers' namespaces, present in both trees.
BASE_PACKAGES = ("iproute2", "iputils-ping", "procps", "tcpdump", "netbase")
STRONGSWAN_PACKAGES = (
    "strongswan-charon",
    "strongswan-swanctl",
    "libstrongswan-standard-plugins",
    "libstrongswan-extra-plugins",
    "libcharon-extra-plugins",
)
LIBRESWAN_PACKAGES = ("libreswan", "libnss3-tools")

# A tree made by the shared bash lab on the same machine may be copied instead
# of debootstrapping again (pure speed-up; disabled by --no-reuse or
# VICID_INTEROP_REUSE=0).  It is only taken if its stamp says the same suite
# and it has every package we want.
REUSE_SOURCE = Path(os.environ.get("VICID_INTEROP_REUSE_FROM", "/var/cache/ikelab"))
REUSE_STAMP = ".ikelab-stamp"

LOCK_TIMEOUT = 1800.0
Log = Callable[[str], None]


class ProvisionError(RuntimeError):
    """Provisioning cannot be done here (no root, no mirror, apt failure...)."""


@dataclass(frozen=True)
class Trees:
    """The two provisioned root filesystems."""

    strongswan: Path
    libreswan: Path

    def versions(self) -> dict[str, dict[str, str]]:
        """Installed package versions per tree, read from the stamps."""
        return {"strongswan": read_stamp(self.strongswan)[1], "libreswan": read_stamp(self.libreswan)[1]}


def trees(cache: Path = CACHE) -> Trees:
    return Trees(cache / SUITE, cache / f"{SUITE}-libreswan")


def _stderr(msg: str) -> None:
    print(f"provision: {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- stamps


def read_stamp(root: Path, name: str = STAMP) -> tuple[dict[str, str], dict[str, str]]:
    """Return (header fields, {package: version}) of a tree's stamp file."""
    header: dict[str, str] = {}
    packages: dict[str, str] = {}
    in_packages = False
    for line in (root / name).read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        if line == "[packages]":
            in_packages = True
            continue
        key, _, value = line.partition("=")
        (packages if in_packages else header)[key.strip()] = value.strip()
    if not in_packages:  # the bash lab's stamp: header and packages mixed
        packages = {k: v for k, v in header.items() if k not in ("suite", "mirror", "built")}
    return header, packages


def _wanted(flavour: str) -> tuple[str, ...]:
    extra = STRONGSWAN_PACKAGES if flavour == "strongswan" else LIBRESWAN_PACKAGES
    return BASE_PACKAGES + extra


def stamp_ok(root: Path, flavour: str) -> bool:
    """True if ROOT is a finished tree of the current format and package set."""
    try:
        header, packages = read_stamp(root)
    except (OSError, ValueError):
        return False
    return (
        header.get("format") == STAMP_FORMAT
        and header.get("suite") == SUITE
        and header.get("wanted", "").split() == list(_wanted(flavour))
        and all(p in packages for p in _wanted(flavour))
    )


def is_provisioned(cache: Path = CACHE) -> bool:
    t = trees(cache)
    return stamp_ok(t.strongswan, "strongswan") and stamp_ok(t.libreswan, "libreswan")


def _write_stamp(root: Path, flavour: str, mirror: str, source: str, timeout: float) -> None:
    out = _chroot(root, ["dpkg-query", "-W", "-f=${Package}=${Version}\\n"], timeout=timeout)
    lines = [
        "# vicid interop rootfs; written by tests/interop/provision.py",
        f"format={STAMP_FORMAT}",
        f"flavour={flavour}",
        f"suite={SUITE}",
        f"mirror={mirror}",
        f"source={source}",
        f"built={time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}",
        f"wanted={' '.join(_wanted(flavour))}",
        "[packages]",
        *sorted(out.stdout.split()),
    ]
    (root / STAMP).write_text("\n".join(lines) + "\n")


# --------------------------------------------------------------------------- checks


def mlkem_provider(root: Path) -> str | None:
    """Name the charon plugin(s) of ROOT that implement ML-KEM, or None.

    Debian builds strongSwan without the "ml" plugin; 6.1's openssl plugin
    provides ML-KEM when built against OpenSSL >= 3.5 (it then contains its
    KEM constructor).  Checked statically so it works without starting charon;
    tests additionally check ``swanctl --list-algs`` of a running charon.
    """
    plugins = root / "usr/lib/ipsec/plugins"
    found = []
    if (plugins / "libstrongswan-ml.so").exists():
        found.append("ml")
    ossl = plugins / "libstrongswan-openssl.so"
    if ossl.exists() and b"openssl_kem_create" in ossl.read_bytes():
        found.append("openssl")
    return "+".join(found) or None


def check_mlkem(root: Path) -> str:
    provider = mlkem_provider(root)
    if provider is None:
        raise ProvisionError(f"charon in {root} has no ML-KEM (no ml plugin, openssl plugin without KEM)")
    return provider


# --------------------------------------------------------------------------- helpers


def _run(cmd: Sequence[str], *, timeout: float, log: Path | None = None, **kw: object) -> subprocess.CompletedProcess:
    """Run CMD with a timeout; its output goes to LOG (shown on failure)."""
    with contextlib.ExitStack() as stack:
        if log is not None:
            fh = stack.enter_context(open(log, "a"))
            fh.write(f"\n$ {' '.join(cmd)}\n")
            fh.flush()
            kw.setdefault("stdout", fh)
            kw.setdefault("stderr", subprocess.STDOUT)
        else:
            kw.setdefault("capture_output", True)
        try:
            res = subprocess.run(list(cmd), timeout=timeout, text=True, stdin=subprocess.DEVNULL, **kw)
        except subprocess.TimeoutExpired as e:
            raise ProvisionError(f"timed out after {timeout:.0f} s: {' '.join(cmd)}{_tail(log)}") from e
        except FileNotFoundError as e:
            raise ProvisionError(f"command not found: {cmd[0]}") from e
    if res.returncode != 0:
        detail = _tail(log) if log is not None else f"\n{res.stdout or ''}{res.stderr or ''}"
        raise ProvisionError(f"failed (exit {res.returncode}): {' '.join(cmd)}{detail}")
    return res


def _tail(log: Path | None, n: int = 30) -> str:
    if log is None or not log.exists():
        return ""
    lines = log.read_text(errors="replace").splitlines()[-n:]
    return f"\n--- last lines of {log} ---\n" + "\n".join(lines)


# Enter a tree for package work: a private mount namespace (so /proc and /dev
# mounts disappear with the command, whatever happens), then chroot with a
# clean environment.
_CHROOT_SH = r"""
set -e
root=$1; shift
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
exec chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"
"""


def _chroot(root: Path, cmd: Sequence[str], *, timeout: float, log: Path | None = None):
    return _run(
        ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", _CHROOT_SH, "sh", str(root), *cmd],
        timeout=timeout,
        log=log,
    )


def _apt_install(root: Path, packages: Sequence[str], log: Path) -> None:
    _chroot(
        root,
        ["apt-get", "-q", "-y", "-o", "Dpkg::Use-Pty=0", "install", "--no-install-recommends", *packages],
        timeout=900,
        log=log,
    )


def _mounts_below(path: Path) -> list[str]:
    prefix = str(path.resolve()) + "/"
    with open("/proc/self/mountinfo") as fh:
        return [f.split()[4] for f in fh if (f.split()[4] + "/").startswith(prefix)]


def _remove_tree(path: Path) -> None:
    """rm -rf that refuses to descend into anything still mounted below PATH."""
    if not path.exists() and not path.is_symlink():
        return
    mounted = _mounts_below(path)
    if mounted:
        raise ProvisionError(f"refusing to delete {path}: still mounted below it: {mounted}")
    _run(["rm", "-rf", "--one-file-system", str(path)], timeout=600)


def host_mirror() -> str:
    """The Debian mirror the host's apt uses (deb822 or one-line sources).

    VICID_INTEROP_MIRROR overrides it (e.g. a local mirror in CI).
    """
    if os.environ.get("VICID_INTEROP_MIRROR"):
        return os.environ["VICID_INTEROP_MIRROR"].rstrip("/")
    candidates: list[str] = []
    for f in sorted(Path("/etc/apt/sources.list.d").glob("*.sources")):
        for m in re.finditer(r"^URIs:\s*(.+)$", f.read_text(), re.M):
            candidates += m.group(1).split()
    for f in [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*.list"))]:
        if f.exists():
            for m in re.finditer(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)", f.read_text(), re.M):
                candidates.append(m.group(1))
    for uri in candidates:
        if re.search(r"/debian/?$", uri):
            return uri.rstrip("/")
    raise ProvisionError("no Debian mirror (URI ending in /debian) in the host's apt sources")


def _check_mirror(mirror: str) -> None:
    url = f"{mirror}/dists/{SUITE}/InRelease"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=20):
            pass
    except (urllib.error.URLError, OSError) as e:
        raise ProvisionError(f"Debian mirror not reachable ({url}): {e}") from e


def ensure_debootstrap(log: Log = _stderr) -> str:
    path = shutil.which("debootstrap")
    if path:
        return path
    log("installing debootstrap on the host (apt-get)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    with contextlib.suppress(ProvisionError):
        _run(["apt-get", "-q", "update"], timeout=300, env=env)
    _run(["apt-get", "-q", "-y", "install", "debootstrap"], timeout=600, env=env)
    path = shutil.which("debootstrap")
    if not path:
        raise ProvisionError("debootstrap still missing after apt-get install")
    return path


def _debootstrap_script() -> str:
    # bookworm's debootstrap predates forky; sid's script fits any testing suite.
    for name in (SUITE, "sid"):
        p = Path("/usr/share/debootstrap/scripts") / name
        if p.exists():
            return str(p)
    raise ProvisionError("debootstrap has neither a forky nor a sid script")


@contextlib.contextmanager
def _locked(cache: Path, log: Log, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Exclusive lock on CACHE/.lock; waits (with a limit) for another run."""
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".lock", "a+") as fh:
        deadline = time.monotonic() + timeout
        announced = False
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not announced:
                    fh.seek(0)
                    log(f"waiting for another provisioning run (lock holder: {fh.read().strip() or '?'})")
                    announced = True
                if time.monotonic() > deadline:
                    raise ProvisionError(f"{cache}/.lock still held after {timeout:.0f} s") from None
                time.sleep(1.0)
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}\n")
        fh.flush()
        try:
            yield
        finally:
            fh.seek(0)
            fh.truncate()
            fcntl.flock(fh, fcntl.LOCK_UN)


# --------------------------------------------------------------------------- build


def _reusable(source: Path) -> Trees | None:
    src = Trees(source / SUITE, source / f"{SUITE}-libreswan")
    for root, flavour in ((src.strongswan, "strongswan"), (src.libreswan, "libreswan")):
        try:
            header, packages = read_stamp(root, REUSE_STAMP)
        except (OSError, ValueError):
            return None
        if header.get("suite") != SUITE or not all(p in packages for p in _wanted(flavour)):
            return None
    if mlkem_provider(src.strongswan) is None:
        return None
    return src


def _copy_tree(src: Path, dst: Path, log: Path) -> None:
    _run(["cp", "-a", "--reflink=auto", str(src), str(dst)], timeout=900, log=log)


def _debootstrap_base(base: Path, mirror: str, cache: Path, log_file: Path, log: Log) -> None:
    debootstrap = ensure_debootstrap(log)
    log(f"debootstrap {SUITE} (minbase) from {mirror}")
    debs = cache / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    # In its own mount namespace: mounts debootstrap leaves behind on failure
    # vanish instead of lingering under a tree we later delete.
    _run(
        ["unshare", "--mount", "--propagation", "private", "--", debootstrap, "--variant=minbase",
         f"--cache-dir={debs}", *os.environ.get("VICID_INTEROP_DEBOOTSTRAP_OPTS", "").split(),
         SUITE, str(base), mirror, _debootstrap_script()],
        timeout=1200,
        log=log_file,
    )
    signed = "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
    (base / "etc/apt/sources.list.d/debian.sources").write_text(
        f"Types: deb\nURIs: {mirror}\nSuites: {SUITE}\nComponents: main\n{signed}\n\n"
        f"Types: deb\nURIs: {mirror}-security\nSuites: {SUITE}-security\nComponents: main\n{signed}\n"
    )
    (base / "etc/apt/sources.list").unlink(missing_ok=True)
    # Mirrors may be frozen snapshots whose testing Release files are past
    # Valid-Until; signatures are still verified.
    (base / "etc/apt/apt.conf.d/99vicid-interop").write_text('Acquire::Check-Valid-Until "false";\n')
    shutil.copy("/etc/resolv.conf", base / "etc/resolv.conf")
    policy = base / "usr/sbin/policy-rc.d"  # package scripts must not start daemons
    policy.write_text("#!/bin/sh\nexit 101\n")
    policy.chmod(0o755)
    _chroot(base, ["apt-get", "-q", "update"], timeout=600, log=log_file)
    _chroot(base, ["apt-get", "-q", "-y", "-o", "Dpkg::Use-Pty=0", "upgrade"], timeout=900, log=log_file)
    _apt_install(base, BASE_PACKAGES, log_file)


def _install_into_place(new: Path, final: Path, build: Path) -> None:
    """Swap NEW in at FINAL with renames; the previous tree is deleted after."""
    old = build / f"old-{final.name}"
    if final.exists():
        final.rename(old)
    new.rename(final)
    _remove_tree(old)


def provision(
    force: bool = False,
    *,
    reuse: bool | None = None,
    cache: Path = CACHE,
    log: Log = _stderr,
) -> Trees:
    """Make sure both trees exist (building them if needed) and return them.

    Raises ProvisionError with a readable reason when that is impossible.
    """
    if reuse is None:
        reuse = os.environ.get("VICID_INTEROP_REUSE", "1") != "0"
    result = trees(cache)
    if not force and is_provisioned(cache):
        return result
    if os.geteuid() != 0:
        raise ProvisionError("provisioning needs root (debootstrap, chroot, mounts)")
    for tool in ("unshare", "chroot", "cp", "rm"):
        if not shutil.which(tool):
            raise ProvisionError(f"host tool missing: {tool}")
    t0 = time.monotonic()
    with _locked(cache, log):
        if not force and is_provisioned(cache):  # another run just finished it
            return result
        build = cache / f".build-{os.getpid()}"
        _remove_tree(build)
        build.mkdir(parents=True)
        log_file = cache / "provision.log"
        log_file.write_text(f"# provisioning started {time.ctime()}\n")
        log(f"building in {build}; details in {log_file}")
        ss_new, ls_new = build / "strongswan", build / "libreswan"
        try:
            src = _reusable(REUSE_SOURCE) if reuse else None
            if src is not None:
                mirror, source = read_stamp(src.strongswan, REUSE_STAMP)[0].get("mirror", "?"), f"copy:{REUSE_SOURCE}"
                log(f"copying the {SUITE} trees from {REUSE_SOURCE} (speed-up; --no-reuse to debootstrap)")
                _copy_tree(src.strongswan, ss_new, log_file)
                _copy_tree(src.libreswan, ls_new, log_file)
            else:
                mirror, source = host_mirror(), "debootstrap"
                _check_mirror(mirror)
                t1 = time.monotonic()
                _debootstrap_base(ss_new, mirror, cache, log_file, log)
                log(f"base tree ready in {time.monotonic() - t1:.1f} s")
                _copy_tree(ss_new, ls_new, log_file)
                t1 = time.monotonic()
                _apt_install(ls_new, LIBRESWAN_PACKAGES, log_file)
                log(f"libreswan installed in {time.monotonic() - t1:.1f} s")
                t1 = time.monotonic()
                _apt_install(ss_new, STRONGSWAN_PACKAGES, log_file)
                log(f"strongSwan installed in {time.monotonic() - t1:.1f} s")
                for root in (ss_new, ls_new):
                    _chroot(root, ["apt-get", "-q", "clean"], timeout=120, log=log_file)
            provider = check_mlkem(ss_new)
            log(f"ML-KEM in charon via: {provider}")
            _write_stamp(ss_new, "strongswan", mirror, source, timeout=120)
            _write_stamp(ls_new, "libreswan", mirror, source, timeout=120)
            _install_into_place(ss_new, result.strongswan, build)
            _install_into_place(ls_new, result.libreswan, build)
        finally:
            _remove_tree(build)
    log(f"provisioned in {time.monotonic() - t0:.1f} s")
    return result


def describe(t: Trees) -> str:
    """Human summary: key package versions and the ML-KEM provider."""
    v = t.versions()
    keys = re.compile(r"^(strongswan-charon|libstrongswan|libssl3t64|libssl3|libreswan|libnss3)$")
    lines = [f"strongSwan tree: {t.strongswan}", f"libreswan tree:  {t.libreswan}"]
    for flavour, pkgs in v.items():
        lines += [f"  [{flavour}] {p}={ver}" for p, ver in sorted(pkgs.items()) if keys.match(p)]
    lines.append(f"  ML-KEM provider in charon: {mlkem_provider(t.strongswan) or 'NONE'}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.interop.provision", description=__doc__.split("\n")[0])
    ap.add_argument("--force", action="store_true", help="rebuild even if the trees are current")
    ap.add_argument("--no-reuse", action="store_true", help=f"never copy trees from {REUSE_SOURCE}")
    args = ap.parse_args(argv)
    t0 = time.monotonic()
    try:
        t = provision(force=args.force, reuse=False if args.no_reuse else None)
    except ProvisionError as e:
        _stderr(f"ERROR: {e}")
        return 1
    print(describe(t))
    print(f"done in {time.monotonic() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
