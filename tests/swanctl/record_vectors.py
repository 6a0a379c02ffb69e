"""Record golden vectors: strongSwan 6.1's swanctl against live charon 6.1, through a recorder.

    python -m tests.swanctl.record_vectors [OUTDIR]     # root, provisioned interop lab

Starts moon and carol (the lab's configs, carol initiates "pq") and "sun"
(a certificate configuration made by tests/swanctl/pki.py), runs each
command line of VECTORS with the reference swanctl through a
``viciproxy.Recorder``, and writes one JSON file per command line with the
vici transcript, the reference's stdout, stderr and exit code, and the time
of the run.  tests/swanctl/test_vectors.py replays these to our swanctl
without any daemon.  Load commands are not recorded (their requests carry
files and secrets); the interop tests compare those live.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from tests.interop import netns
from tests.interop.charon import rootfs_swanctl, start_charon
from tests.interop.conftest import CONFIGS
from tests.interop.provision import trees
from tests.swanctl import pki
from tests.swanctl.viciproxy import Recorder

HERE = Path(__file__).parent
VECTORS: dict[str, list[list[str]]] = {
    "carol": [
        ["--list-sas"], ["--list-sas", "--raw"], ["--list-sas", "--pretty"], ["--list-sas", "--ike", "pq"],
        ["--list-sas", "--ike-id", "1", "--child", "nonexistent"], ["--list-sas", "--noblock"],
        ["--list-conns"], ["--list-conns", "--raw"], ["--list-conns", "--pretty"], ["--list-conns", "--ike", "pq3"],
        ["--initiate", "--child", "net", "--ike", "pq3"], ["--initiate", "--child", "nonexistent"],
        ["--initiate", "--ike", "classic", "--child", "net", "--raw"],
        ["--list-sas"],
        ["--rekey", "--ike", "pq3"], ["--rekey", "--child", "net", "--ike", "pq3", "--pretty"],
        ["--rekey", "--ike-id", "99"],
        ["--terminate", "--ike", "pq3"], ["--terminate", "--ike", "classic", "--pretty", "--loglevel", "2"],
        ["--terminate", "--child-id", "99"],
        ["--install", "--child", "net", "--ike", "big"], ["--list-pols"], ["--list-pols", "--raw"],
        ["--list-pols", "--trap", "--child", "net"], ["--uninstall", "--child", "net", "--ike", "big", "-r"],
        ["--install", "--child", "nonexistent", "-P"], ["--uninstall", "--child", "net"],
        ["--redirect", "--ike", "pq", "--gateway", "192.0.2.9"], ["--redirect", "--peer-ip", "10.0.0.1"],
        ["--version"], ["--version", "--daemon"], ["--version", "--daemon", "--raw"],
        ["--stats"], ["--stats", "--pretty"], ["--list-algs"], ["--list-algs", "--raw"],
        ["--counters"], ["--counters", "--all", "--raw"], ["--counters", "--reset", "--name", "pq"],
        ["--reload-settings"], ["--reload-settings", "-P"], ["--flush-certs"],
        ["--flush-certs", "--type", "x509", "-r"],
        ["--list-authorities"], ["--list-pools"], ["--list-certs"],
        # command line handling: usage texts, getopt errors, abbreviations
        [], ["--help"], ["-h"], ["--foo"], ["--list"], ["--list-s"], ["-lP"], ["--list-sas", "--foo"],
        ["--version", "-x"], ["--initiate", "--child"], ["--list-sas", "extra", "operands"],
        ["--uri", "unix:///run/rec.vici", "--list-sas"], ["-V", "-d"], ["--version=x"],
        *[[f"--{c}", "--help"] for c in (
            "initiate", "terminate", "rekey", "redirect", "install", "uninstall", "list-sas", "monitor-sa",
            "list-pols", "list-authorities", "list-conns", "list-certs", "list-pools", "list-algs", "flush-certs",
            "load-all", "load-conns", "load-creds", "load-authorities", "load-pools", "log", "version", "stats",
            "reload-settings", "counters")],
    ],
    "sun": [
        ["--list-certs"], ["--list-certs", "--short"], ["--list-certs", "--utc"], ["--list-certs", "--pem"],
        ["--list-certs", "--raw"], ["--list-certs", "--type", "x509", "--flag", "ca"],
        ["--list-certs", "--type", "x509_crl"], ["--list-certs", "--type", "pubkey"],
        ["--list-certs", "--subject", "moon.example.org", "--pretty"],
        ["--list-authorities"], ["--list-authorities", "--pretty"], ["--list-authorities", "--name", "test-ca"],
        ["--list-pools"], ["--list-pools", "--leases"], ["--list-pools", "--raw"],
        ["--list-pools", "--name", "rw-pool"],
        ["--list-conns"], ["--list-conns", "--pretty"], ["--list-pols"],
    ],
}


def record(out: Path) -> None:
    t = trees()
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="vicid-vec-"))
    certconf = work / "certconf"
    pki.make_confdir(certconf)
    lab = netns.create_lab(("moon", "carol", "sun"))
    daemons = []
    try:
        daemons.append(start_charon(t.strongswan, lab.moon, CONFIGS / "moon", run_dir=work / "moon"))
        daemons.append(start_charon(t.strongswan, lab.carol, CONFIGS / "carol", run_dir=work / "carol"))
        daemons.append(start_charon(t.strongswan, lab.sun, certconf, run_dir=work / "sun", name="sun"))
        carol = daemons[1]
        carol.swanctl("--initiate", "--child", "net", "--ike", "pq", check=True)
        n = 0
        for node, commands in VECTORS.items():
            daemon = next(d for d in daemons if d.name == node)
            for args in commands:
                n += 1
                sock_dir = Path(tempfile.mkdtemp(prefix="vec-", dir="/tmp"))
                with Recorder(sock_dir / "rec.vici", daemon.vici_socket) as rec:
                    now = time.time()
                    res = rootfs_swanctl(t.strongswan, rec.uri, *args)
                shutil.rmtree(sock_dir, ignore_errors=True)
                vector = {
                    "node": node, "args": args, "time": now, "rc": res.returncode,
                    "stdout": res.stdout, "stderr": res.stderr,
                    "transcripts": [[[d, p.hex()] for d, p in tr.packets] for tr in rec.transcripts],
                }
                words = "-".join("".join(c for c in a if c.isalnum()) for a in args)
                (out / (f"{n:03d}-{node}-{words}"[:70] + ".json")).write_text(json.dumps(vector, indent=1) + "\n")
    finally:
        for d in reversed(daemons):
            d.stop()
        lab.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    record(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "vectors")
