"""Rekey collisions in memory (RFC 7296 §2.8.1/§2.8.2, strongSwan 6.0 semantics): simultaneous
CHILD_SA rekeys (single and multi-KE), IKE_SA rekeys, a rekey against a delete, a DELETE that
overtakes the CREATE_CHILD_SA response, and a responder that wrongly deletes the old SA.

Each test pins the nonces (as charon's ``nonce_first_byte``) to decide who wins, moves the
messages one by one and checks both sides' states and the exact ``child-rekey`` / ``ike-rekey``
/ up-down events, so a listener can always follow old -> new.
"""

from __future__ import annotations

import pytest

from tests.exchange.helpers import datagrams, of
from tests.exchange.test_rekey import child_states, established, events, installed_sas, run
from vicid.ike.effects import ChildUpDown, IkeUpDown, Log
from vicid.ike.tasks import common
from vicid.ike.tasks.child_delete import ChildDeleteInitiator
from vicid.ike.wire.enums import ExchangeType
from vicid.ike.wire.message import decode_message

E = ExchangeType


@pytest.fixture
def nonces(monkeypatch):
    """``nonces.first = b`` makes the next nonces start with byte ``b`` (None: unchanged)."""

    class Control:
        first: int | None = None

    ctl = Control()
    original = common.nonce

    def nonce(sa):
        value = original(sa)
        return value if ctl.first is None else bytes([ctl.first]) + value[1:]

    monkeypatch.setattr(common, "nonce", nonce)
    return ctl


class Wire:
    """Datagrams each side sent and nobody received yet, delivered one by one, in order."""

    def __init__(self, p) -> None:
        self.p = p
        self.queue: dict[str, list] = {"carol": [], "moon": []}
        p.carol.wire = p.moon.wire = self  # type: ignore[attr-defined]

    def _collect(self, node) -> None:
        self.queue[node.name] += datagrams(node.drain())

    def pending(self, node) -> list:
        self._collect(node)
        return self.queue[node.name]

    def deliver(self, src, dst, now: float = 10.0, count: int = 1, drop: bool = False) -> int:
        """Deliver (or drop) the next ``count`` messages of ``src``; returns the exchange type."""
        self._collect(src)
        exchange = 0
        for _ in range(count):
            d = self.queue[src.name].pop(0)
            exchange = decode_message(d.data[4:] if d.data[:4] == bytes(4) else d.data).exchange_type
            if not drop:
                dst.manager.receive_datagram(d.data, d.src, d.dst, now)
        return exchange

    def run(self, now: float = 10.0) -> None:
        """Deliver what is still queued here, then pump both sides to quiescence."""
        for src, dst in ((self.p.carol, self.p.moon), (self.p.moon, self.p.carol)):
            while self.queue[src.name]:
                self.deliver(src, dst, now)
        run(self.p, now)


def kept(node) -> list[tuple[bytes, bytes]]:
    return [(c.spi_in, c.spi_out) for c in node.sa.children if c.state.value == "INSTALLED"]


def _synced(node):
    wire = getattr(node, "wire", None)
    if wire is not None:
        wire._collect(node)  # effects into the log, datagrams stay queued on the wire
    return node


def rekeys(node) -> list[tuple]:
    _synced(node)
    return [e for e in events(node.log) if e[0] in ("child-rekey", "ike-rekey", "child-updown", "ike-updown")]


def texts(node) -> str:
    _synced(node)
    return "\n".join(e.msg for e in of(node.log, Log))


def settle(p, now: float = 30.0) -> None:
    """Let the rekeyed SAs linger out, then check both sides agree on one installed CHILD_SA."""
    for node in (p.carol, p.moon):
        node.manager.handle_timer(now)
        node.drain()
    c, m = kept(p.carol), kept(p.moon)
    assert len(c) == 1 and c == [(o, i) for i, o in m]
    assert [x[1] for x in child_states(p.carol)] == ["INSTALLED"] == [x[1] for x in child_states(p.moon)]
    for node in (p.carol, p.moon):
        only = node.sa.children[0]
        assert installed_sas(node) == {(only.spi_in_int, True), (only.spi_out_int, False)}
        assert node.manager.drops == {}


# nonces in the order they are made: carol's Ni, moon's Ni, moon's Nr (to carol), carol's Nr
CHILD_CASES = {
    "carol-lowest-ni": ((0x00, 0xFF, 0xFF, 0xFF), "moon"),  # carol's exchange has the lowest: moon wins
    "moon-lowest-ni": ((0xFF, 0x00, 0xFF, 0xFF), "carol"),
    "moon-lowest-nr": ((0xFF, 0xFF, 0x00, 0xFF), "moon"),
    "carol-lowest-nr": ((0xFF, 0xFF, 0xFF, 0x00), "carol"),
}


@pytest.mark.parametrize("kes", [1, 2])
@pytest.mark.parametrize("case", list(CHILD_CASES))
def test_child_rekey_collision(case, kes, nonces):
    """Both rekey the CHILD_SA at once; the exchange with the lowest nonce loses, its initiator
    deletes its redundant SA, the winner deletes the old one."""
    (n1, n2, n3, n4), winner = CHILD_CASES[case]
    p = established(kes)
    w = Wire(p)
    carol, moon = p.carol, p.moon
    old_c, old_m = carol.sa.children[0], moon.sa.children[0]
    nonces.first = n1
    carol.manager.rekey_child(old_c.uniqueid, 10.0)
    nonces.first = n2
    moon.manager.rekey_child(old_m.uniqueid, 10.0)
    assert child_states(carol) == [(1, "REKEYING", "INSTALLED")] == child_states(moon)
    # CREATE_CHILD_SA { N(REKEY_SA), SA, Ni, KEi, TSi, TSr } --> (carol's)
    nonces.first = n3
    w.deliver(carol, moon)
    # <-- CREATE_CHILD_SA { N(REKEY_SA), SA, Ni, KEi, TSi, TSr } (moon's)
    nonces.first = n4
    w.deliver(moon, carol)
    nonces.first = None
    if kes == 1:  # both passive rekeyings completed: the new SAs are there, outbound registered
        assert child_states(carol) == [(1, "REKEYED", "INSTALLED"), (3, "INSTALLED", "REGISTERED")]
        assert child_states(moon) == [(1, "REKEYED", "INSTALLED"), (3, "INSTALLED", "REGISTERED")]
        assert "detected rekey collision for CHILD_SA net{1}" in texts(carol) + texts(moon)
    # the responses cross, then the DELETEs (or, multi-KE, the winner's IKE_FOLLOWUP_KE)
    w.deliver(moon, carol)
    w.deliver(carol, moon)
    w.run()
    loser = moon if winner == "carol" else carol
    win = carol if winner == "carol" else moon
    if kes == 1:
        assert "CHILD_SA rekey collision lost, deleting redundant child net{2}" in texts(loser)
        assert "CHILD_SA rekey collision won, deleting old child net{1}" in texts(win)
    else:
        assert "CHILD_SA rekey collision lost, abort incomplete multi-KE rekeying" in texts(loser)
        assert "CHILD_SA rekey collision won, continue with multi-KE rekeying and remove passive " \
               "CHILD_REKEY task" in texts(win)
    w.run()
    settle(p)
    # net{2} is each side's own replacement, net{3} the one the peer's request created
    assert win.sa.children[0].uniqueid == 2 and loser.sa.children[0].uniqueid == 3
    assert events(win.log) == WINNER_EVENTS[kes] and events(loser.log) == LOSER_EVENTS[kes]


def _states(*steps: tuple[int, str]) -> list[tuple]:
    return [("child-state", uid, state) for uid, state in steps]


WINNER_EVENTS = {
    1: [*_states((1, "REKEYING"), (3, "INSTALLING"), (3, "INSTALLED"), (1, "REKEYED"), (2, "INSTALLING"),
                 (2, "INSTALLED"), (3, "REKEYED")),
        ("child-rekey", 1, 2),  # our outbound moves to our replacement, then the old SA goes
        *_states((1, "DELETING"), (3, "DELETING"), (3, "DELETED"), (1, "DELETED"), (3, "DESTROYING"),
                 (1, "DESTROYING"))],
    2: [*_states((1, "REKEYING"), (2, "INSTALLING"), (2, "INSTALLED")), ("child-rekey", 1, 2),
        *_states((1, "REKEYED"), (1, "DELETING"), (1, "DELETED"), (1, "DESTROYING"))],
}
LOSER_EVENTS = {
    1: [*_states((1, "REKEYING"), (3, "INSTALLING"), (3, "INSTALLED"), (1, "REKEYED"), (2, "INSTALLING"),
                 (2, "INSTALLED"), (2, "REKEYED"), (2, "DELETING"), (1, "DELETING"), (1, "DELETED")),
        ("child-rekey", 1, 3),  # the winner's DELETE for the old SA: follow its replacement
        *_states((2, "DELETED"), (1, "DESTROYING"), (2, "DESTROYING"))],
    2: [*_states((1, "REKEYING"), (2, "DESTROYING"), (3, "INSTALLING"), (3, "INSTALLED"), (1, "REKEYED"),
                 (1, "DELETING"), (1, "DELETED")),
        ("child-rekey", 1, 3), *_states((1, "DESTROYING"))],
}


def test_child_rekey_collision_mixed_multi_ke(nonces):
    """carol's rekey is single-KE (her proposal), moon's multi-KE: the passive single-KE
    rekeying completes at once, moon's own one would need IKE_FOLLOWUP_KE."""
    p = established(2)
    w = Wire(p)
    carol, moon = p.carol, p.moon
    # moon wins: its exchange (Ni 0xFF from moon, Nr from carol 0xFF) vs carol's (0x00 ...)
    nonces.first = 0x00
    carol.manager.rekey_child(1, 10.0)
    nonces.first = 0xFF
    moon.manager.rekey_child(1, 10.0)
    w.deliver(carol, moon)
    w.deliver(moon, carol)
    nonces.first = None
    w.deliver(moon, carol)
    w.deliver(carol, moon)
    w.run()
    settle(p)
    assert [e[0] for e in rekeys(carol)] == ["child-rekey"] == [e[0] for e in rekeys(moon)]


@pytest.mark.parametrize("kes", [1, 2])
def test_child_rekey_collides_with_delete(kes):
    """carol rekeys while moon deletes the same CHILD_SA: moon answers TEMPORARY_FAILURE (it is
    deleting it), carol answers the DELETE and closes the SA; no replacement survives."""
    p = established(kes)
    w = Wire(p)
    carol, moon = p.carol, p.moon
    carol.manager.rekey_child(1, 10.0)
    moon.manager.terminate_child(1, 10.0)
    # CREATE_CHILD_SA { N(REKEY_SA), ... } -->    <-- INFORMATIONAL { D(ESP) }
    assert w.deliver(carol, moon) == E.CREATE_CHILD_SA
    assert w.deliver(moon, carol) == E.INFORMATIONAL
    assert child_states(carol) == [(1, "DELETING", "INSTALLED")]  # kept until our rekeying concludes
    assert "keeping rekeyed CHILD_SA net{1} until active rekeying is concluded" in texts(carol)
    # <-- CREATE_CHILD_SA { N(TEMPORARY_FAILURE) }   INFORMATIONAL { D(ESP) } -->
    w.deliver(moon, carol)
    w.deliver(carol, moon)
    w.run()
    assert "unable to rekey CHILD_SA net{1}, we are deleting it" in texts(moon)
    assert "closing CHILD_SA net{1} we tried to rekey because the peer started to delete it before " \
           "receiving our request" in texts(carol)
    assert carol.sa.children == [] == moon.sa.children
    assert rekeys(carol) == [("child-updown", 1, False)] == rekeys(moon)
    assert carol.manager.drops == {} == moon.manager.drops


def test_delete_arrives_before_create_child_sa_response(nonces):
    """moon wins a collision and its DELETE for the old SA overtakes its CREATE_CHILD_SA
    response to carol; carol concludes with moon's replacement once the response is there."""
    p = established(1)
    w = Wire(p)
    carol, moon = p.carol, p.moon
    nonces.first = 0x00  # carol's exchange loses
    carol.manager.rekey_child(1, 10.0)
    nonces.first = 0xFF
    moon.manager.rekey_child(1, 10.0)
    w.deliver(carol, moon)  # carol's request; moon's response to it stays in flight
    w.deliver(moon, carol)  # moon's request -> carol answers
    nonces.first = None
    w.deliver(carol, moon)  # carol's response -> moon won, deletes the old SA
    response = w.pending(moon)[0]
    w.queue["moon"] = [*w.queue["moon"][1:], response]  # the DELETE overtakes the response
    assert w.deliver(moon, carol) == E.INFORMATIONAL
    assert "keeping rekeyed CHILD_SA net{1} until active rekeying is concluded" in texts(carol)
    assert ("child-rekey", 1, 3) in rekeys(carol)  # outbound moved to moon's replacement
    assert w.deliver(moon, carol) == E.CREATE_CHILD_SA
    w.run()
    settle(p)
    assert rekeys(carol) == [("child-rekey", 1, 3)] and rekeys(moon) == [("child-rekey", 1, 2)]


def test_responder_wrongly_deletes_old_sa():
    """A broken responder deletes the old SA itself right after answering the rekeying; the
    DELETE arrives before the response. carol follows old -> new all the same."""
    p = established(1)
    w = Wire(p)
    carol, moon = p.carol, p.moon
    old_m = moon.sa.children[0]
    carol.manager.rekey_child(1, 10.0)
    w.deliver(carol, moon)
    # moon (as broken peers do) sends a DELETE for the old SA itself
    moon.sa.tm.queue(ChildDeleteInitiator.for_spi(moon.sa, None, old_m.spi_in))
    moon.sa.tm.initiate()
    response = w.pending(moon)[0]
    w.queue["moon"] = [*w.queue["moon"][1:], response]
    assert w.deliver(moon, carol) == E.INFORMATIONAL
    assert child_states(carol) == [(1, "DELETING", "INSTALLED")]  # kept while our rekeying runs
    assert "keeping rekeyed CHILD_SA net{1} until active rekeying is concluded" in texts(carol)
    assert w.deliver(moon, carol) == E.CREATE_CHILD_SA
    assert "peer sent an incorrect delete for CHILD_SA net{1} after responding to our rekeying" in texts(carol)
    w.run()
    assert ("child-rekey", 1, 2) in rekeys(carol)
    assert rekeys(carol) == [("child-rekey", 1, 2)]
    assert [c.state.value for c in carol.sa.children] == ["DELETED", "INSTALLED"]


def test_peer_lost_the_sa(nonces):
    """The peer does not know the SA any more (CHILD_SA_NOT_FOUND): carol recreates it."""
    p = established(1)
    w = Wire(p)
    carol, moon = p.carol, p.moon
    moon_child = moon.sa.children[0]
    moon.sa.destroy_child(moon_child)  # moon lost it (e.g. a hard expire carol missed)
    moon.drain()
    carol.manager.rekey_child(1, 10.0)
    w.deliver(carol, moon)
    assert "unable to rekey, ESP CHILD_SA with SPI" in texts(moon)
    w.deliver(moon, carol)
    w.run()
    assert "peer didn't find CHILD_SA net{1} we tried to rekey, create a replacement" in texts(carol)
    assert [c.state.value for c in carol.sa.children] == ["INSTALLED"]
    # net{2} was the replacement the peer refused; net{3} recreates the SA
    assert rekeys(carol) == [("child-updown", 1, False), ("child-updown", 3, True)]
    assert kept(carol) == [(o, i) for i, o in kept(moon)]


IKE_CASES = {
    "carol-lowest-ni": ((0x00, 0xFF, 0xFF, 0xFF), "moon"),
    "moon-lowest-ni": ((0xFF, 0x00, 0xFF, 0xFF), "carol"),
    "moon-lowest-nr": ((0xFF, 0xFF, 0x00, 0xFF), "moon"),
    "carol-lowest-nr": ((0xFF, 0xFF, 0xFF, 0x00), "carol"),
}


@pytest.mark.parametrize("kes", [1, 2])
@pytest.mark.parametrize("case", list(IKE_CASES))
def test_ike_rekey_collision(case, kes, nonces):
    (n1, n2, n3, n4), winner = IKE_CASES[case]
    p = established(kes)
    w = Wire(p)
    carol, moon = p.carol, p.moon
    nonces.first = n1
    carol.manager.rekey_ike(carol.sa.uniqueid, 10.0)
    nonces.first = n2
    moon.manager.rekey_ike(moon.sa.uniqueid, 10.0)
    nonces.first = n3
    w.deliver(carol, moon)
    nonces.first = n4
    w.deliver(moon, carol)
    nonces.first = None
    w.deliver(moon, carol)
    w.deliver(carol, moon)
    w.run()
    win, lose = (carol, moon) if winner == "carol" else (moon, carol)
    if kes == 1:
        assert "IKE_SA rekey collision lost, deleting redundant IKE_SA" in texts(lose)
        assert "IKE_SA rekey collision won, waiting for delete for redundant IKE_SA" in texts(win)
    else:
        assert "IKE_SA rekey collision lost, abort incomplete multi-KE rekeying" in texts(lose)
        assert "IKE_SA rekey collision won, continue with multi-KE rekeying and remove passive " \
               "IKE_REKEY task" in texts(win)
    for node in (carol, moon):
        (sa,) = node.manager.ike_sas()
        assert sa.state.value == "ESTABLISHED" and sa.uniqueid != 1
        assert [c.state.value for c in sa.children] == ["INSTALLED"]
        assert node.manager.drops == {}
    # IKE_SA 2 is each side's own replacement, 3 the one the peer's request created
    assert win.sa.uniqueid == 2 and lose.sa.uniqueid == 3
    assert events(win.log) == IKE_WINNER[kes] and events(lose.log) == IKE_LOSER[kes]
    assert (carol.sa.spi_i, carol.sa.spi_r) == (moon.sa.spi_i, moon.sa.spi_r)
    assert carol.sa.keymat.keys.sk_d == moon.sa.keymat.keys.sk_d


def _ike(*steps: tuple[int, str]) -> list[tuple]:
    return [("ike-state", uid, state) for uid, state in steps]


_START = _ike((1, "REKEYING"), (2, "CONNECTING"), (3, "CONNECTING"))
_OLD_GONE = _ike((1, "REKEYED"), (1, "DELETING"), (1, "DESTROYING"))
IKE_WINNER = {
    # the peer's redundant IKE_SA is checked in until the peer deletes it
    1: [*_START, *_ike((3, "REKEYED"), (2, "ESTABLISHED")), ("ike-rekey", 1, 2), *_OLD_GONE,
        *_ike((3, "DELETING"), (3, "DESTROYING"))],
    2: [*_START, *_ike((3, "DESTROYING"), (2, "ESTABLISHED")), ("ike-rekey", 1, 2), *_OLD_GONE],
}
IKE_LOSER = {
    # our redundant IKE_SA is deleted, the peer's replacement established
    1: [*_START, *_ike((2, "REKEYED"), (3, "ESTABLISHED")), ("ike-rekey", 1, 3), *_OLD_GONE,
        *_ike((2, "DELETING"), (2, "DESTROYING"))],
    2: [*_START, *_ike((2, "DESTROYING"), (3, "ESTABLISHED")), ("ike-rekey", 1, 3), *_OLD_GONE],
}


def test_ike_rekey_collides_with_delete():
    """carol rekeys the IKE_SA while moon deletes it: moon refuses (TEMPORARY_FAILURE), carol
    answers the DELETE; both IKE_SAs are gone with the usual down events."""
    p = established(2)
    w = Wire(p)
    carol, moon = p.carol, p.moon
    carol.manager.rekey_ike(1, 10.0)
    moon.manager.terminate_ike(1, 10.0)
    w.deliver(carol, moon)
    w.deliver(moon, carol)
    w.run()
    assert carol.manager.ike_sas() == [] == moon.manager.ike_sas()
    assert "peer initiated rekeying, but we are deleting" in texts(moon)
    for node in (carol, moon):
        assert [e for e in rekeys(node) if e[0] == "ike-updown"] == [("ike-updown", 1, False)]
        assert not [e for e in rekeys(node) if e[0] == "ike-rekey"]


def test_child_rekey_during_ike_rekey_is_refused():
    """A CHILD_SA rekey request that meets an IKE_SA rekeying gets TEMPORARY_FAILURE and is
    retried on the new IKE_SA (``schedule_delayed_rekey``)."""
    p = established(1)
    w = Wire(p)
    carol, moon = p.carol, p.moon
    carol.manager.rekey_ike(1, 10.0)
    moon.manager.rekey_child(1, 10.0)
    w.deliver(carol, moon)
    w.deliver(moon, carol)
    w.run()
    assert "unable to create CHILD_SA while rekeying IKE_SA" in texts(carol) + texts(moon) or \
        "peer initiated rekeying, but a child is half-open" in texts(carol) + texts(moon)
    run(p, 40.0)
    for node in (carol, moon):
        (sa,) = node.manager.ike_sas()
        assert sa.state.value == "ESTABLISHED"
        assert [c.state.value for c in sa.children if c.state.value == "INSTALLED"] == ["INSTALLED"]
        assert not of(node.log, IkeUpDown) and not of(node.log, ChildUpDown)


def test_ike_rekey_collision_delete_overtakes_response(nonces):
    """moon wins an IKE_SA rekey collision; its DELETE for the old IKE_SA reaches carol before
    its CREATE_CHILD_SA response: carol adopts moon's replacement at once (ike-rekey fires), the
    late response finds no IKE_SA, and moon drops the redundant one after a timeout."""
    p = established(1)
    w = Wire(p)
    carol, moon = p.carol, p.moon
    nonces.first = 0x00
    carol.manager.rekey_ike(1, 10.0)
    nonces.first = 0xFF
    moon.manager.rekey_ike(1, 10.0)
    w.deliver(carol, moon)
    w.deliver(moon, carol)
    nonces.first = None
    w.deliver(carol, moon)  # moon concludes: its own replacement, DELETE for the old IKE_SA
    response = w.pending(moon)[0]
    w.queue["moon"] = [*w.queue["moon"][1:], response]
    assert w.deliver(moon, carol) == E.INFORMATIONAL  # <-- INFORMATIONAL { D }
    assert "peer may not have noticed IKE_SA rekey collision, abort active rekeying" in texts(carol)
    assert rekeys(carol) == [("ike-rekey", 1, 3)]
    w.run()  # the late response: no IKE_SA for it any more
    assert carol.manager.drops == {"unknown_spi": 1}
    assert [sa.state.value for sa in moon.manager.ike_sas()] == ["ESTABLISHED", "REKEYED"]
    # moon's redundant IKE_SA times out: its DELETE finds nothing on carol (INVALID_IKE_SPI,
    # unprotected, so ignored) and is retransmitted until moon gives up on it
    now = 40.0
    while len(moon.manager.ike_sas()) > 1:
        assert now < 300
        run(p, now)
        now = moon.manager.next_deadline() or now
    assert "proper IKE_SA delete failed, peer not responding" in texts(moon)
    (sa_c,), (sa_m,) = carol.manager.ike_sas(), moon.manager.ike_sas()
    assert (sa_c.spi_i, sa_c.spi_r) == (sa_m.spi_i, sa_m.spi_r) and len(sa_c.children) == 1
    assert rekeys(carol) == [("ike-rekey", 1, 3)]
    # as charon: a DELETE that failed for lack of answer ends with a down event, also for the
    # redundant IKE_SA (it never was up, so listeners tracking ike-rekey are not misled)
    assert rekeys(moon) == [("ike-rekey", 1, 2), ("ike-updown", 3, False)]
