"""A small trio vici client for the benchmark driver, on vicid's sans-I/O vici codec.

The driver needs what neither swanctl nor the blocking ``vici`` package gives: many requests
in flight against one daemon, and event arrival times. Requests on one session are sequential
(vici answers them in order); events come on a separate session.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import trio

from vicid.vici.wire import (
    FrameReader,
    Packet,
    PacketType,
    decode_message,
    decode_packet,
    encode_message,
    encode_packet,
)

Body = dict[str, Any]


class ViciError(RuntimeError):
    """The daemon refused a command or the session broke."""


class ViciSession:
    """One vici connection: ``await ViciSession.connect(path)``."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self._stream = stream
        self._reader = FrameReader(limit=16 * 1024 * 1024)
        self._packets: list[Packet] = []

    @classmethod
    async def connect(cls, path: str) -> ViciSession:
        return cls(await trio.open_unix_socket(path))

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def _next(self) -> Packet:
        while not self._packets:
            data = await self._stream.receive_some(65536)
            if not data:
                raise ViciError("vici session closed by the daemon")
            self._packets += [decode_packet(seg) for seg in self._reader.feed(data)]
        return self._packets.pop(0)

    async def _send(self, packet: Packet) -> None:
        await self._stream.send_all(encode_packet(packet))

    async def request(self, command: str, body: Body | None = None) -> Body:
        """One command; returns the decoded response body (events in between are dropped)."""
        await self._send(Packet(PacketType.CMD_REQUEST, command, encode_message(body or {})))
        while True:
            packet = await self._next()
            if packet.type == PacketType.CMD_RESPONSE:
                return decode_message(packet.body)
            if packet.type == PacketType.CMD_UNKNOWN:
                raise ViciError(f"unknown vici command {command!r}")

    async def checked(self, command: str, body: Body | None = None) -> Body:
        """A command whose response must say ``success = yes``."""
        answer = await self.request(command, body)
        if answer.get("success", b"yes") != b"yes":
            raise ViciError(f"{command} failed: {answer.get('errmsg', b'').decode(errors='replace')}")
        return answer

    async def register(self, event: str) -> None:
        await self._send(Packet(PacketType.EVENT_REGISTER, event))
        while True:
            packet = await self._next()
            if packet.type == PacketType.EVENT_CONFIRM:
                return
            if packet.type == PacketType.EVENT_UNKNOWN:
                raise ViciError(f"unknown vici event {event!r}")

    async def events(self) -> AsyncIterator[tuple[str, Body, float]]:
        """(event name, body, arrival time in perf_counter seconds) for registered events."""
        while True:
            packet = await self._next()
            if packet.type == PacketType.EVENT:
                yield packet.name, decode_message(packet.body), time.perf_counter()

    async def stream(self, command: str, event: str, body: Body | None = None) -> tuple[int, float]:
        """A streaming command (``list-sas``): register, request, count events; returns
        (events, seconds from request to response)."""
        await self.register(event)
        start = time.perf_counter()
        await self._send(Packet(PacketType.CMD_REQUEST, command, encode_message(body or {})))
        count = 0
        while True:
            packet = await self._next()
            if packet.type == PacketType.EVENT and packet.name == event:
                count += 1
            elif packet.type == PacketType.CMD_RESPONSE:
                elapsed = time.perf_counter() - start
                await self._send(Packet(PacketType.EVENT_UNREGISTER, event))
                while (await self._next()).type != PacketType.EVENT_CONFIRM:
                    pass
                return count, elapsed
