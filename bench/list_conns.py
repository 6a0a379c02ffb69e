"""`swanctl --list-conns` with many loaded connections: vicid against charon 6.1, same run.

Both daemons get the same generated swanctl.conf (N connections, each with two children), loaded
with the same swanctl binary; then the same binary lists them, R times alternately, and the
medians are compared. charon runs from the interop lab's root filesystem in a namespace, vicid
on the host. Run as root: ``python -m bench.list_conns [--conns 1000] [--runs 15]``.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from tests.interop import netns, provision
from tests.interop.charon import start_charon
from tests.interop.conftest import CONFIGS
from tests.shell.conftest import start_vicid, stop_vicid

TARGET = 2.0  # vicid may take at most twice charon's time


def swanctl_conf(count: int) -> str:
    conns = []
    for i in range(count):
        a, b = divmod(i, 250)
        conns.append(f"""
    gw{i} {{
        local_addrs = 192.0.2.2
        remote_addrs = 198.51.{100 + a % 2}.{b + 1}
        proposals = aes256gcm16-sha512-x25519-ke1_mlkem768, aes256gcm16-sha512-x25519
        local {{ auth = psk
                 id = moon.example.org }}
        remote {{ auth = psk
                  id = peer{i}.example.org }}
        children {{
            net {{ local_ts = 198.51.100.0/24
                   remote_ts = 203.0.113.{i % 256}/32
                   esp_proposals = aes256gcm16-x25519-ke1_mlkem768 }}
            mgmt {{ local_ts = 192.0.2.2/32[tcp/22]
                    mode = transport }}
        }}
    }}""")
    return "connections {" + "".join(conns) + "\n}\n"


def timed(cmd: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=True)
    return time.perf_counter() - start, done.stdout


def measure(count: int, runs: int) -> dict[str, float]:
    swanctl = shutil.which("swanctl")
    if swanctl is None:
        raise SystemExit("swanctl (Debian's strongswan-swanctl) is needed: run ./install.sh")
    trees = provision.provision()
    work = Path(tempfile.mkdtemp(prefix="vicid-bench-"))
    conf = work / "conf"
    conf.mkdir()
    (conf / "swanctl.conf").write_text(swanctl_conf(count))
    shutil.copy(CONFIGS / "moon" / "strongswan.conf", conf / "strongswan.conf")
    (work / "vicid").mkdir()
    vicid = start_vicid(work / "vicid")
    try:
        with netns.create_lab(("moon", "carol")) as lab:
            charon = start_charon(trees.strongswan, lab["moon"], conf, run_dir=work / "charon", load_all=False)
            try:
                return _compare(swanctl, conf, vicid.uri, charon.vici_uri, count, runs)
            finally:
                charon.stop()
    finally:
        stop_vicid(vicid)
        shutil.rmtree(work, ignore_errors=True)


def _compare(swanctl: str, conf: Path, vicid_uri: str, charon_uri: str, count: int, runs: int) -> dict[str, float]:
    results: dict[str, list[float]] = {"vicid": [], "charon": []}
    outputs: dict[str, str] = {}
    for name, uri in (("vicid", vicid_uri), ("charon", charon_uri)):
        load_time, _ = timed([swanctl, "--load-conns", "--file", str(conf / "swanctl.conf"), "--uri", uri])
        results[f"{name} load"] = [load_time]
        # the first listing after a load renders every connection (vicid caches renderings)
        results[f"{name} cold"] = [timed([swanctl, "--list-conns", "--uri", uri])[0]]
    for _ in range(runs):
        for name, uri in (("vicid", vicid_uri), ("charon", charon_uri)):
            elapsed, out = timed([swanctl, "--list-conns", "--uri", uri])
            results[name].append(elapsed)
            outputs[name] = out
    if outputs["vicid"] != outputs["charon"]:
        print("warning: the two listings differ")
    medians = {name: statistics.median(values) for name, values in results.items()}
    medians["lines"] = outputs["vicid"].count("\n")
    return medians


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conns", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args(argv)
    m = measure(args.conns, args.runs)
    ratio = m["vicid"] / m["charon"]
    print(f"swanctl --list-conns, {args.conns} connections ({int(m['lines'])} lines), median of {args.runs}:")
    print(f"  charon 6.1   {m['charon'] * 1000:8.1f} ms")
    print(f"  vicid        {m['vicid'] * 1000:8.1f} ms")
    print(f"  ratio vicid/charon {ratio:.2f} (target <= {TARGET:.1f}) {'OK' if ratio <= TARGET else 'MISSED'}")
    cold = m["vicid cold"] / m["charon cold"]
    print(f"  first listing after loading: charon {m['charon cold'] * 1000:.1f} ms, vicid "
          f"{m['vicid cold'] * 1000:.1f} ms (ratio {cold:.2f})")
    print(f"  swanctl --load-conns: charon {m['charon load']:.2f} s, vicid {m['vicid load']:.2f} s "
          f"(ratio {m['vicid load'] / m['charon load']:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
