"""Fuzzing the front door: random and mutated real datagrams into ``receive_datagram``.

Invariant (h11 style): the call never raises, never changes an existing IKE_SA, and every
datagram either produces effects (a cached response, a new half-open SA's reply) or is counted
as a drop; no drop may be an ``internal_error``.
"""

from __future__ import annotations

from ipaddress import ip_address

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.exchange.conftest import make_pair
from tests.exchange.helpers import CAROL, MOON, datagrams
from tests.exchange.test_multi_ke import run
from vicid.ike.effects import SendDatagram
from vicid.ike.messages import OutMessage
from vicid.ike.wire.enums import ExchangeType
from vicid.ike.wire.natt import add_non_esp_marker
from vicid.ike.wire.payloads import VendorIdPayload


def _fresh(sender, is_request: bool, size: int) -> list[SendDatagram]:
    """Valid protected messages with the message IDs the peer expects next (never delivered
    unmutated), small and large (SKF fragments)."""
    sa = sender.sa
    mid = sa.tm.initiating.mid if is_request else sa.tm.responding.mid
    msg = OutMessage(ExchangeType.INFORMATIONAL, mid, is_request, sa.my_host, sa.other_host)
    msg.add(VendorIdPayload(bytes(size)))
    return [SendDatagram(add_non_esp_marker(d), sa.my_host, sa.other_host) for d in sa.tm.generate(msg)]


def _established():
    p = make_pair("aes256gcm16-sha512-x25519-ke1_mlkem768")
    p.initiate()
    run(p)
    captured = list(datagrams(p.carol.log + p.moon.log))
    for sender, request in ((p.carol, True), (p.moon, False), (p.moon, True), (p.carol, False)):
        captured += _fresh(sender, request, 16) + _fresh(sender, request, 3000)
    return p, captured


PAIR, CAPTURED = _established()


def snapshot(node) -> list:
    out = []
    for sa in node.manager.ike_sas():
        tm = sa.tm
        out.append((sa.uniqueid, sa.state, sa.spi_i, sa.spi_r, sa.my_host, sa.other_host,
                    tm.initiating.mid, tm.responding.mid, sa.keymat.keys,
                    [(c.uniqueid, c.state, c.spi_in, c.spi_out) for c in sa.children]))
    return out


@st.composite
def mutated(draw):
    base = draw(st.sampled_from(CAPTURED))
    data = bytearray(base.data)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "truncate", "extend", "set", "header"]))
        if op == "flip" and data:
            i = draw(st.integers(0, len(data) - 1))
            data[i] ^= draw(st.integers(1, 255))
        elif op == "truncate":
            data = data[:draw(st.integers(0, len(data)))]
        elif op == "extend":
            data += draw(st.binary(max_size=64))
        elif op == "set" and data:
            i = draw(st.integers(0, len(data) - 1))
            data[i] = draw(st.integers(0, 255))
        elif op == "header" and len(data) >= 32:
            off = 4 if data[:4] == bytes(4) else 0
            field = draw(st.sampled_from([16, 17, 18, 19, 20, 24]))  # next, version, exch, flags, mid, len
            data[off + field] = draw(st.integers(0, 255))
    if bytes(data) == base.data:  # a mutation must mutate
        data[-1] ^= 0x01
    return bytes(data), base.src, base.dst


random_datagrams = st.tuples(
    st.binary(max_size=300),
    st.sampled_from([(ip_address(CAROL), 500), (ip_address(CAROL), 4500)]),
    st.sampled_from([(ip_address(MOON), 500), (ip_address(MOON), 4500)]))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(mutated(), random_datagrams), min_size=1, max_size=8))
def test_garbage_never_changes_established_sas(batch):
    p = PAIR
    for target in (p.moon, p.carol):
        before = snapshot(target)
        known = {sa.uniqueid for sa in target.manager.ike_sas()}
        for data, src, dst in batch:
            drops = sum(target.manager.drops.values())
            new_sas = len(target.manager.ike_sas())
            target.manager.receive_datagram(data, src, dst, 100.0)
            effects = target.manager.drain()
            counted = sum(target.manager.drops.values()) > drops
            created = len(target.manager.ike_sas()) > new_sas
            assert counted or created or any(isinstance(e, SendDatagram) for e in effects)
        assert target.manager.drops["internal_error"] == 0
        after = [s for s in snapshot(target) if s[0] in known]
        assert after == before
        for sa in target.manager.ike_sas():  # half-open SAs created by mutated IKE_SA_INITs
            if sa.uniqueid not in known:
                target.manager._destroy(sa)
        target.manager.drain()
