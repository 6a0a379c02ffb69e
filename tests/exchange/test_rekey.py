"""Regular rekeyings in memory: CHILD_SA and IKE_SA, single KE and with IKE_FOLLOWUP_KE rounds
(RFC 7296 §1.3.2/§1.3.3, RFC 9370 §2.2.4), started by either side; the exact events both sides
emit, so that old -> new can always be followed (charon's ``test_child_rekey.c`` regular cases).
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from tests.exchange.conftest import make_pair
from tests.exchange.helpers import child_cfg, datagrams, of, transfer, with_settings
from tests.exchange.test_multi_ke import exchanges
from tests.exchange.test_multi_ke import run as run_datagrams
from vicid.ike.effects import (
    ChildRekey,
    ChildStateChange,
    ChildUpDown,
    Completed,
    DeleteChildSa,
    IkeRekey,
    IkeStateChange,
    IkeUpDown,
    InstallChildSa,
    Log,
)
from vicid.ike.wire.enums import ExchangeType

E = ExchangeType
ESP = {1: "aes256gcm16-x25519", 2: "aes256gcm16-x25519-ke1_mlkem768",
       3: "aes256gcm16-x25519-ke1_mlkem768-ke2_mlkem1024"}
IKE = {1: "aes256gcm16-sha512-x25519", 2: "aes256gcm16-sha512-x25519-ke1_mlkem768",
       3: "aes256gcm16-sha512-x25519-ke1_mlkem768-ke2_mlkem1024"}


def established(kes: int = 1, **kw):
    """carol (initiator) and moon with one CHILD_SA, all effects drained."""
    p = make_pair(IKE[kes], carol_child=child_cfg("net", ["10.1.0.0/16"], ["10.2.0.0/16"], esp=ESP[kes]),
                  moon_child=child_cfg("net", ["10.2.0.0/16"], ["10.1.0.0/16"], esp=ESP[kes]), **kw)
    p.initiate()
    run(p)
    p.carol.drain(), p.moon.drain()
    for node in (p.carol, p.moon):
        node.kernel = installed_sas(node)  # type: ignore[attr-defined]
        node.log.clear()
    return p


def run(p, now: float = 0.0) -> list[tuple]:
    """Datagrams back and forth, and the jobs due at ``now`` (queued tasks start as a job)."""
    trace: list[tuple] = []
    for _ in range(20):
        moved = run_datagrams(p, now)
        trace += moved
        due = [n for n in (p.carol, p.moon) if (d := n.manager.next_deadline()) is not None and d <= now]
        for node in due:
            node.manager.handle_timer(now)
        if not moved and not due:
            return trace
    raise AssertionError("no quiescence")


def events(effects: Iterable) -> list[tuple]:
    """The bus events, compact: (kind, ...) with CHILD_SA / IKE_SA unique IDs."""
    out: list[tuple] = []
    for e in effects:
        if isinstance(e, ChildStateChange):
            out.append(("child-state", e.child.uniqueid, e.state))
        elif isinstance(e, ChildRekey):
            out.append(("child-rekey", e.old.uniqueid, e.new.uniqueid))
        elif isinstance(e, ChildUpDown):
            out.append(("child-updown", e.child.uniqueid, e.up))
        elif isinstance(e, IkeRekey):
            out.append(("ike-rekey", e.old.uniqueid, e.new.uniqueid))
        elif isinstance(e, IkeUpDown):
            out.append(("ike-updown", e.ike.uniqueid, e.up))
        elif isinstance(e, IkeStateChange):
            out.append(("ike-state", e.ike.uniqueid, e.state))
    return out


def child_states(node) -> list[tuple[int, str, str]]:
    """(unique ID, state, outbound state) of every CHILD_SA of every IKE_SA."""
    return [(c.uniqueid, c.state.value, c.outbound_state.value) for sa in node.manager.ike_sas()
            for c in sa.children]


def spis(child) -> tuple[bytes, bytes]:
    return child.spi_in, child.spi_out


def msgs(effects) -> list[str]:
    return [e.msg for e in of(effects, Log)]


def installed_sas(node) -> set[tuple[int, bool]]:
    """(SPI, inbound) of the IPsec SAs the node has in its kernel (from its effect log)."""
    sas: set[tuple[int, bool]] = set(getattr(node, "kernel", ()))
    for e in node.log:
        if isinstance(e, InstallChildSa):
            sas.add((e.spi, e.inbound))
        elif isinstance(e, DeleteChildSa):
            sas.discard((e.spi, e.inbound))
    return sas


@pytest.mark.parametrize("kes", [1, 2, 3])
@pytest.mark.parametrize("rekeyer", ["carol", "moon"])
def test_child_rekey(kes, rekeyer):
    p = established(kes)
    a, b = (p.carol, p.moon) if rekeyer == "carol" else (p.moon, p.carol)
    old_a, old_b = a.sa.children[0], b.sa.children[0]
    a.manager.rekey_child(old_a.uniqueid, 10.0)
    # CREATE_CHILD_SA { N(REKEY_SA), SA, Ni, KEi, TSi, TSr } -->
    (req,) = datagrams(transfer(a, b, 10.0))
    assert exchanges(req)[0] == E.CREATE_CHILD_SA
    assert events(a.log) == [("child-state", old_a.uniqueid, "REKEYING")]
    # <-- CREATE_CHILD_SA { SA, Nr, KEr, TSi, TSr [, N(ADDITIONAL_KEY_EXCHANGE)] }
    effects = b.drain()
    if kes == 1:
        new_b = b.sa.children[1]
        assert events(effects) == [
            ("child-state", old_b.uniqueid, "REKEYING"), ("child-state", new_b.uniqueid, "INSTALLING"),
            ("child-state", new_b.uniqueid, "INSTALLED"), ("child-state", old_b.uniqueid, "REKEYED")]
    else:  # installed only after the last IKE_FOLLOWUP_KE
        assert events(effects) == [("child-state", old_b.uniqueid, "REKEYING")]
        assert len(b.sa.children) == 1
    for d in datagrams(effects):
        a.manager.receive_datagram(d.data, d.src, d.dst, 10.0)
    # IKE_FOLLOWUP_KE { KEi(n), N(ADDITIONAL_KEY_EXCHANGE) } --> ... one per additional KE
    trace = run(p, 10.0)
    followups = [t for t in trace if t[1] == E.IKE_FOLLOWUP_KE]
    assert len(followups) == 2 * (kes - 1)
    old_id, new_id = old_a.uniqueid, a.sa.children[-1].uniqueid
    new_a, new_b = a.sa.children[-1], b.sa.children[-1]
    assert spis(new_a) == spis(new_b)[::-1]
    # the rekeyer: old REKEYING, new installed (inbound first), child-rekey when outbound moves,
    # then the old SA REKEYED -> DELETING -> DELETED (its inbound SA lingers 5 s)
    assert events(a.log) == [
        ("child-state", old_id, "REKEYING"), ("child-state", new_id, "INSTALLING"),
        ("child-state", new_id, "INSTALLED"), ("child-rekey", old_id, new_id),
        ("child-state", old_id, "REKEYED"), ("child-state", old_id, "DELETING"),
        ("child-state", old_id, "DELETED")]
    # the peer: new SA installed with its outbound registered; child-rekey once the DELETE came
    assert events(b.log)[-4:] == [
        ("child-state", old_b.uniqueid, "REKEYED"), ("child-state", old_b.uniqueid, "DELETING"),
        ("child-state", old_b.uniqueid, "DELETED"), ("child-rekey", old_b.uniqueid, new_b.uniqueid)]
    assert not of(a.log + b.log, ChildUpDown)  # a rekeying is no down/up
    assert ("IKE", 1, f"delay closing of inbound CHILD_SA net{{{old_id}}} for 5s") in [
        (e.group, e.level, e.msg) for e in of(a.log, Log)]
    for node in (a, b):
        assert child_states(node) == [(node.sa.children[0].uniqueid, "DELETED", "NONE"),
                                      (node.sa.children[1].uniqueid, "INSTALLED", "INSTALLED")]
        assert node.manager.drops == {}
    # the old inbound SAs stay 5 s for late packets, then go
    assert (int.from_bytes(old_a.spi_in, "big"), True) in installed_sas(a)
    assert a.manager.next_deadline() == 15.0
    for node in (a, b):
        node.manager.handle_timer(15.0)
        effects = node.drain()
        assert [e.state for e in of(effects, ChildStateChange)] == ["DESTROYING"]
        assert not of(effects, ChildUpDown)
        only = node.sa.children[0]
        assert len(node.sa.children) == 1 and only.state.value == "INSTALLED"
        assert installed_sas(node) == {(int.from_bytes(only.spi_in, "big"), True),
                                       (int.from_bytes(only.spi_out, "big"), False)}
    view = new_a.view(20.0)
    assert view.ke_methods == (("CURVE_25519", "ML_KEM_768", "ML_KEM_1024")[:kes])


def test_child_rekey_keys_match_and_reqid_reused():
    p = established(2)
    old = p.carol.sa.children[0]
    p.carol.manager.rekey_child(old.uniqueid, 10.0)
    run(p, 10.0)
    new_c, new_m = p.carol.sa.children[-1], p.moon.sa.children[-1]
    assert new_c.reqid == old.reqid == new_m.reqid
    c_out = next(e for e in of(p.carol.log, InstallChildSa) if e.spi == new_c.spi_out_int)
    m_in = next(e for e in of(p.moon.log, InstallChildSa) if e.spi == new_m.spi_in_int)
    assert c_out.keys.encr_key == m_in.keys.encr_key
    # the outbound SA of the new CHILD_SA is installed only after the inbound one (and the
    # responder's only after the DELETE for the old one)
    kinds = [(type(e).__name__, getattr(e, "spi", 0)) for e in p.moon.log]
    assert kinds.index(("InstallChildSa", new_m.spi_in_int)) < kinds.index(("InstallChildSa", new_m.spi_out_int))
    assert kinds.index(("InstallChildSa", new_m.spi_out_int)) < kinds.index(("DeleteChildSa", old.spi_in_int))


@pytest.mark.parametrize("kes", [1, 2, 3])
@pytest.mark.parametrize("rekeyer", ["carol", "moon"])
def test_ike_rekey(kes, rekeyer):
    p = established(kes)
    a, b = (p.carol, p.moon) if rekeyer == "carol" else (p.moon, p.carol)
    old_a, old_b = a.sa, b.sa
    children = {n.name: [c.uniqueid for c in n.sa.children] for n in (a, b)}
    a.manager.rekey_ike(old_a.uniqueid, 10.0)
    # CREATE_CHILD_SA { SA, Ni, KEi } -->
    (req,) = datagrams(transfer(a, b, 10.0))
    assert exchanges(req)[:1] == (E.CREATE_CHILD_SA,) and exchanges(req)[2] == ["SK"]
    trace = run(p, 10.0)
    assert [t[1] for t in trace if t[0] == a.name] == [E.IKE_FOLLOWUP_KE] * (kes - 1) + [E.INFORMATIONAL]
    new_a, new_b = a.manager.ike_sas()[0], b.manager.ike_sas()[0]
    assert (new_a.spi_i, new_a.spi_r) == (new_b.spi_i, new_b.spi_r)
    assert new_a.spi_i not in (old_a.spi_i, old_a.spi_r) and new_a.initiator and not new_b.initiator
    assert new_a.keymat.keys.sk_d == new_b.keymat.keys.sk_d
    assert new_a.tm.initiating.mid == 0 == new_b.tm.responding.mid  # the new IKE_SA starts at 0
    for node, old, new in ((a, old_a, new_a), (b, old_b, new_b)):
        ev = events(node.log)
        # CONNECTING (new) ... REKEYING (old), ESTABLISHED (new), ike-rekey, REKEYED (old)
        assert ("ike-rekey", old.uniqueid, new.uniqueid) in ev
        i = ev.index(("ike-rekey", old.uniqueid, new.uniqueid))
        assert ev[i - 1] == ("ike-state", new.uniqueid, "ESTABLISHED")
        assert ev[i + 1] == ("ike-state", old.uniqueid, "REKEYED")
        assert ev[i + 2:] == [("ike-state", old.uniqueid, "DELETING"), ("ike-state", old.uniqueid, "DESTROYING")]
        assert not of(node.log, IkeUpDown) and not of(node.log, ChildUpDown)
        assert [c.uniqueid for c in new.children] == children[node.name]  # the CHILD_SAs moved
        assert [c.state.value for c in new.children] == ["INSTALLED"]
        assert node.manager.drops == {} and len(node.manager.ike_sas()) == 1
        assert new.view(10.0).ke_methods == (("CURVE_25519", "ML_KEM_768", "ML_KEM_1024")[:kes])
        assert f"IKE_SA pq[{new.uniqueid}] rekeyed between" in " ".join(msgs(node.log))
    # the new IKE_SA works: a CHILD_SA rekey on it
    a.manager.rekey_child(new_a.children[0].uniqueid, 20.0)
    run(p, 20.0)
    assert [c.state.value for c in new_a.children] == ["DELETED", "INSTALLED"]
    assert spis(new_a.children[1]) == spis(new_b.children[1])[::-1]


def test_ike_rekey_keeps_queued_tasks_and_reauth_time():
    p = established(1, reauth_time=3000, rekey_time=1000, rand_time=0, over_time=100)
    old = p.carol.sa
    assert (old.timers.reauth, old.timers.delete) == (3000.0, 1100.0)
    p.carol.manager.rekey_ike(old.uniqueid, 10.0)
    p.carol.manager.terminate_child(old.children[0].uniqueid, 10.0)  # queued behind IKE_REKEY
    run(p, 10.0)
    new = p.carol.sa
    assert new is not old and new.timers.reauth == 3000.0 and new.timers.delete == 3100.0
    assert new.timers.rekey == 1010.0
    assert new.children == [] == p.moon.sa.children  # the migrated CHILD_DELETE ran on the new SA
    assert "rescheduling reauthentication in 2990s after rekeying, lifetime reduced to 3090s" in msgs(p.carol.log)


def test_lifetimes_drive_rekeying():
    """rekey_time (IKE_SA, engine timer) and the kernel's soft expire (CHILD_SA)."""
    from vicid.kernel.port import KernelExpire

    p = established(2, rekey_time=600, rand_time=0, over_time=60)
    old_ike, child = p.carol.sa, p.carol.sa.children[0]
    assert p.carol.manager.next_deadline() == 600.0 == p.moon.manager.next_deadline()
    # the CHILD_SA's soft lifetime: the backend reports it, the engine rekeys
    p.moon.manager.kernel_event(KernelExpire(child.spi_out_int, False), 300.0)
    run(p, 300.0)
    assert [c.state.value for c in p.carol.sa.children] == ["DELETED", "INSTALLED"]
    assert ("child-rekey", p.moon.sa.children[0].uniqueid, p.moon.sa.children[1].uniqueid) in events(p.moon.log)
    # a soft expire for the old (rekeyed) SA is ignored
    p.moon.manager.kernel_event(KernelExpire(child.spi_out_int, False), 301.0)
    assert datagrams(p.moon.drain()) == []
    # both IKE_SAs want to rekey at 600: a collision, resolved by the nonces
    p.carol.manager.handle_timer(600.0)
    p.moon.manager.handle_timer(600.0)
    run(p, 600.0)
    assert len(p.carol.manager.ike_sas()) == 1 == len(p.moon.manager.ike_sas())
    assert p.carol.sa is not old_ike and p.carol.sa.state.value == "ESTABLISHED"
    assert p.carol.sa.spi_i == p.moon.sa.spi_i and p.carol.manager.drops == {}


def test_hard_expire_deletes_and_recreates():
    from vicid.kernel.port import KernelExpire

    p = established(1)
    child = p.carol.sa.children[0]
    p.carol.manager.kernel_event(KernelExpire(child.spi_in_int, True), 50.0)
    run(p, 50.0)
    expected = f"closing expired CHILD_SA net{{1}} with SPIs {child.spis_text} and TS 10.1.0.0/16 === 10.2.0.0/16"
    assert expected in msgs(p.carol.log)
    assert [c.state.value for c in p.carol.sa.children] == ["INSTALLED"]
    assert p.carol.sa.children[0].uniqueid == 2 and p.carol.sa.children[0].reqid == child.reqid
    assert [e for e in events(p.carol.log) if e[0] == "child-updown"] == [
        ("child-updown", 1, False), ("child-updown", 2, True)]


def test_second_child_with_followup_ke():
    p = established(2)
    second = child_cfg("tcp", ["10.1.1.0/24[tcp]"], ["10.2.1.0/24[tcp]"], esp=ESP[3])
    from dataclasses import replace

    p.moon.peers[0] = replace(p.moon_peer, children=(*p.moon_peer.children,
                                                      child_cfg("tcp", ["10.2.1.0/24[tcp]"], ["10.1.1.0/24[tcp]"],
                                                                esp=ESP[3])))
    p.carol.manager.initiate(p.carol_peer, second, None, None, 10.0, request_id=5)
    trace = run(p, 10.0)
    assert [t[1] for t in trace if t[0] == "carol"] == [E.CREATE_CHILD_SA, E.IKE_FOLLOWUP_KE, E.IKE_FOLLOWUP_KE]
    tcp_c = next(c for c in p.carol.sa.children if c.name == "tcp")
    tcp_m = next(c for c in p.moon.sa.children if c.name == "tcp")
    assert spis(tcp_c) == spis(tcp_m)[::-1]
    assert tcp_c.view(10.0).ke_methods == ("CURVE_25519", "ML_KEM_768", "ML_KEM_1024")
    assert [(c.request_id, c.ok) for c in of(p.carol.log, Completed)] == [(5, True)]
    assert ("child-updown", tcp_c.uniqueid, True) in events(p.carol.log)
    assert ("child-updown", tcp_m.uniqueid, True) in events(p.moon.log)


def test_child_rekey_invalid_ke_retry():
    """The old CHILD_SA (from IKE_AUTH) has no KE method: carol proposes her first one, moon
    wants another (INVALID_KE_PAYLOAD) and carol retries once with it."""
    p = make_pair(IKE[1], carol_child=child_cfg("net", ["10.1.0.0/16"], ["10.2.0.0/16"],
                                                  esp="aes256gcm16-ecp256-x25519"),
                  moon_child=child_cfg("net", ["10.2.0.0/16"], ["10.1.0.0/16"], esp="aes256gcm16-x25519"))
    p.initiate()
    run(p)
    p.carol.log.clear()
    p.carol.manager.rekey_child(1, 10.0)
    trace = run(p, 10.0)
    assert [t[1] for t in trace if t[0] == "carol"] == [E.CREATE_CHILD_SA, E.CREATE_CHILD_SA, E.INFORMATIONAL]
    assert "peer didn't accept key exchange method ECP_256, it requested CURVE_25519" in msgs(p.carol.log)
    new = p.carol.sa.children[-1]
    assert new.state.value == "INSTALLED" and new.view(10.0).ke_methods == ("CURVE_25519",)
    assert [e for e in events(p.carol.log) if e[0] == "child-rekey"] == [("child-rekey", 1, new.uniqueid)]


def test_ike_rekey_invalid_ke_retry():
    p = make_pair(["aes256gcm16-sha512-ecp256", "aes256gcm16-sha512-x25519"],
                  moon_ike=["aes256gcm16-sha512-x25519", "aes256gcm16-sha512-ecp256"],
                  carol_settings=with_settings(prefer_previous_dh_group=False))
    p.initiate()
    run(p)
    assert p.carol.sa.view(0.0).ke_methods == ("CURVE_25519",)  # IKE_SA_INIT already had a retry
    p.carol.log.clear()
    p.carol.manager.rekey_ike(1, 10.0)
    run(p, 10.0)
    assert "peer didn't accept key exchange method ECP_256, it requested CURVE_25519" in msgs(p.carol.log)
    (sa,) = p.carol.manager.ike_sas()
    assert sa.uniqueid == 2 and sa.view(10.0).ke_methods == ("CURVE_25519",)


def test_vici_events_of_a_rekeying():
    """child-rekey / ike-rekey as vici renders them: old and new SA, charon's keys."""
    from vicid.ike.effects import IkeUpdate
    from vicid.vici.events import event_message

    p = established(2)
    p.carol.manager.rekey_child(1, 10.0)
    run(p, 10.0)
    (rekey,) = of(p.carol.log, ChildRekey)
    name, body = event_message(rekey)
    assert name == "child-rekey"
    child = body["pq"]["child-sas"]["net"]
    assert child["old"]["uniqueid"] == 1 and child["new"]["uniqueid"] == 2
    assert child["new"]["state"] == "INSTALLED" and child["new"]["ake1"] == "ML_KEM_768"
    assert child["old"]["spi-in"] == f"{p.carol.sa.children[0].spi_in_int:08x}"
    p.carol.manager.rekey_ike(1, 20.0)
    run(p, 20.0)
    (ike,) = of(p.carol.log, IkeRekey)
    name, body = event_message(ike)
    assert name == "ike-rekey" and body["pq"]["old"]["uniqueid"] == 1 and body["pq"]["new"]["uniqueid"] == 2
    assert body["pq"]["new"]["state"] == "ESTABLISHED" and body["pq"]["new"]["ake1"] == "ML_KEM_768"
    assert body["pq"]["old"]["initiator-spi"] != body["pq"]["new"]["initiator-spi"]
    sa = p.carol.sa
    update = IkeUpdate(sa.view(30.0), sa.my_host, (sa.other_host[0], 4501))
    name, body = event_message(update)
    assert name == "ike-update" and list(body)[:4] == ["local-host", "local-port", "remote-host", "remote-port"]
    assert body["remote-port"] == 4501 and body["pq"]["uniqueid"] == 2
