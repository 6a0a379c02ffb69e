"""Start actions and their undoing (vici_config.c ``run_start_actions``/``clear_start_actions``),
traps with acquires, and make-before-break reauthentication, in memory."""

from __future__ import annotations

from dataclasses import replace

from tests.exchange.conftest import make_pair
from tests.exchange.helpers import CAROL, MOON, child_cfg, ep, of
from tests.exchange.test_rekey import ESP, established, events, run
from vicid.ike.config import Action
from vicid.ike.effects import DeletePolicy, InstallPolicy, Log
from vicid.kernel.port import KernelAcquire


def with_child(p, **kw):
    child = child_cfg("net", ["10.1.0.0/16"], ["10.2.0.0/16"], esp=ESP[1], **kw)
    p.carol.peers[0] = p.carol_peer = replace(p.carol_peer, children=(child,))
    return child


def test_start_action_start_and_unload():
    p = make_pair("aes256gcm16-sha512-x25519", moon_child=child_cfg("net", ["10.2.0.0/16"], ["10.1.0.0/16"],
                                                                     esp=ESP[1]))
    child = with_child(p, start_action=Action.START)
    p.carol.manager.run_start_action(p.carol_peer, child, ep(CAROL), ep(MOON), 0.0)
    run(p)
    assert p.carol.sa.state.value == "ESTABLISHED" and len(p.carol.sa.children) == 1
    # unload-conn: the start CHILD_SA goes, and with it the IKE_SA it was alone on
    p.carol.manager.clear_start_actions("pq", [child], True, 5.0)
    run(p, 5.0)
    assert p.carol.manager.ike_sas() == [] == p.moon.manager.ike_sas()
    logs = [e.msg for e in of(p.carol.log, Log)]
    assert "deleting IKE_SA pq[1] between 192.0.2.3[carol.example.org]...192.0.2.2[moon.example.org]" in logs


def test_clear_start_action_keeps_ike_sa_with_other_children():
    p = established(1)
    child = p.carol.sa.children[0].config
    started = replace(child, start_action=Action.START)
    p.carol.sa.children[0].config = started
    p.carol.manager.clear_start_actions("pq", [started], False, 5.0)
    run(p, 5.0)
    (sa,) = p.carol.manager.ike_sas()
    assert sa.children == [] and sa.state.value == "ESTABLISHED"


def test_trap_acquire_and_uninstall():
    p = make_pair("aes256gcm16-sha512-x25519", moon_child=child_cfg("net", ["10.2.0.0/16"], ["10.1.0.0/16"],
                                                                     esp=ESP[1]))
    child = with_child(p, start_action=Action.TRAP)
    p.carol.manager.run_start_action(p.carol_peer, child, None, None, 0.0)
    traps = of(p.carol.drain(), InstallPolicy)
    assert [(t.kind, t.direction.value) for t in traps] == [("trap", "out"), ("trap", "in"), ("trap", "fwd")]
    assert p.carol.manager.ike_sas() == []
    reqid = traps[0].reqid
    # a packet hits the trap
    p.carol.manager.kernel_event(KernelAcquire(reqid), 1.0)
    p.carol.manager.kernel_event(KernelAcquire(reqid), 1.1)  # pending: ignored
    run(p, 1.0)
    (sa,) = p.carol.manager.ike_sas()
    assert sa.state.value == "ESTABLISHED" and sa.children[0].reqid == reqid
    assert [e for e in events(p.carol.log) if e[0].endswith("updown")] == [
        ("ike-updown", 1, True), ("child-updown", 1, True)]
    p.carol.manager.clear_start_actions("pq", [child], True, 2.0)
    removed = of(p.carol.drain(), DeletePolicy)
    assert [(d.kind, d.direction.value) for d in removed] == [("trap", "out"), ("trap", "in"), ("trap", "fwd")]


def test_make_before_break_reauthentication():
    p = established(2)
    old = p.carol.sa
    old_child = old.children[0]
    p.carol.manager.rekey_ike(old.uniqueid, 10.0, reauth=True)
    run(p, 10.0)
    (new,) = p.carol.manager.ike_sas()
    assert new is not old and new.state.value == "ESTABLISHED"
    assert len(new.children) == 1 and new.children[0].reqid == old_child.reqid
    (moon_sa,) = p.moon.manager.ike_sas()
    assert moon_sa.spi_i == new.spi_i and len(moon_sa.children) == 1
    ev = events(p.carol.log)
    # make before break: the new IKE_SA and CHILD_SA are up before the old ones go down
    up = ev.index(("child-updown", new.children[0].uniqueid, True))
    down = ev.index(("ike-updown", old.uniqueid, False))
    assert up < down
    assert "reauthenticating IKE_SA pq[1]" in [e.msg for e in of(p.carol.log, Log)]


def _second_carol(p, host: str = "192.0.2.4"):
    """Another device with carol's identity (and PSK) at another address; without
    INITIAL_CONTACT (unique = never), so moon's own uniqueness policy decides."""
    from tests.exchange.helpers import CAROL_ID, MOON_ID, Node, creds, node, peer_cfg
    from vicid.ike.config import UniquePolicy

    peer = peer_cfg("pq", host, MOON, CAROL_ID, MOON_ID, "aes256gcm16-sha512-x25519",
                    [child_cfg("net", ["10.1.0.0/16"], ["10.2.0.0/16"], esp=ESP[1])],
                    unique=UniquePolicy.UNIQUE_NEVER)
    other: Node = node("carol2", host, [peer], creds(CAROL_ID, MOON_ID), "carol2")
    return other, peer


def _route(nodes, now: float) -> None:
    """Deliver every datagram to the node owning its destination address, until quiet."""
    from tests.exchange.helpers import datagrams

    by_host = {n.host: n for n in nodes}
    for _ in range(30):
        moved = False
        for node in nodes:
            for d in datagrams(node.drain()):
                moved = True
                by_host[str(d.dst[0])].manager.receive_datagram(d.data, d.src, d.dst, now)
        if not moved:
            return
    raise AssertionError("no quiescence")


def _initiate_second(p, unique):
    p.moon.peers[0] = p.moon_peer = replace(p.moon_peer, unique=unique)
    p.moon.sa.peer_cfg = p.moon_peer
    other, peer = _second_carol(p)
    other.manager.initiate(peer, peer.children[0], ep("192.0.2.4"), ep(MOON), 20.0)
    _route([p.carol, p.moon, other], 20.0)
    return other


def test_unique_replace():
    from vicid.ike.config import UniquePolicy

    p = established(1)
    other = _initiate_second(p, UniquePolicy.UNIQUE_REPLACE)
    logs = [e.msg for e in of(p.moon.log, Log)]
    assert "deleting duplicate IKE_SA for peer 'carol.example.org' due to uniqueness policy" in logs
    assert p.carol.manager.ike_sas() == []
    (sa,) = p.moon.manager.ike_sas()
    assert sa.other_host[0].exploded == "192.0.2.4" and other.sa.state.value == "ESTABLISHED"


def test_unique_keep():
    from vicid.ike.config import UniquePolicy

    p = established(1)
    other = _initiate_second(p, UniquePolicy.UNIQUE_KEEP)
    assert "canceling IKE_SA setup due to uniqueness policy" in [e.msg for e in of(p.moon.log, Log)]
    (sa,) = p.moon.manager.ike_sas()
    assert sa.other_host[0].exploded == CAROL and p.carol.sa.state.value == "ESTABLISHED"
    assert other.manager.ike_sas() == []
