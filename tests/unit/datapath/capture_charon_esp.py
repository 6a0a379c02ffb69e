"""Lab tool (not a test): capture ESP-in-UDP from charon 6.1 and write tests/vectors/esp-charon61-*.txt.

    .venv/bin/python -m tests.unit.datapath.capture_charon_esp [--out tests/vectors]

Runs charon <-> charon (kernel-libipsec, so ESP is always in UDP 4500) in two throw-away
namespaces of the interop harness, with ``chd = 4`` logging in *copies* of
tests/interop/configs so charon logs the CHILD_SA keys (lab only: vicid never logs keys).
For each ESP proposal it pings carol -> moon through the tunnel while tcpdump captures UDP 4500
in moon's namespace, then writes the first packet of each direction plus the keys as a vector.
Needs root and the provisioned interop rootfs.
"""

from __future__ import annotations

import argparse
import re
import select
import shutil
import struct
import subprocess
import tempfile
import time
from pathlib import Path

from tests.interop import netns
from tests.interop.charon import start_charon
from tests.interop.provision import provision
from tests.interop.rootfs import enter_argv

CONFIGS = Path(__file__).resolve().parents[2] / "interop" / "configs"
# (vector name, ESP proposal, encr alg id, integ alg id)
PROPOSALS = (
    ("aes256gcm16", "aes256gcm16", 20, 0),
    ("aes128-sha256", "aes128-sha256", 12, 12),
    ("chacha20poly1305", "chacha20poly1305", 28, 0),
)


def _confdirs(tmp: Path, esp: str) -> tuple[Path, Path]:
    """moon/carol confdirs with chd = 4 logging and the given ESP proposal."""
    dirs = []
    for node in ("moon", "carol"):
        d = tmp / f"{node}-{esp}"
        shutil.copytree(CONFIGS / node, d)
        conf = (d / "strongswan.conf").read_text()
        (d / "strongswan.conf").write_text(conf.replace("enc = 1", "enc = 1\n            chd = 4"))
        swan = (d / "swanctl.conf").read_text()
        swan = re.sub(r"esp_proposals = .*", f"esp_proposals = {esp}", swan)
        (d / "swanctl.conf").write_text(swan)
        dirs.append(d)
    return dirs[0], dirs[1]


def _log_dump(log: str, label: str) -> bytes:
    lines = log.splitlines()
    for i, line in enumerate(lines):
        if f"{label} => " in line:
            size = int(re.search(r"=> (\d+) bytes", line).group(1))
            data = bytearray()
            for follow in lines[i + 1:]:
                hm = re.search(r"\s(\d+): ((?:[0-9A-F]{2} ){1,16})", follow + " ")
                if not hm:
                    break
                data += bytes.fromhex(hm.group(2).replace(" ", ""))
            return bytes(data[:size])
    raise RuntimeError(f"no '{label}' in charon log")


def _pcap_udp_payloads(path: Path) -> list[tuple[str, str, bytes]]:
    """(src ip, dst ip, UDP payload) of each IPv4/UDP frame in a classic pcap (Ethernet)."""
    raw = path.read_bytes()
    magic = struct.unpack_from("<I", raw)[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    linktype = struct.unpack_from(endian + "I", raw, 20)[0]
    off, out = 24, []
    while off + 16 <= len(raw):
        _, _, caplen, _ = struct.unpack_from(endian + "IIII", raw, off)
        frame = raw[off + 16:off + 16 + caplen]
        off += 16 + caplen
        ip = frame[14:] if linktype == 1 else frame[16:]  # Ethernet or Linux cooked
        if len(ip) < 28 or ip[0] >> 4 != 4 or ip[9] != 17:
            continue
        ihl = (ip[0] & 0xF) * 4
        src, dst = ".".join(map(str, ip[12:16])), ".".join(map(str, ip[16:20]))
        out.append((src, dst, ip[ihl + 8:]))
    return out


def _spis(out: str) -> tuple[int, int]:
    spi_in = int(re.search(r"spi-in[=:] ?([0-9a-f]+)", out).group(1), 16)
    spi_out = int(re.search(r"spi-out[=:] ?([0-9a-f]+)", out).group(1), 16)
    return spi_in, spi_out


def capture(name: str, esp: str, encr: int, integ: int, outdir: Path, tmp: Path, rootfs: Path) -> Path:
    moon_conf, carol_conf = _confdirs(tmp, esp)
    with netns.lab(("moon", "carol")) as lab:
        moon = start_charon(rootfs, lab.moon, moon_conf, run_dir=tmp / f"run-moon-{name}")
        carol = start_charon(rootfs, lab.carol, carol_conf, run_dir=tmp / f"run-carol-{name}")
        try:
            res = carol.swanctl("--initiate", "--child", "net", "--ike", "classic", timeout=30)
            assert res.returncode == 0, res.stdout + res.stderr
            capdir = tmp / f"cap-{name}"
            capdir.mkdir()
            argv = enter_argv(rootfs, ["tcpdump", "-i", "wan", "-U", "-n", "-w", "/run/esp.pcap",
                                       "udp port 4500"], netns=lab.moon.netns, run_dir=capdir)
            dump = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            _wait_listening(dump)
            ping = carol.exec("ping", "-c", "2", "-i", "0.3", "-I", lab.carol.inner, lab.moon.inner, timeout=15)
            time.sleep(0.5)
            netns.kill_pids([dump.pid])
            dump.wait(timeout=5)
            sas = carol.swanctl("--list-sas", "--raw", check=True).stdout
            routes = lab.carol.ip("route", "show", "table", "220").stdout
            rules = lab.carol.ip("rule").stdout
            link = lab.carol.ip("-d", "link", "show", "ipsec0", check=False).stdout
            log = carol.log_text()
            (tmp / f"debug-{name}.txt").write_text(sas + "\n----\n" + ping.stdout + "\n----\n" + log)
        finally:
            carol.stop()
            moon.stop()
    spi_in, spi_out = _spis(sas)  # carol's view: out = carol -> moon
    keys = {
        "encr_i": _log_dump(log, "encryption initiator key"),
        "encr_r": _log_dump(log, "encryption responder key"),
    }
    if integ:
        keys["integ_i"] = _log_dump(log, "integrity initiator key")
        keys["integ_r"] = _log_dump(log, "integrity responder key")
    packets = _pcap_udp_payloads(capdir / "esp.pcap")
    esp_pkts = [(s, d, p) for s, d, p in packets if len(p) > 8 and p[:4] != b"\0\0\0\0"]
    out_pkt = next(p for s, d, p in esp_pkts if s == lab_outer("carol") and int.from_bytes(p[:4]) == spi_out)
    in_pkt = next(p for s, d, p in esp_pkts if s == lab_outer("moon") and int.from_bytes(p[:4]) == spi_in)
    path = outdir / f"esp-charon61-{name}.txt"
    path.write_text(_render(name, esp, encr, integ, keys, spi_out, out_pkt, spi_in, in_pkt, ping.stdout,
                            routes, rules, link))
    return path


def _wait_listening(dump: subprocess.Popen, timeout: float = 10.0) -> None:
    """Block until tcpdump says it is listening (it prints that once the capture is open)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([dump.stderr], [], [], 0.2)
        if ready and b"listening on" in dump.stderr.readline():
            time.sleep(0.2)
            return
    raise RuntimeError("tcpdump did not start")


def lab_outer(node: str) -> str:
    return netns.DEFAULT_ADDRS[node][0]


def _render(name, esp, encr, integ, keys, spi_out, out_pkt, spi_in, in_pkt, ping, routes, rules, link) -> str:
    head = f"""\
# ESP-in-UDP packets captured from strongSwan 6.1 charon (kernel-libipsec), ESP proposal '{esp}'.
# Provenance: tests/unit/datapath/capture_charon_esp.py on {time.strftime('%Y-%m-%d')}: charon 6.1.x from the
# interop rootfs in two network namespaces (carol 192.0.2.3 / 203.0.113.1 initiates conn 'classic',
# child 'net', to moon 192.0.2.2 / 198.51.100.1), configs copied from tests/interop/configs with
# 'chd = 4' added so carol's charon logged the CHILD_SA keys (lab-only keys of a throw-away SA)
# and esp_proposals = {esp}. tcpdump in moon's namespace captured UDP 4500 during
# 'ping -c 2 -I 203.0.113.1 198.51.100.1'; below are the UDP payloads (non-ESP marker absent, so
# they start with the SPI) of the first carol->moon packet (initiator key) and of the first
# moon->carol packet (responder key). Keys are RFC 7296 2.17 KEYMAT slices (AEAD keys include the salt).
# carol's table 220 while up: {routes.strip() or '(empty)'}
# carol's rules: {' | '.join(r.strip() for r in rules.splitlines())}
# carol's TUN: {' '.join(link.split()[:12])}
"""
    body = [f"encr_alg = {encr}", f"integ_alg = {integ}"]
    body += [f"{k} = {v.hex()}" for k, v in keys.items()]
    body += ["", "# carol -> moon, ESP with the initiator's keys", f"spi_i2r = {spi_out:08x}",
             f"packet_i2r = {out_pkt.hex()}", "", "# moon -> carol, ESP with the responder's keys",
             f"spi_r2i = {spi_in:08x}", f"packet_r2i = {in_pkt.hex()}", ""]
    return head + "\n".join(body)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[2] / "vectors")
    ap.add_argument("--only", default=None)
    ap.add_argument("--keep", action="store_true", help="keep the work dir (logs, pcaps) for inspection")
    args = ap.parse_args()
    rootfs = provision().strongswan
    tmp = Path(tempfile.mkdtemp(prefix="vicid-esp-cap-"))
    try:
        for name, esp, encr, integ in PROPOSALS:
            if args.only and name != args.only:
                continue
            print("wrote", capture(name, esp, encr, integ, args.out, tmp, rootfs))
    finally:
        if args.keep:
            print("work dir kept:", tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
