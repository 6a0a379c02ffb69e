"""The kernel-libipsec port: effects into the SADB, routes into table 220, counters, refusals."""

from __future__ import annotations

from dataclasses import replace

import pytest
import trio

from vicid.datapath.port import LibipsecOptions, LibipsecPort
from vicid.ike.effects import DeleteChildSa, DeletePolicy, Direction
from vicid.ike.ts import parse_ts
from vicid.ike.wire.enums import EncrAlg as E
from vicid.kernel.port import KernelError, KernelExpire, KernelPort, execute
from vicid.kernel.routes import Route

from .helpers import MOON, ipv4, keys, policy, sa
from .test_forwarder import ChannelTun


class FakeRoutes:
    def __init__(self) -> None:
        self.routes: list[Route] = []
        self.rules: list[tuple] = []

    async def link_up(self, ifname, mtu=None):
        return 99

    async def address_in(self, ts):
        return "203.0.113.1" if ts.includes(bytes([203, 0, 113, 1])) else None

    async def next_hop(self, dst):
        return None, 2

    async def add_route(self, route):
        if route in self.routes:
            return False  # EEXIST, as the kernel answers
        self.routes.append(route)
        return True

    async def del_route(self, route):
        self.routes.remove(route)

    async def add_rule(self, table, prio, family):
        self.rules.append((table, prio, family))
        return True

    async def del_rule(self, table, prio, family):
        self.rules.remove((table, prio, family))


async def start(nursery, **kw):
    sent = []

    async def send(data, src, dst):
        sent.append((data, src, dst))

    routes = FakeRoutes()
    port = LibipsecPort(send, kw.pop("options", None), device=ChannelTun(), routes=routes, **kw)
    port._oif = 99  # what run() gets from link_up for a real TUN device
    await nursery.start(port.run)
    return port, routes, sent


@pytest.mark.trio
async def test_effects_drive_the_datapath():
    async with trio.open_nursery() as nursery:
        port, routes, sent = await start(nursery)
        assert isinstance(port, KernelPort) and port.features.requires_udp_encap
        gcm = keys(E.AES_GCM_16, bits=128)
        for eff in (sa(0xC001, True, gcm), policy(Direction.IN), policy(Direction.FWD), sa(0xC002, False, gcm),
                    policy(Direction.OUT)):
            await execute(port, eff)
        assert routes.routes == [Route("198.51.100.0", 24, 220, 99, src="203.0.113.1")]
        port._device.inject(ipv4("203.0.113.1", "198.51.100.1"))
        with trio.fail_after(2):
            while not sent:
                await trio.sleep(0.01)
        assert sent[0][1:] == ((sa(1, False, gcm).src), (MOON, 4500))
        usage = await port.query_sa(0xC002)
        assert usage.packets == 1 and usage.bytes == 76 and usage.idle is not None
        await execute(port, DeletePolicy(1, Direction.OUT, parse_ts("203.0.113.0/24"), parse_ts("198.51.100.0/24")))
        assert routes.routes == []
        await execute(port, DeleteChildSa(0xC002, 3, (MOON, 4500), False))
        await execute(port, DeleteChildSa(0xC002, 3, (MOON, 4500), False))  # gone already: fine
        with pytest.raises(KernelError):
            await port.query_sa(0xC002)
        nursery.cancel_scope.cancel()


@pytest.mark.trio
async def test_refuses_plain_esp_and_peer_conflicts():
    async with trio.open_nursery() as nursery:
        port, routes, _ = await start(nursery)
        with pytest.raises(KernelError, match="only UDP encapsulation"):
            await port.install_sa(sa(1, True, keys(E.AES_GCM_16, bits=128), encap=False))
        with pytest.raises(KernelError, match="conflicts with IKE traffic"):
            await port.install_policy(policy(Direction.OUT, remote="192.0.2.2/32"))
        # a remote TS that covers the peer gets an exclude route for the peer itself
        await port.install_policy(policy(Direction.OUT, remote="192.0.2.0/24", reqid=3))
        assert Route("192.0.2.2", 32, 220, 2) in routes.routes
        await port.delete_policy(DeletePolicy(3, Direction.OUT, parse_ts("203.0.113.0/24"), parse_ts("192.0.2.0/24")))
        assert routes.routes == []
        nursery.cancel_scope.cancel()


@pytest.mark.trio
async def test_expiry_reaches_the_events_channel(autojump_clock):
    async with trio.open_nursery() as nursery:
        port, _, _ = await start(nursery)
        await port.install_sa(replace(sa(0x77, True, keys(E.AES_GCM_16, bits=128)), lifetime_soft=5))
        with trio.fail_after(10):
            assert await port.events.receive() == KernelExpire(0x77, False, 3, sa(1, True, keys(20, 0, 128)).dst[0], 1)
        nursery.cancel_scope.cancel()


def test_options_from_settings():
    conf = {"charon.routing_table": "100", "charon.install_routes": "no",
            "charon.plugins.kernel-libipsec.allow_peer_ts": "yes"}
    opts = LibipsecOptions.from_settings(conf.get)
    assert (opts.routing_table, opts.routing_table_prio, opts.install_routes, opts.allow_peer_ts, opts.mtu) == (
        100, 220, False, True, 1400)


@pytest.mark.trio
@pytest.mark.parametrize("first", ["trap", "ipsec"])
async def test_trap_and_child_sa_share_one_route(first):
    """A trap and the CHILD_SA its acquire set up have the same selectors, hence the same route:
    it stays while either policy does, whichever goes first (charon's libipsec shares it)."""
    async with trio.open_nursery() as nursery:
        port, routes, _ = await start(nursery)
        second = "ipsec" if first == "trap" else "trap"
        net = Route("198.51.100.0", 24, 220, 99, src="203.0.113.1")
        for kind in (first, second):
            await port.install_policy(policy(Direction.OUT, kind=kind, remote="192.0.2.0/24"))
        assert routes.routes.count(net) == 0 and len(routes.routes) == 2  # the subnet and the peer's exclude
        for kind in (first, second):
            await port.install_policy(policy(Direction.OUT, kind=kind))
        assert routes.routes.count(net) == 1
        await port.delete_policy(DeletePolicy(1, Direction.OUT, parse_ts("203.0.113.0/24"),
                                              parse_ts("198.51.100.0/24"), kind=first))
        assert routes.routes.count(net) == 1  # the other policy still needs it
        await port.delete_policy(DeletePolicy(1, Direction.OUT, parse_ts("203.0.113.0/24"),
                                              parse_ts("198.51.100.0/24"), kind=second))
        assert net not in routes.routes
        for kind in (second, first):  # the peer's exclude route is counted the same way
            assert Route("192.0.2.2", 32, 220, 2) in routes.routes
            await port.delete_policy(DeletePolicy(1, Direction.OUT, parse_ts("203.0.113.0/24"),
                                                  parse_ts("192.0.2.0/24"), kind=kind))
        assert routes.routes == []
        nursery.cancel_scope.cancel()
