"""The engine builds log effects and event snapshots only for someone: the shell says who listens
(``control_log_level``, ``wants_event``); nothing else about the exchange changes."""

from __future__ import annotations

from tests.exchange.helpers import datagrams, of
from tests.exchange.test_multi_ke import run
from vicid.ike.effects import ChildStateChange, ChildUpDown, Completed, Event, IkeStateChange, IkeUpDown, Log


def _quiet(p, wanted: tuple[type, ...] = ()) -> None:
    for side in (p.carol, p.moon):
        side.manager.ctx.control_log_level = -1
        side.manager.ctx.wants_event = lambda kind: kind in wanted


def test_nothing_built_for_nobody_and_timers_still_run(pair):
    p = pair()
    _quiet(p)
    p.initiate(now=0.0, request_id=7)
    (first,) = datagrams(p.carol.drain())  # IKE_SA_INIT lost
    # no effect named the SA, yet the manager's index knows its retransmission timer
    assert p.carol.manager.next_deadline() == 4.0
    p.carol.manager.handle_timer(4.0)
    (again,) = datagrams(p.carol.drain())
    assert again.data == first.data
    p.moon.manager.receive_datagram(again.data, again.src, again.dst, 4.0)
    run(p, 4.0)
    assert p.carol.sa.state.value == p.moon.sa.state.value == "ESTABLISHED"
    everything = p.carol.log + p.moon.log
    assert of(everything, Log) == []
    assert [e for e in of(everything, Event) if not isinstance(e, Completed)] == []
    assert [(c.request_id, c.ok) for c in of(everything, Completed)] == [(7, True)]


def test_wanted_events_are_the_same_as_with_everything_on(pair):
    full, quiet = pair(), pair()
    _quiet(quiet, (ChildUpDown, IkeUpDown))
    quiet.carol.manager.ctx.control_log_level = 1
    for p in (full, quiet):
        p.initiate()
        run(p)
    for side in ("carol", "moon"):
        a, b = getattr(full, side).log, getattr(quiet, side).log
        for kind in (ChildUpDown, IkeUpDown):
            assert of(a, kind) and of(a, kind) == of(b, kind)
        assert of(b, IkeStateChange) == of(b, ChildStateChange) == []
    # control-log: carol's lines up to level 1, the same ones; moon's none
    assert [e for e in of(full.carol.log, Log) if e.level <= 1] == of(quiet.carol.log, Log)
    assert of(quiet.moon.log, Log) == []
