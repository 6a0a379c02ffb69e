"""Dead peer detection (RFC 7296 §2.4, charon's ``send_dpd``) and its dpd_action, in memory.

An IKE_SA with ``dpd_delay`` sends an empty INFORMATIONAL when nothing arrived from the peer
for that long; when the retransmissions give up, the CHILD_SAs are handled per ``dpd_action``:
``restart`` reestablishes them on a new IKE_SA, ``trap`` installs trap policies, ``clear``
(none) just closes them. close_action does the same when the peer deletes.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.exchange.helpers import child_cfg, datagrams, of, with_settings
from tests.exchange.test_multi_ke import exchanges
from tests.exchange.test_rekey import established, events, run
from vicid.ike.config import Action
from vicid.ike.effects import Alert, InstallPolicy, Log, QueryInboundUse
from vicid.ike.retransmit import Retransmission
from vicid.ike.wire.enums import ExchangeType
from vicid.kernel.port import KernelAcquire

E = ExchangeType
FAST = with_settings(retransmit=Retransmission(timeout=1.0, base=1.4, tries=2))


def dpd_pair(action: Action, **kw):
    carol_child = child_cfg("net", ["10.1.0.0/16"], ["10.2.0.0/16"], esp="aes256gcm16-x25519", dpd_action=action,
                            close_action=action)
    p = established(1, dpd_delay=30, carol_settings=FAST, **kw)
    p.carol.peers[0] = p.carol_peer = replace(p.carol_peer, children=(carol_child,))
    p.carol.sa.peer_cfg = p.carol_peer
    for child in p.carol.sa.children:
        child.config = carol_child
    return p


def msgs(node) -> list[str]:
    return [e.msg for e in of(node.log, Log)]


def test_dpd_when_idle():
    p = dpd_pair(Action.NONE)
    assert p.carol.manager.next_deadline() == 30.0
    p.carol.manager.handle_timer(30.0)
    # INFORMATIONAL {} -->
    (req,) = datagrams(p.carol.drain())
    assert exchanges(req)[:1] == (E.INFORMATIONAL,) and exchanges(req)[2] == ["SK"]
    assert "sending DPD request" in msgs(p.carol)
    p.moon.manager.receive_datagram(req.data, req.src, req.dst, 30.0)
    # <-- INFORMATIONAL {}
    (resp,) = datagrams(p.moon.drain())
    p.carol.manager.receive_datagram(resp.data, resp.src, resp.dst, 30.5)
    assert p.carol.manager.next_deadline() == 60.0
    # traffic from the peer defers the next check: its own DPD at 50 counts as inbound
    p.moon.sa.send_dpd(50.0) if False else None
    p.carol.sa.inbound_at = 50.0
    p.carol.manager.handle_timer(60.0)
    assert datagrams(p.carol.drain()) == []
    assert p.carol.manager.next_deadline() == 80.0


def dead_peer(p, until: float) -> float:
    """moon is gone: carol's requests go nowhere; returns when carol gave up."""
    now = 30.0
    p.carol.manager.handle_timer(now)
    p.carol.drain()
    while now < until:
        deadline = p.carol.manager.next_deadline()
        assert deadline is not None
        now = deadline
        p.carol.manager.handle_timer(now)
        p.carol.drain()
        if any(e.type == "retransmit-send-timeout" for e in of(p.carol.log, Alert)):
            return now
    raise AssertionError("carol never gave up")


@pytest.mark.parametrize("action", [Action.START, Action.TRAP, Action.NONE])
def test_dpd_action(action):
    p = dpd_pair(action)
    old = p.carol.sa
    # DPD at 30, retransmits at 31, 32.4, gives up at 34.36: dpd_delay + the schedule
    gave_up = dead_peer(p, 100.0)
    assert gave_up == pytest.approx(30 + 1 + 1.4 + 1.96, abs=0.01)
    p.carol.manager.handle_timer(gave_up)  # jobs: the new IKE_SA starts, traps go in
    assert "giving up after 2 retransmits" in msgs(p.carol)
    ev = events(p.carol.log)
    assert ("ike-updown", old.uniqueid, False) in ev and ("child-updown", 1, False) in ev
    sas = p.carol.manager.ike_sas()
    if action == Action.START:
        assert "restarting CHILD_SA net" in msgs(p.carol)
        (new,) = sas
        assert new is not old
        (init,) = datagrams(p.carol.drain())
        assert exchanges(init)[0] == E.IKE_SA_INIT and init.dst[1] == 500
        # moon is back (a fresh daemon): the tunnel comes back
        from tests.exchange.conftest import make_pair

        moon = make_pair().moon
        p.moon = moon
        moon.manager.receive_datagram(init.data, init.src, init.dst, gave_up)
        run(p, gave_up)
        assert p.carol.sa.state.value == "ESTABLISHED" and len(p.carol.sa.children) == 1
        assert p.carol.sa.children[0].reqid == old.children[0].reqid if old.children else True
    elif action == Action.TRAP:
        p.carol.drain()
        assert sas == []
        traps = [e for e in of(p.carol.log, InstallPolicy) if e.kind == "trap"]
        assert {t.direction.value for t in traps} == {"in", "out", "fwd"}
        # the first packet hits the trap: the backend reports an acquire, carol connects
        p.carol.manager.kernel_event(KernelAcquire(traps[0].reqid), 40.0)
        p.carol.drain()
        (sa,) = p.carol.manager.ike_sas()
        assert sa.state.value == "CONNECTING"
    else:
        p.carol.drain()
        assert sas == []
        assert not [e for e in of(p.carol.log, InstallPolicy) if e.kind == "trap"]


def test_close_action_restart_when_peer_deletes_child():
    p = dpd_pair(Action.START)
    p.moon.manager.terminate_child(1, 40.0)
    run(p, 40.0)
    assert [c.state.value for c in p.carol.sa.children] == ["INSTALLED"]
    assert p.carol.sa.children[0].uniqueid == 2
    assert [e for e in events(p.carol.log) if e[0] == "child-updown"] == [
        ("child-updown", 1, False), ("child-updown", 2, True)]


def test_close_action_when_peer_deletes_ike_sa():
    p = dpd_pair(Action.START)
    p.moon.manager.terminate_ike(1, 40.0)
    run(p, 40.0)
    (sa,) = p.carol.manager.ike_sas()
    assert sa.uniqueid == 2 and sa.state.value == "ESTABLISHED" and len(sa.children) == 1
    assert "restarting CHILD_SA net" in msgs(p.carol)


def test_inbound_esp_counts_as_liveness():
    """charon's ``get_use_time``: before a DPD the backend is asked when ESP last came in on
    the CHILD_SAs; recent ESP defers the check to that time + dpd_delay, as IKE traffic does."""
    p = dpd_pair(Action.NONE)
    p.carol.manager.ctx.query_inbound_use = True
    (child,) = p.carol.sa.children
    p.carol.manager.handle_timer(30.0)
    effects = p.carol.drain()
    assert datagrams(effects) == [] and "sending DPD request" not in msgs(p.carol)
    (query,) = of(effects, QueryInboundUse)
    assert query == QueryInboundUse(p.carol.sa.uniqueid, (child.spi_in_int,), p.carol.sa.my_host[0])
    p.carol.manager.inbound_use(query.ike_uniqueid, 25.0, 30.01)  # ESP 5 s ago: alive
    assert datagrams(p.carol.drain()) == [] and "sending DPD request" not in msgs(p.carol)
    assert p.carol.manager.next_deadline() == 55.0
    # no ESP since: asked again, then the DPD goes out
    p.carol.manager.handle_timer(55.0)
    (query,) = of(p.carol.drain(), QueryInboundUse)
    p.carol.manager.inbound_use(query.ike_uniqueid, 25.0, 55.01)
    (req,) = datagrams(p.carol.drain())
    assert exchanges(req)[:1] == (E.INFORMATIONAL,) and "sending DPD request" in msgs(p.carol)


def test_dpd_goes_on_without_an_answer_about_esp():
    """A backend that cannot tell (None) or never answers does not stop DPD."""
    p = dpd_pair(Action.NONE)
    p.carol.manager.ctx.query_inbound_use = True
    p.carol.manager.handle_timer(30.0)
    (query,) = of(p.carol.drain(), QueryInboundUse)
    p.carol.manager.inbound_use(query.ike_uniqueid, None, 30.0)
    (req,) = datagrams(p.carol.drain())
    assert exchanges(req)[:1] == (E.INFORMATIONAL,)
    q = dpd_pair(Action.NONE)
    q.carol.manager.ctx.query_inbound_use = True
    q.carol.manager.handle_timer(30.0)
    assert of(q.carol.drain(), QueryInboundUse) and q.carol.manager.next_deadline() == 60.0
    q.carol.manager.inbound_use(999, 29.0, 30.0)  # an IKE_SA that is gone: ignored
    assert q.carol.drain() == []
    q.carol.manager.handle_timer(60.0)  # still no answer: no second question, the DPD itself
    (req,) = datagrams(q.carol.drain())
    assert exchanges(req)[:1] == (E.INFORMATIONAL,) and "sending DPD request" in msgs(q.carol)
