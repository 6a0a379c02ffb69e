"""SA and policy tables: lookups, charon's priorities, reference counts, lifetimes, acquires."""

from __future__ import annotations

import ipaddress
from dataclasses import replace

import pytest

from vicid.datapath.ippacket import decode_flow
from vicid.datapath.sadb import ACQUIRE_HOLDOFF, Sadb, SadbError
from vicid.ike.effects import DeleteChildSa, DeletePolicy, Direction, UpdateChildSa
from vicid.ike.ts import parse_ts
from vicid.ike.wire.enums import EncrAlg as E
from vicid.kernel.port import KernelExpire
from vicid.kernel.selector import auto_priority, policy_priority, policy_selector, ports_to_mask

from .helpers import CAROL, MOON, ipv4, keys, policy, sa, udp


def rng(n: int) -> bytes:
    return bytes(n)


GCM = keys(E.AES_GCM_16, bits=128)


def test_charon_priorities():
    l, r = parse_ts("203.0.113.0/24"), parse_ts("198.51.100.0/24")
    # the value charon 6.1 logs for a /24 === /24 tunnel ("priority 375423")
    assert policy_priority(Direction.OUT, l, r) == 375423
    assert policy_priority(Direction.OUT, l, r, "trap") == 375424
    assert policy_priority(Direction.OUT, l, r, "pass") == 175423
    assert policy_priority(Direction.OUT, l, r, "drop") == 575423
    assert policy_priority(Direction.OUT, l, r, manual=77) == 77
    tcp = policy_selector(parse_ts("203.0.113.1/32[tcp/443]"), parse_ts("0.0.0.0/0[tcp]"))
    assert (tcp.proto, tcp.sport, tcp.sport_mask, tcp.dport_mask) == (6, 443, 0xFFFF, 0)
    assert auto_priority(tcp) == 400000 - 32 * 512 - 256 - 16 * 4 - 1


def test_port_ranges_and_icmp_selectors():
    assert ports_to_mask(0, 0xFFFF) == (0, 0)
    assert ports_to_mask(80, 80) == (80, 0xFFFF)
    assert ports_to_mask(1024, 2047) == (1024, 0xFC00)
    icmp = policy_selector(parse_ts("192.0.2.0/24[icmp/8]"), parse_ts("198.51.100.0/24[icmp]"))
    assert (icmp.sport, icmp.dport, icmp.sport_mask, icmp.dport_mask) == (8, 0, 0xFFFF, 0)


def test_inbound_by_spi_outbound_by_flow():
    db = Sadb(rng)
    db.install_sa(sa(0xA, True, GCM), 0)
    db.install_sa(sa(0xB, False, GCM), 0)
    db.install_policy(policy(Direction.OUT))
    assert db.inbound[0xA].replay is not None and db.find(0xB).inbound is False
    flow = decode_flow(ipv4("203.0.113.7", "198.51.100.9"))
    pol = db.lookup_policy(flow)
    assert pol is not None and db.outbound_sa(pol.reqid).spi == 0xB
    assert db.lookup_policy(decode_flow(ipv4("203.0.113.7", "192.0.2.99"))) is None
    with pytest.raises(SadbError):
        db.install_sa(sa(0xA, True, GCM), 0)


def test_more_specific_policy_wins_and_ports_match():
    db = Sadb(rng)
    db.install_policy(policy(Direction.OUT, remote="198.51.100.0/24", reqid=1))
    db.install_policy(policy(Direction.OUT, remote="198.51.100.0/24[udp/53]", reqid=2))
    db.install_policy(policy(Direction.OUT, remote="0.0.0.0/0", reqid=3))
    dns = decode_flow(ipv4("203.0.113.1", "198.51.100.53", 17, udp(5000, 53)))
    web = decode_flow(ipv4("203.0.113.1", "198.51.100.53", 17, udp(5000, 80)))
    other = decode_flow(ipv4("203.0.113.1", "192.0.2.200"))
    assert [db.lookup_policy(f).reqid for f in (dns, web, other)] == [2, 1, 3]


def test_policies_are_reference_counted():
    db = Sadb(rng)
    db.install_policy(policy(Direction.OUT, reqid=1))
    db.install_policy(policy(Direction.OUT, reqid=1))
    l, r = parse_ts("203.0.113.0/24"), parse_ts("198.51.100.0/24")
    assert db.delete_policy(DeletePolicy(1, Direction.OUT, l, r)) is None
    assert len(db.policies) == 1
    assert db.delete_policy(DeletePolicy(1, Direction.OUT, l, r)) is not None
    assert not db.policies
    assert db.delete_policy(DeletePolicy(1, Direction.OUT, l, r)) is None


def test_rekey_uses_the_newest_outbound_sa_and_delete_is_idempotent():
    db = Sadb(rng)
    db.install_sa(sa(0x1, False, GCM), 0)
    db.install_sa(sa(0x2, False, GCM), 10)
    assert db.outbound_sa(1).spi == 0x2
    assert db.delete_sa(DeleteChildSa(0x2, 3, (MOON, 4500), False)).spi == 0x2
    assert db.outbound_sa(1).spi == 0x1
    assert db.delete_sa(DeleteChildSa(0x2, 3, (MOON, 4500), False)) is None


def test_update_moves_the_sa():
    db = Sadb(rng)
    db.install_sa(sa(0x1, False, GCM), 0)
    new = (ipaddress.ip_address("192.0.2.77"), 34567)
    db.update_sa(UpdateChildSa(0x1, 3, (MOON, 4500), (CAROL, 4500), new, True))
    assert db.outbound_sa(1).dst == new
    with pytest.raises(SadbError):
        db.update_sa(UpdateChildSa(0x9, 3, (MOON, 4500), (CAROL, 4500), new, True))


def test_time_lifetimes():
    db = Sadb(rng)
    db.install_sa(sa(0x1, True, GCM, lifetime_soft=100, lifetime_hard=120), 1000)
    assert db.next_deadline() == 1100
    assert db.expire_due(1099) == []
    assert db.expire_due(1100) == [KernelExpire(0x1, False, 3, CAROL, 1)]
    assert db.expire_due(1110) == []  # soft fires once
    assert db.next_deadline() == 1120
    assert db.expire_due(1120) == [KernelExpire(0x1, True, 3, CAROL, 1)]
    assert 0x1 not in db.inbound and db.next_deadline() is None


def test_byte_and_packet_lifetimes():
    db = Sadb(rng)
    entry = db.install_sa(sa(0x1, False, GCM, bytes_soft=250, bytes_hard=1000, packets_hard=3), 0)
    assert db.account(entry, 100, 1) == []
    assert [e.hard for e in db.account(entry, 200, 2)] == [False]
    assert db.account(entry, 10, 3) == [KernelExpire(0x1, True, 3, MOON, 1)]  # 3rd packet
    assert entry.usage(5).bytes == 310 and entry.usage(5).packets == 3 and entry.usage(5).idle == 2
    assert db.outbound_sa(1) is None


def test_acquire_once_per_holdoff():
    db = Sadb(rng)
    pol = db.install_policy(policy(Direction.OUT, kind="trap", reqid=7))
    flow = decode_flow(ipv4("203.0.113.1", "198.51.100.1", 17, udp(1000, 53)))
    acq = db.acquire(pol, flow, 0)
    assert acq.reqid == 7 and str(acq.src_ts) == "203.0.113.1/32[udp/1000]" and str(acq.dst_ts).endswith("[udp/domain]")
    assert db.acquire(pol, flow, 1) is None
    assert db.acquire(pol, flow, ACQUIRE_HOLDOFF + 1) is not None
    db.install_sa(sa(0x5, False, GCM, reqid=7), 40)  # an SA resets the hold-off
    assert db.acquire(pol, flow, 41) is not None


def test_inbound_selectors():
    db = Sadb(rng)
    entry = db.install_sa(sa(0xA, True, GCM), 0)
    assert db.inbound_allowed(entry, decode_flow(ipv4("198.51.100.1", "203.0.113.1")))
    assert not db.inbound_allowed(entry, decode_flow(ipv4("192.0.2.66", "203.0.113.1")))
    assert not db.inbound_allowed(entry, decode_flow(ipv4("198.51.100.1", "192.0.2.3")))
    # without selectors on the SA the IN policies of its reqid decide
    bare = db.install_sa(replace(sa(0xB, True, GCM, reqid=4), local_ts=(), remote_ts=()), 0)
    assert not db.inbound_allowed(bare, decode_flow(ipv4("198.51.100.1", "203.0.113.1")))
    db.install_policy(policy(Direction.IN, reqid=4))
    assert db.inbound_allowed(bare, decode_flow(ipv4("198.51.100.1", "203.0.113.1")))


def test_refuses_what_it_cannot_do():
    db = Sadb(rng)
    with pytest.raises(SadbError, match="only ESP"):
        db.install_sa(replace(sa(1, True, GCM), protocol=2), 0)
    with pytest.raises(SadbError, match="BEET"):
        db.install_sa(replace(sa(1, True, GCM), mode="BEET"), 0)
    with pytest.raises(SadbError, match="unsupported"):
        db.install_sa(sa(1, True, keys(E.AES_CBC, 0, 128)), 0)
