"""Vendor IDs in IKE_SA_INIT (``ike_vendor.c``): strongSwan's VID is sent only with
``charon.send_vendor_id``, and a peer's enables private-use algorithms; others are logged."""

from __future__ import annotations

from tests.exchange.helpers import datagrams, of, with_settings
from tests.exchange.test_multi_ke import run
from vicid.ike.effects import Log
from vicid.ike.sa import Ext, IkeState
from vicid.ike.settings import EngineSettings
from vicid.ike.tasks.ike_vendor import KNOWN_VIDS, identify
from vicid.ike.wire.enums import PayloadType
from vicid.ike.wire.message import decode_message

STRONGSWAN_VID = bytes.fromhex("882fe56d6fd20dbc2251613b2ebe5beb")  # MD5("strongSwan")


def _vids(datagram: bytes) -> list[bytes]:
    return [p.data for p in decode_message(datagram).payloads if p.payload_type == PayloadType.VENDOR_ID]


def test_no_vendor_id_by_default(pair):
    p = pair()
    p.initiate()
    init = datagrams(p.carol.drain())[0]
    assert _vids(init.data) == []
    p.moon.manager.receive_datagram(init.data, init.src, init.dst, 0.0)
    run(p)
    assert p.carol.sa.state == IkeState.ESTABLISHED
    assert not p.carol.sa.supports(Ext.STRONGSWAN) and not p.moon.sa.supports(Ext.STRONGSWAN)


def test_send_vendor_id_enables_the_extension_on_both_sides(pair):
    on = with_settings(send_vendor_id=True)
    p = pair(carol_settings=on, moon_settings=on)
    p.initiate()
    init = datagrams(p.carol.drain())[0]
    assert _vids(init.data) == [STRONGSWAN_VID]
    p.moon.manager.receive_datagram(init.data, init.src, init.dst, 0.0)
    response = datagrams(p.moon.drain())[0]
    assert _vids(response.data) == [STRONGSWAN_VID]
    p.carol.manager.receive_datagram(response.data, response.src, response.dst, 0.0)
    run(p)
    assert p.carol.sa.state == IkeState.ESTABLISHED
    assert p.carol.sa.supports(Ext.STRONGSWAN) and p.moon.sa.supports(Ext.STRONGSWAN)
    assert any(e.msg == "received strongSwan vendor ID" for e in of(p.moon.log, Log))


def test_one_sided_vendor_id(pair):
    p = pair(carol_settings=with_settings(send_vendor_id=True), moon_settings=EngineSettings())
    p.initiate()
    run(p)
    # moon learned carol is strongSwan; carol got no VID back
    assert p.moon.sa.supports(Ext.STRONGSWAN) and not p.carol.sa.supports(Ext.STRONGSWAN)


def test_identify_known_prefix_and_unknown():
    assert identify(STRONGSWAN_VID).desc == "strongSwan"
    sonicwall = next(v for v in KNOWN_VIDS if v.desc == "Sonicwall 7")
    assert identify(sonicwall.data + b"\x01\x02").desc == "Sonicwall 7"  # version bytes follow
    assert identify(STRONGSWAN_VID + b"x") is None  # exact match unless marked as a prefix
    assert identify(b"") is None
