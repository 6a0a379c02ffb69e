"""The userspace ESP forwarder: TUN -> policy -> SA -> ESP -> UDP 4500, and back.

Outbound: a packet read from the TUN device is matched against the OUT policies; an IPsec policy
with an SA gets ESP-encapsulated and handed to the shell's ``send`` callback (the IKE socket on
port 4500 is shared, so ESP leaves from it). A policy without SA triggers an acquire; no policy,
or a pass/drop policy, drops the packet: nothing read from the TUN device is ever sent in clear.

Inbound: the shell passes every ESP datagram it receives on 4500 (the first four bytes, the SPI,
are non-zero) to :meth:`Forwarder.receive_esp`. It finds the SA by SPI, checks the replay window,
verifies and decrypts, marks the window, checks the inner packet against the SA's selectors and
queues it for the TUN device. Every failure is counted in ``drops`` by reason and never raises.

TUN and UDP sit behind tiny Protocols so tests run the forwarder on channel-backed fakes
(wireguard-go's ``tuntest.ChannelTUN``/``bindtest``).
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Protocol

import trio

from vicid.datapath.esp import EspError, decap, decode_header, encap
from vicid.datapath.ippacket import decode_flow, transport_join, transport_split, tunnel_next_header
from vicid.datapath.sadb import Sadb, SaEntry
from vicid.ike.effects import Endpoint
from vicid.kernel.port import KernelEvent, KernelExpire

log = logging.getLogger("vicid.datapath")

SendEsp = Callable[[bytes, Endpoint, Endpoint], Awaitable[None]]
SendEspNowait = Callable[[bytes, Endpoint, Endpoint], bool]  # False: would block, use SendEsp
IPPROTO_NONE = 59
TIMER_IDLE = 3600.0  # nothing expires: look again after this long (or when woken)
BATCH = 64  # packets moved per wakeup before the forwarder lets other tasks run


class PacketDevice(Protocol):
    """A TUN-like device that carries whole IP packets.

    It may also offer ``receive_nowait() -> bytes | None`` and ``send_nowait(packet) -> bool``
    (False: would block); the forwarder then moves bursts without a trio round trip per packet.
    """

    async def receive(self) -> bytes: ...
    async def send(self, packet: bytes) -> None: ...


class Forwarder:
    """Moves packets between a PacketDevice and ESP-in-UDP using one :class:`Sadb`."""

    def __init__(self, sadb: Sadb, device: PacketDevice, send: SendEsp,
                 events: trio.MemorySendChannel[KernelEvent], *,
                 rng: Callable[[int], bytes] = os.urandom,
                 clock: Callable[[], float] = trio.current_time, queue_size: int = 1024,
                 send_nowait: SendEspNowait | None = None) -> None:
        self.sadb = sadb
        self.device = device
        self._send = send
        self._send_nowait = send_nowait
        self._receive_nowait: Callable[[], bytes | None] | None = getattr(device, "receive_nowait", None)
        self._write_nowait: Callable[[bytes], bool] | None = getattr(device, "send_nowait", None)
        self._events = events
        self._rng = rng
        self._clock = clock
        self.drops: Counter[str] = Counter()
        self.stats: Counter[str] = Counter()
        self._to_device, self._from_esp = trio.open_memory_channel[bytes](queue_size)
        self._queued = 0  # packets in that channel: while any wait, new ones queue behind them
        self._wakeup = trio.Event()

    # --- outbound -------------------------------------------------------------------------------
    def encapsulate(self, packet: bytes) -> tuple[bytes, Endpoint, Endpoint] | None:
        """(ESP packet, src, dst) for one packet from the device, or None if it is dropped."""
        flow = decode_flow(packet)
        if flow is None:
            return self._drop_none("out_malformed")
        policy = self.sadb.lookup_policy(flow)
        if policy is None:
            return self._drop_none("out_no_policy")
        if policy.kind not in ("ipsec", "trap"):
            return self._drop_none(f"out_{policy.kind}_policy")
        now = self._clock()
        sa = self.sadb.outbound_sa(policy.reqid)
        if sa is None:
            acquire = self.sadb.acquire(policy, flow, now)
            if acquire is not None:
                log.info("no outbound SA for reqid {%d}, dropping packet and triggering acquire", policy.reqid)
                self._emit(acquire)
            return self._drop_none("out_no_sa")
        try:
            datagram = self._seal(sa, packet)
        except EspError as exc:
            return self._drop_none(exc.reason)
        self._emit_all(self.sadb.account(sa, flow.length, now))
        self.stats["packets_out"] += 1
        return datagram, sa.src, sa.dst

    def _seal(self, sa: SaEntry, packet: bytes) -> bytes:
        if sa.mode == "TRANSPORT":
            split = transport_split(packet)
            if split is None:
                raise EspError("out_malformed")
            next_header, payload = split
        else:
            next_header, payload = tunnel_next_header(packet), packet
        seq = sa.next_seq()
        crypto = sa.crypto
        iv = self._rng(crypto.iv_size) if crypto.needs_random_iv else crypto.counter_iv(seq, sa.iv_mask)
        return encap(crypto, sa.spi, seq, payload, next_header, iv)

    # --- inbound --------------------------------------------------------------------------------
    def decapsulate(self, data: bytes, src: Endpoint, dst: Endpoint) -> bytes | None:
        """The inner packet of one ESP datagram, or None (and a counted drop)."""
        try:
            spi, seq_low = decode_header(data)
        except EspError as exc:
            return self._drop_none(exc.reason)
        sa = self.sadb.inbound.get(spi)
        if sa is None:
            return self._drop_none("unknown_spi")
        replay = sa.replay
        seq = replay.infer(seq_low)
        if seq is None or not replay.check(seq):
            return self._drop_none("replay")
        try:
            payload = decap(sa.crypto, data, seq)
        except EspError as exc:
            return self._drop_none(exc.reason)
        replay.accept(seq)
        if sa.encap and src != sa.src:
            self.stats["peer_moved"] += 1  # NAT mapping changed; IKE (MOBIKE/NAT-T) handles it
        if payload.next_header == IPPROTO_NONE:
            return self._drop_none("dummy")
        inner = self._inner_packet(sa, payload.next_header, payload.data)
        if inner is None:
            return None
        flow = decode_flow(inner)
        if flow is None:
            return self._drop_none("in_malformed")
        if not self.sadb.inbound_allowed(sa, flow):
            return self._drop_none("in_policy")
        self._emit_all(self.sadb.account(sa, flow.length, self._clock()))
        self.stats["packets_in"] += 1
        return inner

    def _inner_packet(self, sa: SaEntry, next_header: int, data: bytes) -> bytes | None:
        if sa.mode == "TRANSPORT":
            return transport_join(sa.src[0].packed, sa.dst[0].packed, next_header, data)
        if next_header != tunnel_next_header(data) or not data:
            return self._drop_none("in_next_header")
        return data

    def receive_esp(self, data: bytes, src: Endpoint, dst: Endpoint) -> None:
        """Entry point for ESP datagrams from the shell's UDP 4500 socket. Never raises."""
        try:
            inner = self.decapsulate(data, src, dst)
        except Exception:  # a bug must not kill the shell's receive loop
            log.exception("ESP packet from %s dropped: internal error", src[0])
            self.drops["internal"] += 1
            return
        if inner is None:
            return
        # straight into the device unless it is busy or earlier packets still wait (order)
        if self._write_nowait is not None and not self._queued:
            try:
                if self._write_nowait(inner):
                    return
            except OSError as exc:
                self.drops["device_write"] += 1
                log.debug("writing to the TUN device failed: %s", exc)
                return
        try:
            self._to_device.send_nowait(inner)
        except trio.WouldBlock:
            self.drops["in_queue_full"] += 1
            return
        self._queued += 1

    # --- events ---------------------------------------------------------------------------------
    def _drop_none(self, reason: str) -> None:
        self.drops[reason] += 1
        log.debug("ESP datapath dropped a packet: %s", reason)
        return None

    def _emit(self, event: KernelEvent) -> None:
        try:
            self._events.send_nowait(event)
        except (trio.WouldBlock, trio.BrokenResourceError, trio.ClosedResourceError):
            self.drops["event_overflow"] += 1
            log.warning("kernel event lost (nobody reads them fast enough): %r", event)

    def _emit_all(self, events: list[KernelExpire]) -> None:
        for event in events:
            kind = "hard" if event.hard else "soft"
            log.info("%s lifetime of SA %08x (reqid {%d}) expired", kind, event.spi, event.reqid)
            self._emit(event)
        if events:
            self.wake()

    def wake(self) -> None:
        """Lifetimes changed (SA installed/deleted): re-arm the expiry timer."""
        self._wakeup.set()

    # --- tasks ----------------------------------------------------------------------------------
    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._outbound_loop)
            nursery.start_soon(self._inbound_loop)
            nursery.start_soon(self._lifetime_loop)
            task_status.started()

    async def _outbound_loop(self) -> None:
        while True:
            await self._forward_out(await self.device.receive())
            for _ in range(BATCH - 1):  # what else is queued, without a trio round trip each
                packet = self._receive_nowait() if self._receive_nowait is not None else None
                if packet is None:
                    break
                await self._forward_out(packet)
            await trio.lowlevel.checkpoint()  # a busy device must not starve the other tasks

    async def _forward_out(self, packet: bytes) -> None:
        try:
            result = self.encapsulate(packet)
        except Exception:
            log.exception("outbound packet dropped: internal error")
            self.drops["internal"] += 1
            return
        if result is None:
            return
        try:
            if self._send_nowait is None or not self._send_nowait(*result):
                await self._send(*result)
        except OSError as exc:
            self.drops["send_failed"] += 1
            log.debug("sending ESP to %s failed: %s", result[2][0], exc)

    async def _inbound_loop(self) -> None:
        async for inner in self._from_esp:
            self._queued -= 1
            try:
                await self.device.send(inner)
            except OSError as exc:
                self.drops["device_write"] += 1
                log.debug("writing to the TUN device failed: %s", exc)

    async def _lifetime_loop(self) -> None:
        while True:
            deadline = self.sadb.next_deadline()
            now = self._clock()
            timeout = TIMER_IDLE if deadline is None else max(0.0, deadline - now)
            self._wakeup = trio.Event()
            with trio.move_on_after(timeout):
                await self._wakeup.wait()
            self._emit_all(self.sadb.expire_due(self._clock()))
