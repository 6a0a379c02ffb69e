"""ESP bursts through the NAT-T socket: UDP GSO on send, UDP GRO on receive (real sockets on
the loopback interface), and the forwarder's batched outbound path with its same-flow shortcut."""

from __future__ import annotations

import ipaddress
import socket

import pytest
import trio

from vicid.daemon.ike_socket import GSO_MAX_SEGMENTS, IkeSocket, _gso_run
from vicid.datapath.forwarder import Forwarder, flow_key

from .helpers import ipv4, keys
from .test_fastpath import BurstTun
from .test_forwarder import pair
from .test_offload import tcp_packet

LOCAL = ipaddress.ip_address("127.0.0.1")


def test_gso_runs():
    sizes = [100] * 3 + [60] + [100] * 2 + [120] + [50]
    datagrams = [bytes(n) for n in sizes]
    assert _gso_run(datagrams, 0) == 4  # equal sizes, a shorter one ends the run
    assert _gso_run(datagrams, 4) == 2  # a larger one starts a new run
    assert _gso_run(datagrams, 6) == 2
    assert _gso_run([bytes(10)] * 100, 0) == GSO_MAX_SEGMENTS
    assert _gso_run([bytes(1400)] * 60, 0) == 46  # within 64 KiB


@pytest.mark.trio
async def test_a_burst_goes_out_with_gso_and_comes_in_split():
    sender, receiver = IkeSocket(socket.AF_INET, 0), IkeSocket(socket.AF_INET, 0)
    await sender.open()
    await receiver.open()
    try:
        gro = receiver.enable_gro()
        burst = [bytes([n]) * 1000 for n in range(10)] + [b"\x0b" * 300, b"\x0c" * 1000, b"\x0d" * 20]
        src, dst = (LOCAL, sender.port), (LOCAL, receiver.port)
        assert sender.send_batch_nowait(burst, src, dst) == len(burst)
        got = []
        with trio.fail_after(5):
            while len(got) < len(burst):
                got.append(await receiver.receive())
        assert [g[0] for g in got] == burst  # in order, split back into the datagrams sent
        assert {g[1] for g in got} == {(LOCAL, sender.port)} and {g[2] for g in got} == {(LOCAL, receiver.port)}
        if gro and sender.gso:
            assert not receiver._segments  # the whole burst was handed out
    finally:
        sender.close()
        receiver.close()


@pytest.mark.trio
async def test_batched_outbound_keeps_order_and_counts():
    from vicid.ike.wire.enums import EncrAlg as E

    carol, moon = pair(keys(E.AES_GCM_16, bits=128))
    sent: list[tuple[bytes, tuple, tuple]] = []

    def send_batch(datagrams, src, dst) -> int:
        sent.extend((d, src, dst) for d in datagrams[:2])
        return min(2, len(datagrams))  # the socket takes two, the rest waits for send()

    tun = BurstTun()
    carol.tun = tun
    fwd = Forwarder(carol.sadb, tun, carol.send, carol.ev_send, rng=lambda n: bytes(n), send_batch=send_batch)

    async def slow(data, src, dst):
        sent.append((data, src, dst))

    fwd._send = slow
    flows = [tcp_packet(bytes([n]) * 100, seq=100 * n, flags=0x10) for n in range(5)]
    flows = [p[:12] + bytes([203, 0, 113, 1, 198, 51, 100, 1]) + p[20:] for p in flows]
    other = ipv4("203.0.113.1", "198.51.100.1")  # ICMP: another flow in the middle
    for packet in [*flows[:3], other, *flows[3:]]:
        tun.inject(packet)
    await fwd._forward_out_batch(await tun.receive())
    assert len(sent) == 6 and fwd.stats["packets_out"] == 6
    inner = [moon.fwd.decapsulate(*s) for s in sent]
    assert inner == [*flows[:3], other, *flows[3:]]
    assert carol.sadb.outbound_sa(1).packets == 6


def test_flow_key():
    packet = ipv4("203.0.113.1", "198.51.100.1")
    assert flow_key(packet) == packet[9:10] + packet[12:24]
    fragment = bytearray(packet)
    fragment[6] |= 0x20  # more fragments: the ports are not there to see
    assert flow_key(bytes(fragment)) is None
    assert flow_key(packet + b"\0") is None  # length not as stated
    assert flow_key(b"\x46" + packet[1:]) is None  # options


@pytest.mark.trio
async def test_same_flow_shortcut_stops_at_a_hard_limit():
    """A burst of one flow takes the shortcut past the policy lookup; once the SA's hard packet
    limit is reached mid-burst it is gone, and the rest of the burst finds no SA."""
    from vicid.datapath.sadb import Sadb
    from vicid.ike.effects import Direction
    from vicid.ike.wire.enums import EncrAlg as E
    from vicid.kernel.port import KernelExpire

    from .helpers import policy, sa

    sadb = Sadb(lambda n: bytes(n))
    sadb.install_sa(sa(0xC0000001, False, keys(E.AES_GCM_16, bits=128), packets_hard=3), 0)
    sadb.install_policy(policy(Direction.OUT))
    ev_send, events = trio.open_memory_channel(10)
    sent: list[bytes] = []
    tun = BurstTun()

    async def send(data, src, dst):
        sent.append(data)

    fwd = Forwarder(
        sadb, tun, send, ev_send, rng=lambda n: bytes(n), send_batch=lambda d, s, t: sent.extend(d) or len(d)
    )
    flows = [tcp_packet(b"x" * 100, seq=100 * n, flags=0x10) for n in range(5)]
    for packet in flows:
        tun.inject(packet[:12] + bytes([203, 0, 113, 1, 198, 51, 100, 1]) + packet[20:])
    await fwd._forward_out_batch(await tun.receive())
    assert len(sent) == 3 and fwd.stats["packets_out"] == 3 and fwd.drops["out_no_sa"] == 2
    expire = events.receive_nowait()
    assert isinstance(expire, KernelExpire) and expire.hard and expire.spi == 0xC0000001
