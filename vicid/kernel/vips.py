"""Virtual IPs on a link, reference counted (charon ``kernel_net`` ``add_ip``/``del_ip``).

A client installs each virtual IP it is assigned as a host address (/32, /128): kernel-libipsec
puts it on its TUN device (charon sets ``install_virtual_ip_on`` to that device), XFRM on the
interface that holds the IKE address. A reauthentication adds the address again before the old
IKE_SA removes it, so each address counts its users; an address the system already had is
never removed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from vicid.ike.effects import IpAddress
from vicid.kernel.port import KernelError
from vicid.kernel.routes import Routes

log = logging.getLogger("vicid.kernel")


@dataclass
class _Vip:
    index: int
    refs: int
    ours: bool  # False: the address existed before, we only count users


class VirtualIps:
    def __init__(self, routes: Routes) -> None:
        self._routes = routes
        self._vips: dict[IpAddress, _Vip] = {}

    @staticmethod
    def _bits(address: IpAddress) -> int:
        return 32 if address.version == 4 else 128

    async def add(self, address: IpAddress, index: int | None) -> None:
        """Install ADDRESS on link INDEX (None: where the system has it already)."""
        vip = self._vips.get(address)
        if vip is not None:
            vip.refs += 1
            log.debug("virtual IP %s is already installed", address)
            return
        present = await self._routes.interface_of(str(address))
        if present is not None:
            self._vips[address] = _Vip(present, 1, False)
            return
        if index is None:
            raise KernelError(f"no interface available, unable to install virtual IP {address}")
        try:
            added = await self._routes.add_address(index, str(address), self._bits(address))
        except OSError as exc:
            raise KernelError(f"adding virtual IP {address} failed: {exc}") from None
        self._vips[address] = _Vip(index, 1, added)
        log.debug("virtual IP %s installed on link %d", address, index)

    async def delete(self, address: IpAddress) -> None:
        vip = self._vips.get(address)
        if vip is None:
            log.debug("virtual IP %s not cached, unable to delete", address)
            return
        vip.refs -= 1
        if vip.refs > 0:
            return
        del self._vips[address]
        if vip.ours:
            await self._routes.del_address(vip.index, str(address), self._bits(address))
            log.debug("virtual IP %s removed", address)

    async def clear(self) -> None:
        """Remove every address we added (the backend shuts down)."""
        for address, vip in list(self._vips.items()):
            del self._vips[address]
            if vip.ours:
                try:
                    await self._routes.del_address(vip.index, str(address), self._bits(address))
                except OSError as exc:
                    log.warning("removing virtual IP %s failed: %s", address, exc)

    def installed(self) -> list[IpAddress]:
        return list(self._vips)
