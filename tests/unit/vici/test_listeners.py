"""The server counts event registrations over all clients (``has_listeners`` is asked for every
engine event) and says when an event gains its first or loses its last listener."""

from __future__ import annotations

from vicid.vici.dispatcher import Dispatcher
from vicid.vici.server import ViciServer
from vicid.vici.session import ViciSession
from vicid.vici.wire import Packet, PacketType


def test_listeners_counted_over_clients():
    dispatcher = Dispatcher()
    dispatcher.add_event("log")
    changes = []
    server = ViciServer(dispatcher, None, on_registrations=lambda: changes.append(server.has_listeners("log")))
    a = ViciSession(dispatcher, None, on_register=server._count_registration)
    b = ViciSession(dispatcher, None, on_register=server._count_registration)
    assert not server.has_listeners("log")
    a.handle_packet(Packet(PacketType.EVENT_REGISTER, "log"))
    b.handle_packet(Packet(PacketType.EVENT_REGISTER, "log"))
    b.handle_packet(Packet(PacketType.EVENT_REGISTER, "nosuch"))  # unknown: nothing counted
    assert server.has_listeners("log") and server.listening["log"] == 2 and not server.has_listeners("nosuch")
    a.handle_packet(Packet(PacketType.EVENT_UNREGISTER, "log"))
    assert server.has_listeners("log")
    b.handle_packet(Packet(PacketType.EVENT_UNREGISTER, "log"))
    assert not server.has_listeners("log")
    assert changes == [True, False]  # only the first listener and the last one leaving
