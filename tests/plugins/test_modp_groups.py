"""The MODP parameters: Oakley/RFC 3526 primes recomputed from pi, RFC 5114 structure."""

from __future__ import annotations

import pytest
from vicid_plugins._modp import MODP_GROUPS

# RFC 2409 §6.1/6.2, RFC 3526 §2-7: p = 2^n - 2^(n-64) - 1 + 2^64 * (floor(2^(n-130) pi) + k)
OAKLEY = {1: (768, 149686), 2: (1024, 129093), 5: (1536, 741804), 14: (2048, 124476),
          15: (3072, 1690314), 16: (4096, 240904), 17: (6144, 929484), 18: (8192, 4743158)}


def pi_fixed(bits: int) -> int:
    """floor(pi * 2^bits), by Machin's formula in integers."""
    guard = 64
    one = 1 << (bits + guard)

    def arctan_inv(x: int) -> int:
        total = term = one // x
        n, sign = 1, -1
        while term:
            term //= x * x
            n += 2
            total += sign * (term // n)
            sign = -sign
        return total

    return (4 * (4 * arctan_inv(5) - arctan_inv(239))) >> guard


@pytest.mark.parametrize("method", sorted(OAKLEY))
def test_oakley_primes_from_pi(method: int) -> None:
    n, k = OAKLEY[method]
    expected = 2**n - 2 ** (n - 64) - 1 + 2**64 * (pi_fixed(n - 130) + k)
    group = MODP_GROUPS[method]
    assert group.p == expected and group.g == 2 and group.size == n // 8


@pytest.mark.parametrize("method", [22, 23, 24])
def test_rfc5114_groups(method: int) -> None:
    g = MODP_GROUPS[method]
    assert (g.p - 1) % g.q == 0 and pow(g.g, g.q, g.p) == 1 and g.g != 1
    assert (g.p.bit_length(), g.q.bit_length()) == {22: (1024, 160), 23: (2048, 224), 24: (2048, 256)}[method]
    assert g.exponent_bits(True) == g.q.bit_length()  # subgroup-size exponents


def test_exponent_lengths_follow_dh_exponent_ansi_x9_42() -> None:
    g = MODP_GROUPS[14]
    assert g.exponent_bits(True) == 2048
    assert g.exponent_bits(False) == 220
    x = g.private_exponent(True, b"seed")
    assert 2 <= x < g.p - 1 and x == g.private_exponent(True, b"seed")
