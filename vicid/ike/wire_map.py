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

# Bounded caches of immutable conversions (engine Transform fields -> wire Transform, wire
# transform tuple -> engine transforms, wire selector -> engine selector): handshakes convert the
# same few algorithm lists and selectors again and again.
_CACHE_MAX = 256
_TO_WIRE: dict[tuple[int, int, int], wp.Transform] = {}
_FROM_WIRE: dict[int, tuple[tuple[wp.Transform, ...], tuple[Transform, ...] | None]] = {}
_TRANSFORM_TYPES: dict[int, TransformType] = {int(t): t for t in TransformType}
_PROTOCOLS: dict[int, ProtocolId] = {int(p): p for p in ProtocolId}
_TS_FROM_WIRE: dict[int, tuple[AddressRangeSelector, TrafficSelector]] = {}
_TS_TYPES: dict[int, TsType] = {int(t): t for t in (TsType.TS_IPV4_ADDR_RANGE, TsType.TS_IPV6_ADDR_RANGE)}


def _wire_transform(t: Transform) -> wp.Transform:
    key = (int(t.type), t.id, t.key_length)
    found = _TO_WIRE.get(key)
    if found is None:
        found = wp.transform(t.type, t.id, t.key_length or None)
        if len(_TO_WIRE) >= _CACHE_MAX:
            _TO_WIRE.clear()
        _TO_WIRE[key] = found
    return found


def proposal_to_wire(p: Proposal, number: int) -> wp.Proposal:
    """One proposal substructure; ENCR key sizes become Key Length attributes (§3.3.5)."""
    return wp.Proposal(number, p.protocol, p.spi, tuple([_wire_transform(t) for t in p.wire_transforms()]))


def sa_payload(proposals: Sequence[Proposal]) -> wp.SaPayload:
    """charon's ``sa_payload_create_from_proposals_v2``: a selected proposal keeps its number,
    others are numbered 1..n in order."""
    return wp.SaPayload(tuple([proposal_to_wire(p, p.number or i) for i, p in enumerate(proposals, start=1)]))


def _transforms_from_wire(transforms: tuple[wp.Transform, ...]) -> tuple[Transform, ...] | None:
    """Engine transforms of a substructure's; None if any type is unknown (RFC 7296 §3.3.6)."""
    out = []
    for t in transforms:
        ttype = _TRANSFORM_TYPES.get(t.transform_type)
        if ttype is None:
            return None
        out.append(Transform(ttype, t.transform_id, t.key_length or 0))
    return tuple(out)


def _proposal_from_wire(sub: wp.Proposal) -> Proposal | None:
    protocol = _PROTOCOLS.get(sub.protocol_id)
    if protocol is None:
        return None
    # keyed by identity, the cache holding the tuple: decoded SA payloads share transform tuples
    entry = _FROM_WIRE.get(id(sub.transforms))
    if entry is None or entry[0] is not sub.transforms:
        if len(_FROM_WIRE) >= _CACHE_MAX:
            _FROM_WIRE.clear()
        entry = _FROM_WIRE[id(sub.transforms)] = (sub.transforms, _transforms_from_wire(sub.transforms))
    transforms = entry[1]
    if not transforms:
        return None  # no transforms, or unknown transform types: never matches (RFC 7296 §3.3.6)
    return Proposal(protocol, transforms, sub.number, sub.spi)


def proposals_from_wire(sa: wp.SaPayload) -> list[Proposal]:
    """charon's ``get_proposals``: substructures sharing a number (AH+ESP bundles) are skipped."""
    subs = sa.proposals
    if len(subs) == 1:
        p = _proposal_from_wire(subs[0])
        return [] if p is None else [p]
    counts: dict[int, int] = {}
    for sub in subs:
        counts[sub.number] = counts.get(sub.number, 0) + 1
    out = []
    for sub in subs:
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
        # keyed by identity, the cache holding the selector: decoded selectors are shared
        entry = _TS_FROM_WIRE.get(id(s))
        if entry is not None and entry[0] is s:
            out.append(entry[1])
        elif isinstance(s, AddressRangeSelector) and (ts_type := _TS_TYPES.get(s.ts_type)) is not None:
            ts = TrafficSelector(ts_type, s.start_addr, s.end_addr, s.ip_proto, s.start_port, s.end_port)
            if len(_TS_FROM_WIRE) >= _CACHE_MAX:
                _TS_FROM_WIRE.clear()
            _TS_FROM_WIRE[id(s)] = (s, ts)
            out.append(ts)
    return out


def tsi_payload(selectors: Iterable[TrafficSelector]) -> TsiPayload:
    return TsiPayload(tuple([ts_to_wire(ts) for ts in selectors]))


def tsr_payload(selectors: Iterable[TrafficSelector]) -> TsrPayload:
    return TsrPayload(tuple([ts_to_wire(ts) for ts in selectors]))
