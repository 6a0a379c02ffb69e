"""vici framing and message codec, checked against strongSwan's own `vici` Python package."""

from __future__ import annotations

import struct
from collections import OrderedDict

import pytest
from hypothesis import given
from hypothesis import strategies as st
from vici.protocol import FiniteStream, Message

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

names = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=20)
values = st.binary(max_size=64)
bodies = st.recursive(
    st.dictionaries(names, st.one_of(values, st.lists(values, max_size=4)), max_size=4),
    lambda inner: st.dictionaries(names, st.one_of(values, st.lists(values, max_size=3), inner), max_size=4),
    max_leaves=20,
)


def oracle_decode(data: bytes) -> OrderedDict:
    return Message.deserialize(FiniteStream(data))


@given(bodies)
def test_encode_matches_vici_package(body):
    assert encode_message(body) == Message.serialize(body)


@given(bodies)
def test_decode_of_vici_package_bytes_round_trips(body):
    data = Message.serialize(body)
    assert decode_message(data) == body
    assert oracle_decode(encode_message(decode_message(data))) == oracle_decode(data)


def test_worked_example_from_the_protocol_reference():
    data = encode_packet(Packet(PacketType.CMD_REQUEST, "list-sas", encode_message({"ike": "gw", "noblock": "yes"})))
    assert data.hex() == "00000021" + "00" + "086c6973742d736173" + "0303696b65000267770307" + \
        "6e6f626c6f636b0003796573"
    assert encode_message({"conns": ["gw"]}).hex() == "0405636f6e6e73050002677706"


def test_values_render_as_strongswan_text():
    assert decode_message(encode_message({"a": True, "b": 5, "c": "x", "d": None})) == \
        {"a": b"yes", "b": b"5", "c": b"x"}


def test_frame_reader_reassembles_arbitrary_chunks():
    segments = [encode_packet(Packet(PacketType.EVENT_REGISTER, "log")),
                encode_packet(Packet(PacketType.CMD_REQUEST, "stats"))]
    stream = b"".join(segments)
    reader = FrameReader()
    out = []
    for i in range(len(stream)):
        out += reader.feed(stream[i:i + 1])
    assert out == [s[4:] for s in segments]


def test_frame_reader_rejects_oversized_segment_before_reading_it():
    with pytest.raises(ViciError, match="exceeds"):
        FrameReader().feed(struct.pack(">I", MESSAGE_SIZE_MAX + 1))
    assert FrameReader().feed(struct.pack(">I", 5)) == []


@pytest.mark.parametrize("data", [
    b"\x01\x03abc",  # section never closed
    b"\x02",  # section end at root
    b"\x05\x00\x01x",  # list item outside a list
    b"\x04\x01l\x03\x01k\x00\x00\x06",  # key/value inside a list
    b"\x04\x01l",  # list never closed
    b"\x03\x05ab",  # truncated name
    b"\x03\x01k\x00\x09abc",  # truncated value
    b"\x09",  # unknown element
    b"\x03\x01\x07\x00\x00",  # non-printable key name
])
def test_malformed_bodies_raise_vici_error(data):
    with pytest.raises(ViciError):
        decode_message(data)


@pytest.mark.parametrize("segment", [b"", b"\x08", b"\x00", b"\x00\x05ab", b"\x03\x02\x01\x02", b"\x05extra"])
def test_malformed_packets_raise_vici_error(segment):
    with pytest.raises(ViciError):
        decode_packet(segment)


@given(st.binary(max_size=300))
def test_decoders_raise_only_vici_error(data):
    for decode in (decode_message, decode_packet):
        try:
            decode(data)
        except ViciError:
            pass
