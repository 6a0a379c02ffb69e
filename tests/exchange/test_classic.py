"""The classic exchange: IKE_SA_INIT + IKE_AUTH with one CHILD_SA, step by step."""

from __future__ import annotations

from ipaddress import ip_address

from tests.exchange.helpers import CAROL, MOON, datagrams, of, transfer
from vicid.ike.effects import (
    ChildStateChange,
    ChildUpDown,
    Completed,
    Direction,
    IkeStateChange,
    IkeUpDown,
    InstallChildSa,
    InstallPolicy,
    Log,
    SendDatagram,
)
from vicid.ike.wire.enums import ExchangeType, NotifyType, PayloadType
from vicid.ike.wire.message import decode_message

N = NotifyType


def payload_names(data: bytes) -> list[str]:
    msg = decode_message(data[4:] if data[:4] == bytes(4) else data)
    out = []
    for p in msg.payloads:
        if p.payload_type == PayloadType.NOTIFY:
            out.append(f"N({N(p.notify_type).name})")
        else:
            out.append(PayloadType(p.payload_type).name)
    return out


def log_lines(effects, level: int = 1) -> list[str]:
    return [e.msg for e in of(effects, Log) if e.level <= level]


def test_classic_exchange(pair):
    p = pair()
    p.initiate(now=0.0, request_id=42)

    # IKE_SA_INIT  HDR, SAi1, KEi, Ni, N(NAT_D_SRC), N(NAT_D_DST), N(FRAG_SUP), N(SHA), N(REDIR_SUP) -->
    init_req = transfer(p.carol, p.moon, 0.0)
    (req,) = datagrams(init_req)
    assert (req.src, req.dst) == ((ip_address(CAROL), 500), (ip_address(MOON), 500))
    assert payload_names(req.data) == [
        "SA", "KE", "NONCE", "N(NAT_DETECTION_SOURCE_IP)", "N(NAT_DETECTION_DESTINATION_IP)",
        "N(IKEV2_FRAGMENTATION_SUPPORTED)", "N(SIGNATURE_HASH_ALGORITHMS)", "N(REDIRECT_SUPPORTED)"]
    assert [e.state for e in of(init_req, IkeStateChange)] == ["CONNECTING"]
    assert "initiating IKE_SA pq[1] to 192.0.2.2" in log_lines(init_req, 0)
    assert p.carol.manager.next_deadline() == 4.0  # first retransmission
    assert p.moon.manager.next_deadline() == 30.0  # half-open timeout

    #                       <--  HDR, SAr1, KEr, Nr, N(NAT_D_*), N(FRAG_SUP), N(SHA), N(CHILDLESS), N(MULT_AUTH)
    init_resp = transfer(p.moon, p.carol, 0.5)
    (resp,) = datagrams(init_resp)
    assert payload_names(resp.data) == [
        "SA", "KE", "NONCE", "N(NAT_DETECTION_SOURCE_IP)", "N(NAT_DETECTION_DESTINATION_IP)",
        "N(IKEV2_FRAGMENTATION_SUPPORTED)", "N(SIGNATURE_HASH_ALGORITHMS)", "N(CHILDLESS_IKEV2_SUPPORTED)",
        "N(MULTIPLE_AUTH_SUPPORTED)"]
    assert p.moon.sa.state.value == "CONNECTING"
    assert "selected proposal: IKE:AES_GCM_16_256/PRF_HMAC_SHA2_512/CURVE_25519" in log_lines(init_resp)

    # IKE_AUTH  HDR, SK {IDi, N(INITIAL_CONTACT), IDr, AUTH, SAi2, TSi, TSr, N(MOBIKE_SUPPORTED), ...} -->
    auth_req = transfer(p.carol, p.moon, 0.5)
    (req,) = datagrams(auth_req)
    assert (req.src[1], req.dst[1]) == (4500, 4500) and req.data[:4] == bytes(4)  # floated to NAT-T
    assert payload_names(req.data) == ["SK"]
    assert p.carol.manager.next_deadline() == 4.5
    assert "establishing CHILD_SA net{1}" in log_lines(auth_req, 0)

    #           <--  HDR, SK {IDr, AUTH, SAr2, TSi, TSr, N(MOBIKE_SUPPORTED), N(NO_ADDITIONAL_ADDRESSES)}
    auth_resp = transfer(p.moon, p.carol, 1.0)
    kinds = [type(e) for e in auth_resp if not isinstance(e, Log)]
    # the inbound SA, outbound SA and policies come before the response that enables the peer
    send = kinds.index(SendDatagram)
    assert kinds.index(InstallChildSa) < send and max(
        i for i, k in enumerate(kinds) if k is InstallPolicy) < send
    installs = of(auth_resp, InstallChildSa)
    assert [i.inbound for i in installs] == [True, False]
    assert installs[0].spi == p.moon.sa.children[0].spi_in_int and installs[0].encap is False
    assert [pol.direction for pol in of(auth_resp, InstallPolicy)] == [Direction.IN, Direction.FWD, Direction.OUT]
    assert [e.up for e in of(auth_resp, IkeUpDown)] == [True]
    assert [e.up for e in of(auth_resp, ChildUpDown)] == [True]
    assert ("IKE_SA pq[1] established between 192.0.2.2[moon.example.org]..."
            "192.0.2.3[carol.example.org]") in log_lines(auth_resp, 0)
    moon_child = p.moon.sa.children[0]
    assert (f"CHILD_SA net{{1}} established with SPIs {moon_child.spi_in.hex()}_i "
            f"{moon_child.spi_out.hex()}_o and TS 10.2.0.0/16 === 10.1.0.0/16") in log_lines(auth_resp, 0)

    final = transfer(p.carol, p.moon, 1.0)
    assert datagrams(final) == []
    assert [c.request_id for c in of(final, Completed) if c.ok] == [42]
    assert [e.state for e in of(final, ChildStateChange)] == ["INSTALLING", "INSTALLED"]
    carol_installs = of(final, InstallChildSa)
    assert [i.spi for i in carol_installs] == [i.spi for i in reversed(installs)]
    assert carol_installs[0].keys.encr_key == installs[1].keys.encr_key  # carol in = moon out
    assert carol_installs[1].keys.encr_key == installs[0].keys.encr_key

    for node, local, remote in ((p.carol, CAROL, MOON), (p.moon, MOON, CAROL)):
        (view,) = node.manager.list_sas(2.0)
        assert (view.state, view.local_host, view.remote_host) == ("ESTABLISHED", local, remote)
        assert (view.local_port, view.remote_port) == (4500, 4500)
        assert (view.encr_alg, view.encr_keysize, view.prf_alg, view.ke_methods) == (
            "AES_GCM_16", 256, "PRF_HMAC_SHA2_512", ("CURVE_25519",))
        assert view.established == 1 and view.children[0].state == "INSTALLED"
        assert node.manager.drops == {}
        assert node.manager.counts() == (1, 0)
    # established: the next deadline is the IKE_SA's hard lifetime (no retransmission pending)
    assert p.carol.manager.next_deadline() == p.carol.sa.timers.rekey
    assert p.moon.manager.next_deadline() == p.moon.sa.timers.rekey


def test_ike_auth_request_contents(pair):
    """The inner payloads of IKE_AUTH, in charon's order (decrypted with moon's keys)."""
    from vicid.ike.crypto.sk import unprotect

    p = pair()
    p.initiate()
    transfer(p.carol, p.moon, 0.0)
    transfer(p.moon, p.carol, 0.0)
    (req,) = datagrams(transfer(p.carol, p.moon, 0.0))  # moon derives its keys when parsing it
    msg = decode_message(req.data[4:])
    assert msg.header.is_initiator and not msg.header.is_response
    assert msg.header.exchange_type == ExchangeType.IKE_AUTH and msg.message_id == 1
    inner = unprotect(req.data[4:], msg, p.moon.sa.keymat.inbound)
    names = [f"N({N(x.notify_type).name})" if x.payload_type == PayloadType.NOTIFY
             else PayloadType(x.payload_type).name for x in inner.encrypted]
    assert names == ["IDi", "N(INITIAL_CONTACT)", "IDr", "AUTH", "SA", "TSi", "TSr",
                     "N(MOBIKE_SUPPORTED)", "N(NO_ADDITIONAL_ADDRESSES)", "N(MULTIPLE_AUTH_SUPPORTED)",
                     "N(EAP_ONLY_AUTHENTICATION)", "N(IKEV2_MESSAGE_ID_SYNC_SUPPORTED)"]
    sa = inner.get(PayloadType.SA)
    assert [t.transform_type for t in sa.proposals[0].transforms] == [1, 5]  # no KE in IKE_AUTH
    assert len(sa.proposals[0].spi) == 4


def test_control_log_lines(pair):
    """What swanctl --initiate would print, in order (levels 0 and 1)."""
    p = pair()
    p.initiate()
    for _ in range(2):
        transfer(p.carol, p.moon, 0.0)
        transfer(p.moon, p.carol, 0.0)
    transfer(p.carol, p.moon, 0.0)
    lines = [f"[{e.group}] {e.msg}" for e in of(p.carol.log, Log) if e.level <= 1]
    assert lines[:5] == [
        "[IKE] initiating IKE_SA pq[1] to 192.0.2.2",
        "[ENC] generating IKE_SA_INIT request 0 [ SA KE No N(NATD_S_IP) N(NATD_D_IP) N(FRAG_SUP) "
        "N(HASH_ALG) N(REDIR_SUP) ]",
        "[NET] sending packet: from 192.0.2.3[500] to 192.0.2.2[500] (232 bytes)",
        "[NET] received packet: from 192.0.2.2[500] to 192.0.2.3[500] (240 bytes)",
        "[ENC] parsed IKE_SA_INIT response 0 [ SA KE No N(NATD_S_IP) N(NATD_D_IP) N(FRAG_SUP) "
        "N(HASH_ALG) N(CHDLESS_SUP) N(MULT_AUTH) ]",
    ]
    assert "[ENC] generating IKE_AUTH request 1 [ IDi N(INIT_CONTACT) IDr AUTH SA TSi TSr N(MOBIKE_SUP) " \
           "N(NO_ADD_ADDR) N(MULT_AUTH) N(EAP_ONLY) N(MSG_ID_SYN_SUP) ]" in lines
    assert "[ENC] parsed IKE_AUTH response 1 [ IDr AUTH SA TSi TSr N(MOBIKE_SUP) N(NO_ADD_ADDR) ]" in lines
