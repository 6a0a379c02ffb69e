"""Manager rules: half-open timeout, INVALID_IKE_SPI, authenticated garbage, uniqueness,
MOBIKE address updates."""

from __future__ import annotations

from ipaddress import ip_address

from tests.exchange.helpers import CAROL, CAROL_ID, MOON, MOON_ID, creds, datagrams, ep, node, of, transfer
from tests.exchange.test_multi_ke import run
from vicid.ike.effects import IkeUpdate, IkeUpDown, Log, UpdateChildSa
from vicid.ike.messages import OutMessage
from vicid.ike.wire.enums import ExchangeType, NotifyType
from vicid.ike.wire.message import decode_message
from vicid.ike.wire.natt import add_non_esp_marker


def test_half_open_timeout(pair):
    p = pair()
    p.initiate()
    transfer(p.carol, p.moon, 0.0)
    p.moon.drain()  # the IKE_SA_INIT response is lost; carol never continues
    assert p.moon.manager.counts() == (1, 1) and p.moon.manager.next_deadline() == 30.0
    p.moon.manager.handle_timer(29.9)
    assert p.moon.manager.counts() == (1, 1)
    p.moon.manager.handle_timer(30.0)
    effects = p.moon.drain()
    assert "deleting half open IKE_SA with 192.0.2.3 after timeout" in [e.msg for e in of(effects, Log)]
    assert p.moon.manager.counts() == (0, 0) and p.moon.manager.next_deadline() is None


def test_invalid_ike_spi_is_rate_limited(pair):
    p = pair()
    p.initiate()
    run(p)
    carol_sa = p.carol.sa
    msg = OutMessage(ExchangeType.INFORMATIONAL, 7, True, carol_sa.my_host, carol_sa.other_host)
    (packet,) = carol_sa.tm.generate(msg)
    spoofed = bytes(8) + b"\x01" * 8 + packet[16:]  # unknown SPIs
    for now in (10.0, 10.2, 10.4, 11.5):
        p.moon.manager.receive_datagram(add_non_esp_marker(spoofed), carol_sa.my_host, carol_sa.other_host, now)
    replies = datagrams(p.moon.drain())
    assert len(replies) == 2  # at most one per second
    reply = decode_message(replies[0].data[4:])
    assert reply.header.is_response and reply.message_id == 7 and reply.sk is None
    assert reply.header.spi_i == bytes(8) and not reply.header.is_initiator
    assert [x.notify_type for x in reply.payloads] == [NotifyType.INVALID_IKE_SPI]
    assert p.moon.manager.drops["unknown_spi"] == 4
    # responses to unknown SAs are never answered
    resp = OutMessage(ExchangeType.INFORMATIONAL, 7, False, carol_sa.my_host, carol_sa.other_host)
    (rpacket,) = carol_sa.tm.generate(resp)
    p.moon.manager.receive_datagram(add_non_esp_marker(bytes(8) + rpacket[8:]), carol_sa.my_host,
                                    carol_sa.other_host, 20.0)
    assert datagrams(p.moon.drain()) == []


def test_authentic_but_invalid_request_gets_invalid_syntax(pair):
    p = pair()
    p.initiate()
    run(p)
    sa = p.carol.sa
    msg = OutMessage(ExchangeType.INFORMATIONAL, sa.tm.initiating.mid, True, sa.my_host, sa.other_host)
    for _ in range(21):  # at most 20 notifies (MESSAGE_RULES)
        msg.add_notify(NotifyType.NO_ADDITIONAL_ADDRESSES)
    for packet in sa.tm.generate(msg):
        p.moon.manager.receive_datagram(add_non_esp_marker(packet), sa.my_host, sa.other_host, 5.0)
    effects = p.moon.drain()
    (reply,) = datagrams(effects)
    assert [e.up for e in of(effects, IkeUpDown)] == [False]
    assert p.moon.manager.ike_sas() == [] and p.moon.manager.drops["invalid_syntax"] == 1
    assert decode_message(reply.data[4:]).sk is not None  # protected INVALID_SYNTAX


def test_initial_contact_replaces_old_ike_sa(pair):
    """carol restarts and connects again with INITIAL_CONTACT: moon destroys the old IKE_SA."""
    p = pair()
    p.initiate()
    run(p)
    old = p.moon.sa
    carol2 = node("carol", CAROL, [p.carol_peer], creds(CAROL_ID, MOON_ID), "carol-after-reboot")
    carol2.manager.initiate(p.carol_peer, p.child, ep(CAROL), ep(MOON), 50.0)

    class Q:
        carol, moon = carol2, p.moon
    run(Q, 50.0)
    sas = p.moon.manager.ike_sas()
    assert len(sas) == 1 and sas[0] is not old and sas[0].state.value == "ESTABLISHED"
    assert "destroying duplicate IKE_SA for peer 'carol.example.org', received INITIAL_CONTACT" in [
        e.msg for e in of(p.moon.log, Log)]


def test_mobike_address_update(pair):
    p = pair()
    p.initiate()
    run(p)
    p.moon.drain()
    sa = p.carol.sa
    new_src = (ip_address("198.51.100.7"), 4500)
    msg = OutMessage(ExchangeType.INFORMATIONAL, sa.tm.initiating.mid, True, new_src, sa.other_host)
    msg.add_notify(NotifyType.UPDATE_SA_ADDRESSES)
    msg.add_notify(NotifyType.COOKIE2, b"c2" * 8)
    for packet in sa.tm.generate(msg):
        p.moon.manager.receive_datagram(add_non_esp_marker(packet), new_src, sa.other_host, 60.0)
    effects = p.moon.drain()
    assert p.moon.sa.other_host == new_src
    assert [(u.dst, u.src) for u in of(effects, UpdateChildSa)] == [
        (p.moon.sa.my_host, new_src), (new_src, p.moon.sa.my_host)]
    assert [u.remote for u in of(effects, IkeUpdate)] == [new_src]
    (reply,) = datagrams(effects)
    assert reply.dst == new_src and ip_address(CAROL) != reply.dst[0]


def test_established_sa_is_not_half_open_when_deleted_later(pair):
    from tests.exchange.test_child import _established

    p = _established(pair)
    p.moon.manager.terminate_ike(1, 100.0)
    assert p.moon.manager.next_deadline() == 104.0  # the DELETE's retransmission, not 30 s
    p.moon.manager.handle_timer(104.0)
    assert [e.msg for e in of(p.moon.drain(), Log)].count("retransmit 1 of request with message ID 0") == 1


def test_uniqueness_looks_only_at_sas_with_the_same_identities(monkeypatch):
    """INITIAL_CONTACT makes moon look for duplicates of each new IKE_SA: it asks its identity
    index, so a dozen established peers cost nothing, and the one duplicate is still found."""
    from types import SimpleNamespace

    from tests.exchange.helpers import child_cfg, peer_cfg
    from vicid.ike.manager import IkeSaManager

    moon_peer = peer_cfg("any", MOON, "%any", MOON_ID, "%any", "aes256gcm16-sha512-x25519", [child_cfg()])
    moon = node("moon", MOON, [moon_peer], creds(), "moon")
    compared: list = []
    duplicate = IkeSaManager._duplicate
    monkeypatch.setattr(IkeSaManager, "_duplicate",
                        staticmethod(lambda dup, sa: compared.append(dup) or duplicate(dup, sa)))

    def connect(ident: str, now: float) -> None:
        peer = peer_cfg("c", CAROL, MOON, ident, MOON_ID, "aes256gcm16-sha512-x25519", [child_cfg()])
        carol = node(ident, CAROL, [peer], creds(), ident)
        carol.manager.initiate(peer, peer.children[0], ep(CAROL), ep(MOON), now)
        run(SimpleNamespace(carol=carol, moon=moon), now)

    for i in range(12):
        connect(f"c{i}.example.org", float(i))
    assert len(moon.manager.ike_sas()) == 12 and compared == []
    old = next(sa for sa in moon.manager.ike_sas() if str(sa.other_id) == "c3.example.org")
    connect("C3.example.org", 20.0)  # FQDNs compare case-insensitively: the same peer again
    assert compared == [old] and old not in moon.manager.ike_sas()
    assert len(moon.manager.ike_sas()) == 12
