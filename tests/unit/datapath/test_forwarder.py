"""The forwarder on channel-backed fakes: carol's and moon's datapaths wired back to back."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
import trio
import trio.testing

from vicid.datapath.forwarder import Forwarder
from vicid.datapath.sadb import Sadb
from vicid.ike.effects import Direction
from vicid.ike.wire.enums import EncrAlg as E
from vicid.ike.wire.enums import IntegAlg as I
from vicid.kernel.port import KernelAcquire, KernelExpire

from .helpers import CAROL, MOON, ipv4, ipv6, keys, mirror, policy, sa, udp


class ChannelTun:
    """wireguard-go's tuntest.ChannelTUN: ``inject`` is what the kernel routes in, ``written`` what we write."""

    def __init__(self) -> None:
        self._in_send, self._in_recv = trio.open_memory_channel[bytes](100)
        self.written_send, self.written = trio.open_memory_channel[bytes](100)

    def inject(self, packet: bytes) -> None:
        self._in_send.send_nowait(packet)

    async def receive(self) -> bytes:
        return await self._in_recv.receive()

    async def send(self, packet: bytes) -> None:
        await self.written_send.send(packet)


class Peer:
    def __init__(self, name: str) -> None:
        self.name = name
        self.tun = ChannelTun()
        self.sadb = Sadb(lambda n: bytes(n))
        self.ev_send, self.events = trio.open_memory_channel(100)
        self.sent: list[tuple[bytes, tuple, tuple]] = []
        self.other: Peer | None = None
        self.fwd = Forwarder(self.sadb, self.tun, self.send, self.ev_send, rng=random.Random(1).randbytes)

    async def send(self, data: bytes, src: tuple, dst: tuple) -> None:
        self.sent.append((data, src, dst))
        if self.other is not None:
            self.other.fwd.receive_esp(data, src, dst)


def pair(sa_keys, mode: str = "TUNNEL", local: str = "203.0.113.0/24", remote: str = "198.51.100.0/24", **kw):
    carol, moon = Peer("carol"), Peer("moon")
    carol.other, moon.other = moon, carol
    c_out = sa(0xC0000001, False, sa_keys, mode=mode, local=local, remote=remote, **kw)
    c_in = sa(0xC0000002, True, sa_keys, mode=mode, local=local, remote=remote, **kw)
    for eff in (c_out, c_in):
        carol.sadb.install_sa(eff, 0)
        moon.sadb.install_sa(mirror(eff), 0)
    carol.sadb.install_policy(policy(Direction.OUT, local=local, remote=remote, mode=mode))
    moon.sadb.install_policy(replace(policy(Direction.OUT, local=remote, remote=local, mode=mode),
                                     src=MOON, dst=CAROL))
    return carol, moon


@pytest.mark.trio
@pytest.mark.parametrize(("encr", "integ", "bits"), [(E.AES_GCM_16, 0, 256), (E.CHACHA20_POLY1305, 0, 0),
                                                      (E.AES_CBC, I.HMAC_SHA2_256_128, 128)])
async def test_ping_through_the_tunnel(encr, integ, bits):
    carol, moon = pair(keys(encr, integ, bits))
    async with trio.open_nursery() as nursery:
        for p in (carol, moon):
            await nursery.start(p.fwd.run)
        request = ipv4("203.0.113.1", "198.51.100.1")
        carol.tun.inject(request)
        with trio.fail_after(2):
            assert await moon.tun.written.receive() == request
        reply = ipv4("198.51.100.1", "203.0.113.1", payload=b"\0\0\0\0\x12\x34\0\x01" + b"x" * 48)
        moon.tun.inject(reply)
        with trio.fail_after(2):
            assert await carol.tun.written.receive() == reply
        data, src, dst = carol.sent[0]
        assert (src, dst) == ((CAROL, 4500), (MOON, 4500)) and data[:4] == b"\xc0\0\0\x01"
        assert carol.fwd.stats["packets_out"] == 1 and moon.fwd.stats["packets_in"] == 1
        assert carol.sadb.find(0xC0000001).usage(trio.current_time()).packets == 1
        assert not carol.fwd.drops and not moon.fwd.drops
        nursery.cancel_scope.cancel()


@pytest.mark.trio
async def test_ipv6_and_transport_mode():
    carol, moon = pair(keys(E.AES_GCM_16, bits=128), mode="TRANSPORT", local="192.0.2.3/32", remote="192.0.2.2/32")
    async with trio.open_nursery() as nursery:
        for p in (carol, moon):
            await nursery.start(p.fwd.run)
        packet = ipv4("192.0.2.3", "192.0.2.2", 17, udp(1234, 5678, b"transport"))
        carol.tun.inject(packet)
        with trio.fail_after(2):
            got = await moon.tun.written.receive()
        assert got[9] == 17 and got[20:] == udp(1234, 5678, b"transport") and got[12:20] == packet[12:20]
        nursery.cancel_scope.cancel()
    c6, m6 = pair(keys(E.AES_GCM_16, bits=128), local="2001:db8:1::/48", remote="2001:db8:2::/48")
    packet = ipv6("2001:db8:1::1", "2001:db8:2::1")
    datagram, src, dst = c6.fwd.encapsulate(packet)
    assert m6.fwd.decapsulate(datagram, src, dst) == packet


@pytest.mark.trio
async def test_bad_input_is_dropped_and_counted():
    carol, moon = pair(keys(E.AES_GCM_16, bits=128))
    datagram, src, dst = carol.fwd.encapsulate(ipv4("203.0.113.1", "198.51.100.1"))
    fwd = moon.fwd
    assert fwd.decapsulate(datagram, src, dst) is not None
    assert fwd.decapsulate(datagram, src, dst) is None  # replayed
    tampered = bytearray(carol.fwd.encapsulate(ipv4("203.0.113.1", "198.51.100.1"))[0])
    tampered[-1] ^= 0xFF
    assert fwd.decapsulate(bytes(tampered), src, dst) is None
    assert fwd.decapsulate(b"\x12\x34\x56\x78" + bytes(40), src, dst) is None  # unknown SPI
    assert fwd.decapsulate(b"\xc0\0\0\x01\0", src, dst) is None  # malformed
    # authentic, but the inner packet is outside the SA's selectors
    spoofed = carol.fwd.encapsulate(ipv4("203.0.113.1", "198.51.100.1"))
    carol.sadb.outbound_sa(1).local_ts = ()
    inner_bad = carol.fwd._seal(carol.sadb.outbound_sa(1), ipv4("192.0.2.99", "198.51.100.1"))
    assert fwd.decapsulate(inner_bad, src, dst) is None
    assert fwd.decapsulate(spoofed[0], src, dst) is not None
    assert dict(fwd.drops) == {"replay": 1, "auth": 1, "unknown_spi": 1, "malformed": 1, "in_policy": 1}
    # the replayed/forged packets never moved the window: the next real one still passes
    assert fwd.decapsulate(carol.fwd.encapsulate(ipv4("203.0.113.1", "198.51.100.1"))[0], src, dst)


@pytest.mark.trio
async def test_receive_esp_survives_garbage():
    carol, moon = pair(keys(E.AES_CBC, I.HMAC_SHA1_96, 128))
    rng = random.Random(7)
    good = carol.fwd.encapsulate(ipv4("203.0.113.1", "198.51.100.1"))[0]
    for _ in range(2000):
        data = bytearray(good[:rng.randint(0, len(good))] if rng.random() < 0.5 else rng.randbytes(rng.randint(0, 80)))
        for _ in range(rng.randint(0, 3)):
            if data:
                data[rng.randrange(len(data))] = rng.randrange(256)
        moon.fwd.receive_esp(bytes(data), (CAROL, 4500), (MOON, 4500))
    assert moon.fwd.drops["internal"] == 0
    assert moon.tun.written.statistics().current_buffer_used <= 1


@pytest.mark.trio
async def test_nothing_is_sent_without_an_ipsec_policy():
    carol, _ = pair(keys(E.AES_GCM_16, bits=128))
    assert carol.fwd.encapsulate(ipv4("203.0.113.1", "192.0.2.50")) is None
    # charon's classes: a pass shunt beats an overlapping drop shunt whatever their sizes
    carol.sadb.install_policy(policy(Direction.OUT, remote="192.0.2.0/28", kind="pass", reqid=9))
    carol.sadb.install_policy(policy(Direction.OUT, remote="192.0.2.0/24", kind="drop", reqid=9))
    assert carol.fwd.encapsulate(ipv4("203.0.113.1", "192.0.2.5")) is None
    assert carol.fwd.encapsulate(ipv4("203.0.113.1", "192.0.2.50")) is None
    assert carol.fwd.encapsulate(b"\x60garbage") is None
    assert dict(carol.fwd.drops) == {"out_no_policy": 1, "out_pass_policy": 1, "out_drop_policy": 1,
                                     "out_malformed": 1}


@pytest.mark.trio
async def test_trap_policy_triggers_one_acquire():
    carol, _ = pair(keys(E.AES_GCM_16, bits=128))
    carol.sadb.install_policy(policy(Direction.OUT, remote="192.0.2.0/24", kind="trap", reqid=5))
    for _ in range(3):
        assert carol.fwd.encapsulate(ipv4("203.0.113.1", "192.0.2.50")) is None
    event = carol.events.receive_nowait()
    assert isinstance(event, KernelAcquire) and event.reqid == 5 and str(event.dst_ts) == "192.0.2.50/32[icmp]"
    with pytest.raises(trio.WouldBlock):
        carol.events.receive_nowait()
    assert carol.fwd.drops["out_no_sa"] == 3


@pytest.mark.trio
async def test_lifetimes_expire_on_time(autojump_clock):
    carol = Peer("carol")
    carol.sadb.install_sa(sa(0x11, True, keys(E.AES_GCM_16, bits=128), lifetime_soft=50, lifetime_hard=60), 0)
    async with trio.open_nursery() as nursery:
        await nursery.start(carol.fwd.run)
        carol.sadb.install_sa(sa(0x12, False, keys(E.AES_GCM_16, bits=128), lifetime_soft=20, lifetime_hard=30),
                              trio.current_time())
        carol.fwd.wake()
        got = []
        with trio.fail_after(100):
            for _ in range(4):
                ev = await carol.events.receive()
                got.append((round(trio.current_time()), ev.spi, ev.hard))
        assert all(isinstance(e, KernelExpire) for e in [ev])
        assert got == [(20, 0x12, False), (30, 0x12, True), (50, 0x11, False), (60, 0x11, True)]
        assert not carol.sadb.inbound and not carol.sadb.outbound
        nursery.cancel_scope.cancel()


@pytest.mark.trio
async def test_sequence_numbers_never_cycle():
    carol, _ = pair(keys(E.AES_GCM_16, bits=128))
    carol.sadb.outbound_sa(1).seq = (1 << 32) - 1
    assert carol.fwd.encapsulate(ipv4("203.0.113.1", "198.51.100.1")) is None
    assert carol.fwd.drops["seq_exhausted"] == 1
