"""Deterministic KE doubles for golden and exchange tests (never an entry point).

:class:`ReferenceMlKem` is a plain-Python ML-KEM (FIPS 203, Algorithms 7-18) that takes all its
randomness from a seed, in both roles: the backends cannot inject the encapsulation
randomness ``m``, so this is how KEM exchanges get golden bytes. It follows the standard's
pseudocode for clarity, not speed (tens of milliseconds per operation), and is not
constant-time: tests only.

Seeds follow :func:`vicid.ke.derive_seed`: key generation uses ``d || z`` (a 64-byte seed is
taken verbatim, as in the NIST vectors), encapsulation uses ``m`` (a 32-byte seed verbatim).
Key generation matches the ``openssl`` plugin for the same seed.

``PLUGIN`` offers ML-KEM-512/768/1024 as seedable methods for ``KeRegistry.from_plugins``::

    registry = KeRegistry.from_plugins(settings, {"openssl": openssl.PLUGIN, "testing": testing.PLUGIN})
    ke = registry.create(36, seed=b"initiator-1")   # picks the seedable provider
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from vicid_plugins._mlkem import ML_KEM, Q, check_encaps_key

from vicid.ke import KeFactory, KemKeyExchange, KePlugin, KeyExchange, derive_seed

N = 256
Poly = list[int]


def _bitrev7(i: int) -> int:
    return int(f"{i:07b}"[::-1], 2)


ZETAS = [pow(17, _bitrev7(i), Q) for i in range(128)]
GAMMAS = [pow(17, 2 * _bitrev7(i) + 1, Q) for i in range(128)]


@dataclass(frozen=True)
class _Set:
    k: int
    eta1: int
    eta2: int
    du: int
    dv: int


SETS = {35: _Set(2, 3, 2, 10, 4), 36: _Set(3, 2, 2, 10, 4), 37: _Set(4, 2, 2, 11, 5)}


# -- FIPS 203 §4: hashes, encodings, sampling ---------------------------------------------------


def _h(data: bytes) -> bytes:
    return hashlib.sha3_256(data).digest()


def _g(data: bytes) -> tuple[bytes, bytes]:
    out = hashlib.sha3_512(data).digest()
    return out[:32], out[32:]


def _prf(eta: int, s: bytes, b: int) -> bytes:
    return hashlib.shake_256(s + bytes([b])).digest(64 * eta)


def _encode(f: Poly, d: int) -> bytes:
    acc = 0
    for i, a in enumerate(f):
        acc |= a << (d * i)
    return acc.to_bytes(32 * d, "little")


def _decode(b: bytes, d: int) -> Poly:
    acc, mask = int.from_bytes(b, "little"), (1 << d) - 1
    return [((acc >> (d * i)) & mask) % (Q if d == 12 else 1 << d) for i in range(N)]


def _compress(f: Poly, d: int) -> Poly:
    return [((x << d) + Q // 2) // Q % (1 << d) for x in f]


def _decompress(f: Poly, d: int) -> Poly:
    return [(y * Q + (1 << (d - 1))) >> d for y in f]


def _sample_ntt(seed: bytes) -> Poly:
    """Algorithm 7: rejection sampling from SHAKE-128."""
    length = 840
    while True:
        stream = hashlib.shake_128(seed).digest(length)
        out: Poly = []
        for i in range(0, length - 2, 3):
            d1 = stream[i] | (stream[i + 1] & 0x0F) << 8
            d2 = stream[i + 1] >> 4 | stream[i + 2] << 4
            for d in (d1, d2):
                if d < Q and len(out) < N:
                    out.append(d)
            if len(out) == N:
                return out
        length *= 2  # unlucky seed: read further (the prefix stays the same)


def _cbd(b: bytes, eta: int) -> Poly:
    """Algorithm 8: centred binomial distribution."""
    bits = int.from_bytes(b, "little")
    out = []
    for i in range(N):
        x = sum((bits >> (2 * i * eta + j)) & 1 for j in range(eta))
        y = sum((bits >> (2 * i * eta + eta + j)) & 1 for j in range(eta))
        out.append((x - y) % Q)
    return out


# -- §4.3: NTT ----------------------------------------------------------------------------------


def _ntt(f: Poly) -> Poly:
    f, i, length = list(f), 1, 128
    while length >= 2:
        for start in range(0, N, 2 * length):
            zeta = ZETAS[i]
            i += 1
            for j in range(start, start + length):
                t = zeta * f[j + length] % Q
                f[j + length] = (f[j] - t) % Q
                f[j] = (f[j] + t) % Q
        length //= 2
    return f


def _intt(f: Poly) -> Poly:
    f, i, length = list(f), 127, 2
    while length <= 128:
        for start in range(0, N, 2 * length):
            zeta = ZETAS[i]
            i -= 1
            for j in range(start, start + length):
                t = f[j]
                f[j] = (t + f[j + length]) % Q
                f[j + length] = zeta * (f[j + length] - t) % Q
        length *= 2
    return [x * 3303 % Q for x in f]  # 3303 = 128^-1 mod q


def _mul(a: Poly, b: Poly) -> Poly:
    out = [0] * N
    for i in range(128):
        a0, a1, b0, b1 = a[2 * i], a[2 * i + 1], b[2 * i], b[2 * i + 1]
        out[2 * i] = (a0 * b0 + a1 * b1 * GAMMAS[i]) % Q
        out[2 * i + 1] = (a0 * b1 + a1 * b0) % Q
    return out


def _add(*polys: Poly) -> Poly:
    return [sum(c) % Q for c in zip(*polys, strict=True)]


def _dot(row: list[Poly], vec: list[Poly]) -> Poly:
    return _add(*(_mul(a, b) for a, b in zip(row, vec, strict=True)))


# -- §5-6: K-PKE and ML-KEM internals -----------------------------------------------------------


def _matrix(rho: bytes, k: int) -> list[list[Poly]]:
    return [[_sample_ntt(rho + bytes([j, i])) for j in range(k)] for i in range(k)]


def _pke_keygen(p: _Set, d: bytes) -> tuple[bytes, bytes]:
    rho, sigma = _g(d + bytes([p.k]))
    a = _matrix(rho, p.k)
    s = [_ntt(_cbd(_prf(p.eta1, sigma, n), p.eta1)) for n in range(p.k)]
    e = [_ntt(_cbd(_prf(p.eta1, sigma, p.k + n), p.eta1)) for n in range(p.k)]
    t = [_add(_dot(a[i], s), e[i]) for i in range(p.k)]
    return b"".join(_encode(x, 12) for x in t) + rho, b"".join(_encode(x, 12) for x in s)


def _pke_encrypt(p: _Set, ek: bytes, m: bytes, r: bytes) -> bytes:
    t = [_decode(ek[384 * i : 384 * (i + 1)], 12) for i in range(p.k)]
    a = _matrix(ek[384 * p.k :], p.k)
    y = [_ntt(_cbd(_prf(p.eta1, r, n), p.eta1)) for n in range(p.k)]
    e1 = [_cbd(_prf(p.eta2, r, p.k + n), p.eta2) for n in range(p.k)]
    e2 = _cbd(_prf(p.eta2, r, 2 * p.k), p.eta2)
    u = [_add(_intt(_dot([a[j][i] for j in range(p.k)], y)), e1[i]) for i in range(p.k)]
    mu = _decompress(_decode(m, 1), 1)
    v = _add(_intt(_dot(t, y)), e2, mu)
    c1 = b"".join(_encode(_compress(x, p.du), p.du) for x in u)
    return c1 + _encode(_compress(v, p.dv), p.dv)


def _pke_decrypt(p: _Set, dk_pke: bytes, c: bytes) -> bytes:
    step = 32 * p.du
    u = [_decompress(_decode(c[step * i : step * (i + 1)], p.du), p.du) for i in range(p.k)]
    v = _decompress(_decode(c[step * p.k :], p.dv), p.dv)
    s = [_decode(dk_pke[384 * i : 384 * (i + 1)], 12) for i in range(p.k)]
    w = [(a - b) % Q for a, b in zip(v, _intt(_dot(s, [_ntt(x) for x in u])), strict=True)]
    return _encode(_compress(w, 1), 1)


def keygen(method: int, d: bytes, z: bytes) -> tuple[bytes, bytes]:
    """ML-KEM.KeyGen_internal (Algorithm 16): (ek, dk)."""
    ek, dk_pke = _pke_keygen(SETS[method], d)
    return ek, dk_pke + ek + _h(ek) + z


def encaps(method: int, ek: bytes, m: bytes) -> tuple[bytes, bytes]:
    """ML-KEM.Encaps_internal (Algorithm 17): (K, c)."""
    key, r = _g(m + _h(ek))
    return key, _pke_encrypt(SETS[method], ek, m, r)


def decaps(method: int, dk: bytes, c: bytes) -> bytes:
    """ML-KEM.Decaps_internal (Algorithm 18), with implicit rejection."""
    p = SETS[method]
    dk_pke, ek = dk[: 384 * p.k], dk[384 * p.k : 768 * p.k + 32]
    h, z = dk[768 * p.k + 32 : 768 * p.k + 64], dk[768 * p.k + 64 :]
    m = _pke_decrypt(p, dk_pke, c)
    key, r = _g(m + h)
    rejected = hashlib.shake_256(z + c).digest(32)
    return key if _pke_encrypt(p, ek, m, r) == c else rejected


# -- the KeyExchange double ---------------------------------------------------------------------


class ReferenceMlKem(KemKeyExchange):
    """Seeded ML-KEM in both roles; see the module docstring for the seed rules."""

    def __init__(self, method: int, seed: bytes | None = None) -> None:
        super().__init__(method)
        self._params = ML_KEM[method]
        self.encaps_key_size = self._params.encaps_key_size
        self.ciphertext_size = self._params.ciphertext_size
        self._seed = seed if seed is not None else hashlib.sha256(b"vicid-testing").digest()
        self._dk = b""

    @classmethod
    def with_decaps_key(cls, method: int, dk: bytes) -> ReferenceMlKem:
        """An initiator holding a given expanded decapsulation key (decapsulation vectors)."""
        ke = cls(method)
        ke._dk = bytes(dk)
        k = ke._params.k
        ke._adopt_key_pair(ke._dk[384 * k : 768 * k + 32])
        return ke

    def _keygen(self) -> bytes:
        dz = derive_seed(self._seed, 64, f"mlkem{self.method}")
        ek, self._dk = keygen(self.method, dz[:32], dz[32:])
        return ek

    def _check_encaps_key(self, ek: bytes) -> None:
        check_encaps_key(self._params, ek)

    def _encapsulate(self, ek: bytes) -> tuple[bytes, bytes]:
        key, c = encaps(self.method, ek, derive_seed(self._seed, 32, f"mlkem{self.method}/m"))
        return c, key

    def _decapsulate(self, ct: bytes) -> bytes:
        return decaps(self.method, self._dk, ct)


def _create(method: int, *, seed: bytes | None = None) -> KeyExchange | None:
    return ReferenceMlKem(method, seed) if method in SETS else None


PLUGIN = KePlugin(
    [KeFactory(_create, tuple(p.info for p in ML_KEM.values()), seedable=frozenset(SETS))],
    description="deterministic ML-KEM reference for tests",
    default_priority=0,
)
