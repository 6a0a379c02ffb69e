"""The engine's only source of randomness (design §3.8): SPIs, nonces, IVs, jitter, KE seeds.

``SystemRng`` draws from the OS CSPRNG through :mod:`secrets`; ``DeterministicRng`` expands a
seed with SHAKE-256 so exchange tests produce the same bytes on every run.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Protocol


class Rng(Protocol):
    """What the engine asks of a random source."""

    def bytes(self, n: int) -> bytes:
        """``n`` unpredictable bytes (SPIs, nonces, IVs, cookie secrets)."""

    def random(self) -> float:
        """A float in [0, 1) (retransmission jitter)."""

    def ke_seed(self) -> bytes | None:
        """A seed for ``KeRegistry.create`` or None to let the plugin draw its own keys
        (optional: an Rng without it is treated as returning None)."""


class SystemRng:
    """Production randomness; KE plugins generate their own private values."""

    def __init__(self) -> None:
        self._float = secrets.SystemRandom()

    def bytes(self, n: int) -> bytes:
        return secrets.token_bytes(n)

    def random(self) -> float:
        return self._float.random()

    def ke_seed(self) -> bytes | None:
        return None


class DeterministicRng:
    """Reproducible randomness for tests: a SHAKE-256 stream per seed, consumed in order."""

    def __init__(self, seed: bytes | str = b"vicid") -> None:
        self._seed = seed.encode() if isinstance(seed, str) else bytes(seed)
        self._counter = 0

    def _next(self, n: int, label: bytes) -> bytes:
        self._counter += 1
        data = self._seed + label + self._counter.to_bytes(8, "big")
        return hashlib.shake_256(data).digest(n)

    def bytes(self, n: int) -> bytes:
        return self._next(n, b"/bytes/")

    def random(self) -> float:
        return int.from_bytes(self._next(7, b"/float/"), "big") / float(1 << 56)

    def ke_seed(self) -> bytes | None:
        return self._next(32, b"/ke/")
