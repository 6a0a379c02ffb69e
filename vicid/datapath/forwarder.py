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
# a burst from SRC to DST in one go (UDP GSO); returns how many were sent, the rest go by SendEsp
SendEspBatch = Callable[[list[bytes], Endpoint, Endpoint], int]
IPPROTO_NONE = 59
TIMER_IDLE = 3600.0  # nothing expires: look again after this long (or when woken)
BATCH = 64  # packets moved per wakeup before the forwarder lets other tasks run


def flow_key(packet: bytes) -> bytes | None:
    """Protocol, addresses and ports of an IPv4 packet whose flow is plain to see (no options,
    not a fragment, length as stated): packets with equal keys match the same policies and
    selectors. None for anything else (then the full lookup runs)."""
    if len(packet) < 24 or packet[0] != 0x45 or packet[6] & 0x3F or packet[7]:
        return None
    if packet[2] << 8 | packet[3] != len(packet):
        return None
    return packet[9:10] + packet[12:24]


class PacketDevice(Protocol):
    """A TUN-like device that carries whole IP packets.

    It may also offer ``receive_nowait() -> bytes | None`` and ``send_nowait(packet) -> bool``
    (False: would block); the forwarder then moves bursts without a trio round trip per packet.
    With ``send_many_nowait(packets) -> int`` (how many were dropped) decrypted packets are
    collected while a burst of ESP comes in and written together once the burst is over.
    """

    async def receive(self) -> bytes: ...
    async def send(self, packet: bytes) -> None: ...


class Forwarder:
    """Moves packets between a PacketDevice and ESP-in-UDP using one :class:`Sadb`."""

    def __init__(self, sadb: Sadb, device: PacketDevice, send: SendEsp,
                 events: trio.MemorySendChannel[KernelEvent], *,
                 rng: Callable[[int], bytes] = os.urandom,
                 clock: Callable[[], float] = trio.current_time, queue_size: int = 1024,
                 send_nowait: SendEspNowait | None = None, send_batch: SendEspBatch | None = None) -> None:
        self.sadb = sadb
        self.device = device
        self._send = send
        self._send_nowait = send_nowait
        self._receive_nowait: Callable[[], bytes | None] | None = getattr(device, "receive_nowait", None)
        self._write_nowait: Callable[[bytes], bool] | None = getattr(device, "send_nowait", None)
        self._write_many: Callable[[list[bytes]], int] | None = getattr(device, "send_many_nowait", None)
        self._send_batch = send_batch
        self._pending: list[bytes] = []  # decrypted packets of the current burst (with _write_many)
        self._flush_wanted = trio.Event()
        self._in_sa: SaEntry | None = None  # with _in_key: the last inner flow SA's selectors allowed
        self._in_key: bytes | None = None
        self._events = events
        self._rng = rng
        self._clock = clock
        self.drops: Counter[str] = Counter()
        self.stats: Counter[str] = Counter()
        self._to_device, self._from_esp = trio.open_memory_channel[bytes](queue_size)
        self._queued = 0  # packets in that channel: while any wait, new ones queue behind them
        # ESP for an SPI without SA: the port may keep it for an SA being set up (larval.py)
        self.hold_unknown: Callable[[int, bytes, Endpoint, Endpoint], bool] | None = None
        self._wakeup = trio.Event()

    # --- outbound -------------------------------------------------------------------------------
    def encapsulate(self, packet: bytes) -> tuple[bytes, Endpoint, Endpoint] | None:
        """(ESP packet, src, dst) for one packet from the device, or None if it is dropped."""
        sealed = self._encapsulate(packet)
        return None if sealed is None else (sealed[0], sealed[1].src, sealed[1].dst)

    def _encapsulate(self, packet: bytes) -> tuple[bytes, SaEntry] | None:
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
        return datagram, sa

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
            if self.hold_unknown is not None and self.hold_unknown(spi, data, src, dst):
                return None  # an SA being set up: processed once it is installed
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
        key = flow_key(inner)
        if key is not None and sa is self._in_sa and key == self._in_key:
            length = len(inner)  # the flow just found inside this SA's selectors
        else:
            flow = decode_flow(inner)
            if flow is None:
                return self._drop_none("in_malformed")
            if not self.sadb.inbound_allowed(sa, flow):
                return self._drop_none("in_policy")
            length = flow.length
            # remembered only when the SA's own selectors decided (they never change; policies may)
            known = key is not None and sa.local_ts and sa.remote_ts
            self._in_sa, self._in_key = (sa, key) if known else (None, None)
        expired = self.sadb.account(sa, length, self._clock())
        if expired:
            self._emit_all(expired)
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
        if self._write_many is not None:  # written with the rest of the burst (see _flush_loop)
            self._pending.append(inner)
            if len(self._pending) == 1:
                self._flush_wanted.set()
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

    def flush(self) -> None:
        """Write the packets decrypted so far (the device merges TCP segments)."""
        packets, self._pending = self._pending, []
        if not packets or self._write_many is None:
            return
        try:
            dropped = self._write_many(packets)
        except OSError as exc:
            dropped = len(packets)
            log.debug("writing to the TUN device failed: %s", exc)
        if dropped:
            self.drops["device_write"] += dropped

    def wake(self) -> None:
        """Lifetimes changed (SA installed/deleted): re-arm the expiry timer."""
        self._wakeup.set()

    # --- tasks ----------------------------------------------------------------------------------
    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        if self._clock is trio.current_time:  # the same clock, two calls fewer per packet
            self._clock = trio.lowlevel.current_clock().current_time
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._outbound_loop)
            nursery.start_soon(self._inbound_loop)
            nursery.start_soon(self._lifetime_loop)
            if self._write_many is not None:
                nursery.start_soon(self._flush_loop)
            task_status.started()

    async def _outbound_loop(self) -> None:
        while True:
            packet: bytes | None = await self.device.receive()
            if self._send_batch is not None:
                await self._forward_out_batch(packet)
            else:
                await self._forward_out(packet)
                for _ in range(BATCH - 1):  # what else is queued, without a trio round trip each
                    packet = self._receive_nowait() if self._receive_nowait is not None else None
                    if packet is None:
                        break
                    await self._forward_out(packet)
            await trio.lowlevel.checkpoint()  # a busy device must not starve the other tasks

    async def _forward_out_batch(self, packet: bytes | None) -> None:
        """Encrypt what the device has queued (up to BATCH), then send runs of datagrams to the
        same peer with one call each (the shell uses UDP GSO)."""
        out: list[tuple[bytes, Endpoint, Endpoint]] = []
        now = self._clock()
        last_key: bytes | None = None  # the flow of the packet before, and the SA it went by
        last_sa: SaEntry | None = None
        while packet is not None:
            try:
                key = flow_key(packet)
                if key is not None and key == last_key and last_sa is not None:
                    # the next segment of the same flow (TSO): same policy, same SA
                    datagram = self._seal(last_sa, packet)
                    self.stats["packets_out"] += 1
                    out.append((datagram, last_sa.src, last_sa.dst))
                    expired = self.sadb.account(last_sa, len(packet), now)
                    if expired:  # a limit was reached: the next packet looks again
                        self._emit_all(expired)
                        last_key = last_sa = None
                else:
                    sealed = self._encapsulate(packet)
                    last_key, last_sa = (key, sealed[1]) if sealed is not None else (None, None)
                    if sealed is not None:
                        out.append((sealed[0], sealed[1].src, sealed[1].dst))
            except EspError as exc:
                self._drop_none(exc.reason)
                last_key = last_sa = None
            except Exception:
                log.exception("outbound packet dropped: internal error")
                self.drops["internal"] += 1
                last_key = last_sa = None
            if len(out) >= BATCH or self._receive_nowait is None:
                break
            packet = self._receive_nowait()
        start = 0
        while start < len(out):
            _, src, dst = out[start]
            end = start + 1
            while end < len(out) and out[end][1] is src and out[end][2] is dst:
                end += 1
            datagrams = [d for d, _, _ in out[start:end]]
            try:
                sent = self._send_batch(datagrams, src, dst)
                for datagram in datagrams[sent:]:
                    await self._send(datagram, src, dst)
            except OSError as exc:
                self.drops["send_failed"] += 1
                log.debug("sending ESP to %s failed: %s", dst[0], exc)
            start = end

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

    async def _flush_loop(self) -> None:
        """Runs once the task that passed a burst of ESP in yields: the burst is over."""
        while True:
            await self._flush_wanted.wait()
            self._flush_wanted = trio.Event()
            self.flush()

    async def _lifetime_loop(self) -> None:
        while True:
            deadline = self.sadb.next_deadline()
            now = self._clock()
            timeout = TIMER_IDLE if deadline is None else max(0.0, deadline - now)
            self._wakeup = trio.Event()
            with trio.move_on_after(timeout):
                await self._wakeup.wait()
            self._emit_all(self.sadb.expire_due(self._clock()))
