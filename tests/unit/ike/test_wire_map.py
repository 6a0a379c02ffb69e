"""Proposals and traffic selectors between the engine's models and the wire."""

from __future__ import annotations

from vicid.ike.proposal import parse_proposal
from vicid.ike.ts import parse_ts
from vicid.ike.wire import proposals as wp
from vicid.ike.wire.enums import ProtocolId
from vicid.ike.wire_map import proposals_from_wire, sa_payload, ts_from_wire, ts_to_wire


def test_proposal_round_trip_and_numbering():
    ours = [parse_proposal(ProtocolId.IKE, "aes256gcm16-sha512-x25519-ke1_mlkem768"),
            parse_proposal(ProtocolId.IKE, "aes128-sha256-modp3072")]
    sa = sa_payload(ours)
    assert [p.number for p in sa.proposals] == [1, 2]
    encr = sa.proposals[0].transforms[0]
    assert (encr.transform_type, encr.transform_id, encr.key_length) == (1, 20, 256)
    back = proposals_from_wire(sa)
    assert [str(p) for p in back] == [str(p) for p in ours]
    assert all(a.same_algorithms(b) for a, b in zip(back, ours, strict=True))


def test_bundles_and_unknown_transform_types_are_skipped():
    esp = wp.Proposal(1, ProtocolId.ESP, b"1234", (wp.transform(1, 12, 128),))
    ah = wp.Proposal(1, ProtocolId.AH, b"1234", (wp.transform(3, 12),))
    odd = wp.Proposal(2, ProtocolId.ESP, b"1234", (wp.transform(99, 1),))
    good = wp.Proposal(3, ProtocolId.ESP, b"abcd", (wp.transform(1, 20, 128), wp.transform(5, 0)))
    found = proposals_from_wire(wp.SaPayload((esp, ah, odd, good)))
    assert [(p.number, p.spi) for p in found] == [(3, b"abcd")]


def test_ts_round_trip():
    ts = parse_ts("10.1.0.0/16[tcp/443]")
    assert ts_from_wire([ts_to_wire(ts)])[0].render() == ts.render()
    six = parse_ts("2001:db8::/32")
    assert ts_from_wire([ts_to_wire(six)])[0].render() == "2001:db8::/32"
