"""Run a command in a qemu VM that boots Debian's own kernel (linux-image-amd64), for kernel ESP.

This project's hosts have no ESP in their kernel, so XFRM SAs cannot be installed there. The VM
boots the kernel of Debian's ``linux-image-amd64`` package (its modules include esp4 and
xfrm_user) with a tiny busybox initramfs that mounts the host's root filesystem read-only over
virtio-9p and puts a tmpfs overlay on top: the VM sees this checkout, its .venv and the interop
lab's strongSwan tree unchanged, and nothing it writes reaches the host. The command's output
comes back over the serial console; the VM powers itself off when the command ends.

Preparation (``prepare``) installs qemu-system-x86 and kmod if missing and unpacks the kernel
and busybox-static packages (``apt-get download``) into /var/cache/vicid-qemu. TCG emulates the CPU
(VICID_QEMU_KVM=1 uses KVM instead). ``python -m tests.interop.qemu_vm CMD...`` runs CMD in the VM.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CACHE = Path(os.environ.get("VICID_QEMU_CACHE", "/var/cache/vicid-qemu"))
KERNEL_PKG = "linux-image-amd64"
BOOT_MODULES = ("virtio_pci", "9pnet_virtio", "9p", "overlay")
MARK = "VICID-QEMU-EXIT="


class VmError(RuntimeError):
    """The VM could not be prepared or booted; the message says why."""


def _run(cmd: list[str], timeout: float = 600, **kw) -> subprocess.CompletedProcess:
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, **kw)
    if res.returncode:
        raise VmError(f"{' '.join(cmd)} failed: {(res.stderr or res.stdout).strip()[-500:]}")
    return res


def _apt_install(*packages: str) -> None:
    missing = [p for p in packages if subprocess.run(["dpkg-query", "-W", "-f=${Status}", p], capture_output=True,
                                                     text=True).stdout != "install ok installed"]
    if missing:
        _run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing],
             env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))


def _kernel_package() -> str:
    """The versioned image package linux-image-amd64 depends on, e.g. linux-image-6.1.0-56-amd64."""
    out = _run(["apt-cache", "depends", KERNEL_PKG]).stdout
    found = re.search(r"Depends: (linux-image-\S+)", out)
    if not found:
        raise VmError(f"apt-cache depends {KERNEL_PKG} names no kernel image")
    return found.group(1)


def prepare() -> tuple[Path, str]:
    """(unpacked kernel tree, kernel version); downloads and unpacks once."""
    _apt_install("qemu-system-x86", "kmod")
    package = _kernel_package()
    version = package.removeprefix("linux-image-")
    tree = CACHE / version
    if not (tree / "ok").exists():
        debs = CACHE / "debs"
        debs.mkdir(parents=True, exist_ok=True)
        _run(["apt-get", "download", package, "busybox-static"], cwd=debs)
        shutil.rmtree(tree, ignore_errors=True)
        for deb in debs.glob("*.deb"):
            if deb.name.startswith((package + "_", "busybox-static_")):
                _run(["dpkg-deb", "-x", str(deb), str(tree)])
        _run(["/sbin/depmod", "-b", str(tree), version])
        (tree / "ok").write_text(package + "\n")
    return tree, version


def _boot_modules(tree: Path, version: str) -> list[Path]:
    """The .ko files to insmod, in dependency order, to mount a 9p root with an overlay."""
    order: list[Path] = []
    for module in BOOT_MODULES:
        out = _run(["/sbin/modprobe", "-d", str(tree), "-S", version, "--show-depends", module]).stdout
        for line in out.splitlines():
            if line.startswith("insmod "):
                path = Path(line.split()[1])
                if path not in order:
                    order.append(path)
    return order


INIT = """#!/bin/busybox sh
/bin/busybox --install -s /bin
mkdir -p /proc /dev /lower /rw /newroot
mount -t proc proc /proc
mount -t devtmpfs dev /dev
for m in $(cat /modules/order); do insmod /modules/$m; done
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /lower
mount -t tmpfs -o size=1g rw /rw
mkdir -p /rw/upper /rw/work
mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work /newroot
cp /run.sh /newroot/vicid-qemu-run.sh
exec switch_root /newroot /bin/sh /vicid-qemu-run.sh
"""

RUN = """set +e
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
mkdir -p /dev/pts /dev/shm; mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run; mount -t tmpfs tmpfs /tmp
mkdir -p /lib/modules && mount --bind {modules} /lib/modules
echo /sbin/modprobe > /proc/sys/kernel/modprobe; modprobe tun
ip link set lo up
export HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
cd {cwd}
echo "VICID-QEMU: kernel $(uname -r)"
{command}
echo "{mark}$?"
echo o > /proc/sysrq-trigger
sleep 10
"""


def _initramfs(tree: Path, version: str, command: str, cwd: str, out: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="vicid-initramfs-") as d:
        root = Path(d)
        (root / "bin").mkdir()
        shutil.copy(tree / "bin" / "busybox", root / "bin" / "busybox")
        (root / "modules").mkdir()
        names = []
        for ko in _boot_modules(tree, version):
            shutil.copy(ko, root / "modules" / ko.name)
            names.append(ko.name)
        (root / "modules" / "order").write_text("\n".join(names) + "\n")
        (root / "init").write_text(INIT)
        (root / "init").chmod(0o755)
        (root / "run.sh").write_text(RUN.format(modules=tree / "lib" / "modules", cwd=shlex.quote(cwd),
                                                command=command, mark=MARK))
        files = subprocess.run(["find", "."], cwd=root, capture_output=True, text=True, check=True).stdout
        with open(out, "wb") as fh:
            subprocess.run([str(tree / "bin" / "busybox"), "cpio", "-o", "-H", "newc"], cwd=root, input=files.encode(),
                           stdout=fh, stderr=subprocess.DEVNULL, check=True)


def accelerator() -> list[str]:
    """TCG unless VICID_QEMU_KVM=1: this project's hosts have a /dev/kvm on which a guest never
    runs (nested virtualisation), and telling that apart costs a boot."""
    return ["-accel", "kvm"] if os.environ.get("VICID_QEMU_KVM") == "1" else ["-accel", "tcg,thread=multi"]


def run(command: str, *, cwd: str = "/", timeout: float = 600, memory: str = "2G") -> tuple[int, str]:
    """Run the shell COMMAND in a fresh VM; (its exit status, the console output)."""
    tree, version = prepare()
    with tempfile.TemporaryDirectory(prefix="vicid-qemu-") as d:
        initrd = Path(d) / "initrd.cpio"
        _initramfs(tree, version, command, cwd, initrd)
        accel = accelerator()
        cmd = ["qemu-system-x86_64", *accel, "-m", memory, "-smp", str(min(2, os.cpu_count() or 1)),
               "-kernel", str(tree / "boot" / f"vmlinuz-{version}"), "-initrd", str(initrd),
               "-append", "console=ttyS0 panic=-1 quiet loglevel=3",
               "-virtfs", "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap",
               "-display", "none", "-serial", "stdio", "-monitor", "none", "-no-reboot", "-nodefaults"]
        try:
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as exc:
            raise VmError(f"the VM did not finish within {timeout} s") from exc
    out = res.stdout.replace("\r\n", "\n")
    found = re.search(rf"{MARK}(\d+)", out)
    if not found:
        raise VmError(f"the VM ended without the command's exit status (qemu exit {res.returncode}):\n"
                      f"{out[-3000:]}{res.stderr[-1000:]}")
    return int(found.group(1)), out[:found.start()]


def main(argv: list[str]) -> int:
    status, out = run(" ".join(shlex.quote(a) for a in argv) or "uname -a", cwd=os.getcwd())
    print(out, end="")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
