"""The vectorised FIPS 203 modulus check agrees with the standard's decode-and-compare."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vicid_plugins._mlkem import ML_KEM, Q, check_encaps_key

from vicid.ke import InvalidKeData


def _decode_compare(t: bytes) -> bool:
    """ByteEncode12(ByteDecode12(t)) == t, pair by pair: every coefficient below q."""
    for i in range(0, len(t), 3):
        c0 = t[i] | (t[i + 1] & 0x0F) << 8
        c1 = t[i + 1] >> 4 | t[i + 2] << 4
        if c0 >= Q or c1 >= Q:
            return False
    return True


def _accepted(params, t: bytes) -> bool:
    try:
        check_encaps_key(params, t + bytes(32))
    except InvalidKeData:
        return False
    return True


def _encode(coeffs: list[int]) -> bytes:
    out = bytearray()
    for a, b in zip(coeffs[0::2], coeffs[1::2], strict=True):
        out += bytes((a & 0xFF, a >> 8 | (b & 0x0F) << 4, b >> 4))
    return bytes(out)


# coefficients drawn around the boundary (q-1, q, 0xD00..0xD0F, 0xFFF) as well as anywhere
_COEFF = st.one_of(st.integers(0, 4095), st.sampled_from([0, Q - 1, Q, Q + 1, 0xD00, 0xD0F, 0xCFF, 0xFFF]))


@settings(max_examples=400)
@given(st.data())
def test_check_matches_decode_compare(data: st.DataObject) -> None:
    params = ML_KEM[data.draw(st.sampled_from(sorted(ML_KEM)))]
    n = 256 * params.k
    valid = data.draw(st.lists(st.integers(0, Q - 1), min_size=n, max_size=n))
    # a few coefficients replaced by boundary or arbitrary values
    for _ in range(data.draw(st.integers(0, 3))):
        valid[data.draw(st.integers(0, n - 1))] = data.draw(_COEFF)
    t = _encode(valid)
    assert _accepted(params, t) == _decode_compare(t)


@pytest.mark.parametrize("method", sorted(ML_KEM))
@pytest.mark.parametrize("position", [0, 1, 255, 256 * 2 - 1])
@pytest.mark.parametrize("value", [Q, 0xD0F, 0xE00, 0xFFF])
def test_single_out_of_range_coefficient_rejected(method: int, position: int, value: int) -> None:
    params = ML_KEM[method]
    coeffs = [Q - 1] * (256 * params.k)
    coeffs[position] = value
    assert not _accepted(params, _encode(coeffs))
    coeffs[position] = Q - 1
    assert _accepted(params, _encode(coeffs))
