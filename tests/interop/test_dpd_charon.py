"""Acceptance (issue #7): dead peer detection against charon 6.1.

vicid (carol) has ``dpd_delay = 2s`` and short retransmissions; the charon it talks to (moon) is
killed with SIGKILL (no DELETE). vicid must notice within dpd_delay plus its retransmission
schedule and apply the CHILD_SA's ``dpd_action``: ``restart`` brings the tunnel back as soon as
a new charon answers (``keyingtries = 0`` keeps trying), ``trap`` waits for traffic, ``clear``
just closes it.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import time
from pathlib import Path

import pytest

from . import swanctl_raw
from .conftest import CONFIGS
from .test_rekey_charon import children, wait_for

pytestmark = pytest.mark.interop

DPD_DELAY = 2.0
RETRANSMIT = "    retransmit_timeout = 1\n    retransmit_base = 1.4\n    retransmit_tries = 2\n"
GIVE_UP = 1 + 1.4 + 1.96  # seconds of retransmissions before vicid gives up


def carol_confdir(tmp: Path, action: str) -> Path:
    d = tmp / "carol"
    d.mkdir()
    shutil.copy(CONFIGS / "carol" / "strongswan.conf", d / "strongswan.conf")
    conf = (CONFIGS / "carol" / "swanctl.conf").read_text()
    conf = conf.replace("        fragmentation = yes\n        proposals = aes256gcm16-sha512-x25519-ke1_mlkem768\n",
                        "        fragmentation = yes\n        proposals = aes256gcm16-sha512-x25519-ke1_mlkem768\n"
                        f"        dpd_delay = {int(DPD_DELAY)}s\n        keyingtries = 0\n", 1)
    conf = conf.replace("                esp_proposals = aes256gcm16-x25519-ke1_mlkem768\n",
                        "                esp_proposals = aes256gcm16-x25519-ke1_mlkem768\n"
                        f"                dpd_action = {action}\n", 1)
    assert "dpd_action" in conf and "dpd_delay" in conf
    (d / "swanctl.conf").write_text(conf)
    return d


def kill(daemon) -> None:
    """SIGKILL the daemon's process group (the one the harness started), then reap it."""
    os.killpg(daemon.proc.pid, signal.SIGKILL)
    daemon.proc.wait(10)
    daemon.stop()


def ping_ok(rootfs_exec, carol, moon, count: int = 3) -> bool:
    res = rootfs_exec(carol, "ping", "-c", str(count), "-i", "0.2", "-W", "1", "-I", str(carol.inner),
                      str(moon.inner), timeout=20)
    return " 0% packet loss" in res.stdout


@pytest.mark.parametrize("action", ["restart", "trap", "clear"])
def test_dpd_action_after_peer_dies(action, tmp_path, netns_pair, charon_factory, vicid_factory,
                                    rootfs_swanctl, rootfs_exec):
    moon = charon_factory(netns_pair.moon, "moon")
    carol = vicid_factory(netns_pair.carol, extra_conf=RETRANSMIT)
    rootfs_swanctl(carol.vici_uri, "--load-all", "--noprompt", confdir=carol_confdir(tmp_path, action), check=True)

    def sas() -> dict:
        return swanctl_raw.sas(rootfs_swanctl(carol.vici_uri, "--list-sas", "--pretty").stdout)

    res = rootfs_swanctl(carol.vici_uri, "--initiate", "--child", "net", "--ike", "pq", timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    assert ping_ok(rootfs_exec, netns_pair.carol, netns_pair.moon)
    time.sleep(DPD_DELAY + 1)  # at least one DPD exchange with the live peer
    assert "sending DPD request" in carol.log_text()

    kill(moon)
    killed = time.monotonic()
    wait_for(lambda: "giving up after 2 retransmits" in carol.log_text(), "vicid to give up", timeout=30)
    detected = time.monotonic() - killed
    # the DPD comes at most dpd_delay after the last message, then the retransmissions
    assert detected <= DPD_DELAY + GIVE_UP + 1.5, detected
    log = carol.log_text()
    if action == "clear":
        wait_for(lambda: not sas(), "the IKE_SA to go")
        time.sleep(2)
        assert not sas() and "restarting CHILD_SA" not in carol.log_text()
        return
    if action == "restart":
        assert "restarting CHILD_SA net" in log
        wait_for(lambda: "peer not responding, trying again" in carol.log_text(), "a retry", timeout=30)
    else:
        wait_for(lambda: not sas(), "the IKE_SA to go")
        assert "installed trap policy for 'net'" in carol.log_text()
    # the peer comes back
    charon_factory(netns_pair.moon, "moon", name="moon-again")
    if action == "trap":  # the first packet hits the trap policy; the acquire starts the IKE_SA
        ping_ok(rootfs_exec, netns_pair.carol, netns_pair.moon, count=2)

    def up():
        ike = sas().get("pq")
        return ike and ike.get("state") == "ESTABLISHED" and "net" in children(ike)

    wait_for(up, "the tunnel to come back", timeout=40)
    assert wait_for(lambda: ping_ok(rootfs_exec, netns_pair.carol, netns_pair.moon), "ping through it")
    assert len(re.findall(r"IKE_SA pq\[\d+\] established between", carol.log_text())) >= 2


def test_inbound_esp_defers_dpd(tmp_path, netns_pair, charon_factory, vicid_factory, rootfs_swanctl, rootfs_exec):
    """As charon's ``get_use_time``: ESP arriving on the CHILD_SA proves the peer alive, so no
    DPD is sent while the tunnel carries traffic; once it is idle, DPD resumes."""
    moon = charon_factory(netns_pair.moon, "moon")
    carol = vicid_factory(netns_pair.carol, extra_conf=RETRANSMIT)
    rootfs_swanctl(carol.vici_uri, "--load-all", "--noprompt", confdir=carol_confdir(tmp_path, "clear"), check=True)
    res = rootfs_swanctl(carol.vici_uri, "--initiate", "--child", "net", "--ike", "pq", timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    res = rootfs_exec(netns_pair.carol, "ping", "-q", "-c", "50", "-i", "0.15", "-W", "1", "-I",
                      str(netns_pair.carol.inner), str(netns_pair.moon.inner), timeout=30)
    assert " 0% packet loss" in res.stdout, res.stdout
    # 7.5 s of replies coming in over ESP: more than three dpd_delays without a DPD
    assert "sending DPD request" not in carol.log_text()
    assert "parsed INFORMATIONAL request" not in moon.log_text()
    wait_for(lambda: "sending DPD request" in carol.log_text(), "a DPD once the tunnel is idle",
             timeout=DPD_DELAY * 2 + 2)
