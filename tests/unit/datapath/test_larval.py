"""ESP that arrives before its SA is installed (make-before-break reauthentication): held briefly
for SPIs the engine allocated, processed once the inbound SA is installed, else dropped."""

from __future__ import annotations

import pytest
import trio

from vicid.datapath.esp import EspCrypto, encap
from vicid.datapath.larval import LarvalQueue
from vicid.ike.wire.enums import EncrAlg as E

from .helpers import CAROL, MOON, ipv4, keys, sa
from .test_libipsec_port import start

FROM_MOON = ((MOON, 4500), (CAROL, 4500))


def test_holds_only_reserved_spis_and_releases_them_in_order():
    q = LarvalQueue({0xC001, 0xC002}.__contains__)
    assert not q.hold(0xDEAD, b"x", *FROM_MOON, now=0.0)  # not ours (e.g. a deleted SA): drop
    assert q.hold(0xC001, b"a", *FROM_MOON, now=0.0)
    assert q.hold(0xC002, b"b", *FROM_MOON, now=0.1)
    assert q.hold(0xC001, b"c", *FROM_MOON, now=0.2)
    assert [d for d, _, _ in q.release(0xC001, now=0.3)] == [b"a", b"c"]
    assert len(q) == 1 and q.release(0xC001, now=0.3) == []


def test_held_packets_expire_and_the_queue_is_bounded():
    q = LarvalQueue(lambda spi: True, limit=3, hold_time=1.0)
    for i in range(5):
        q.hold(0x100 + i, bytes([i]), *FROM_MOON, now=0.0)
    assert len(q) == 3 and q.expired == 2  # the oldest made room
    assert q.release(0x104, now=0.5) != []
    assert q.release(0x102, now=1.0) == [] and q.expired == 4 and len(q) == 0
    assert not LarvalQueue().hold(1, b"", *FROM_MOON, now=0.0)  # nobody said which SPIs are ours


def esp_from_moon(spi: int, sa_keys, inner: bytes, seq: int = 1) -> bytes:
    crypto = EspCrypto(sa_keys)
    return encap(crypto, spi, seq, inner, 4, crypto.counter_iv(seq))


@pytest.mark.trio
async def test_esp_before_its_inbound_sa_reaches_the_device_once_installed():
    async with trio.open_nursery() as nursery:
        port, _, _ = await start(nursery)
        port.larval.reserved = {0xC001}.__contains__
        gcm = keys(E.AES_GCM_16, bits=128)
        first, second = ipv4("198.51.100.1", "203.0.113.1", ident=1), ipv4("198.51.100.1", "203.0.113.1", ident=2)
        port.receive_esp(esp_from_moon(0xC001, gcm, first), *FROM_MOON)
        port.receive_esp(esp_from_moon(0xBEEF, gcm, first), *FROM_MOON)  # not allocated: dropped
        assert port.forwarder.drops["unknown_spi"] == 1 and len(port.larval) == 1
        await port.install_sa(sa(0xC001, True, gcm))
        port.receive_esp(esp_from_moon(0xC001, gcm, second, seq=2), *FROM_MOON)
        with trio.fail_after(2):
            assert await port._device.written.receive() == first
            assert await port._device.written.receive() == second
        assert len(port.larval) == 0 and not port.forwarder.drops["unknown_spi"] - 1
        nursery.cancel_scope.cancel()
