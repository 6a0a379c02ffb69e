"""Acceptance (issue #6): vicid's kernel-netlink (XFRM) backend end to end, against charon 6.1.

vicid runs with ``kernel-netlink`` in its namespace; the peer is charon with kernel-libipsec
(which fakes NAT, so the SAs are ESP-in-UDP). The reference is charon itself with kernel-netlink
in vicid's place, in the same run: ``ip xfrm policy`` and ``ip xfrm state`` in that namespace
must read the same while the tunnel is up and be empty once it is gone.

On a kernel without ESP (this project's hosts) SA installation fails. charon then fails the
CHILD_SA ("unable to install inbound and outbound IPsec SA (SAD) in kernel"): as responder it
answers NO_PROPOSAL_CHOSEN, as initiator it deletes the CHILD_SA it could not install; the
IKE_SA stays up and nothing is left in the kernel. vicid must do the same, promptly. With ESP
(a qemu VM booting Debian's kernel, see test_xfrm_qemu.py) the tunnel carries a ping.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest

from . import swanctl_raw
from .conftest import CONFIGS
from .netns import run

pytestmark = pytest.mark.interop

VICID_NETLINK = "    plugins { kernel-netlink { load = yes } }\n"  # vicid: the XFRM backend
INSTALL_FAILED = "unable to install inbound and outbound IPsec SA (SAD) in kernel"


def netlink_confdir(tmp_path: Path, node: str) -> Path:
    """NODE's charon config with kernel-netlink as its only kernel backend."""
    d = tmp_path / f"{node}-netlink"
    d.mkdir(exist_ok=True)
    conf = (CONFIGS / node / "strongswan.conf").read_text()
    assert "kernel-libipsec kernel-netlink" in conf
    (d / "strongswan.conf").write_text(conf.replace("kernel-libipsec kernel-netlink", "kernel-netlink"))
    shutil.copy(CONFIGS / node / "swanctl.conf", d / "swanctl.conf")
    return d


def xfrm(node, what: str) -> str:
    """``ip xfrm policy|state`` of NODE without the volatile parts (lifetimes, counters)."""
    text = run(["ip", "-n", node.netns, "xfrm", what]).stdout
    text = re.sub(r"\n\s*(lifetime|anti-replay|replay-window|sel src).*", "", text)
    text = re.sub(r"spi 0x[0-9a-f]+", "spi X", text)
    return re.sub(r"0x[0-9a-f]{16,}", "KEY", text).strip()  # keys differ per run (and stay out of logs)


def policies(node) -> list[str]:
    """One normalized line per policy, sorted (the kernel's listing order is not part of the
    contract). Besides the tunnel's (``dir in|out|fwd``) charon keeps per-socket bypass policies
    (``socket in|out``) on its IKE sockets while it runs."""
    text = xfrm(node, "policy")
    return sorted(" ".join(b.split()) for b in re.split(r"\n(?=src )", text)) if text else []


def tunnel_policies(node) -> list[str]:
    return [p for p in policies(node) if " dir " in p]


def rules(node) -> str:
    return run(["ip", "-n", node.netns, "rule"]).stdout


def list_sas(swanctl, uri: str) -> dict:
    return swanctl_raw.sas(swanctl(uri, "--list-sas", "--pretty", check=True).stdout)


def child_up(sas: dict) -> bool:
    ike = sas.get("pq") or {}
    return any(c.get("state") == "INSTALLED" for c in swanctl_raw.child_sas(ike).values())


def wait_for(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def one_run(kind: str, xfrm_initiates: bool, lab, tmp_path: Path, f: dict) -> dict:
    """Bring up pq with KIND on the XFRM side; what an observer sees, comparable across kinds."""
    swanctl = f["rootfs_swanctl"]
    xfrm_node, peer_node = (lab.carol, lab.moon) if xfrm_initiates else (lab.moon, lab.carol)
    xfrm_conf, peer_conf = ("carol", "moon") if xfrm_initiates else ("moon", "carol")
    if kind == "vicid":
        side = f["vicid_factory"](xfrm_node, name=f"{kind}-{xfrm_conf}", extra_conf=VICID_NETLINK)
        swanctl(side.vici_uri, "--load-all", "--noprompt", confdir=CONFIGS / xfrm_conf, check=True)
    else:
        side = f["charon_factory"](xfrm_node, netlink_confdir(tmp_path, xfrm_conf), name=f"{kind}-{xfrm_conf}")
    peer = f["charon_factory"](peer_node, peer_conf, name=f"peer-of-{kind}")
    initiator = side.vici_uri if xfrm_initiates else peer.vici_uri
    started = time.monotonic()
    res = swanctl(initiator, "--initiate", "--child", "net", "--ike", "pq", "--timeout", "20", timeout=40)
    seconds = time.monotonic() - started
    wait_for(lambda: child_up(list_sas(swanctl, side.vici_uri)) == child_up(list_sas(swanctl, peer.vici_uri)))
    out = {
        "initiated": res.returncode == 0,
        "prompt": seconds < 15,  # swanctl gives up after 20 s: a hang shows
        "ike_up": [list_sas(swanctl, u).get("pq", {}).get("state") for u in (side.vici_uri, peer.vici_uri)],
        "child_up": [child_up(list_sas(swanctl, u)) for u in (side.vici_uri, peer.vici_uri)],
        "policies": policies(xfrm_node),
        "states": sorted(xfrm(xfrm_node, "state").split("\nsrc ")),
        "install_failed_logged": INSTALL_FAILED in side.log_text(),
    }
    if out["child_up"][0]:
        ping = f["rootfs_exec"](xfrm_node, "ping", "-c", "3", "-i", "0.2", "-W", "2", "-I", xfrm_node.inner,
                                peer_node.inner, timeout=30)
        out["ping"] = " 0% packet loss" in ping.stdout
    swanctl(side.vici_uri, "--terminate", "--ike", "pq", timeout=30)
    wait_for(lambda: not tunnel_policies(xfrm_node) and not xfrm(xfrm_node, "state"))
    out["policies_after"] = policies(xfrm_node)
    out["states_after"] = xfrm(xfrm_node, "state")
    out["routes_after"] = run(["ip", "-n", xfrm_node.netns, "route", "show", "table", "220"],
                              check=False).stdout.strip()
    out["rule_220"] = "lookup 220" in rules(xfrm_node)
    side.stop()
    out["policies_stopped"] = policies(xfrm_node)
    out["rule_220_stopped"] = "lookup 220" in rules(xfrm_node)
    return out


@pytest.fixture
def fixtures(charon_factory, vicid_factory, rootfs_swanctl, rootfs_exec) -> dict:
    return {"charon_factory": charon_factory, "vicid_factory": vicid_factory,
            "rootfs_swanctl": rootfs_swanctl, "rootfs_exec": rootfs_exec}


@pytest.mark.parametrize("xfrm_initiates", [True, False], ids=["xfrm-initiates", "xfrm-responds"])
def test_xfrm_backend_behaves_like_charon(xfrm_initiates: bool, netns_factory, fixtures, tmp_path) -> None:
    seen = {kind: one_run(kind, xfrm_initiates, netns_factory(), tmp_path, fixtures) for kind in ("charon", "vicid")}
    charon, vicid = seen["charon"], seen["vicid"]
    assert vicid == charon, f"\ncharon: {charon}\nvicid:  {vicid}"
    assert vicid["prompt"] and vicid["ike_up"] == ["ESTABLISHED", "ESTABLISHED"]
    sockets = [p for p in vicid["policies"] if " socket " in p]
    assert len(sockets) == 8  # in and out on UDP 500 and 4500, IPv4 and IPv6
    assert vicid["policies_after"] == sockets and vicid["states_after"] == "" and vicid["routes_after"] == ""
    assert vicid["rule_220"] and not vicid["rule_220_stopped"] and vicid["policies_stopped"] == []
    tunnel = [p for p in vicid["policies"] if " dir " in p]
    if vicid["install_failed_logged"]:  # no kernel ESP: nothing may be left installed
        assert vicid["child_up"] == [False, False] and tunnel == [] and not vicid["initiated"]
    else:
        assert vicid["child_up"] == [True, True] and vicid["ping"] and len(tunnel) == 3


def trap_confdirs(tmp_path: Path, kind: str) -> tuple[Path, Path]:
    """carol's config for KIND with ``start_action = trap`` on pq's child (the connections derived
    from pq keep none), and the same without connections: loading it unloads them all."""
    trap = tmp_path / f"carol-trap-{kind}"
    trap.mkdir(exist_ok=True)
    base = netlink_confdir(tmp_path, "carol")
    shutil.copy(base / "strongswan.conf", trap / "strongswan.conf")
    conf = re.sub(r"(\n( +)esp_proposals = [^\n]*\n)", lambda m: f"{m.group(1)}{m.group(2)}start_action = none\n",
                  (base / "swanctl.conf").read_text())
    (trap / "swanctl.conf").write_text(conf.replace("start_action = none", "start_action = trap", 1))
    empty = tmp_path / f"carol-unload-{kind}"
    empty.mkdir(exist_ok=True)
    shutil.copy(base / "strongswan.conf", empty / "strongswan.conf")
    (empty / "swanctl.conf").write_text(conf[conf.index("secrets {"):])
    return trap, empty


def trap_run(kind: str, lab, tmp_path: Path, f: dict) -> dict:
    """Load a trap with KIND on XFRM, then unload the connection; what ``ip xfrm`` shows."""
    swanctl, node = f["rootfs_swanctl"], lab.carol
    trap, empty = trap_confdirs(tmp_path, kind)
    if kind == "vicid":
        side = f["vicid_factory"](node, name="vicid-trap", extra_conf=VICID_NETLINK)
        swanctl(side.vici_uri, "--load-all", "--noprompt", confdir=trap, check=True)
    else:
        side = f["charon_factory"](node, trap, name="charon-trap")
    wait_for(lambda: len(tunnel_policies(node)) == 3)
    out = {
        "policies": policies(node),
        "states": xfrm(node, "state"),
        "routes": run(["ip", "-n", node.netns, "route", "show", "table", "220"], check=False).stdout.strip(),
        "sas": list_sas(swanctl, side.vici_uri),
    }
    res = swanctl(side.vici_uri, "--load-conns", confdir=empty)
    out["unloaded"] = res.returncode == 0 and "4 unloaded" in res.stdout
    wait_for(lambda: not tunnel_policies(node))
    out["policies_after"] = policies(node)
    out["routes_after"] = run(["ip", "-n", node.netns, "route", "show", "table", "220"], check=False).stdout.strip()
    side.stop()
    out["policies_stopped"] = policies(node)
    return out


def test_trap_policies_like_charon(netns_factory, fixtures, tmp_path) -> None:
    """``start_action = trap`` with XFRM: the same trap policies as charon's (IPsec policies whose
    template has no SA yet, in, out and fwd, with charon's priorities), the same route in table
    220, no SA; unloading the connection removes exactly them (the socket bypasses stay)."""
    seen = {kind: trap_run(kind, netns_factory(), tmp_path, fixtures) for kind in ("charon", "vicid")}
    charon, vicid = seen["charon"], seen["vicid"]
    assert vicid == charon, f"\ncharon: {charon}\nvicid:  {vicid}"
    tunnel = [p for p in vicid["policies"] if " dir " in p]
    assert len(tunnel) == 3 and all("proto esp reqid" in p and "mode tunnel" in p for p in tunnel), tunnel
    assert sorted(p.split(" dir ")[1].split()[0] for p in tunnel) == ["fwd", "in", "out"]
    assert vicid["states"] == "" and vicid["sas"] == {} and vicid["unloaded"]
    sockets = [p for p in vicid["policies"] if " socket " in p]
    assert vicid["policies_after"] == sockets and vicid["policies_stopped"] == []
    assert vicid["routes_after"] == ""
