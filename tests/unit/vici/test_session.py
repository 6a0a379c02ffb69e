"""The sans-I/O vici session: ordering, registrations, streaming, errors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vicid.vici.dispatcher import Dispatcher, Request
from vicid.vici.session import ViciSession
from vicid.vici.wire import (
    FrameReader,
    Packet,
    PacketType,
    ViciError,
    decode_message,
    decode_packet,
    encode_message,
    encode_packet,
)


def make_session() -> ViciSession:
    d = Dispatcher()

    def listing(state, req: Request):
        for i in range(2):
            req.emit("list-thing", {"n": i})
        return {}

    def boom(state, req):
        raise RuntimeError("bug")

    d.add_command("echo", lambda state, req: dict(req.body))
    d.add_command("list-things", listing)
    d.add_command("boom", boom)
    d.add_command("big", lambda state, req: {f"k{i}": b"x" * 60000 for i in range(10)})
    d.add_event("list-thing")
    return ViciSession(d, state=None)


def packets(segments: list[bytes]) -> list[Packet]:
    reader = FrameReader()
    return [decode_packet(s) for s in reader.feed(b"".join(segments))]


def send(session: ViciSession, *pkts: Packet) -> list[Packet]:
    return packets(session.receive(b"".join(encode_packet(p) for p in pkts)))


def test_command_unknown_and_response():
    s = make_session()
    out = send(s, Packet(PacketType.CMD_REQUEST, "echo", encode_message({"a": "1"})),
               Packet(PacketType.CMD_REQUEST, "nope"))
    assert [p.type for p in out] == [PacketType.CMD_RESPONSE, PacketType.CMD_UNKNOWN]
    assert decode_message(out[0].body) == {"a": b"1"}


def test_streamed_events_only_when_registered_and_before_response():
    s = make_session()
    out = send(s, Packet(PacketType.CMD_REQUEST, "list-things"))
    assert [p.type for p in out] == [PacketType.CMD_RESPONSE]
    out = send(s, Packet(PacketType.EVENT_REGISTER, "list-thing"), Packet(PacketType.CMD_REQUEST, "list-things"))
    assert [p.type for p in out] == [PacketType.EVENT_CONFIRM, PacketType.EVENT, PacketType.EVENT,
                                     PacketType.CMD_RESPONSE]
    assert [decode_message(p.body) for p in out[1:3]] == [{"n": b"0"}, {"n": b"1"}]


def test_register_twice_delivers_twice_and_unregister_rules():
    s = make_session()
    out = send(s, Packet(PacketType.EVENT_REGISTER, "list-thing"), Packet(PacketType.EVENT_REGISTER, "list-thing"),
               Packet(PacketType.EVENT_REGISTER, "nope"))
    assert [p.type for p in out] == [PacketType.EVENT_CONFIRM, PacketType.EVENT_CONFIRM, PacketType.EVENT_UNKNOWN]
    assert s.event_segment("list-thing", {}).count(b"list-thing") == 2
    out = send(s, *[Packet(PacketType.EVENT_UNREGISTER, "list-thing")] * 3)
    assert [p.type for p in out] == [PacketType.EVENT_CONFIRM, PacketType.EVENT_CONFIRM, PacketType.EVENT_UNKNOWN]


def test_handler_bug_fails_the_request_not_the_session():
    s = make_session()
    out = send(s, Packet(PacketType.CMD_REQUEST, "boom"), Packet(PacketType.CMD_REQUEST, "echo"))
    assert decode_message(out[0].body)["success"] == b"no"
    assert out[1].type == PacketType.CMD_RESPONSE


@pytest.mark.parametrize("ptype", [PacketType.CMD_RESPONSE, PacketType.EVENT_CONFIRM, PacketType.EVENT])
def test_server_side_packet_types_from_a_client_are_rejected(ptype):
    with pytest.raises(ViciError):
        send(make_session(), Packet(ptype, "x" if ptype == PacketType.EVENT else ""))


def test_oversized_response_is_dropped():
    s = make_session()
    out = send(s, Packet(PacketType.CMD_REQUEST, "big"), Packet(PacketType.CMD_REQUEST, "echo"))
    assert [p.type for p in out] == [PacketType.CMD_RESPONSE]


@given(st.binary(max_size=200))
def test_random_input_raises_only_vici_error(data):
    try:
        make_session().receive(data)
    except ViciError:
        pass


def test_deferred_response_streams_control_log_then_response():
    d = Dispatcher()
    pending = []

    def slow(state, req: Request):
        deferred = req.defer()
        pending.append(deferred)
        return deferred

    d.add_command("initiate", slow)
    d.add_event("control-log")
    s = ViciSession(d, state=None)
    out = s.receive(encode_packet(Packet(PacketType.EVENT_REGISTER, "control-log")) +
                    encode_packet(Packet(PacketType.CMD_REQUEST, "initiate")))
    assert decode_packet(out[0][4:]).type == PacketType.EVENT_CONFIRM
    deferred = out[1]
    assert deferred is pending[0] and deferred.take() == []
    woken = []
    deferred.wakeup = lambda: woken.append(1)
    deferred.log({"group": "IKE", "level": 1, "msg": "initiating"})
    deferred.finish({"success": "yes"})
    deferred.log({"msg": "late"})  # after finish: ignored
    got = packets(deferred.take())
    assert [p.type for p in got] == [PacketType.EVENT, PacketType.CMD_RESPONSE]
    assert decode_message(got[0].body)["msg"] == b"initiating"
    assert deferred.finished and len(woken) == 2
