"""Per-client vici protocol state, sans-I/O: bytes in, segments out.

Packets of one client are handled strictly in order, as charon does. Streamed events produced by a
command go out before its response, and only if this client registered for them. Malformed input
raises :class:`~vicid.vici.wire.ViciError`; the shell then logs it once and closes this client only.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

from vicid.vici.dispatcher import Body, Deferred, Dispatcher, Request
from vicid.vici.wire import (
    MESSAGE_SIZE_MAX,
    FrameReader,
    Packet,
    PacketType,
    ViciError,
    decode_message,
    decode_packet,
    encode_message,
    encode_packet,
)

log = logging.getLogger("vicid.vici")

_CLIENT_TYPES = {PacketType.CMD_REQUEST, PacketType.EVENT_REGISTER, PacketType.EVENT_UNREGISTER}


class ViciSession:
    """One connected vici client."""

    def __init__(self, dispatcher: Dispatcher, state: Any, peer: str = "client",
                 on_register: Callable[[str, int], None] | None = None) -> None:
        self.dispatcher = dispatcher
        self.state = state
        self.peer = peer
        self.reader = FrameReader()
        # Registering twice means two deliveries (charon keeps duplicates), hence a Counter.
        self.registrations: Counter[str] = Counter()
        self.on_register = on_register  # (event, +1/-1): the server counts listeners over clients

    def receive(self, data: bytes) -> list[bytes | Deferred]:
        """Feed received bytes; return framed segments to send, in order. A Deferred stands for
        a response (and control-log events) still to come; later items wait behind it."""
        out: list[bytes | Deferred] = []
        for segment in self.reader.feed(data):
            out.extend(self.handle_packet(decode_packet(segment)))
        return out

    def handle_packet(self, packet: Packet) -> list[bytes | Deferred]:
        if packet.type not in _CLIENT_TYPES:
            raise ViciError(f"{packet.type.name} packet is not valid from a client")
        if packet.type == PacketType.EVENT_REGISTER:
            return [self._register(packet.name)]
        if packet.type == PacketType.EVENT_UNREGISTER:
            return [self._unregister(packet.name)]
        return self._command(packet.name, decode_message(packet.body))

    def _register(self, name: str) -> bytes:
        if name not in self.dispatcher.events:
            return encode_packet(Packet(PacketType.EVENT_UNKNOWN))
        self.registrations[name] += 1
        if self.on_register is not None:
            self.on_register(name, 1)
        return encode_packet(Packet(PacketType.EVENT_CONFIRM))

    def _unregister(self, name: str) -> bytes:
        if self.registrations[name] <= 0:
            return encode_packet(Packet(PacketType.EVENT_UNKNOWN))
        self.registrations[name] -= 1
        if self.on_register is not None:
            self.on_register(name, -1)
        return encode_packet(Packet(PacketType.EVENT_CONFIRM))

    def _command(self, name: str, body: Body) -> list[bytes | Deferred]:
        handler = self.dispatcher.commands.get(name)
        if handler is None:
            return [encode_packet(Packet(PacketType.CMD_UNKNOWN))]
        out: list[bytes | Deferred] = []

        def emit(event: str, event_body: Body) -> None:
            segment = self.event_segment(event, event_body)
            if segment:
                out.append(segment)

        request = Request(name, body, emit=emit, registered=lambda ev: self.registrations[ev] > 0,
                          defer=lambda: self._deferred(name))
        try:
            response = handler(self.state, request)
        except Exception:
            # A handler bug must not take the client or the daemon down; the request fails.
            log.exception("vici command '%s' failed", name)
            response = {"success": "no", "errmsg": f"internal error processing '{name}'"}
        if isinstance(response, Deferred):
            out.append(response)
            return out
        segment = self._response_segment(name, response)
        if segment:
            out.append(segment)
        return out

    def _response_segment(self, name: str, response: Body) -> bytes:
        return self._checked(Packet(PacketType.CMD_RESPONSE, body=encode_message(response)), name)

    def _deferred(self, name: str) -> Deferred:
        deferred = Deferred(lambda event, body: deferred.ready.append(self.event_segment(event, body)))

        def respond(response: Body) -> None:
            segment = self._response_segment(name, response)
            if segment:
                deferred.ready.append(segment)

        deferred._respond = respond
        return deferred

    def event_segment(self, event: str, body: Body) -> bytes:
        """The framed event for this client (repeated per registration), or b'' if unregistered."""
        count = self.registrations[event]
        if count <= 0:
            return b""
        # a handler may hand over an already encoded body (cached renderings)
        encoded = body if isinstance(body, bytes) else encode_message(body)
        segment = self._checked(Packet(PacketType.EVENT, event, encoded), event)
        return segment * count

    @staticmethod
    def _checked(packet: Packet, what: str) -> bytes:
        segment = encode_packet(packet)
        if len(segment) - 4 > MESSAGE_SIZE_MAX:
            # charon drops oversized outbound messages rather than breaking the stream
            log.warning("vici '%s' message of %d bytes exceeds the limit, dropped", what, len(segment) - 4)
            return b""
        return segment
