"""Loss and retransmission with explicit time, and the response cache (RFC 7296 §2.1)."""

from __future__ import annotations

from tests.exchange.helpers import datagrams, of, transfer
from tests.exchange.test_multi_ke import run
from vicid.ike.effects import Alert, Completed, IkeStateChange, Log


def test_loss_and_retransmission_schedule(pair):
    p = pair()
    p.initiate(now=0.0, request_id=9)
    # IKE_SA_INIT  HDR, SAi1, KEi, Ni -->   (lost)
    (first,) = datagrams(p.carol.drain())
    assert p.carol.manager.next_deadline() == 4.0
    p.carol.manager.handle_timer(3.999)
    assert datagrams(p.carol.drain()) == []
    # charon's schedule: 4 s, then x1.8 per retransmission (timeout * base^n)
    sent_at = [0.0]
    for expected_next in (11.2, 24.16, 47.488, 89.478, 165.06):
        now = p.carol.manager.next_deadline()
        p.carol.manager.handle_timer(now)
        effects = p.carol.drain()
        (again,) = datagrams(effects)
        assert again.data == first.data  # byte for byte
        assert f"retransmit {len(sent_at)} of request with message ID 0" in [e.msg for e in of(effects, Log)]
        assert [a.type for a in of(effects, Alert)] == ["retransmit-send"]
        sent_at.append(now)
        assert abs(p.carol.manager.next_deadline() - expected_next) < 1e-9
    assert [round(t, 6) for t in sent_at] == [0.0, 4.0, 11.2, 24.16, 47.488, 89.478]
    # after 5 retransmissions: give up
    p.carol.manager.handle_timer(165.06)
    effects = p.carol.drain()
    assert datagrams(effects) == []
    assert "giving up after 5 retransmits" in [e.msg for e in of(effects, Log)]
    assert [a.type for a in of(effects, Alert)] == ["retransmit-send-timeout", "peer-init-unreachable"]
    assert [e.state for e in of(effects, IkeStateChange)] == ["DESTROYING"]
    assert [(c.request_id, c.ok) for c in of(effects, Completed)] == [(9, False)]
    assert p.carol.manager.ike_sas() == [] and p.carol.manager.next_deadline() is None


def test_lost_response_then_retransmitted_request_gets_cached_response(pair):
    p = pair()
    p.initiate()
    transfer(p.carol, p.moon, 0.0)
    transfer(p.moon, p.carol, 0.0)
    # IKE_AUTH  HDR, SK {IDi, AUTH, SAi2, TSi, TSr} -->
    (auth_req,) = datagrams(transfer(p.carol, p.moon, 0.0))
    #          <--  HDR, SK {IDr, AUTH, SAr2, TSi, TSr}   (lost)
    (lost,) = datagrams(p.moon.drain())
    assert p.moon.sa.state.value == "ESTABLISHED"
    # carol retransmits at t=4; moon answers from its cache, byte for byte, nothing reprocessed
    p.carol.manager.handle_timer(4.0)
    (again,) = datagrams(p.carol.drain())
    assert again.data == auth_req.data
    p.moon.manager.receive_datagram(again.data, again.src, again.dst, 4.0)
    effects = p.moon.drain()
    (cached,) = datagrams(effects)
    assert cached.data == lost.data
    assert "received retransmit of request with ID 1, retransmitting response" in [
        e.msg for e in of(effects, Log)]
    assert [a.type for a in of(effects, Alert)] == ["retransmit-receive"]
    assert not of(effects, IkeStateChange) and len(p.moon.sa.children) == 1
    p.carol.manager.receive_datagram(cached.data, cached.src, cached.dst, 4.1)
    effects = p.carol.drain()
    assert [a.type for a in of(effects, Alert)] == ["retransmit-send-cleared"]
    assert p.carol.sa.state.value == "ESTABLISHED"
    # a third copy of the old request is answered again; an older one is ignored and counted
    p.moon.manager.receive_datagram(again.data, again.src, again.dst, 5.0)
    assert [d.data for d in datagrams(p.moon.drain())] == [lost.data]


def test_cached_fragmented_response(pair):
    """A fragmented response is cached and resent as the same set of fragments."""
    from tests.exchange.helpers import with_settings

    p = pair("aes256gcm16-sha512-x25519-ke1_mlkem1024", moon_settings=with_settings(fragment_size=1000))
    p.initiate()
    transfer(p.carol, p.moon, 0.0)
    transfer(p.moon, p.carol, 0.0)
    (*frags,) = datagrams(transfer(p.carol, p.moon, 0.0))
    assert len(frags) == 2  # carol: 1280-byte budget, 1568-byte ML-KEM-1024 key
    lost = datagrams(p.moon.drain())
    assert len(lost) == 2  # moon's 1000-byte budget splits the 1568-byte ciphertext
    for f in frags:  # the retransmission: only the first fragment is hashed (RFC 7383 §2.6.1)
        p.moon.manager.receive_datagram(f.data, f.src, f.dst, 4.0)
    assert [d.data for d in datagrams(p.moon.drain())] == [d.data for d in lost]
    for d in lost:
        p.carol.manager.receive_datagram(d.data, d.src, d.dst, 4.0)
    run(p, 4.0)
    assert p.carol.sa.state.value == p.moon.sa.state.value == "ESTABLISHED"


def test_unexpected_message_ids_are_dropped(pair):
    p = pair()
    p.initiate()
    run(p)
    # a replayed IKE_SA_INIT response for an established SA
    init_resp = datagrams(p.moon.log)[0]
    p.carol.manager.receive_datagram(init_resp.data, init_resp.src, init_resp.dst, 5.0)
    assert p.carol.manager.drops["unexpected_message_id"] == 1
    assert datagrams(p.carol.drain()) == [] and p.carol.sa.state.value == "ESTABLISHED"
