"""Configuration payloads in memory: carol asks for virtual IPs, moon assigns them from its pools.

carol                                                   moon (pools = rw)
IKE_AUTH  SK {IDi, AUTH, CP(CFG_REQUEST: IP4_ADDRESS, IP4_DNS), SAi2, TSi(0.0.0.0/0), TSr} -->
          <-- SK {IDr, AUTH, CP(CFG_REPLY: IP4_ADDRESS(10.3.0.1), IP4_DNS(10.3.0.53)), SAr2,
                  TSi(10.3.0.1/32), TSr}
"""

from __future__ import annotations

from dataclasses import replace
from ipaddress import ip_address

import pytest

from tests.exchange.conftest import make_pair
from tests.exchange.helpers import CAROL, CAROL_ID, Node, child_cfg, creds, ep, node, of, peer_cfg, transfer
from tests.exchange.test_rekey import run
from vicid.config.pools import PoolStore, parse_pool
from vicid.identity import Identification
from vicid.ike.crypto.sk import unprotect
from vicid.ike.effects import Alert, DeleteVirtualIp, InstallPolicy, InstallVirtualIp, Log
from vicid.ike.wire.enums import CfgType, ConfigAttr, ExchangeType, PayloadType
from vicid.ike.wire.message import decode_message

A = ConfigAttr
MOON_NET, MOON_NET6 = "10.2.0.0/16", "2001:db8:2::/64"


def msgs(node_) -> list[str]:
    return [e.msg for e in of(node_.log, Log)]


def pools(**defs: dict) -> PoolStore:
    store = PoolStore()
    for name, section in defs.items():
        store.merge(parse_pool(name, {k: (v.encode() if isinstance(v, str) else v) for k, v in section.items()}))
    return store


def rw_pair(
    vips=("0.0.0.0",),
    pool_names=("rw",),
    store: PoolStore | None = None,
    carol_remote=(MOON_NET,),
    moon_local=(MOON_NET,),
):
    """carol requests VIPS (local_ts dynamic); moon assigns from POOL_NAMES (remote_ts dynamic)."""
    p = make_pair(
        carol_child=child_cfg("net", ["dynamic"], list(carol_remote)),
        moon_child=child_cfg("net", list(moon_local), ["dynamic"]),
    )
    p.carol_peer = replace(p.carol_peer, vips=tuple(ip_address(v) for v in vips))
    p.moon_peer = replace(p.moon_peer, pools=tuple(pool_names))
    p.carol.peers[:] = [p.carol_peer]
    p.moon.peers[:] = [p.moon_peer]
    p.moon.manager.ctx.attributes = (
        store if store is not None else pools(rw={"addrs": "10.3.0.0/28", "dns": [b"10.3.0.53"]})
    )
    return p


def cp_of(node_: Node, first: bool) -> list:
    """CP payloads of the IKE_AUTH messages NODE sent (decrypted with its own keys)."""
    out = []
    sa = node_.sa
    for d in node_.log:
        data = getattr(d, "data", None)
        if data is None:
            continue
        raw = data[4:] if data[:4] == bytes(4) else data
        msg = decode_message(raw)
        if msg.exchange_type != ExchangeType.IKE_AUTH:
            continue
        plain = unprotect(raw, msg, sa.keymat.outbound)
        out += plain.get_all(PayloadType.CP)
    return out


def test_ipv4_virtual_ip_assigned_with_dns_and_selectors_narrowed():
    p = rw_pair()
    p.initiate()
    run(p)
    carol, moon = p.carol.sa, p.moon.sa
    assert carol.my_vips == [ip_address("10.3.0.1")] and moon.other_vips == [ip_address("10.3.0.1")]
    assert carol.view(0).local_vips == ("10.3.0.1",) and moon.view(0).remote_vips == ("10.3.0.1",)
    # carol's TSi is the virtual IP on both sides (moon narrowed 0.0.0.0/0 to it)
    assert [t.render() for t in carol.children[0].my_ts] == ["10.3.0.1/32"]
    assert [t.render() for t in moon.children[0].other_ts] == ["10.3.0.1/32"]
    # the address is installed before the policies that route through it
    kinds = [type(e).__name__ for e in p.carol.log if isinstance(e, InstallVirtualIp | InstallPolicy)]
    assert kinds[0] == "InstallVirtualIp" and of(p.carol.log, InstallVirtualIp) == [
        InstallVirtualIp(ip_address("10.3.0.1"), ip_address(CAROL))
    ]
    assert "installing new virtual IP 10.3.0.1" in msgs(p.carol)
    assert any(m.startswith("generating IKE_AUTH request 1 [") and " CPRQ(ADDR DNS) " in m for m in msgs(p.carol))
    assert any(m.startswith("generating IKE_AUTH response 1 [") and " CPRP(ADDR DNS) " in m for m in msgs(p.moon))
    assert "handling INTERNAL_IP4_DNS attribute failed" in msgs(p.carol)  # no resolve handler
    assert carol.config_attributes == [(A.INTERNAL_IP4_DNS, bytes([10, 3, 0, 53]))]
    for line in (
        "peer requested virtual IP %any",
        "assigning new lease to 'carol.example.org'",
        "assigning virtual IP 10.3.0.1 to peer 'carol.example.org'",
    ):
        assert line in msgs(p.moon)
    (req,) = cp_of(p.carol, True)
    assert req.cfg_type == CfgType.CFG_REQUEST
    assert [(a.attr_type, a.value) for a in req.attributes] == [
        (A.INTERNAL_IP4_ADDRESS, b""),
        (A.INTERNAL_IP4_DNS, b""),
    ]
    (rep,) = cp_of(p.moon, False)
    assert rep.cfg_type == CfgType.CFG_REPLY
    assert [(a.attr_type, a.value) for a in rep.attributes] == [
        (A.INTERNAL_IP4_ADDRESS, bytes([10, 3, 0, 1])),
        (A.INTERNAL_IP4_DNS, bytes([10, 3, 0, 53])),
    ]
    assert [(str(lease.identity), lease.online) for lease in p.moon.manager.ctx.attributes.get("rw").leases] == [
        ("carol.example.org", True)
    ]


def test_release_on_delete_and_same_address_next_time():
    p = rw_pair()
    store = p.moon.manager.ctx.attributes
    p.initiate()
    run(p)
    p.carol.manager.terminate_ike(p.carol.sa.uniqueid, 10.0)
    run(p, 10.0)
    assert p.carol.manager.ike_sas() == [] == p.moon.manager.ike_sas()
    assert of(p.carol.log, DeleteVirtualIp) == [DeleteVirtualIp(ip_address("10.3.0.1"))]
    assert "lease 10.3.0.1 by 'carol.example.org' went offline" in msgs(p.moon)
    assert (store.get("rw").online, store.get("rw").offline) == (0, 1)
    p.initiate(20.0)
    run(p, 20.0)
    assert p.carol.sa.my_vips == [ip_address("10.3.0.1")]
    assert "reassigning offline lease to 'carol.example.org'" in msgs(p.moon)
    assert (store.get("rw").online, store.get("rw").offline) == (1, 0)


def test_ipv6_virtual_ip():
    p = rw_pair(
        vips=("::",),
        store=pools(rw6={"addrs": "2001:db8:3::/120", "dns": [b"2001:db8:3::53"]}),
        pool_names=("rw6",),
        carol_remote=(MOON_NET6,),
        moon_local=(MOON_NET6,),
    )
    p.initiate()
    run(p)
    carol, moon = p.carol.sa, p.moon.sa
    assert carol.my_vips == [ip_address("2001:db8:3::1")] == moon.other_vips
    assert [t.render() for t in carol.children[0].my_ts] == ["2001:db8:3::1/128"]
    assert [t.render() for t in moon.children[0].other_ts] == ["2001:db8:3::1/128"]
    (req,) = cp_of(p.carol, True)
    assert [(a.attr_type, a.value) for a in req.attributes] == [
        (A.INTERNAL_IP6_ADDRESS, b""),
        (A.INTERNAL_IP6_DNS, b""),
    ]
    (rep,) = cp_of(p.moon, False)
    assert rep.attributes[0].value == ip_address("2001:db8:3::1").packed + bytes([64])


def test_dual_stack_request():
    store = pools(rw={"addrs": "10.3.0.0/28"}, rw6={"addrs": "2001:db8:3::/120"})
    p = rw_pair(
        vips=("0.0.0.0", "::"),
        store=store,
        pool_names=("rw", "rw6"),
        carol_remote=(MOON_NET, MOON_NET6),
        moon_local=(MOON_NET, MOON_NET6),
    )
    p.initiate()
    run(p)
    assert p.carol.sa.my_vips == [ip_address("10.3.0.1"), ip_address("2001:db8:3::1")]
    assert [t.render() for t in p.moon.sa.children[0].other_ts] == ["10.3.0.1/32", "2001:db8:3::1/128"]


def test_specific_address_requested():
    """A specific address is a request like any other for mem_pool: a new lease is the next free
    one; the same identity gets its own lease back."""
    p = rw_pair(vips=("10.3.0.9",))
    p.initiate()
    run(p)
    assert "peer requested virtual IP 10.3.0.9" in msgs(p.moon)
    (req,) = cp_of(p.carol, True)
    assert req.attributes[0].value == bytes([10, 3, 0, 9])
    assert p.carol.sa.my_vips == [ip_address("10.3.0.1")]


def test_exhausted_pool_sends_internal_address_failure():
    store = pools(rw={"addrs": "10.3.0.1-10.3.0.1"})
    dave = Identification.from_string("dave.example.org")
    assert store.acquire_address(["rw"], dave, ip_address("0.0.0.0"), ep("192.0.2.4"), lambda _l: None)
    p = rw_pair(store=store)
    p.initiate(request_id=3)
    run(p)
    carol, moon = p.carol.sa, p.moon.sa
    assert carol.state.value == moon.state.value == "ESTABLISHED"  # the IKE_SA stays, no CHILD_SA
    assert carol.children == [] == moon.children and carol.my_vips == [] == moon.other_vips
    m = msgs(p.moon)
    for line in (
        "pool 'rw' is full, unable to assign address",
        "no virtual IP found for %any requested by 'carol.example.org'",
        "no virtual IP found, sending INTERNAL_ADDRESS_FAILURE",
        "configuration payload negotiation failed, no CHILD_SA built",
    ):
        assert line in m
    assert "received INTERNAL_ADDRESS_FAILURE notify, no CHILD_SA built" in msgs(p.carol)
    assert [a.type for a in of(p.moon.log, Alert)].count("vip-failure") == 1


def test_pool_without_request_sends_failed_cp_required():
    p = rw_pair(vips=())
    p.initiate()
    run(p)
    assert "expected a virtual IP request, sending FAILED_CP_REQUIRED" in msgs(p.moon)
    assert "received FAILED_CP_REQUIRED notify, no CHILD_SA built" in msgs(p.carol)
    assert p.carol.sa.children == [] == p.moon.sa.children


def test_no_vips_no_pools_no_cp():
    p = make_pair()
    p.initiate()
    run(p)
    assert cp_of(p.carol, True) == [] == cp_of(p.moon, False)
    assert p.carol.sa.children and p.carol.sa.my_vips == []


@pytest.mark.parametrize("how", ["rekey", "reauth"])
def test_lease_follows_ike_rekey_and_reauthentication(how):
    """A rekeyed IKE_SA takes the virtual IPs over; a reauthentication asks for the same address
    again from the same endpoint and shares the online lease until the old IKE_SA is gone."""
    p = rw_pair()
    store = p.moon.manager.ctx.attributes
    p.initiate()
    run(p)
    old = p.carol.sa
    p.carol.manager.rekey_ike(old.uniqueid, 10.0, reauth=how == "reauth")
    run(p, 10.0)
    (new,) = p.carol.manager.ike_sas()
    (moon_sa,) = p.moon.manager.ike_sas()
    assert new is not old and new.my_vips == [ip_address("10.3.0.1")] == moon_sa.other_vips
    assert (store.get("rw").online, store.get("rw").offline) == (1, 0)
    if how == "reauth":
        assert "reassigning online lease to 'carol.example.org'" in msgs(p.moon)
    # the address stays installed exactly once on carol's side
    net = sum(1 for e in p.carol.log if isinstance(e, InstallVirtualIp)) - sum(
        1 for e in p.carol.log if isinstance(e, DeleteVirtualIp)
    )
    assert net == 1
    p.carol.manager.terminate_ike(new.uniqueid, 20.0)
    run(p, 20.0)
    assert (store.get("rw").online, store.get("rw").offline) == (0, 1)


def test_second_device_of_the_same_identity_gets_another_address():
    """Another endpoint with carol's identity (no INITIAL_CONTACT): her online lease is not shared."""
    from tests.exchange.helpers import MOON, MOON_ID
    from vicid.ike.config import UniquePolicy

    p = rw_pair()
    p.initiate()
    run(p)
    peer2 = peer_cfg(
        "pq",
        "192.0.2.4",
        MOON,
        CAROL_ID,
        MOON_ID,
        "aes256gcm16-sha512-x25519",
        [child_cfg("net", ["dynamic"], [MOON_NET])],
        vips=(ip_address("0.0.0.0"),),
        unique=UniquePolicy.UNIQUE_NEVER,
    )
    carol2 = node("carol2", "192.0.2.4", [peer2], creds(CAROL_ID, MOON_ID), "carol2")
    carol2.manager.initiate(peer2, peer2.children[0], ep("192.0.2.4"), ep(MOON), 1.0, request_id=1)
    for _ in range(6):
        transfer(carol2, p.moon, 1.0)
        transfer(p.moon, carol2, 1.0)
    assert carol2.sa.my_vips == [ip_address("10.3.0.2")]
    assert sorted(str(ip) for sa in p.moon.manager.ike_sas() for ip in sa.other_vips) == ["10.3.0.1", "10.3.0.2"]
