"""``kernel-libipsec``: a KernelPort that keeps SAs and policies in userspace and forwards over TUN.

What charon's kernel-libipsec plugin does, for kernels without ESP (like the lab hosts): SAs
and policies go into :class:`~vicid.datapath.sadb.Sadb`, the :class:`Forwarder` moves packets,
and for every outbound IPsec/trap policy a route to the remote TS points into the TUN device
(table 220, preferred source = a local address inside the local TS). ESP is always
UDP-encapsulated (``features.requires_udp_encap``: the engine fakes NAT like charon does), so
an SA without ``encap`` is refused. If the remote TS covers the IKE peer, an exclude route keeps
IKE and ESP to the peer out of the tunnel, as charon does.
"""

from __future__ import annotations

import ipaddress
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass

import trio

from vicid.datapath.forwarder import Forwarder, PacketDevice, SendEsp, SendEspBatch, SendEspNowait
from vicid.datapath.larval import LarvalQueue
from vicid.datapath.sadb import PolicyEntry, Sadb, SadbError
from vicid.datapath.tun import DEFAULT_MTU, DEFAULT_NAME, TunDevice
from vicid.ike.effects import (
    DeleteChildSa,
    DeletePolicy,
    DeleteVirtualIp,
    Direction,
    Effect,
    InstallChildSa,
    InstallPolicy,
    InstallVirtualIp,
    IpAddress,
    UpdateChildSa,
)
from vicid.ike.ts import TrafficSelector
from vicid.ike.wire.enums import ProtocolId
from vicid.kernel.port import LIBIPSEC, KernelError, KernelEvent, KernelFeatures, SaUsage, execute
from vicid.kernel.routes import Route, Routes
from vicid.kernel.vips import VirtualIps

log = logging.getLogger("vicid.kernel")


@dataclass(frozen=True)
class LibipsecOptions:
    """strongswan.conf knobs that apply (charon's names in :meth:`from_settings`)."""

    tun_name: str = DEFAULT_NAME
    mtu: int = DEFAULT_MTU
    install_routes: bool = True
    routing_table: int = 220
    routing_table_prio: int = 220
    allow_peer_ts: bool = False
    install_virtual_ip: bool = True

    @classmethod
    def from_settings(cls, get: Callable[[str], str | None], ns: str = "charon") -> LibipsecOptions:
        def num(key: str, default: int) -> int:
            value = get(key)
            return int(value) if value and value.strip().isdigit() else default

        def flag(key: str, default: bool) -> bool:
            value = get(key)
            return default if value is None else value.strip().lower() in ("yes", "true", "1", "on")

        return cls(
            mtu=num(f"{ns}.plugins.kernel-libipsec.mtu", DEFAULT_MTU),
            install_routes=flag(f"{ns}.install_routes", True),
            routing_table=num(f"{ns}.routing_table", 220),
            routing_table_prio=num(f"{ns}.routing_table_prio", 220),
            allow_peer_ts=flag(f"{ns}.plugins.kernel-libipsec.allow_peer_ts", False),
            install_virtual_ip=flag(f"{ns}.install_virtual_ip", True),
        )


class LibipsecPort:
    """Userspace ESP backend; ``await nursery.start(port.run)`` opens the TUN device."""

    name = LIBIPSEC
    features = KernelFeatures(requires_udp_encap=True, esn=True, transport_mode=True)

    def __init__(self, send: SendEsp, options: LibipsecOptions | None = None, *,
                 device: PacketDevice | None = None, routes: Routes | None = None,
                 rng: Callable[[int], bytes] = os.urandom, netns: str | None = None,
                 send_nowait: SendEspNowait | None = None, send_batch: SendEspBatch | None = None) -> None:
        self.options = options or LibipsecOptions()
        self.sadb = Sadb(rng)
        self._send = send
        self._send_nowait = send_nowait
        self._send_batch = send_batch
        self._device = device
        self._routes = routes if routes is not None else Routes(netns)
        self._vips = VirtualIps(self._routes)
        self._rng = rng
        self._events_send, self.events = trio.open_memory_channel[KernelEvent](1024)
        self.forwarder: Forwarder | None = None
        # ESP that beats the IKE response creating its SA; the shell sets ``larval.reserved``
        self.larval = LarvalQueue()
        self.tun_name: str | None = None
        self._oif: int | None = None
        self._route_of: dict[int, tuple[Route, str]] = {}  # id(PolicyEntry) -> (route we installed, peer)
        # policies sharing one route (a trap and the CHILD_SA its acquire set up have the same
        # selectors, but are different entries): the route goes with the last of them
        self._route_refs: dict[Route, int] = {}
        self._excludes: dict[str, tuple[Route, int]] = {}  # peer -> (route, refs)
        self._rules: list[int] = []

    # --- lifecycle ------------------------------------------------------------------------------
    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        tun = None
        if self._device is None:
            tun = TunDevice.open(self.options.tun_name)
            self._device = tun
            self.tun_name = tun.name
        try:
            await self._setup(tun)
            self.forwarder = Forwarder(self.sadb, self._device, self._send, self._events_send, rng=self._rng,
                                       send_nowait=self._send_nowait, send_batch=self._send_batch)
            self.forwarder.hold_unknown = self._hold_larval
            async with trio.open_nursery() as nursery:
                await nursery.start(self.forwarder.run)
                task_status.started()
        finally:
            with trio.CancelScope(shield=True):
                await self._cleanup()
            if tun is not None:
                tun.close()

    async def _setup(self, tun: TunDevice | None) -> None:
        if tun is not None:
            self._oif = await self._routes.link_up(tun.name, self.options.mtu)
        if self.options.install_routes and tun is not None:
            for family in (2, 10):  # AF_INET, AF_INET6
                if await self._routes.add_rule(self.options.routing_table, self.options.routing_table_prio, family):
                    self._rules.append(family)

    async def _cleanup(self) -> None:
        await self._vips.clear()
        for route in [*self._route_refs, *(r for r, _ in self._excludes.values())]:
            try:
                await self._routes.del_route(route)
            except OSError as exc:
                log.warning("removing route %s failed: %s", route, exc)
        self._route_of.clear()
        self._route_refs.clear()
        self._excludes.clear()
        for family in self._rules:
            await self._routes.del_rule(self.options.routing_table, self.options.routing_table_prio, family)
        self._rules.clear()

    async def aclose(self) -> None:
        await self._cleanup()

    def receive_esp(self, data: bytes, src, dst) -> None:
        """ESP datagrams from the shell's UDP 4500 socket (SPI != 0)."""
        if self.forwarder is not None:
            self.forwarder.receive_esp(data, src, dst)

    def _now(self) -> float:
        return trio.current_time()

    def _wake(self) -> None:
        if self.forwarder is not None:
            self.forwarder.wake()

    async def apply(self, effect: Effect) -> None:
        """One kernel effect, in the engine's order (the shell's entry point)."""
        await execute(self, effect)

    # --- SAs ------------------------------------------------------------------------------------
    async def install_sa(self, sa: InstallChildSa) -> None:
        self.install_sa_now(sa)

    def install_sa_now(self, sa: InstallChildSa) -> None:
        """Synchronous install (the tables are in memory): the engine learns failures at once."""
        if not sa.encap:
            raise KernelError(f"failed to add SA {sa.spi:08x}: only UDP encapsulation is supported")
        try:
            self.sadb.install_sa(sa, self._now())
        except SadbError as exc:
            raise KernelError(f"failed to add SA: {exc}") from None
        direction = "inbound" if sa.inbound else "outbound"
        log.debug("added %s ESP SA %08x reqid {%d}", direction, sa.spi, sa.reqid)
        if sa.inbound and len(self.larval) and self.forwarder is not None:
            held = self.larval.release(sa.spi, self._now())
            if held:
                log.debug("processing %d ESP packets that arrived before SA %08x", len(held), sa.spi)
            for data, src, dst in held:
                self.forwarder.receive_esp(data, src, dst)
        self._wake()

    def _hold_larval(self, spi: int, data: bytes, src, dst) -> bool:
        return self.larval.hold(spi, bytes(data), src, dst, self._now())

    async def update_sa(self, sa: UpdateChildSa) -> None:
        try:
            self.sadb.update_sa(sa)
        except SadbError as exc:
            raise KernelError(str(exc)) from None

    async def delete_sa(self, sa: DeleteChildSa) -> None:
        self.sadb.delete_sa(sa)
        self._wake()

    async def query_sa(self, spi: int, protocol: int = ProtocolId.ESP, dst: IpAddress | None = None) -> SaUsage:
        entry = self.sadb.find(spi, dst=dst)
        if entry is None:
            raise KernelError(f"no SA {spi:08x}")
        return entry.usage(self._now())

    # --- virtual IPs (charon sets install_virtual_ip_on to its TUN device) --------------------
    async def add_ip(self, vip: InstallVirtualIp) -> None:
        if self.options.install_virtual_ip:  # charon.install_virtual_ip = no: left to the user
            await self._vips.add(vip.address, self._oif)

    async def del_ip(self, vip: DeleteVirtualIp) -> None:
        if self.options.install_virtual_ip:
            await self._vips.delete(vip.address)

    # --- policies -------------------------------------------------------------------------------
    async def install_policy(self, policy: InstallPolicy) -> None:
        try:
            entry = self.sadb.install_policy(policy)
        except SadbError as exc:
            raise KernelError(str(exc)) from None
        if policy.direction == Direction.OUT and policy.kind in ("ipsec", "trap") and len(entry.installs) == 1:
            try:
                await self._install_route(entry, policy)
            except (KernelError, OSError):
                self.sadb.delete_policy(DeletePolicy(policy.reqid, policy.direction, policy.local_ts,
                                                     policy.remote_ts, policy.kind))
                raise

    async def delete_policy(self, policy: DeletePolicy) -> None:
        entry = self.sadb.delete_policy(policy)
        if entry is not None:
            await self._remove_route(entry)

    async def _install_route(self, entry: PolicyEntry, policy: InstallPolicy) -> None:
        if not self.options.install_routes or self._oif is None:
            return
        remote, local = policy.remote_ts, policy.local_ts
        peer = ipaddress.ip_address(policy.dst)
        if not self.options.allow_peer_ts and remote.is_host(peer.packed):
            raise KernelError(f"can't install route for {local} === {remote}, conflicts with IKE traffic")
        src = await self._routes.address_in(local) if not _multicast(local) else None
        net, prefix, _ = remote.to_subnet()
        route = Route(str(ipaddress.ip_address(net)), prefix, self.options.routing_table, self._oif, src=src)
        exclude = not self.options.allow_peer_ts and remote.includes(peer.packed)
        if exclude:  # first, so IKE to the peer never enters the tunnel
            await self._add_exclude(str(peer))
        if route in self._route_refs or await self._routes.add_route(route):
            self._route_refs[route] = self._route_refs.get(route, 0) + 1
            self._route_of[id(entry)] = (route, str(peer) if exclude else "")
        elif exclude:  # somebody else's route: not ours to remove
            await self._drop_exclude(str(peer))

    async def _remove_route(self, entry: PolicyEntry) -> None:
        found = self._route_of.pop(id(entry), None)
        if found is None:
            return
        route, peer = found
        refs = self._route_refs.pop(route, 1) - 1
        if refs:
            self._route_refs[route] = refs
        else:
            await self._routes.del_route(route)
        if peer:
            await self._drop_exclude(peer)

    async def _add_exclude(self, peer: str) -> None:
        """A /32 (/128) route to the peer via the real next hop, so IKE/ESP bypass the TUN."""
        if peer in self._excludes:
            route, refs = self._excludes[peer]
            self._excludes[peer] = (route, refs + 1)
            return
        gateway, oif = await self._routes.next_hop(peer)
        bits = 32 if ipaddress.ip_address(peer).version == 4 else 128
        route = Route(peer, bits, self.options.routing_table, oif, gateway=gateway)
        await self._routes.add_route(route)
        self._excludes[peer] = (route, 1)

    async def _drop_exclude(self, peer: str) -> None:
        if peer not in self._excludes:
            return
        route, refs = self._excludes[peer]
        if refs > 1:
            self._excludes[peer] = (route, refs - 1)
            return
        del self._excludes[peer]
        await self._routes.del_route(route)


def _multicast(ts: TrafficSelector) -> bool:
    """charon skips the preferred source for multicast/broadcast selectors."""
    first = ipaddress.ip_address(ts.from_addr)
    return first.is_multicast or ts.from_addr == b"\xff\xff\xff\xff"
