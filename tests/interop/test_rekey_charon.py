"""Acceptance (issue #7): rekeying between vicid and charon 6.1, with multiple key exchanges.

For each post-quantum proposal (x25519-ke1_mlkem768, and the 3-KE x25519-ke1_mlkem768-ke2_mlkem1024)
and each side as the original initiator, one test runs, while a ping every 10 ms crosses the
tunnel: a CHILD_SA rekey started by vicid, one started by charon, an IKE_SA rekey from each side,
then a second CHILD_SA on the existing IKE_SA. Every CREATE_CHILD_SA needs one IKE_FOLLOWUP_KE per
additional key exchange. Afterwards no ping is lost and both sides list the same SAs.
"""

from __future__ import annotations

import re
import shutil
import threading
import time
from pathlib import Path

import pytest

from . import swanctl_raw
from .conftest import CONFIGS

pytestmark = pytest.mark.interop

# a second CHILD_SA on both sides: TCP only, host to host, so it does not collide with "net"
EXTRA_CAROL = """
connections {
    pq {
        children {
            tcp {
                local_ts = 203.0.113.1/32[tcp]
                remote_ts = 198.51.100.1/32[tcp]
                esp_proposals = aes256gcm16-x25519-ke1_mlkem768
            }
        }
    }
    pq3 {
        children {
            tcp {
                esp_proposals = aes256gcm16-x25519-ke1_mlkem768-ke2_mlkem1024
            }
        }
    }
}
"""
EXTRA_MOON = """
connections {
    pq {
        children {
            tcp {
                local_ts = 198.51.100.1/32[tcp]
                remote_ts = 203.0.113.1/32[tcp]
                esp_proposals = aes256gcm16-x25519-ke1_mlkem768, aes256gcm16-x25519-ke1_mlkem768-ke2_mlkem1024
            }
        }
    }
}
"""
ROUNDS = {"pq": 1, "pq3": 2}  # IKE_FOLLOWUP_KE exchanges per CREATE_CHILD_SA


def confdir(tmp: Path, name: str, extra: str) -> Path:
    d = tmp / name
    d.mkdir()
    shutil.copy(CONFIGS / name / "strongswan.conf", d / "strongswan.conf")
    (d / "swanctl.conf").write_text((CONFIGS / name / "swanctl.conf").read_text() + extra)
    return d


class Side:
    """One peer as the test drives it: swanctl commands and list-sas, vicid or charon alike."""

    def __init__(self, kind: str, daemon, swanctl, log) -> None:
        self.kind, self.daemon, self._swanctl, self.log = kind, daemon, swanctl, log

    def swanctl(self, *args: str, timeout: float = 60):
        return self._swanctl(*args, timeout=timeout)

    def sas(self) -> dict:
        return swanctl_raw.sas(self.swanctl("--list-sas", "--pretty").stdout)


def children(ike: dict) -> dict[str, dict]:
    """INSTALLED CHILD_SAs by name (rekeyed ones linger a few seconds as DELETED)."""
    out = {}
    for child in swanctl_raw.child_sas(ike).values():
        if child.get("state") == "INSTALLED":
            out.setdefault(child["name"], child)
    return out


def one_ike(side: Side) -> dict:
    """The single established IKE_SA, with its connection name under "name"."""
    established = [dict(ike, name=name) for name, ike in side.sas().items() if ike.get("state") == "ESTABLISHED"]
    assert len(established) == 1, side.sas()
    return established[0]


def wait_for(predicate, what: str, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def all_sas(side: Side) -> list[dict]:
    """Every IKE_SA of SIDE, with its connection name under "name"."""
    return [dict(ike, name=name) for name, ike in side.sas().items()]


def settled(a: Side, b: Side) -> tuple[dict, dict] | None:
    """Both sides have exactly one IKE_SA with the same SPIs and the same installed CHILD_SAs
    (crossed SPIs), no rekeying under way; else None. A rekey or reauthentication in progress
    (an IKE_SA REKEYING, two IKE_SAs, a CHILD_SA REKEYED) is never settled: predicates poll this
    rather than asserting on a single list-sas, which may be read mid-exchange."""
    sa_a, sa_b = all_sas(a), all_sas(b)
    if len(sa_a) != 1 or len(sa_b) != 1:
        return None
    ia, ib = sa_a[0], sa_b[0]
    if ia.get("state") != "ESTABLISHED" or ib.get("state") != "ESTABLISHED":
        return None
    if (ia["initiator-spi"], ia["responder-spi"]) != (ib["initiator-spi"], ib["responder-spi"]):
        return None
    ca, cb = children(ia), children(ib)
    if set(ca) != set(cb) or any(len([c for c in swanctl_raw.child_sas(x).values()
                                      if c.get("state") not in ("INSTALLED", "DELETED")]) for x in (ia, ib)):
        return None
    for name in ca:
        if (ca[name]["spi-in"], ca[name]["spi-out"]) != (cb[name]["spi-out"], cb[name]["spi-in"]):
            return None
    return ia, ib


def without_lingering(a: Side, b: Side) -> tuple[dict, dict] | None:
    """Settled, and no rekeyed CHILD_SA left on either side (all CHILD_SAs INSTALLED)."""
    both = settled(a, b)
    if both is None or any(c.get("state") != "INSTALLED" for ike in both
                           for c in swanctl_raw.child_sas(ike).values()):
        return None
    return both


def check_agree(a: Side, b: Side) -> tuple[dict, dict]:
    return wait_for(lambda: settled(a, b), f"{a.kind} and {b.kind} to agree on their SAs")


class Pinger:
    """ping every 10 ms (or ``interval``) from carol's inner address to moon's, in the background."""

    def __init__(self, rootfs_exec, carol, moon, seconds: float, interval: float = 0.01) -> None:
        count = str(int(seconds / interval))
        self.result: dict[str, str] = {}
        cmd = ("ping", "-q", "-i", str(interval), "-W", "1", "-c", count, "-I", str(carol.inner), str(moon.inner))
        self.thread = threading.Thread(target=lambda: self.result.update(
            out=rootfs_exec(carol, *cmd, timeout=seconds * 1.5 + 60).stdout))

    def __enter__(self) -> Pinger:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.thread.join()

    def loss(self) -> tuple[int, int]:
        m = re.search(r"(\d+) packets transmitted, (\d+) received", self.result.get("out", ""))
        assert m, self.result
        return int(m.group(1)), int(m.group(2))


@pytest.mark.parametrize("conn", ["pq", "pq3"])
@pytest.mark.parametrize("initiator", ["vicid", "charon"])
def test_rekeying_with_followup_ke(conn, initiator, tmp_path, netns_pair, charon_factory, vicid_factory,
                                   rootfs_swanctl, rootfs_exec):
    carol_dir = confdir(tmp_path, "carol", EXTRA_CAROL)
    moon_dir = confdir(tmp_path, "moon", EXTRA_MOON)
    if initiator == "vicid":
        moon = charon_factory(netns_pair.moon, moon_dir)
        carol = vicid_factory(netns_pair.carol)
        rootfs_swanctl(carol.vici_uri, "--load-all", "--noprompt", confdir=carol_dir, check=True)
        ini = Side("vicid", carol, lambda *a, **k: rootfs_swanctl(carol.vici_uri, *a, **k), carol.log_text)
        resp = Side("charon", moon, moon.swanctl, moon.log_text)
    else:
        moon = vicid_factory(netns_pair.moon)
        rootfs_swanctl(moon.vici_uri, "--load-all", "--noprompt", confdir=moon_dir, check=True)
        carol = charon_factory(netns_pair.carol, carol_dir)
        ini = Side("charon", carol, carol.swanctl, carol.log_text)
        resp = Side("vicid", moon, lambda *a, **k: rootfs_swanctl(moon.vici_uri, *a, **k), moon.log_text)
    vicid, charon = (ini, resp) if ini.kind == "vicid" else (resp, ini)
    res = ini.swanctl("--initiate", "--child", "net", "--ike", conn)
    assert res.returncode == 0, res.stdout + res.stderr
    check_agree(ini, resp)

    with Pinger(rootfs_exec, netns_pair.carol, netns_pair.moon, 30.0) as ping:
        time.sleep(1.0)
        steps = [("child", vicid), ("child", charon), ("ike", vicid), ("ike", charon)]

        def current(side: Side, what: str, both: tuple[dict, dict]) -> int:
            ike = both[0] if side is ini else both[1]
            return children(ike)["net"]["spi-in"] if what == "child" else ike["initiator-spi"]

        for what, side in steps:
            both = check_agree(ini, resp)
            old = current(side, what, both)
            name = both[0]["name"] if side is ini else both[1]["name"]
            args = ("--rekey", "--child", "net") if what == "child" else ("--rekey", "--ike", name)
            res = side.swanctl(*args)
            # vici's rekey only queues the rekeying (as charon's): it completes in the background
            assert res.returncode == 0 and "rekey completed successfully" in res.stdout, res.stdout + res.stderr

            def rekeyed(side=side, what=what, old=old):
                both = settled(ini, resp)
                return both if both and current(side, what, both) != old else None

            ike, _ = wait_for(rekeyed, f"{what} rekey started by {side.kind}", timeout=30)
            # every rekeyed CHILD_SA used all the key exchanges of its proposal
            net = children(ike)["net"]
            assert net.get("dh-group") == "CURVE_25519" and net.get("ake1") == "ML_KEM_768", net
            time.sleep(1.0)
        # a rekeyed CHILD_SA lingers (DELETED) for delete_rekeyed_delay; its removal ends every
        # initiate listener of its IKE_SA, in charon's controller as in vicid's, so let them go
        wait_for(lambda: without_lingering(ini, resp), "rekeyed CHILD_SAs to be removed", timeout=30)
        # a second CHILD_SA on the existing IKE_SA, with its own IKE_FOLLOWUP_KE rounds
        res = ini.swanctl("--initiate", "--child", "tcp", "--ike", conn)
        assert res.returncode == 0, res.stdout + res.stderr
        ike_ini, _ = check_agree(ini, resp)
        assert set(children(ike_ini)) == {"net", "tcp"}
        assert children(ike_ini)["tcp"].get("ake1") == "ML_KEM_768"
    sent, received = ping.loss()
    assert sent >= 2000 and received == sent, f"{sent - received} of {sent} pings lost"

    # each CREATE_CHILD_SA (2 CHILD_SA rekeys, 2 IKE_SA rekeys, 1 new CHILD_SA) had its rounds
    followups = len(re.findall(r"generating IKE_FOLLOWUP_KE (?:request|response) \d+ \[ (?:KE|EF)",
                               vicid.log()))
    assert followups >= 5 * ROUNDS[conn], followups
    ike_ini, ike_resp = check_agree(ini, resp)
    assert len(children(ike_ini)) == 2
    if conn == "pq3":
        assert children(ike_ini)["net"].get("ake2") == "ML_KEM_1024"
        assert ike_ini.get("ake2") == ike_resp.get("ake2") == "ML_KEM_1024"
    assert "IKE_FOLLOWUP_KE" in charon.log()


def _vicid_carol(tmp_path, netns_pair, charon_factory, vicid_factory, rootfs_swanctl, child_extra: str = ""):
    """charon as moon, vicid as carol (connection pq), established; returns (vicid side, charon side)."""
    carol_dir = confdir(tmp_path, "carol", "")
    if child_extra:
        conf = (carol_dir / "swanctl.conf").read_text()
        conf = conf.replace("                esp_proposals = aes256gcm16-x25519-ke1_mlkem768\n",
                            "                esp_proposals = aes256gcm16-x25519-ke1_mlkem768\n" + child_extra, 1)
        (carol_dir / "swanctl.conf").write_text(conf)
    moon = charon_factory(netns_pair.moon, "moon")
    carol = vicid_factory(netns_pair.carol)
    rootfs_swanctl(carol.vici_uri, "--load-all", "--noprompt", confdir=carol_dir, check=True)
    vicid = Side("vicid", carol, lambda *a, **k: rootfs_swanctl(carol.vici_uri, *a, **k), carol.log_text)
    charon = Side("charon", moon, moon.swanctl, moon.log_text)
    res = vicid.swanctl("--initiate", "--child", "net", "--ike", "pq")
    assert res.returncode == 0, res.stdout + res.stderr
    check_agree(vicid, charon)
    return vicid, charon


def test_make_before_break_reauthentication(tmp_path, netns_pair, charon_factory, vicid_factory, rootfs_swanctl,
                                            rootfs_exec):
    """vici rekey with reauth: a new IKE_SA and CHILD_SA first, then the old ones go. Three times
    under a ping every 10 ms: charon moves its outbound traffic to the new CHILD_SA as soon as it
    has answered IKE_AUTH, so its first packets on it can beat that response to vicid (whose
    datapath holds them until the SA is installed, see vicid/datapath/larval.py)."""
    vicid, charon = _vicid_carol(tmp_path, netns_pair, charon_factory, vicid_factory, rootfs_swanctl)
    with Pinger(rootfs_exec, netns_pair.carol, netns_pair.moon, 12.0) as ping:
        time.sleep(2)
        for _ in range(3):
            before = check_agree(vicid, charon)[0]
            res = vicid.swanctl("--rekey", "--ike", "pq", "--reauth")
            assert res.returncode == 0 and "rekey completed successfully" in res.stdout, res.stdout + res.stderr

            def replaced(before=before):  # both IKE_SAs are listed (ESTABLISHED) until the old one goes
                both = settled(vicid, charon)
                return both if both and both[0]["initiator-spi"] != before["initiator-spi"] else None

            wait_for(replaced, "the reauthenticated IKE_SA")
            time.sleep(1)
    sent, received = ping.loss()
    assert received == sent, f"{sent - received} of {sent} pings lost"
    log = vicid.log()
    assert "reauthenticating IKE_SA pq[1]" in log
    # make before break: the new CHILD_SA was up before the old IKE_SA was deleted
    assert log.index("CHILD_SA net{2} established") < log.index("deleting IKE_SA pq[1]")


def test_rekeying_on_byte_limits(tmp_path, netns_pair, charon_factory, vicid_factory, rootfs_swanctl,
                                 rootfs_exec):
    """rekey_bytes/life_bytes of a CHILD_SA: the datapath reports the soft limit, vicid rekeys."""
    vicid, charon = _vicid_carol(tmp_path, netns_pair, charon_factory, vicid_factory, rootfs_swanctl,
                                 "                rekey_bytes = 60000\n                life_bytes = 600000\n")
    res = rootfs_exec(netns_pair.carol, "ping", "-q", "-c", "500", "-i", "0.01", "-s", "1000", "-W", "1", "-I",
                      str(netns_pair.carol.inner), str(netns_pair.moon.inner), timeout=60)
    m = re.search(r"(\d+) packets transmitted, (\d+) received", res.stdout)
    assert m and m.group(1) == m.group(2), res.stdout
    rekeys = len(re.findall(r"rekeyed CHILD_SA net", vicid.log()))
    assert rekeys >= 3, rekeys
    ike, _ = check_agree(vicid, charon)
    net = children(ike)["net"]
    assert int(net["bytes-out"]) <= 600000 and net.get("ake1") == "ML_KEM_768"


@pytest.mark.parametrize("action", ["start", "trap"])
def test_start_action_and_unload(action, tmp_path, netns_pair, charon_factory, vicid_factory, rootfs_swanctl,
                                 rootfs_exec):
    """load-conn runs the child's start_action (initiate, or a trap the first packet triggers);
    unloading the connection undoes it: a ``start`` CHILD_SA and its IKE_SA are closed, a trap
    is removed (the CHILD_SA it triggered stays, as with charon)."""
    carol_dir = confdir(tmp_path, "carol", "")
    # pq's child gets the start action; the connections derived from pq must not inherit it
    conf = re.sub(r"(\n( +)esp_proposals = [^\n]*\n)", lambda m: f"{m.group(1)}{m.group(2)}start_action = none\n",
                  (carol_dir / "swanctl.conf").read_text())
    conf = conf.replace("start_action = none", f"start_action = {action}", 1)
    (carol_dir / "swanctl.conf").write_text(conf)
    moon = charon_factory(netns_pair.moon, "moon")
    carol = vicid_factory(netns_pair.carol)
    vicid = Side("vicid", carol, lambda *a, **k: rootfs_swanctl(carol.vici_uri, *a, **k), carol.log_text)
    charon = Side("charon", moon, moon.swanctl, moon.log_text)
    res = rootfs_swanctl(carol.vici_uri, "--load-all", "--noprompt", confdir=carol_dir)
    assert res.returncode == 0, res.stdout + res.stderr
    ping = ("ping", "-c", "3", "-i", "0.2", "-W", "1", "-I", str(netns_pair.carol.inner), str(netns_pair.moon.inner))
    if action == "trap":
        wait_for(lambda: "installed trap policy for 'net'" in vicid.log(), "the trap")
        assert not vicid.sas()
        # listed as charon lists a trap (swanctl --list-pols)
        res = vicid.swanctl("--list-pols", "--raw")
        assert re.fullmatch(r"list-policy event \{pq/net \{child=net reqid=\d+ ike=pq mode=TUNNEL "
                            r"local-ts=\[203.0.113.0/24\] remote-ts=\[198.51.100.0/24\]\}\}\n"
                            r"list-policies reply \{\}\n", res.stdout), res.stdout
        rootfs_exec(netns_pair.carol, *ping, timeout=20)  # hits the trap: the acquire sets up the tunnel
    ike, _ = check_agree(vicid, charon)
    assert "net" in children(ike)
    res = rootfs_exec(netns_pair.carol, *ping, timeout=20)
    assert " 0% packet loss" in res.stdout, res.stdout
    # swanctl --load-conns of a config without the connections unloads them
    text = (carol_dir / "swanctl.conf").read_text()
    (carol_dir / "swanctl.conf").write_text(text[text.index("secrets {"):])
    res = rootfs_swanctl(carol.vici_uri, "--load-conns", confdir=carol_dir)
    assert res.returncode == 0 and "4 unloaded" in res.stdout, res.stdout + res.stderr
    if action == "start":
        wait_for(lambda: not vicid.sas() and not charon.sas(), "the SAs to be closed")
    else:
        wait_for(lambda: "vici uninstalling 'net'" in vicid.log(), "the trap to go")
        assert one_ike(vicid)
        assert "list-policy event" not in vicid.swanctl("--list-pols", "--raw").stdout
        # the trap's route was the CHILD_SA's as well: it stays for the CHILD_SA
        res = rootfs_exec(netns_pair.carol, *ping, timeout=20)
        assert " 0% packet loss" in res.stdout, res.stdout
