"""CHILD_SAs: selector narrowing, transport mode, CREATE_CHILD_SA, deletes from either side."""

from __future__ import annotations

from tests.exchange.helpers import CAROL, MOON, child_cfg, datagrams, of, transfer
from tests.exchange.test_multi_ke import run
from vicid.ike.effects import (
    ChildStateChange,
    ChildUpDown,
    Completed,
    DeleteChildSa,
    DeletePolicy,
    Direction,
    IkeStateChange,
    IkeUpDown,
    InstallChildSa,
    InstallPolicy,
    Log,
)
from vicid.ike.wire.enums import ExchangeType
from vicid.ike.wire.message import decode_message


def msgs(effects) -> list[str]:
    return [e.msg for e in of(effects, Log)]


def test_traffic_selector_narrowing(pair):
    """carol proposes 10.0.0.0/8 === 0.0.0.0/0; moon narrows to its 10.1.0.0/16 === 10.2.0.0/24."""
    p = pair(carol_child=child_cfg("net", ["10.2.0.0/24"], ["0.0.0.0/0"]),
             moon_child=child_cfg("net", ["10.1.0.0/16", "192.168.0.0/24"], ["10.2.0.0/16"]))
    p.initiate()
    run(p)
    assert p.moon.sa.children[0].my_ts[0].render() == "10.1.0.0/16"
    moon_child, carol_child = p.moon.sa.children[0], p.carol.sa.children[0]
    assert [ts.render() for ts in moon_child.my_ts] == ["10.1.0.0/16", "192.168.0.0/24"]
    assert [ts.render() for ts in moon_child.other_ts] == ["10.2.0.0/24"]
    assert [ts.render() for ts in carol_child.my_ts] == ["10.2.0.0/24"]
    assert [ts.render() for ts in carol_child.other_ts] == ["10.1.0.0/16", "192.168.0.0/24"]
    assert ("CHILD_SA net{1} established with SPIs "
            f"{carol_child.spi_in.hex()}_i {carol_child.spi_out.hex()}_o and TS "
            "10.2.0.0/24 === 10.1.0.0/16 192.168.0.0/24") in msgs(p.carol.log)
    pols = of(p.carol.log, InstallPolicy)
    assert len(pols) == 6 and {p_.direction for p_ in pols} == {Direction.IN, Direction.FWD, Direction.OUT}


def test_dynamic_selectors_become_host_addresses(pair):
    p = pair(carol_child=child_cfg(), moon_child=child_cfg())
    p.initiate()
    run(p)
    child = p.carol.sa.children[0]
    assert [ts.render() for ts in child.my_ts] == [f"{CAROL}/32"]
    assert [ts.render() for ts in child.other_ts] == [f"{MOON}/32"]


def test_ts_unacceptable_keeps_ike_sa(pair):
    p = pair(carol_child=child_cfg("net", ["10.9.0.0/16"], ["10.8.0.0/16"]),
             moon_child=child_cfg("net", ["10.2.0.0/16"], ["10.1.0.0/16"]))
    p.initiate(request_id=4)
    run(p)
    assert p.carol.sa.state.value == p.moon.sa.state.value == "ESTABLISHED"
    assert p.carol.sa.children == [] == p.moon.sa.children
    assert "received TS_UNACCEPTABLE notify, no CHILD_SA built" in msgs(p.carol.log)
    assert "failed to establish CHILD_SA, keeping IKE_SA" in msgs(p.moon.log)
    assert [(c.request_id, c.ok, c.errmsg) for c in of(p.carol.log, Completed)] == [
        (4, False, "establishing CHILD_SA 'net' failed")]
    assert of(p.moon.log, InstallChildSa) == []


def test_transport_mode(pair):
    from vicid.ike.config import IpsecMode

    p = pair(carol_child=child_cfg(mode=IpsecMode.TRANSPORT), moon_child=child_cfg(mode=IpsecMode.TRANSPORT))
    p.initiate()
    run(p)
    assert p.carol.sa.children[0].mode == p.moon.sa.children[0].mode == IpsecMode.TRANSPORT
    installs = of(p.moon.log, InstallChildSa)
    assert {i.mode for i in installs} == {"TRANSPORT"}
    assert [x.direction for x in of(p.moon.log, InstallPolicy)] == [Direction.IN, Direction.OUT]


def test_transport_mode_not_configured_by_responder(pair):
    from vicid.ike.config import IpsecMode

    p = pair(carol_child=child_cfg(mode=IpsecMode.TRANSPORT), moon_child=child_cfg())
    p.initiate()
    run(p)
    # moon is configured for tunnel mode and ignores N(USE_TRANSPORT_MODE); carol accepts the
    # tunnel (charon's check_mode only refuses an unwanted transport mode)
    assert p.moon.sa.children[0].mode == p.carol.sa.children[0].mode == IpsecMode.TUNNEL
    assert {i.mode for i in of(p.carol.log, InstallChildSa)} == {"TUNNEL"}


def test_second_child_with_create_child_sa(pair):
    """Initiating another child of an established connection reuses its IKE_SA (charon)."""
    p = pair()
    p.initiate()
    run(p)
    second = child_cfg("net2", ["10.1.1.0/24"], ["10.2.1.0/24"], esp="aes128gcm16-x25519")
    moon_second = child_cfg("net2", ["10.2.1.0/24"], ["10.1.1.0/24"], esp="aes128gcm16-x25519")
    from dataclasses import replace

    p.moon.peers[0] = replace(p.moon_peer, children=(*p.moon_peer.children, moon_second))
    p.carol.manager.initiate(p.carol_peer, second, None, None, 10.0, request_id=8)
    # CREATE_CHILD_SA  HDR, SK {SA, Ni, KEi, TSi, TSr} -->
    (req,) = datagrams(transfer(p.carol, p.moon, 10.0))
    assert decode_message(req.data[4:]).exchange_type == ExchangeType.CREATE_CHILD_SA
    #                 <--  HDR, SK {SA, Nr, KEr, TSi, TSr}
    run(p, 10.0)
    assert len(p.carol.manager.ike_sas()) == 1
    names = sorted(c.name for c in p.carol.sa.children)
    assert names == ["net", "net2"] == sorted(c.name for c in p.moon.sa.children)
    net2 = next(c for c in p.carol.sa.children if c.name == "net2")
    assert net2.view(10.0).ke_methods == ("CURVE_25519",) and net2.uniqueid == 2
    assert [(c.request_id, c.ok) for c in of(p.carol.log, Completed)] == [(1, True), (8, True)]


def _established(pair):
    p = pair()
    p.initiate()
    run(p)
    p.carol.drain(), p.moon.drain()
    return p


def test_delete_ike_sa_from_initiator(pair):
    p = _established(pair)
    p.carol.manager.terminate_ike(1, 20.0, request_id=11)
    # INFORMATIONAL  HDR, SK {D(IKE)} -->
    carol = transfer(p.carol, p.moon, 20.0)
    assert [e.state for e in of(carol, IkeStateChange)] == ["DELETING"]
    assert "deleting IKE_SA pq[1] between 192.0.2.3[carol.example.org]...192.0.2.2[moon.example.org]" in msgs(carol)
    assert p.carol.manager.next_deadline() == 24.0
    #               <--  HDR, SK {}
    moon = transfer(p.moon, p.carol, 20.0)
    assert [e.up for e in of(moon, IkeUpDown)] == [False]
    assert [e.up for e in of(moon, ChildUpDown)] == [False]
    assert [e.state for e in of(moon, IkeStateChange)] == ["DELETING", "DESTROYING"]
    kinds = [type(e).__name__ for e in moon if not isinstance(e, Log)]
    # the response goes out before the kernel state is removed
    assert kinds.index("SendDatagram") < kinds.index("DeletePolicy")
    assert [(d.direction) for d in of(moon, DeletePolicy)] == [Direction.OUT, Direction.IN, Direction.FWD]
    assert [d.inbound for d in of(moon, DeleteChildSa)] == [True, False]
    carol = p.carol.drain()
    assert [e.up for e in of(carol, IkeUpDown)] == [False]
    assert [(c.request_id, c.ok) for c in of(carol, Completed)] == [(11, True)]
    assert len(of(carol, DeleteChildSa)) == 2
    assert p.carol.manager.ike_sas() == [] == p.moon.manager.ike_sas()
    assert p.carol.manager.next_deadline() is None


def test_delete_ike_sa_from_responder(pair):
    p = _established(pair)
    p.moon.manager.terminate_ike(1, 20.0)
    # INFORMATIONAL  HDR(I=0), SK {D(IKE)} -->   (moon is the original responder)
    (req,) = datagrams(transfer(p.moon, p.carol, 20.0))
    msg = decode_message(req.data[4:])
    assert not msg.header.is_initiator and msg.message_id == 0
    transfer(p.carol, p.moon, 20.0)
    moon = p.moon.drain()
    assert [e.up for e in of(moon, IkeUpDown)] == [False]
    assert p.carol.manager.ike_sas() == [] == p.moon.manager.ike_sas()


def test_delete_child_from_either_side(pair):
    p = _established(pair)
    child = p.carol.sa.children[0]
    p.carol.manager.terminate_child(child.uniqueid, 30.0, request_id=12)
    # INFORMATIONAL  HDR, SK {D(ESP, SPIi)} -->
    carol = transfer(p.carol, p.moon, 30.0)
    assert f"sending DELETE for ESP CHILD_SA with SPI {child.spi_in.hex()}" in msgs(carol)
    #               <--  HDR, SK {D(ESP, SPIr)}
    moon = transfer(p.moon, p.carol, 30.0)
    assert f"received DELETE for ESP CHILD_SA with SPI {child.spi_in.hex()}" in msgs(moon)
    assert [e.state for e in of(moon, ChildStateChange)] == ["DELETING", "DELETED", "DESTROYING"]
    assert p.moon.sa.children == []
    carol = p.carol.drain()
    assert [(c.request_id, c.ok) for c in of(carol, Completed)] == [(12, True)]
    assert "CHILD_SA net{1} closed" in msgs(carol)
    assert p.carol.sa.children == [] and p.carol.sa.state.value == "ESTABLISHED"
    # and the other way round, after a new CHILD_SA
    p.carol.manager.initiate(p.carol_peer, p.child, None, None, 40.0)
    run(p, 40.0)
    moon_child = p.moon.sa.children[0]
    p.moon.manager.terminate_child(moon_child.uniqueid, 50.0)
    run(p, 50.0)
    assert p.carol.sa.children == [] == p.moon.sa.children
    assert p.carol.manager.drops == {} and p.moon.manager.drops == {}


def test_childless_initiation(pair):
    p = pair()
    p.initiate(child=False, request_id=2)
    run(p)
    assert p.carol.sa.state.value == "ESTABLISHED" and p.carol.sa.children == []
    assert [(c.request_id, c.ok) for c in of(p.carol.log, Completed)] == [(2, True)]


def test_duplicate_child_is_not_negotiated(pair):
    p = _established(pair)
    p.carol.manager.initiate(p.carol_peer, p.child, None, None, 5.0, request_id=21)
    effects = p.carol.drain()
    assert datagrams(effects) == []
    existing = p.carol.sa.children[0]
    assert (f"not establishing CHILD_SA net{{2}} due to existing duplicate {{1}} with SPIs "
            f"{existing.spi_in.hex()}_i {existing.spi_out.hex()}_o and TS 10.1.0.0/16 === 10.2.0.0/16"
            ) in msgs(effects)
    assert [(c.request_id, c.ok) for c in of(effects, Completed)] == [(21, False)]
    assert len(p.carol.sa.children) == 1 and p.carol.manager.next_deadline() == p.carol.sa.timers.rekey
