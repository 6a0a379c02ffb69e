"""The codecs' caches of decoded substructures share immutable results, never skip a check, and
stay bounded; payload classes built by ``fast_init`` stay frozen dataclasses."""

from __future__ import annotations

import dataclasses

import pytest

from vicid.ike.wire import proposals, selectors
from vicid.ike.wire.buffer import DecodeError, Reader, Writer
from vicid.ike.wire.header import IkeHeader
from vicid.ike.wire.notify import NotifyPayload
from vicid.ike.wire.proposals import Proposal, SaPayload, decode_sa, encode_sa, transform
from vicid.ike.wire.selectors import AddressRangeSelector, TsiPayload, decode_tsi, encode_ts


def _sa_bytes(sa: SaPayload) -> bytes:
    w = Writer()
    encode_sa(w, sa)
    return w.getvalue()


def _ts_bytes(ts: TsiPayload) -> bytes:
    w = Writer()
    encode_ts(w, ts)
    return w.getvalue()


SA = SaPayload((Proposal(1, 1, b"", (transform(1, 20, 256), transform(2, 7), transform(4, 31))),))


def test_equal_transform_lists_are_shared() -> None:
    first, second = decode_sa(Reader(_sa_bytes(SA))), decode_sa(Reader(_sa_bytes(SA)))
    assert first == second == SA
    assert first.proposals[0].transforms is second.proposals[0].transforms


def test_cached_transforms_still_checked_against_the_proposal() -> None:
    data = bytearray(_sa_bytes(SA))
    decode_sa(Reader(bytes(data)))  # cached now
    data[7] = 2  # Num Transforms: 2, but 3 follow
    with pytest.raises(DecodeError):
        decode_sa(Reader(bytes(data)))


def test_invalid_transform_lists_are_not_cached() -> None:
    data = bytearray(_sa_bytes(SA))
    data[8] = 0  # first transform claims to be the last
    for _ in range(2):
        with pytest.raises(DecodeError):
            decode_sa(Reader(bytes(data)))
    assert bytes(data[8:]) not in proposals._TRANSFORMS_CACHE


def test_selectors_shared_and_invalid_ones_rejected_every_time() -> None:
    ok = TsiPayload((AddressRangeSelector(7, 6, 80, 443, bytes(4), b"\xff" * 4),))
    assert decode_tsi(Reader(_ts_bytes(ok))).selectors[0] is decode_tsi(Reader(_ts_bytes(ok))).selectors[0]
    bad = TsiPayload((AddressRangeSelector(7, 6, 443, 80, bytes(4), b"\xff" * 4),))
    for _ in range(2):
        with pytest.raises(DecodeError):
            decode_tsi(Reader(_ts_bytes(bad)))


def test_caches_are_bounded() -> None:
    for n in range(1, 600):
        sa = SaPayload((Proposal(1, 1, b"", (transform(1, 20, 256), transform(4, n))),))
        decode_sa(Reader(_sa_bytes(sa)))
        ts = TsiPayload((AddressRangeSelector(7, 0, 0, n, bytes(4), b"\xff" * 4),))
        decode_tsi(Reader(_ts_bytes(ts)))
    assert len(proposals._TRANSFORMS_CACHE) <= proposals._CACHE_MAX_ENTRIES
    assert len(selectors._RANGES) <= selectors._RANGES_MAX


def test_fast_init_classes_stay_frozen_dataclasses() -> None:
    h = IkeHeader(b"\x01" * 8, bytes(8), 33, 34, 0, is_initiator=True)
    assert h == IkeHeader(spi_i=b"\x01" * 8, spi_r=bytes(8), next_payload=33, exchange_type=34, message_id=0,
                          is_initiator=True, is_response=False, version_flag=False, length=0)
    assert hash(h) == hash(dataclasses.replace(h, length=0))
    assert dataclasses.replace(h, length=28).length == 28
    n = NotifyPayload(16388)
    assert (n.data, n.protocol_id, n.spi) == (b"", 0, b"")
    with pytest.raises(dataclasses.FrozenInstanceError):
        h.length = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        NotifyPayload()  # type: ignore[call-arg]
