from __future__ import annotations

import dataclasses

from tests.unit.wire.samples import header
from vicid.identity import IdType
from vicid.ike.crypto.auth import KEY_PAD, IntAuth, int_auth_a_p, psk_auth, signed_octets
from vicid.ike.crypto.prf import prf
from vicid.ike.wire.enums import ExchangeType, NotifyType, PayloadType, PrfAlg
from vicid.ike.wire.message import Message, encode_payload_chain
from vicid.ike.wire.notify import NotifyPayload
from vicid.ike.wire.payloads import IdiPayload, KePayload
from vicid.secrets import Secret

ALG = PrfAlg.PRF_HMAC_SHA2_256


def test_key_pad_is_17_ascii_bytes():
    assert len(KEY_PAD) == 17 and KEY_PAD.isascii()


def test_psk_auth_composition():
    idi = IdiPayload(IdType.ID_FQDN, b"carol", b"\x00\x00\x07")
    octets = signed_octets(ALG, b"MSG1", b"NONCE-R", Secret(b"p" * 32), idi, b"IA")
    assert octets == b"MSG1NONCE-R" + prf(ALG, b"p" * 32, b"\x02\x00\x00\x07carol") + b"IA"
    auth = psk_auth(ALG, Secret(b"secret"), octets)
    assert auth == prf(ALG, prf(ALG, b"secret", b"Key Pad for IKEv2"), octets)


def test_int_auth_a_p_layout():
    inner = (KePayload(36, b"k" * 10), NotifyPayload(NotifyType.ADDITIONAL_KEY_EXCHANGE, b"B"))
    msg = Message(header(ExchangeType.IKE_INTERMEDIATE), (), inner)
    data = int_auth_a_p(msg)
    p = encode_payload_chain(inner)
    assert data[16] == PayloadType.SK and int.from_bytes(data[24:28], "big") == 28 + 4 + len(p)
    assert data[28:32] == bytes([PayloadType.KE, 0]) + (4 + len(p)).to_bytes(2, "big")
    assert data[32:] == p
    assert data[18] == ExchangeType.IKE_INTERMEDIATE and data[20:24] == b"\x00\x00\x00\x01"


def test_int_auth_chain():
    req = Message(header(ExchangeType.IKE_INTERMEDIATE, mid=1), (), (KePayload(36, b"a"),))
    resp = Message(header(ExchangeType.IKE_INTERMEDIATE, response=True, mid=1), (), (KePayload(36, b"b"),))
    req2 = dataclasses.replace(req, header=dataclasses.replace(req.header, message_id=2))
    ski0, skr0, ski1 = Secret(b"i0"), Secret(b"r0"), Secret(b"i1")
    chain = IntAuth().add(ALG, ski0, req).add(ALG, skr0, resp)
    i1 = prf(ALG, b"i0", int_auth_a_p(req))
    assert chain.i == i1 and chain.r == prf(ALG, b"r0", int_auth_a_p(resp))
    chain = chain.add(ALG, ski1, req2)
    assert chain.i == prf(ALG, b"i1", i1 + int_auth_a_p(req2))
    assert chain.octets(3) == chain.i + chain.r + b"\x00\x00\x00\x03"
    assert IntAuth().octets(1) == b""
