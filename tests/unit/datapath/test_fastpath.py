"""The forwarder's fast paths: bursts without a trio round trip per packet, in order, and the
per-packet caches (flow -> policy, SA limits, inbound selectors) that must never go stale."""

from __future__ import annotations

import ctypes
import os

import pytest
import trio

from vicid.datapath.forwarder import Forwarder
from vicid.datapath.ippacket import decode_flow
from vicid.datapath.sadb import Sadb
from vicid.datapath.tun import TunDevice
from vicid.ike.effects import DeletePolicy, Direction
from vicid.ike.ts import parse_ts
from vicid.ike.wire.enums import EncrAlg as E

from .helpers import ipv4, keys, policy, sa
from .test_forwarder import ChannelTun, pair

GCM = keys(E.AES_GCM_16, bits=128)
CLONE_NEWNET = 0x40000000


class BurstTun(ChannelTun):
    """A device with the optional non-blocking calls; ``busy`` makes writes would-block."""

    def __init__(self) -> None:
        super().__init__()
        self.busy = False
        self.direct: list[bytes] = []

    def receive_nowait(self) -> bytes | None:
        try:
            return self._in_recv.receive_nowait()
        except trio.WouldBlock:
            return None

    def send_nowait(self, packet: bytes) -> bool:
        if self.busy:
            return False
        self.direct.append(packet)
        return True


def packets(n: int) -> list[bytes]:
    return [ipv4("203.0.113.1", "198.51.100.1", ident=i) for i in range(n)]


def burst_forwarder(peer, send_nowait) -> BurstTun:
    """Rebuild PEER's forwarder on a BurstTun with SEND_NOWAIT as the socket's fast path."""
    tun = BurstTun()
    peer.tun = tun
    peer.fwd = Forwarder(peer.sadb, tun, peer.send, peer.ev_send, rng=lambda n: bytes(n), send_nowait=send_nowait)
    return tun


@pytest.mark.trio
async def test_a_burst_goes_out_through_send_nowait_in_order():
    carol, moon = pair(GCM)
    fast: list[tuple] = []
    tun = burst_forwarder(carol, lambda data, src, dst: fast.append((data, src, dst)) is None)
    async with trio.open_nursery() as nursery:
        await nursery.start(carol.fwd.run)
        for p in packets(100):
            tun.inject(p)
        with trio.fail_after(2):
            while len(fast) < 100:
                await trio.sleep(0.01)
        nursery.cancel_scope.cancel()
    assert not carol.sent  # the awaited send was never needed; 100 > BATCH: nothing lost between batches
    assert [moon.fwd.decapsulate(*d) for d in fast] == packets(100)


@pytest.mark.trio
async def test_a_full_socket_falls_back_to_the_awaited_send():
    carol, moon = pair(GCM)
    tun = burst_forwarder(carol, lambda data, src, dst: False)
    async with trio.open_nursery() as nursery:
        for p in (carol, moon):
            await nursery.start(p.fwd.run)
        for p in packets(3):
            tun.inject(p)
        with trio.fail_after(2):
            got = [await moon.tun.written.receive() for _ in range(3)]
        nursery.cancel_scope.cancel()
    assert len(carol.sent) == 3 and got == packets(3)


@pytest.mark.trio
async def test_inbound_writes_directly_and_keeps_order_when_the_device_is_busy():
    carol, moon = pair(GCM)
    tun = burst_forwarder(moon, None)
    esp = [carol.fwd.encapsulate(p) for p in packets(6)]
    for datagram in esp[:2]:
        moon.fwd.receive_esp(*datagram)
    assert tun.direct == packets(6)[:2]
    tun.busy = True
    moon.fwd.receive_esp(*esp[2])  # queued for the awaited writer
    tun.busy = False
    moon.fwd.receive_esp(*esp[3])  # must queue behind it, not overtake it
    async with trio.open_nursery() as nursery:
        await nursery.start(moon.fwd.run)
        with trio.fail_after(2):
            got = [await tun.written.receive() for _ in range(2)]
        for datagram in esp[4:]:  # the queue is empty again: direct writes resume
            moon.fwd.receive_esp(*datagram)
        nursery.cancel_scope.cancel()
    assert got == packets(6)[2:4] and tun.direct[2:] == packets(6)[4:]


def test_flow_cache_follows_policy_changes():
    db = Sadb(lambda n: bytes(n))
    db.install_policy(policy(Direction.OUT, remote="0.0.0.0/0", reqid=1))
    flow = decode_flow(ipv4("203.0.113.1", "198.51.100.53"))
    assert db.lookup_policy(flow).reqid == 1
    db.install_policy(policy(Direction.OUT, remote="198.51.100.0/24", reqid=2))  # more specific
    assert db.lookup_policy(flow).reqid == 2
    db.delete_policy(DeletePolicy(2, Direction.OUT, parse_ts("203.0.113.0/24"), parse_ts("198.51.100.0/24")))
    assert db.lookup_policy(flow).reqid == 1
    db.delete_policy(DeletePolicy(1, Direction.OUT, parse_ts("203.0.113.0/24"), parse_ts("0.0.0.0/0")))
    assert db.lookup_policy(flow) is None


def test_limits_still_fire_with_the_per_packet_shortcut():
    db = Sadb(lambda n: bytes(n))
    entry = db.install_sa(sa(0x1, False, GCM, bytes_soft=1000, bytes_hard=2000, packets_soft=0), 0)
    events = [db.account(entry, 300, 1.0) for _ in range(7)]
    soft = [i for i, e in enumerate(events) if e and not e[0].hard]
    hard = [i for i, e in enumerate(events) if e and e[0].hard]
    assert soft == [3] and hard == [6]  # 1200 >= 1000, then 2100 >= 2000
    timed = db.install_sa(sa(0x2, False, GCM, lifetime_soft=10, lifetime_hard=20), 0)
    assert db.account(timed, 1, 5.0) == []
    assert [e.hard for e in db.account(timed, 1, 10.5)] == [False]
    assert [e.hard for e in db.account(timed, 1, 21.0)] == [True]


@pytest.mark.trio
async def test_inbound_selector_memo_is_per_flow():
    carol, moon = pair(GCM)
    good = carol.fwd.encapsulate(ipv4("203.0.113.1", "198.51.100.1"))
    assert moon.fwd.decapsulate(*good) is not None
    carol.sadb.outbound_sa(1).local_ts = ()
    bad = carol.fwd._seal(carol.sadb.outbound_sa(1), ipv4("192.0.2.99", "198.51.100.1"))
    assert moon.fwd.decapsulate(bad, *good[1:]) is None and moon.fwd.drops["in_policy"] == 1


def test_tun_device_nowait_calls():
    if not os.path.exists("/dev/net/tun") or os.geteuid() != 0:
        pytest.skip("needs root and /dev/net/tun")
    from tests.unit.kernel.netns import namespace

    libc = ctypes.CDLL(None, use_errno=True)
    with namespace() as ns:
        fd_ns = os.open(f"/run/netns/{ns}", os.O_RDONLY)
        own = os.open("/proc/self/ns/net", os.O_RDONLY)
        try:
            assert libc.setns(fd_ns, CLONE_NEWNET) == 0  # the device lives and dies in NS
            tun = TunDevice.open("vicidtest%d")
            try:
                assert tun.receive_nowait() is None  # nothing queued: no wait, no exception
                with pytest.raises(OSError):  # a device that is down refuses packets (EIO)
                    tun.send_nowait(ipv4("203.0.113.1", "198.51.100.1"))
            finally:
                tun.close()
        finally:
            libc.setns(own, CLONE_NEWNET)
            os.close(own)
            os.close(fd_ns)
