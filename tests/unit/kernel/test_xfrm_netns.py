"""XfrmPort against the real XFRM layer, inside a namespace this test creates.

Policies work on this host's kernel; SAs need kernel ESP, which these machines lack: that test
is skipped with the kernel's reason (checked with ``ip xfrm state add``), never faked.
"""

from __future__ import annotations

import ipaddress
import subprocess

import pytest
import trio

from vicid.ike.effects import DeleteChildSa, DeletePolicy, Direction, InstallPolicy
from vicid.ike.ts import parse_ts
from vicid.ike.wire.enums import EncrAlg as E
from vicid.kernel.port import KernelAcquire, KernelError
from vicid.kernel.xfrm import XfrmPort, probe_kernel_esp

from ..datapath.helpers import keys, sa
from .netns import ip, namespace, require_root

L, R = parse_ts("203.0.113.0/24"), parse_ts("198.51.100.0/24")
CAROL, MOON = ipaddress.ip_address("192.0.2.3"), ipaddress.ip_address("192.0.2.2")


def policies(ns: str) -> str:
    return ip("-n", ns, "xfrm", "policy").stdout


def pol(direction: Direction, reqid: int = 1, kind: str = "ipsec", **kw) -> InstallPolicy:
    src, dst = (CAROL, MOON) if direction == Direction.OUT else (MOON, CAROL)
    return InstallPolicy(reqid, direction, L, R, "TUNNEL", src, dst, kind=kind, **kw)


@pytest.fixture
def ns():
    require_root()
    with namespace() as name:
        yield name


@pytest.mark.trio
async def test_policies_priorities_routes_and_refcounts(ns):
    port = XfrmPort(ns)
    async with trio.open_nursery() as nursery:
        await nursery.start(port.run)
        assert "220:\tfrom all lookup 220" in ip("-n", ns, "rule").stdout
        for d in Direction:
            await port.install_policy(pol(d))
        text = policies(ns)
        assert text.count("priority 375423") == 3
        assert "src 203.0.113.0/24 dst 198.51.100.0/24 \n\tdir out priority 375423" in text
        assert "src 198.51.100.0/24 dst 203.0.113.0/24 \n\tdir in priority 375423" in text
        assert "tmpl src 192.0.2.3 dst 192.0.2.2\n\t\tproto esp reqid 1 mode tunnel" in text
        assert ip("-n", ns, "route", "show", "table", "220").stdout.strip() == \
            "198.51.100.0/24 dev wan proto static src 203.0.113.1"
        # a second CHILD_SA with the same selectors (rekey) shares the policy
        await port.install_policy(pol(Direction.OUT, reqid=2, priority=1000))
        assert "dir out priority 1000" in policies(ns) and "reqid 2" in policies(ns)
        await port.delete_policy(DeletePolicy(2, Direction.OUT, L, R))
        assert "dir out priority 375423" in policies(ns)
        for d in Direction:
            await port.delete_policy(DeletePolicy(1, d, L, R))
        assert policies(ns).strip() == ""
        assert ip("-n", ns, "route", "show", "table", "220").stdout.strip() == ""
        with pytest.raises(KernelError):
            await port.delete_policy(DeletePolicy(1, Direction.OUT, L, R))
        nursery.cancel_scope.cancel()
    assert "lookup 220" not in ip("-n", ns, "rule").stdout


@pytest.mark.trio
async def test_trap_policy_acquire(ns):
    port = XfrmPort(ns)
    async with trio.open_nursery() as nursery:
        await nursery.start(port.run)
        await port.install_policy(pol(Direction.OUT, reqid=7, kind="trap"))
        assert "priority 375424" in policies(ns)
        await trio.to_thread.run_sync(lambda: subprocess.run(
            ["ip", "netns", "exec", ns, "ping", "-c", "1", "-W", "1", "-I", "203.0.113.1", "198.51.100.1"],
            capture_output=True, timeout=10))
        with trio.fail_after(5):
            event = await port.events.receive()
        assert isinstance(event, KernelAcquire) and event.reqid == 7
        assert event.src_ts.includes(ipaddress.ip_address("203.0.113.1").packed)
        assert event.dst_ts.includes(ipaddress.ip_address("198.51.100.1").packed)
        await port.aclose()
        nursery.cancel_scope.cancel()
    assert policies(ns).strip() == ""


def _kernel_esp_problem(ns: str) -> str | None:
    res = ip("-n", ns, "xfrm", "state", "add", "src", "192.0.2.3", "dst", "192.0.2.2", "proto", "esp",
             "spi", "0x100", "mode", "tunnel", "aead", "rfc4106(gcm(aes))", "0x" + "00" * 20, "128", check=False)
    if res.returncode:
        return res.stderr.strip()
    ip("-n", ns, "xfrm", "state", "flush")
    return None


def test_esp_sa_install_query_delete(ns):
    problem = _kernel_esp_problem(ns)
    assert (probe_kernel_esp(ns) is None) == (problem is None)
    if problem:
        pytest.skip(f"kernel has no ESP here: 'ip xfrm state add ... esp' fails: {problem}")
    trio.run(_sa_round_trip, ns)


async def _sa_round_trip(ns: str) -> None:
    port = XfrmPort(ns)
    eff = sa(0xC0FFEE01, True, keys(E.AES_GCM_16, bits=256), lifetime_hard=3600)
    await port.install_sa(eff)
    state = ip("-n", ns, "xfrm", "state").stdout
    assert "spi 0xc0ffee01" in state and "encap type espinudp sport 4500 dport 4500" in state
    usage = await port.query_sa(0xC0FFEE01)
    assert usage.packets == 0 and usage.idle is None
    await port.delete_sa(DeleteChildSa(0xC0FFEE01, 3, eff.dst, True))
    assert ip("-n", ns, "xfrm", "state").stdout.strip() == ""


def test_probe_reports_why(ns):
    problem = probe_kernel_esp(ns)
    assert problem is None or problem.startswith("adding an ESP SA fails")


@pytest.mark.trio
async def test_factory_picks_what_the_host_supports(ns, caplog):
    import logging

    from vicid.daemon.kernel import create_kernel_port
    from vicid.datapath.port import LibipsecPort

    async def send(data, src, dst):
        pass

    caplog.set_level(logging.INFO, "vicid.kernel")
    port = create_kernel_port({}.get, send, netns=ns)
    expected = XfrmPort if probe_kernel_esp(ns) is None else LibipsecPort
    assert isinstance(port, expected)
    assert "as IPsec backend" in caplog.text
    await port.aclose()
    conf = {"charon.load": "kernel-netlink"}
    forced = create_kernel_port(conf.get, send, netns=ns)
    assert isinstance(forced, XfrmPort)
    await forced.aclose()
