"""The KernelPort contract: backend selection, the effect dispatcher, and the recording fake."""

from __future__ import annotations

import logging

import pytest
import trio

from vicid.ike.effects import DeleteChildSa, DeletePolicy, Direction, InstallChildSa, SendDatagram
from vicid.ike.ts import parse_ts
from vicid.ike.wire.enums import EncrAlg as E
from vicid.kernel.fake import FakeKernel
from vicid.kernel.port import LIBIPSEC, NETLINK, KernelError, KernelExpire, KernelPort, execute, select_kernel

from ..datapath.helpers import MOON, keys, policy, sa


def settings(**values):
    return lambda key: values.get(key)


@pytest.mark.parametrize(("conf", "probe", "want"), [
    ({"charon.load": "random nonce kernel-libipsec kernel-netlink socket-default"}, None, LIBIPSEC),
    ({"charon.load": "random kernel-netlink kernel-libipsec"}, "no ESP", NETLINK),
    ({"charon.plugins.kernel-libipsec.load": "yes"}, None, LIBIPSEC),
    ({"charon.plugins.kernel-libipsec.load": "10"}, None, LIBIPSEC),
    ({"charon.plugins.kernel-netlink.load": "no"}, None, LIBIPSEC),
    ({"charon.plugins.kernel-netlink.load": "yes"}, "no ESP", NETLINK),
    ({}, None, NETLINK),
    ({}, "adding an ESP SA fails: Function not implemented", LIBIPSEC),
    ({"charon.load": "random nonce openssl"}, "no ESP", LIBIPSEC),
])
def test_select_kernel(conf, probe, want, caplog):
    caplog.set_level(logging.INFO, "vicid.kernel")
    probe_fn = None if probe is None and not conf else (lambda: probe)
    assert select_kernel(settings(**conf), probe_fn) == want
    (line,) = [r.getMessage() for r in caplog.records]
    assert line.startswith(f"using {want} as IPsec backend")
    if want == LIBIPSEC and probe and not conf.get("charon.load", "").count("kernel"):
        assert "the kernel has no ESP" in line and probe in line


@pytest.mark.trio
async def test_fake_records_in_order_and_asserts():
    fake = FakeKernel()
    assert isinstance(fake, KernelPort)
    gcm = keys(E.AES_GCM_16, bits=128)
    effects = [sa(0xC001, True, gcm), policy(Direction.IN), policy(Direction.OUT), sa(0xC002, False, gcm)]
    for eff in effects:
        await execute(fake, eff)
    fake.assert_sas_installed(0xC001, 0xC002)
    fake.assert_policies_installed(2)
    fake.assert_installed_before("install_sa in", "install_sa out")
    assert fake.kinds() == ["install_sa in 0000c001", "install_policy in", "install_policy out",
                            "install_sa out 0000c002"]
    await fake.apply(DeleteChildSa(0xC001, 3, (MOON, 4500), True))
    await execute(fake, DeletePolicy(1, Direction.IN, parse_ts("203.0.113.0/24"), parse_ts("198.51.100.0/24")))
    fake.assert_sas_installed(0xC002)
    fake.assert_policies_installed(1)
    with pytest.raises(AssertionError):
        fake.assert_sas_installed()
    with pytest.raises(TypeError):
        await execute(fake, SendDatagram(b"", (MOON, 500), (MOON, 500)))


@pytest.mark.trio
async def test_fake_failures_usage_and_events():
    fake = FakeKernel()
    fake.fail_next(InstallChildSa, "no room")
    with pytest.raises(KernelError, match="no room"):
        await fake.install_sa(sa(1, True, keys(E.AES_GCM_16, bits=128)))
    await fake.install_sa(sa(1, True, keys(E.AES_GCM_16, bits=128)))
    assert (await fake.query_sa(1)).packets == 0
    fake.set_usage(1, 840, 10, 1.5)
    assert (await fake.query_sa(1)) == (await fake.query_sa(1)) and (await fake.query_sa(1)).bytes == 840
    with pytest.raises(KernelError):
        await fake.query_sa(2)
    fake.inject(KernelExpire(1, hard=False))
    with trio.fail_after(1):
        assert await fake.events.receive() == KernelExpire(1, False)
    await fake.aclose()
    assert fake.closed and not fake.sas
