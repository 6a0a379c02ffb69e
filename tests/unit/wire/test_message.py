from __future__ import annotations

import dataclasses

import pytest

from tests.unit.wire.samples import SA, header
from vicid.ike.wire.buffer import DecodeError, Reader
from vicid.ike.wire.enums import ExchangeType, KeMethod, NotifyType, PayloadType
from vicid.ike.wire.errors import InvalidSyntax, UnsupportedCriticalPayload
from vicid.ike.wire.header import HEADER_LEN, decode_header, header_bytes
from vicid.ike.wire.message import MESSAGE_RULES, Message, decode_message, encode_message, validate
from vicid.ike.wire.notify import NotifyPayload, status
from vicid.ike.wire.payloads import KePayload, NoncePayload, UnknownPayload

INIT = [SA, KePayload(KeMethod.CURVE_25519, bytes(32)), NoncePayload(bytes(32)),
        status(NotifyType.IKEV2_FRAGMENTATION_SUPPORTED)]


def test_header_layout():
    h = dataclasses.replace(header(ExchangeType.IKE_SA_INIT, mid=0), next_payload=33, length=28)
    raw = header_bytes(h)
    assert len(raw) == HEADER_LEN
    assert raw[16:20] == bytes([33, 0x20, 34, 0x08])
    assert decode_header(Reader(raw)) == h
    resp = header_bytes(dataclasses.replace(h, is_initiator=False, is_response=True))
    assert resp[19] == 0x20


def test_message_round_trip():
    data = encode_message(header(ExchangeType.IKE_SA_INIT, mid=0), INIT)
    msg = decode_message(data)
    assert msg.header.length == len(data)
    assert msg.header.next_payload == PayloadType.SA
    assert list(msg.payloads) == INIT
    assert msg.notify(NotifyType.IKEV2_FRAGMENTATION_SUPPORTED) is not None
    assert msg.get(PayloadType.KE).method == KeMethod.CURVE_25519
    validate(msg)


def test_length_must_match_datagram():
    data = encode_message(header(ExchangeType.IKE_SA_INIT, mid=0), INIT)
    with pytest.raises(DecodeError):
        decode_message(data + b"\x00")
    with pytest.raises(DecodeError):
        decode_message(data[:-1])
    with pytest.raises(DecodeError):
        decode_message(data[:20])


def test_unknown_critical_payload_at_message_level():
    data = encode_message(header(ExchangeType.IKE_SA_INIT, mid=0),
                          [*INIT, UnknownPayload(201, b"x", critical=True)])
    with pytest.raises(UnsupportedCriticalPayload):
        decode_message(data)
    kept = decode_message(encode_message(header(ExchangeType.IKE_SA_INIT, mid=0),
                                         [*INIT, UnknownPayload(201, b"x")]))
    assert kept.payloads[-1] == UnknownPayload(201, b"x")


def test_rules_cover_every_exchange_both_ways():
    for exchange in ExchangeType:
        if exchange is ExchangeType.IKE_SESSION_RESUME:
            continue
        assert (exchange, True) in MESSAGE_RULES and (exchange, False) in MESSAGE_RULES


def test_validate_counts():
    h = header(ExchangeType.IKE_SA_INIT, mid=0)
    with pytest.raises(InvalidSyntax):
        validate(Message(h, tuple(INIT[1:])))  # no SA
    with pytest.raises(InvalidSyntax):
        validate(Message(h, (*INIT, NoncePayload(bytes(16)))))  # two nonces


def test_validate_error_notify_is_sufficient_in_responses():
    h = header(ExchangeType.IKE_SA_INIT, response=True, mid=0)
    validate(Message(h, (NotifyPayload(NotifyType.NO_PROPOSAL_CHOSEN),)))
    with pytest.raises(InvalidSyntax):
        validate(Message(header(ExchangeType.IKE_SA_INIT, mid=0),
                         (NotifyPayload(NotifyType.COOKIE, b"c"),)))


def test_validate_must_be_encrypted():
    h = header(ExchangeType.IKE_AUTH)
    with pytest.raises(InvalidSyntax):
        validate(Message(h, (NoncePayload(bytes(16)),)))
    validate(Message(h, (), (NotifyPayload(NotifyType.AUTHENTICATION_FAILED),)))


def test_followup_ke_needs_ke():
    h = header(ExchangeType.IKE_FOLLOWUP_KE)
    with pytest.raises(InvalidSyntax):
        validate(Message(h, (), (NotifyPayload(NotifyType.ADDITIONAL_KEY_EXCHANGE, b"B"),)))
    validate(Message(h, (), (KePayload(36, b"k"),)))
    validate(Message(header(ExchangeType.IKE_INTERMEDIATE), (), ()))
