"""MD4 (RFC 1320) in pure Python, for the NT password hash of MS-CHAPv2 only.

OpenSSL 3 moved MD4 to its legacy provider, so ``hashlib`` usually lacks it. MD4 is broken as a
general-purpose hash; MS-CHAPv2 (RFC 2759) just happens to be defined over it.
"""

from __future__ import annotations

import struct

_MASK = 0xFFFFFFFF


def _rotl(x: int, n: int) -> int:
    x &= _MASK
    return ((x << n) | (x >> (32 - n))) & _MASK


def _compress(state: list[int], block: bytes) -> None:
    x = struct.unpack("<16I", block)
    a, b, c, d = state

    def f(x_: int, y: int, z: int) -> int:
        return (x_ & y) | (~x_ & z)

    def g(x_: int, y: int, z: int) -> int:
        return (x_ & y) | (x_ & z) | (y & z)

    def h(x_: int, y: int, z: int) -> int:
        return x_ ^ y ^ z

    # round 1: F, shifts 3/7/11/19, words in order
    for i in range(0, 16, 4):
        a = _rotl(a + f(b, c, d) + x[i], 3)
        d = _rotl(d + f(a, b, c) + x[i + 1], 7)
        c = _rotl(c + f(d, a, b) + x[i + 2], 11)
        b = _rotl(b + f(c, d, a) + x[i + 3], 19)
    # round 2: G + 0x5A827999, shifts 3/5/9/13, words by column
    for i in range(4):
        a = _rotl(a + g(b, c, d) + x[i] + 0x5A827999, 3)
        d = _rotl(d + g(a, b, c) + x[i + 4] + 0x5A827999, 5)
        c = _rotl(c + g(d, a, b) + x[i + 8] + 0x5A827999, 9)
        b = _rotl(b + g(c, d, a) + x[i + 12] + 0x5A827999, 13)
    # round 3: H + 0x6ED9EBA1, shifts 3/9/11/15, bit-reversed word order
    for i in (0, 2, 1, 3):
        a = _rotl(a + h(b, c, d) + x[i] + 0x6ED9EBA1, 3)
        d = _rotl(d + h(a, b, c) + x[i + 8] + 0x6ED9EBA1, 9)
        c = _rotl(c + h(d, a, b) + x[i + 4] + 0x6ED9EBA1, 11)
        b = _rotl(b + h(c, d, a) + x[i + 12] + 0x6ED9EBA1, 15)
    state[0] = (state[0] + a) & _MASK
    state[1] = (state[1] + b) & _MASK
    state[2] = (state[2] + c) & _MASK
    state[3] = (state[3] + d) & _MASK


def md4(data: bytes) -> bytes:
    """The 16-octet MD4 digest of ``data``."""
    state = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476]
    padded = data + b"\x80" + b"\x00" * ((55 - len(data)) % 64) + struct.pack("<Q", (len(data) * 8) & (2**64 - 1))
    for off in range(0, len(padded), 64):
        _compress(state, padded[off : off + 64])
    return struct.pack("<4I", *state)


__all__ = ["md4"]
