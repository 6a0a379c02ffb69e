"""Acceptance (issue #7): a soak of rekeyings against charon 6.1.

Both peers rekey the IKE_SA and the CHILD_SA every 20 s, without jitter, so their rekeyings
collide on purpose, while traffic flows. At the end neither side has leaked an SA, traffic still
flows and vicid's memory stayed flat (start/end RSS are printed).

It runs the full 10 minutes the issue asks for, in .ci/run too; ``VICID_SOAK_SECONDS=60`` gives
a shorter run while developing.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import pytest

from . import swanctl_raw
from .conftest import CONFIGS
from .test_dpd_charon import ping_ok
from .test_rekey_charon import Pinger, children, wait_for

pytestmark = pytest.mark.interop

DURATION = float(os.environ.get("VICID_SOAK_SECONDS", "600"))
REKEY = "20s"


def rekeying_confdir(tmp: Path, name: str) -> Path:
    """The lab config with fast lifetimes on both sides and no jitter (so rekeys collide)."""
    d = tmp / name
    d.mkdir()
    shutil.copy(CONFIGS / name / "strongswan.conf", d / "strongswan.conf")
    conf = (CONFIGS / name / "swanctl.conf").read_text()
    conf = conf.replace("        fragmentation = yes\n",
                        f"        fragmentation = yes\n        rekey_time = {REKEY}\n        rand_time = 0\n"
                        "        over_time = 60s\n", 1)
    conf = re.sub(r"(\n( +)esp_proposals = [^\n]*\n)",
                  lambda m: f"{m.group(1)}{m.group(2)}rekey_time = {REKEY}\n{m.group(2)}life_time = 90s\n"
                            f"{m.group(2)}rand_time = 0\n", conf, count=1)
    assert conf.count(f"rekey_time = {REKEY}") == 2, conf
    (d / "swanctl.conf").write_text(conf)
    return d


def rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))


def count(sas: dict) -> tuple[int, int]:
    """(IKE_SAs, CHILD_SAs in any state) of a list-sas dump."""
    return len(sas), sum(len(swanctl_raw.child_sas(ike)) for ike in sas.values())


def test_rekey_soak(tmp_path, netns_pair, charon_factory, vicid_factory, rootfs_swanctl, rootfs_exec):
    moon = charon_factory(netns_pair.moon, rekeying_confdir(tmp_path, "moon"))
    carol = vicid_factory(netns_pair.carol)
    rootfs_swanctl(carol.vici_uri, "--load-all", "--noprompt", confdir=rekeying_confdir(tmp_path, "carol"),
                   check=True)

    def vicid_sas() -> dict:
        return swanctl_raw.sas(rootfs_swanctl(carol.vici_uri, "--list-sas", "--pretty").stdout)

    res = rootfs_swanctl(carol.vici_uri, "--initiate", "--child", "net", "--ike", "pq", timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    pid = carol.proc.pid
    time.sleep(5)
    start_rss = rss_kib(pid)
    started = time.monotonic()
    samples: list[tuple[int, int, int, int]] = []
    with Pinger(rootfs_exec, netns_pair.carol, netns_pair.moon, DURATION, interval=0.05) as ping:
        while time.monotonic() - started < DURATION:
            time.sleep(5)
            samples.append((*count(vicid_sas()), *count(moon.list_sas())))
            # never more than an old and a new IKE_SA (plus a redundant one in a collision)
            assert samples[-1][0] <= 3 and samples[-1][2] <= 3, samples[-1]
    end_rss = rss_kib(pid)
    sent, received = ping.loss()
    log = carol.log_text()
    rekeys = (len(re.findall(r"IKE_SA pq\[\d+\] rekeyed between", log)),
              len(re.findall(r"rekeyed CHILD_SA net", log)), log.count("rekey collision"))
    print(f"\nsoak {DURATION:.0f}s: vicid RSS start {start_rss} KiB, end {end_rss} KiB; "
          f"IKE_SA rekeys {rekeys[0]}, CHILD_SA rekeys {rekeys[1]}, collision log lines {rekeys[2]}; "
          f"ping {received}/{sent}")

    # quiet now: let lingering rekeyed SAs go, then both sides hold exactly one of each
    def quiet():
        v, c = vicid_sas(), moon.list_sas()
        if count(v) != (1, 1) or count(c) != (1, 1):
            return None
        (iv,), (ic,) = v.values(), c.values()
        if iv.get("state") != "ESTABLISHED" or (iv["initiator-spi"], iv["responder-spi"]) != (
                ic["initiator-spi"], ic["responder-spi"]):
            return None
        cv, cc = children(iv), children(ic)
        return cv.get("net") and cc.get("net") and (cv["net"]["spi-in"], cv["net"]["spi-out"]) == (
            cc["net"]["spi-out"], cc["net"]["spi-in"])

    wait_for(quiet, "both sides to settle on one IKE_SA and one CHILD_SA", timeout=45)
    assert ping_ok(rootfs_exec, netns_pair.carol, netns_pair.moon)
    assert rekeys[0] >= DURATION / 30 and rekeys[1] >= DURATION / 30, rekeys
    assert received >= 0.95 * sent, f"{sent - received} of {sent} pings lost"
    assert "internal error" not in log and "Traceback" not in log
    # flat memory: growth bounded by a constant, not by the number of rekeyings
    assert end_rss - start_rss < 20 * 1024, (start_rss, end_rss)
