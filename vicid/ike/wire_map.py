"""Mapping between the engine's models and wire payload bodies.

Proposals (``vicid.ike.proposal.Proposal``) <-> SA payload substructures and traffic selectors
(``vicid.ike.ts.TrafficSelector``) <-> TS substructures, as charon's ``sa_payload.c``,
``proposal_substructure.c`` and ``ts_payload.c`` convert them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from vicid.ike.proposal import Proposal, Transform
from vicid.ike.ts import TrafficSelector, TsType
from vicid.ike.wire import proposals as wp
from vicid.ike.wire.enums import ProtocolId, TransformType
from vicid.ike.wire.selectors import (
    TS_IPV4_ADDR_RANGE,
    TS_IPV6_ADDR_RANGE,
    AddressRangeSelector,
    Selector,
    TsiPayload,
    TsrPayload,
)


def proposal_to_wire(p: Proposal, number: int) -> wp.Proposal:
    """One proposal substructure; ENCR key sizes become Key Length attributes (§3.3.5)."""
    transforms = tuple(wp.transform(t.type, t.id, t.key_length or None)
                       for t in p.wire_transforms())
    return wp.Proposal(number, p.protocol, p.spi, transforms)


def sa_payload(proposals: Sequence[Proposal]) -> wp.SaPayload:
    """charon's ``sa_payload_create_from_proposals_v2``: a selected proposal keeps its number,
    others are numbered 1..n in order."""
    return wp.SaPayload(tuple(proposal_to_wire(p, p.number or i)
                              for i, p in enumerate(proposals, start=1)))


def _transform_from_wire(t: wp.Transform) -> Transform | None:
    try:
        ttype = TransformType(t.transform_type)
    except ValueError:
        return None
    return Transform(ttype, t.transform_id, t.key_length or 0)


def _proposal_from_wire(sub: wp.Proposal) -> Proposal | None:
    try:
        protocol = ProtocolId(sub.protocol_id)
    except ValueError:
        return None
    transforms = [_transform_from_wire(t) for t in sub.transforms]
    if not transforms or any(t is None for t in transforms):
        return None  # unknown transform types never match (RFC 7296 §3.3.6)
    return Proposal(protocol, tuple(t for t in transforms if t), sub.number, sub.spi)


def proposals_from_wire(sa: wp.SaPayload) -> list[Proposal]:
    """charon's ``get_proposals``: substructures sharing a number (AH+ESP bundles) are skipped."""
    counts: dict[int, int] = {}
    for sub in sa.proposals:
        counts[sub.number] = counts.get(sub.number, 0) + 1
    out = []
    for sub in sa.proposals:
        if counts[sub.number] == 1 and (p := _proposal_from_wire(sub)) is not None:
            out.append(p)
    return out


def ts_to_wire(ts: TrafficSelector) -> AddressRangeSelector:
    wire_type = TS_IPV4_ADDR_RANGE if ts.ts_type == TsType.TS_IPV4_ADDR_RANGE else TS_IPV6_ADDR_RANGE
    return AddressRangeSelector(wire_type, ts.protocol, ts.from_port, ts.to_port,
                                ts.from_addr, ts.to_addr)


def ts_from_wire(selectors: Iterable[Selector]) -> list[TrafficSelector]:
    """Address-range selectors only; labels and unknown types are ignored, as charon does."""
    out = []
    for s in selectors:
        if isinstance(s, AddressRangeSelector) and s.ts_type in (TS_IPV4_ADDR_RANGE, TS_IPV6_ADDR_RANGE):
            out.append(TrafficSelector(TsType(s.ts_type), s.start_addr, s.end_addr, s.ip_proto,
                                       s.start_port, s.end_port))
    return out


def tsi_payload(selectors: Iterable[TrafficSelector]) -> TsiPayload:
    return TsiPayload(tuple(ts_to_wire(ts) for ts in selectors))


def tsr_payload(selectors: Iterable[TrafficSelector]) -> TsrPayload:
    return TsrPayload(tuple(ts_to_wire(ts) for ts in selectors))
