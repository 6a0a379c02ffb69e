"""Virtual IPs on a link are reference counted; addresses the system had are never removed."""

from __future__ import annotations

from ipaddress import ip_address

import pytest

from vicid.ike.effects import DeleteVirtualIp, InstallVirtualIp
from vicid.kernel.fake import FakeKernel
from vicid.kernel.port import KernelError, execute
from vicid.kernel.vips import VirtualIps

VIP, VIP6, HOST = ip_address("203.0.113.65"), ip_address("2001:db8:1::1"), ip_address("192.0.2.3")


class FakeRoutes:
    def __init__(self, present: dict[str, int] | None = None) -> None:
        self.addrs: dict[str, tuple[int, int]] = {a: (i, 32) for a, i in (present or {}).items()}
        self.calls: list[tuple] = []

    async def interface_of(self, address: str) -> int | None:
        found = self.addrs.get(address)
        return found[0] if found else None

    async def add_address(self, index: int, address: str, prefixlen: int) -> bool:
        self.calls.append(("add", index, address, prefixlen))
        self.addrs[address] = (index, prefixlen)
        return True

    async def del_address(self, index: int, address: str, prefixlen: int) -> None:
        self.calls.append(("del", index, address, prefixlen))
        self.addrs.pop(address, None)


@pytest.mark.trio
async def test_added_once_removed_with_the_last_user():
    routes = FakeRoutes()
    vips = VirtualIps(routes)  # type: ignore[arg-type]
    await vips.add(VIP, 7)
    await vips.add(VIP, 7)  # a reauthentication installs it again
    await vips.add(VIP6, 7)
    assert routes.calls == [("add", 7, "203.0.113.65", 32), ("add", 7, "2001:db8:1::1", 128)]
    await vips.delete(VIP)
    assert VIP in vips.installed() and len(routes.calls) == 2
    await vips.delete(VIP)
    assert routes.calls[-1] == ("del", 7, "203.0.113.65", 32) and vips.installed() == [VIP6]
    await vips.delete(VIP)  # not ours any more: nothing happens
    await vips.clear()
    assert routes.calls[-1] == ("del", 7, "2001:db8:1::1", 128) and vips.installed() == []


@pytest.mark.trio
async def test_existing_address_is_counted_but_kept():
    routes = FakeRoutes({"203.0.113.65": 2})
    vips = VirtualIps(routes)  # type: ignore[arg-type]
    await vips.add(VIP, 7)
    await vips.delete(VIP)
    assert routes.calls == [] and "203.0.113.65" in routes.addrs


@pytest.mark.trio
async def test_no_interface_is_an_error():
    with pytest.raises(KernelError, match="no interface available"):
        await VirtualIps(FakeRoutes()).add(VIP, None)  # type: ignore[arg-type]


@pytest.mark.trio
async def test_fake_kernel_counts_virtual_ips():
    fake = FakeKernel()
    for effect in (InstallVirtualIp(VIP, HOST), InstallVirtualIp(VIP, HOST), DeleteVirtualIp(VIP)):
        await execute(fake, effect)
    assert fake.vips == {VIP: 1} and fake.kinds() == ["add_ip 203.0.113.65"] * 2 + ["del_ip 203.0.113.65"]
