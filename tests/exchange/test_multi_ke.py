"""IKE_SA_INIT followed by one IKE_INTERMEDIATE per additional key exchange (RFC 9242/9370)."""

from __future__ import annotations

import pytest

from tests.exchange.helpers import datagrams, of, transfer, with_settings
from vicid.ike.crypto.keymat import additional_ke_keys
from vicid.ike.effects import InstallChildSa, Log
from vicid.ike.wire.enums import ExchangeType, PayloadType
from vicid.ike.wire.message import decode_message

E = ExchangeType
EIGHT = ("aes256gcm16-prfsha384-x25519-ke1_mlkem768-ke2_mlkem1024-ke3_mlkem512-ke4_ecp256"
         "-ke5_ecp384-ke6_x448-ke7_modp2048")


def exchanges(datagram) -> tuple[int, int, list[str]]:
    data = datagram.data[4:] if datagram.data[:4] == bytes(4) else datagram.data
    msg = decode_message(data)
    return msg.exchange_type, msg.message_id, [PayloadType(p.payload_type).name for p in msg.payloads]


def run(p, now: float = 0.0) -> list[tuple[str, int, int, int]]:
    """Drive the pair to quiescence; returns (sender, exchange, message ID, fragments) per message."""
    trace = []
    for _ in range(40):
        moved = False
        for a, b in ((p.carol, p.moon), (p.moon, p.carol)):
            sent = datagrams(transfer(a, b, now))
            if sent:
                moved = True
                first = exchanges(sent[0])
                trace.append((a.name, first[0], first[1], len(sent)))
        if not moved:
            return trace
    raise AssertionError("no quiescence")


@pytest.mark.parametrize("ike,methods,rounds", [
    ("x25519-ke1_mlkem768", ("CURVE_25519", "ML_KEM_768"), 1),
    ("x25519-ke1_mlkem768-ke2_mlkem1024", ("CURVE_25519", "ML_KEM_768", "ML_KEM_1024"), 2),
    ("modp8192-ke1_mlkem1024", ("MODP_8192", "ML_KEM_1024"), 1),
    (EIGHT, ("CURVE_25519", "ML_KEM_768", "ML_KEM_1024", "ML_KEM_512", "ECP_256", "ECP_384",
             "CURVE_448", "MODP_2048"), 7),
])
def test_intermediate_rounds(pair, ike, methods, rounds):
    proposal = ike if ike.startswith("aes") else f"aes256gcm16-sha512-{ike}"
    p = pair(proposal)
    p.initiate()
    trace = run(p)
    # IKE_SA_INIT, then one IKE_INTERMEDIATE per ADDKE round (consecutive message IDs), IKE_AUTH
    expected = [E.IKE_SA_INIT] + [E.IKE_INTERMEDIATE] * rounds + [E.IKE_AUTH]
    assert [t[1] for t in trace if t[0] == "carol"] == expected
    assert [t[2] for t in trace if t[0] == "carol"] == list(range(rounds + 2))
    assert [t[1] for t in trace if t[0] == "moon"] == expected
    for node in (p.carol, p.moon):
        (view,) = node.manager.list_sas(0.0)
        assert view.state == "ESTABLISHED" and view.ke_methods == methods
        assert view.children[0].state == "INSTALLED"
        assert node.manager.drops == {}
    assert p.carol.sa.keymat.keys.sk_d == p.moon.sa.keymat.keys.sk_d
    moon_in = of(p.moon.log, InstallChildSa)[0]
    carol_out = of(p.carol.log, InstallChildSa)[1]
    assert moon_in.keys.encr_key == carol_out.keys.encr_key


def test_fragmented_intermediate(pair):
    """ML-KEM-768's 1184-byte encapsulation key needs two SKF fragments at fragment_size 1280."""
    p = pair("aes256gcm16-sha512-x25519-ke1_mlkem768", carol_settings=with_settings(fragment_size=1280))
    p.initiate()
    # IKE_SA_INIT  HDR, SAi1, KEi, Ni, N(...), N(INTERMEDIATE_EXCHANGE_SUPPORTED) -->
    transfer(p.carol, p.moon, 0.0)
    #               <--  HDR, SAr1, KEr, Nr, N(...), N(INTERMEDIATE_EXCHANGE_SUPPORTED)
    transfer(p.moon, p.carol, 0.0)
    # IKE_INTERMEDIATE  HDR, SKF(1/2) {KEi(1)}, HDR, SKF(2/2) -->
    frags = datagrams(transfer(p.carol, p.moon, 0.0))
    assert len(frags) == 2 and all(len(f.data) + 20 + 8 <= 1280 for f in frags)
    assert [exchanges(f)[2] for f in frags] == [["SKF"], ["SKF"]]
    assert len(frags[0].data) + 28 == 1280  # the first fragment fills the budget exactly
    #                  <--  HDR, SK {KEr(1)}  (1088-byte ciphertext fits in one datagram)
    (resp,) = datagrams(transfer(p.moon, p.carol, 0.0))
    assert exchanges(resp)[:2] == (E.IKE_INTERMEDIATE, 1)
    run(p)
    assert p.carol.sa.state.value == p.moon.sa.state.value == "ESTABLISHED"


def test_key_update_after_each_round(pair):
    """Keys (1) = prf+(prf(SK_d(0), SK(1) | Ni | Nr), Ni | Nr | SPIi | SPIr) (RFC 9370 §2.2.2)."""
    p = pair("aes256gcm16-sha512-x25519-ke1_mlkem768")
    p.initiate()
    transfer(p.carol, p.moon, 0.0)
    # the IKE_SA_INIT response makes carol derive keys (0) and send IKE_INTERMEDIATE under them
    transfer(p.moon, p.carol, 0.0)
    keys0 = p.carol.sa.keymat.keys
    init_task = next(t for t in p.carol.sa.tm.active if t.kind.name == "IKE_INIT")
    transfer(p.carol, p.moon, 0.0)
    # the IKE_INTERMEDIATE response: keys (1) are derived just before IKE_AUTH is built
    transfer(p.moon, p.carol, 0.0)
    keys1 = p.carol.sa.keymat.keys
    sa = p.carol.sa
    expected = additional_ke_keys(sa.keymat.suite, keys0, init_task.ke.shared_secret(),
                                  init_task.my_nonce, init_task.other_nonce, sa.spi_i, sa.spi_r)
    assert keys1.sk_d == expected.sk_d and keys1.sk_pi == expected.sk_pi
    assert keys1.sk_ei != keys0.sk_ei


def test_optional_round_negotiated_away(pair):
    """``ke2_none``: the responder without ADDKE2 still matches; only one IKE_INTERMEDIATE."""
    p = pair("aes256gcm16-sha512-x25519-ke1_mlkem768-ke2_mlkem1024-ke2_none",
             moon_ike="aes256gcm16-sha512-x25519-ke1_mlkem768")
    p.initiate()
    trace = run(p)
    assert [t[1] for t in trace if t[0] == "carol"] == [E.IKE_SA_INIT, E.IKE_INTERMEDIATE, E.IKE_AUTH]
    assert p.carol.sa.view(0).ke_methods == ("CURVE_25519", "ML_KEM_768")
    assert any("selected proposal: IKE:AES_GCM_16_256/PRF_HMAC_SHA2_512/CURVE_25519/KE1_ML_KEM_768"
               == e.msg for e in of(p.carol.log, Log))


def test_responder_requires_intermediate_support(pair):
    """Without N(INTERMEDIATE_EXCHANGE_SUPPORTED) a multi-KE proposal is NO_PROPOSAL_CHOSEN."""
    p = pair("aes256gcm16-sha512-x25519-ke1_mlkem768")
    p.initiate()
    (req,) = datagrams(p.carol.drain())
    from vicid.ike.wire.message import Message, encode_message
    from vicid.ike.wire.notify import NotifyPayload

    msg = decode_message(req.data)
    stripped = tuple(x for x in msg.payloads if not (isinstance(x, NotifyPayload) and x.notify_type == 16438))
    data = encode_message(msg.header, list(stripped))
    p.moon.manager.receive_datagram(data, req.src, req.dst, 0.0)
    (resp,) = datagrams(p.moon.drain())
    assert exchanges(resp)[2] == ["NOTIFY"]
    assert decode_message(resp.data).payloads[0].notify_type == 14
    assert p.moon.manager.ike_sas() == [] and Message
