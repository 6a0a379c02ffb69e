"""IKE_SA_INIT negotiation failures and retries: NO_PROPOSAL_CHOSEN, INVALID_KE_PAYLOAD, COOKIE."""

from __future__ import annotations

from tests.exchange.helpers import CAROL, MOON, child_cfg, creds, datagrams, ep, node, of, peer_cfg, transfer
from tests.exchange.test_multi_ke import run
from vicid.ike.effects import Alert, Completed, IkeStateChange, IkeUpDown, Log
from vicid.ike.wire.enums import ExchangeType, NotifyType
from vicid.ike.wire.message import decode_message

N = NotifyType


def notifies(datagram) -> list[int]:
    return [p.notify_type for p in decode_message(datagram.data).payloads if p.payload_type == 41]


def test_proposal_mismatch(pair):
    p = pair("aes256gcm16-sha512-x25519", moon_ike="aes128-sha256-ecp256")
    p.initiate(request_id=5)
    # IKE_SA_INIT  HDR, SAi1(AES_GCM/X25519), KEi, Ni -->
    transfer(p.carol, p.moon, 0.0)
    #             <--  HDR(SPIr=0), N(NO_PROPOSAL_CHOSEN)
    moon = p.moon.drain()
    (resp,) = datagrams(moon)
    msg = decode_message(resp.data)
    assert notifies(resp) == [N.NO_PROPOSAL_CHOSEN] and len(msg.payloads) == 1
    assert msg.header.spi_r == bytes(8) and msg.header.is_response
    assert [a.type for a in of(moon, Alert)] == ["proposal-mismatch-ike"]
    assert p.moon.manager.ike_sas() == [] and p.moon.manager.next_deadline() is None
    assert any(e.msg.startswith("configured proposals: IKE:AES_CBC_128") for e in of(moon, Log))
    p.carol.manager.receive_datagram(resp.data, resp.src, resp.dst, 0.1)
    carol = p.carol.drain()
    assert [a.type for a in of(carol, Alert)] == ["proposal-mismatch-ike"]
    assert "received NO_PROPOSAL_CHOSEN notify error" in [e.msg for e in of(carol, Log)]
    assert [e.state for e in of(carol, IkeStateChange)] == ["DESTROYING"]
    assert [(c.request_id, c.ok, c.errmsg) for c in of(carol, Completed)] == [
        (5, False, "establishing CHILD_SA 'net' failed")]
    assert [e.up for e in of(carol, IkeUpDown)] == [False]
    assert p.carol.manager.ike_sas() == [] and p.carol.manager.next_deadline() is None


def test_invalid_ke_payload_retry(pair):
    """The responder prefers ECP-256: INVALID_KE_PAYLOAD, then a retry with the same SPIi/nonce."""
    p = pair("aes256gcm16-sha512-x25519-ecp256", moon_ike="aes256gcm16-sha512-ecp256-x25519")
    p.initiate()
    # IKE_SA_INIT  HDR(A,0), SAi1, KEi(X25519), Ni -->
    (first,) = datagrams(transfer(p.carol, p.moon, 0.0))
    #             <--  HDR(A,0), N(INVALID_KE_PAYLOAD(ECP_256))
    (resp,) = datagrams(transfer(p.moon, p.carol, 0.0))
    assert notifies(resp) == [N.INVALID_KE_PAYLOAD]
    assert decode_message(resp.data).payloads[0].data == (19).to_bytes(2, "big")
    assert p.moon.manager.ike_sas() == []
    # IKE_SA_INIT  HDR(A,0), SAi1 (ECP_256 promoted), KEi(ECP_256), Ni -->
    carol = p.carol.drain()
    assert "peer didn't accept key exchange method CURVE_25519, it requested ECP_256" in [
        e.msg for e in of(carol, Log)]
    assert [e.state for e in of(p.carol.log, IkeStateChange)] == ["CONNECTING", "CREATED", "CONNECTING"]
    (retry,) = datagrams(carol)
    old, new = decode_message(first.data), decode_message(retry.data)
    assert old.header.spi_i == new.header.spi_i and new.header.message_id == 0
    assert old.get(40).data == new.get(40).data  # same nonce
    assert new.get(34).method == 19
    assert [t.transform_id for t in new.get(33).proposals[0].transforms if t.transform_type == 4] == [19, 31]
    p.moon.manager.receive_datagram(retry.data, retry.src, retry.dst, 0.0)
    run(p)
    assert p.carol.sa.view(0).ke_methods == ("ECP_256",) and p.moon.sa.state.value == "ESTABLISHED"


def test_cookie_under_half_open_load(pair, monkeypatch):
    from tests.exchange.helpers import with_settings

    p = pair(moon_settings=with_settings(cookie_threshold=2, cookie_threshold_ip=0))
    strangers = [peer_cfg(f"s{i}", f"198.51.100.{i}", MOON, f"s{i}.example.org", "moon.example.org",
                          "aes256gcm16-sha512-x25519", [child_cfg()]) for i in range(2)]
    # two half-open IKE_SAs from other initiators reach the threshold
    for i, cfg in enumerate(strangers):
        n = node(f"s{i}", f"198.51.100.{i}", [cfg], creds(), f"s{i}")
        n.manager.initiate(cfg, None, ep(f"198.51.100.{i}"), ep(MOON), 0.0)
        transfer(n, p.moon, 0.0)
    p.moon.drain()
    assert p.moon.manager.counts() == (2, 2)
    p.initiate(now=1.0)
    # IKE_SA_INIT  HDR(A,0), SAi1, KEi, Ni -->
    transfer(p.carol, p.moon, 1.0)
    #             <--  HDR(A,0), N(COOKIE)   (stateless: no IKE_SA created)
    (cookie_resp,) = datagrams(transfer(p.moon, p.carol, 1.0))
    assert notifies(cookie_resp) == [N.COOKIE]
    assert p.moon.manager.counts() == (2, 2) and p.moon.manager.drops["cookie_required"] == 1
    # IKE_SA_INIT  HDR(A,0), N(COOKIE), SAi1, KEi, Ni -->
    (retry,) = datagrams(p.carol.drain())
    assert p.carol.manager.next_deadline() == 5.0
    msg = decode_message(retry.data)
    assert msg.payloads[0].notify_type == N.COOKIE and msg.payloads[0].data == \
        decode_message(cookie_resp.data).payloads[0].data
    p.moon.manager.receive_datagram(retry.data, retry.src, retry.dst, 1.0)
    assert p.moon.manager.counts() == (3, 3)
    run(p, 1.0)
    moon_sa = next(sa for sa in p.moon.manager.ike_sas() if sa.peer_cfg and sa.peer_cfg.name == "pq")
    assert moon_sa.state.value == "ESTABLISHED" and p.carol.sa.state.value == "ESTABLISHED"


def test_stale_cookie_is_rejected_again(pair):
    """A cookie older than 10 s is answered with a fresh COOKIE, never with an IKE_SA."""
    p = pair()
    policy = p.moon.manager._cookie_policy
    policy.threshold, policy.last_threshold[0] = 1, 0.0  # cookies demanded (calm-down period)
    p.initiate()
    transfer(p.carol, p.moon, 0.0)
    (first,) = datagrams(transfer(p.moon, p.carol, 0.0))
    (retry,) = datagrams(p.carol.drain())
    policy.last_threshold[0] = 15.0  # still under load 20 s later
    p.moon.manager.receive_datagram(retry.data, retry.src, retry.dst, 20.0)
    (again,) = datagrams(p.moon.drain())
    assert notifies(again) == [N.COOKIE]
    assert decode_message(again.data).payloads[0].data != decode_message(first.data).payloads[0].data
    assert p.moon.manager.ike_sas() == [] and p.moon.manager.drops["cookie_required"] == 2
    # the same cookie within its lifetime is accepted
    p.moon.manager.receive_datagram(retry.data, retry.src, retry.dst, 5.0)
    assert p.moon.manager.counts() == (1, 1)


def test_no_config_for_addresses():
    """No IKE config for the initiator's address: unprotected NO_PROPOSAL_CHOSEN, no IKE_SA."""
    carol_peer = peer_cfg("pq", CAROL, MOON, "carol", "moon", "aes256gcm16-sha512-x25519", [child_cfg()])
    moon_peer = peer_cfg("pq", MOON, "203.0.113.9", "moon", "carol", "aes256gcm16-sha512-x25519",
                         [child_cfg()])
    carol = node("carol", CAROL, [carol_peer], creds(), "c")
    moon = node("moon", MOON, [moon_peer], creds(), "m")
    carol.manager.initiate(carol_peer, None, ep(CAROL), ep(MOON), 0.0)
    transfer(carol, moon, 0.0)
    (resp,) = datagrams(moon.drain())
    assert notifies(resp) == [N.NO_PROPOSAL_CHOSEN]
    assert moon.manager.ike_sas() == [] and moon.manager.drops["no_ike_config"] == 1
    assert decode_message(resp.data).exchange_type == ExchangeType.IKE_SA_INIT
