"""charon's retransmission schedule as a pure function (task_manager.c).

    timeout(n) = retransmit_timeout * retransmit_base ^ n        (seconds, n = 0 first send)
    capped by retransmit_limit (if set), minus up to retransmit_jitter % at random,
    truncated to whole milliseconds; after ``retransmit_tries`` retransmissions: give up.

With the defaults (4 s, 1.8, 5 tries) a request is sent at 0, 4, 11.2, 24.16, 47.488 and
89.478 s, and the exchange fails at 165.06 s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, Protocol

UINT32_MAX = 0xFFFFFFFF
JITTER_MAX = 20  # RETRANSMIT_JITTER_MAX
GIVE_UP: Final = None
"""Returned by :func:`retransmit_timeout` once the retries are exhausted."""


class _Random(Protocol):
    def random(self) -> float: ...


@dataclass(frozen=True)
class Retransmission:
    """``retransmission_t``: charon.retransmit_timeout/base/tries/jitter/limit."""

    timeout: float = 4.0
    base: float = 1.8
    tries: int = 5
    jitter: int = 0  # percent, at most 20
    limit: float = 0.0  # seconds, 0 = no limit

    @property
    def max_tries(self) -> int:
        """Largest exponent before 1000 * timeout * base^n overflows a uint32 (0 = no bound)."""
        if self.base <= 1 or self.timeout <= 0:
            return 0
        return int(math.log(UINT32_MAX / (1000.0 * self.timeout)) / math.log(self.base))


def timeout_ms(attempt: int, settings: Retransmission, rng: _Random | None) -> int:
    """``retransmission_timeout()``: the delay after send number ``attempt`` in milliseconds."""
    timeout = float(UINT32_MAX)
    if not settings.max_tries or attempt <= settings.max_tries:
        timeout = settings.timeout * 1000.0 * settings.base ** attempt
    if settings.limit:
        timeout = min(timeout, settings.limit * 1000.0)
    if rng is not None and settings.jitter:
        timeout -= (timeout / 100.0) * settings.jitter * rng.random()
    return int(timeout)


def retransmit_timeout(attempt: int, settings: Retransmission, rng: _Random | None) -> float | None:
    """Seconds to wait after sending attempt ``attempt`` (0 = first transmission), or
    ``GIVE_UP`` when the request must not be sent again (``attempt > tries``)."""
    if attempt > settings.tries:
        return GIVE_UP
    return timeout_ms(attempt, settings, rng) / 1000.0
