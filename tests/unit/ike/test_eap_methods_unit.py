"""EAP-MSCHAPv2 server retries and packet checks, EAP-TLS settings, driven at the method level
with a stub IKE_SA (rng, credential store, log)."""

from __future__ import annotations

import struct
from types import SimpleNamespace

from vicid.creds.store import CredStore, SharedKey
from vicid.identity import Identification
from vicid.ike.authenticators.eap_methods import EAP_MSCHAPV2, REQUEST, RESPONSE, EapPacket, St
from vicid.ike.authenticators.mschapv2 import FAILURE_OP, RESPONSE_OP, SUCCESS_OP, MsChapV2Method
from vicid.ike.rng import DeterministicRng
from vicid.ike.settings import EapTlsSettings
from vicid.secrets import Secret

SERVER, PEER = Identification.from_string("moon.example.org"), Identification.from_string("carol@example.org")


def stub_sa(password: bytes = b"secret-1") -> SimpleNamespace:
    store = CredStore()
    store.shared["eap"] = SharedKey("EAP", Secret(password), ["carol@example.org"])
    lines: list[str] = []
    sa = SimpleNamespace(
        ctx=SimpleNamespace(rng=DeterministicRng("x"), creds=store), log=lambda _g, _l, msg: lines.append(msg)
    )
    sa.lines = lines
    return sa


def test_server_retries_twice_then_fails():
    sa = stub_sa()
    server = MsChapV2Method(sa, SERVER, PEER, True)
    status, challenge = server.initiate()
    assert status is St.NEED_MORE and challenge.data[0] == 1
    peer_sa = stub_sa(b"wrong")
    for attempt in (1, 2, 3):
        peer = MsChapV2Method(peer_sa, SERVER, PEER, False)
        status, response = peer.process(challenge)
        assert status is St.NEED_MORE and response.data[0] == RESPONSE_OP
        status, reply = server.process(response)
        if attempt < 3:
            assert status is St.NEED_MORE and reply.data[0] == FAILURE_OP
            assert f"EAP-MS-CHAPv2 verification failed, retry ({attempt})" in sa.lines
            text = reply.data[4:].decode()
            assert text.startswith("E=691 R=1 C=") and len(text) == len("E=691 R=1 C=") + 32
            # the peer answers the new challenge of the Failure request (as Windows would)
            challenge = EapPacket(
                REQUEST,
                reply.identifier,
                EAP_MSCHAPV2,
                bytes([1, reply.data[1]])
                + struct.pack("!H", 4 + 17 + 10)
                + bytes([16])
                + bytes.fromhex(text[-32:])
                + b"strongSwan",
            )
        else:
            assert status is St.FAILED and reply is None
    assert "EAP-MS-CHAPv2 verification failed: maximum number of retries reached" in sa.lines


def test_server_success_and_identity():
    sa = stub_sa()
    server = MsChapV2Method(sa, SERVER, PEER, True)
    _, challenge = server.initiate()
    peer = MsChapV2Method(stub_sa(), SERVER, PEER, False)
    _, response = peer.process(challenge)
    assert struct.unpack("!H", response.data[2:4])[0] == len(response.encode()) - 5  # MS-Length
    status, success = server.process(response)
    assert status is St.NEED_MORE and success.data[0] == SUCCESS_OP and success.data[4:6] == b"S="
    assert success.data.endswith(b" M=Welcome2strongSwan\x00")
    status, ack = peer.process(success)
    assert status is St.NEED_MORE and ack.encode()[4:] == bytes([EAP_MSCHAPV2, SUCCESS_OP])
    assert server.process(EapPacket(RESPONSE, ack.identifier, EAP_MSCHAPV2, ack.data)) == (St.SUCCESS, None)
    assert server.msk().reveal() == peer.msk().reveal() and len(server.msk().reveal()) == 64
    info = SimpleNamespace(eap_identity=None)
    server.merge_auth(info)
    assert str(info.eap_identity) == "carol@example.org"


def test_server_rejects_wrong_identifier_and_short_packets():
    sa = stub_sa()
    server = MsChapV2Method(sa, SERVER, PEER, True)
    _, challenge = server.initiate()
    wrong = EapPacket(RESPONSE, (challenge.identifier + 1) & 0xFF, EAP_MSCHAPV2, bytes([RESPONSE_OP]))
    assert server.process(wrong)[0] is St.FAILED
    assert "received invalid EAP-MS-CHAPv2 message: unexpected identifier" in sa.lines
    short = EapPacket(RESPONSE, challenge.identifier, EAP_MSCHAPV2, bytes([RESPONSE_OP, 0, 0, 5]))
    assert server.process(short)[0] is St.FAILED
    assert "received invalid EAP-MS-CHAPv2 message: too short" in sa.lines


def test_eap_tls_settings_follow_charon_and_libtls():
    conf = {
        "charon.plugins.eap-tls.fragment_size": "400",
        "libtls.version_max": "1.3",
        "charon.plugins.eap-tls.include_length": "no",
    }
    s = EapTlsSettings.from_getter(lambda key, default: conf.get(key, default))
    assert (s.fragment_size, s.include_length, s.version_min, s.version_max) == (400, False, 0x0303, 0x0304)
    conf["charon.tls.version_max"] = "1.2"  # charon.tls wins over the libtls fallback
    assert EapTlsSettings.from_getter(lambda key, default: conf.get(key, default)).version_max == 0x0303
    assert EapTlsSettings() == EapTlsSettings.from_getter(lambda _k, d: d)
