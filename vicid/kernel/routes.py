"""Routes in charon's table 220 and the rule that consults it, through pyroute2.

charon installs, for each outbound policy, a route to the remote subnet in its own routing table
(``charon.routing_table``, default 220) with the local address inside the local TS as preferred
source, plus one rule (``charon.routing_table_prio``, default 220) so the table is used. With
kernel-libipsec the route points into the TUN device; with XFRM it goes via the next hop to the
peer. pyroute2 calls block, so each runs in a worker thread on its own IPRoute socket.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass

import trio
from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from vicid.ike.ts import TrafficSelector

log = logging.getLogger("vicid.kernel")

RTPROT_STATIC = 4
EEXIST, ESRCH, ENOENT, ENODEV, EADDRNOTAVAIL = 17, 3, 2, 19, 99
IFA_F_NODAD = 0x02


@dataclass(frozen=True)
class Route:
    """One route as charon's ``route_entry_t`` describes it."""

    dst: str  # network address
    prefixlen: int
    table: int
    oif: int | None = None
    gateway: str | None = None
    src: str | None = None

    def __str__(self) -> str:
        via = f" via {self.gateway}" if self.gateway else ""
        src = f" src {self.src}" if self.src else ""
        return f"{self.dst}/{self.prefixlen}{via}{src} table {self.table}"


class Routes:
    """Blocking pyroute2 operations run off the trio thread; NETNS is for tests."""

    def __init__(self, netns: str | None = None) -> None:
        self.netns = netns

    def _ipr(self) -> IPRoute:
        return IPRoute(netns=self.netns) if self.netns else IPRoute()

    async def _run(self, fn, *args):
        def call():
            with self._ipr() as ipr:
                return fn(ipr, *args)
        return await trio.to_thread.run_sync(call)

    # --- links ----------------------------------------------------------------------------------
    async def link_index(self, ifname: str) -> int | None:
        found = await self._run(lambda ipr: ipr.link_lookup(ifname=ifname))
        return found[0] if found else None

    async def link_up(self, ifname: str, mtu: int | None = None) -> int:
        def up(ipr: IPRoute) -> int:
            index = ipr.link_lookup(ifname=ifname)[0]
            kw = {"mtu": mtu} if mtu else {}
            ipr.link("set", index=index, state="up", **kw)
            return index
        return await self._run(up)

    # --- addresses ------------------------------------------------------------------------------
    async def local_addresses(self) -> list[str]:
        return await self._run(lambda ipr: [a.get_attr("IFA_ADDRESS") for a in ipr.get_addr()])

    async def address_in(self, ts: TrafficSelector) -> str | None:
        """charon's ``get_address_by_ts``: a local address inside TS, for the route's source."""
        for text in await self.local_addresses():
            if text and ts.includes(ipaddress.ip_address(text).packed):
                return text
        return None

    async def interface_of(self, address: str) -> int | None:
        """The index of the link holding ADDRESS, or None."""
        def find(ipr: IPRoute) -> int | None:
            for a in ipr.get_addr():
                if a.get_attr("IFA_ADDRESS") == address:
                    return a["index"]
            return None
        return await self._run(find)

    async def add_address(self, index: int, address: str, prefixlen: int) -> bool:
        """Add ADDRESS to link INDEX (IPv6 without DAD, as charon); False if it was there."""
        kw = {"flags": IFA_F_NODAD} if ":" in address else {}
        try:
            await self._run(lambda ipr: ipr.addr("add", index=index, address=address, prefixlen=prefixlen, **kw))
        except NetlinkError as exc:
            if exc.code == EEXIST:
                return False
            raise
        return True

    async def del_address(self, index: int, address: str, prefixlen: int) -> None:
        try:
            await self._run(lambda ipr: ipr.addr("del", index=index, address=address, prefixlen=prefixlen))
        except NetlinkError as exc:
            if exc.code not in (ESRCH, ENOENT, EADDRNOTAVAIL, ENODEV):
                raise

    async def next_hop(self, dst: str) -> tuple[str | None, int | None]:
        """(gateway, output interface) the main tables use towards DST."""
        def get(ipr: IPRoute) -> tuple[str | None, int | None]:
            found = ipr.route("get", dst=dst)
            if not found:
                return None, None
            return found[0].get_attr("RTA_GATEWAY"), found[0].get_attr("RTA_OIF")
        return await self._run(get)

    # --- routes and rules -----------------------------------------------------------------------
    async def add_route(self, route: Route) -> bool:
        """Install ROUTE; False if it existed already (charon's ALREADY_DONE: keep, don't own)."""
        try:
            await self._run(lambda ipr: ipr.route("add", **_route_args(route)))
        except NetlinkError as exc:
            if exc.code == EEXIST:
                return False
            raise
        log.debug("installed route %s", route)
        return True

    async def del_route(self, route: Route) -> None:
        try:
            await self._run(lambda ipr: ipr.route("del", **_route_args(route)))
        except NetlinkError as exc:
            if exc.code not in (ESRCH, ENOENT):
                raise

    async def add_rule(self, table: int, priority: int, family: int) -> bool:
        try:
            await self._run(lambda ipr: ipr.rule("add", table=table, priority=priority, family=family))
        except NetlinkError as exc:
            if exc.code == EEXIST:
                return False
            raise
        return True

    async def del_rule(self, table: int, priority: int, family: int) -> None:
        try:
            await self._run(lambda ipr: ipr.rule("del", table=table, priority=priority, family=family))
        except NetlinkError as exc:
            if exc.code not in (ESRCH, ENOENT):
                raise


def _route_args(route: Route) -> dict:
    args: dict = {"dst": f"{route.dst}/{route.prefixlen}", "table": route.table, "proto": RTPROT_STATIC}
    if route.oif is not None:
        args["oif"] = route.oif
    if route.gateway:
        args["gateway"] = route.gateway
    if route.src:
        args["prefsrc"] = route.src
    return args
