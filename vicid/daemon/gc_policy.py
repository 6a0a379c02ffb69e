"""The daemon's policy for Python's cyclic garbage collector.

An IKE_SA keeps a few hundred tracked containers alive for as long as it lives, and the engine
makes almost no cyclic garbage (about 15 objects per handshake; everything else is freed by
reference counting). With the interpreter's default thresholds (700, 10, 10) the collector still
ran over every live IKE_SA again and again: with 3000 IKE_SAs it cost 0.4 ms of a 4 ms ML-KEM
handshake (bench/README.md). So, once the daemon has started: start-up objects (modules,
classes, settings) are frozen out of the collector's sight, and the young generation is
collected every 10000 new containers instead of 700. Full collections stay bounded by the
interpreter's own rule (at most when the long-lived objects have grown by a quarter).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

THRESHOLDS = (10_000, 20, 20)


def apply() -> None:
    """Collect what start-up left behind, freeze the rest, set the thresholds."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)


@contextmanager
def applied() -> Iterator[None]:
    """The policy for a while, then the process's own again (benchmarks inside other programs)."""
    saved = gc.get_threshold()
    apply()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*saved)
