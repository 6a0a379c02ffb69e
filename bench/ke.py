"""Key-exchange benchmark: ``python -m bench.ke [--min-time S] [--short-exponents] [METHOD...]``.

For every method and every plugin providing it, times one full exchange (initiator keygen,
responder set_peer_value + public_value, initiator set_peer_value, both secrets) and prints it
with its ratio to the fastest implementation of the same method, measured in the same run.
Prints only; never asserts timings.
"""

from __future__ import annotations

import argparse
import time

from vicid.ike.wire.enums import ke_name
from vicid.ke import KeRegistry


class _Settings(dict):
    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        return super().get(key, default)


def one_exchange(registry: KeRegistry, plugin: str, method: int) -> None:
    ini = registry.create_from(plugin, method)
    res = registry.create_from(plugin, method)
    res.set_peer_value(ini.public_value())
    ini.set_peer_value(res.public_value())
    if ini.shared_secret() != res.shared_secret():
        raise SystemExit(f"{plugin} {ke_name(method)}: secrets differ")


def measure(registry: KeRegistry, plugin: str, method: int, min_time: float) -> tuple[float, int]:
    """Seconds per exchange (mean) and how many ran: at least one, then until min_time."""
    runs, start = 0, time.perf_counter()
    while True:
        one_exchange(registry, plugin, method)
        runs += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_time or runs >= 10_000:
            return elapsed / runs, runs


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("methods", nargs="*", type=int, help="IANA IDs (default: every supported one)")
    ap.add_argument("--min-time", type=float, default=0.3, help="seconds per measurement (default 0.3)")
    ap.add_argument("--short-exponents", action="store_true",
                    help="charon.dh_exponent_ansi_x9_42 = no (MODP exponents of 2x group strength)")
    args = ap.parse_args(argv)
    settings = _Settings({"charon.dh_exponent_ansi_x9_42": "no" if args.short_exponents else "yes"})
    registry = KeRegistry.from_entry_points(settings)
    methods = args.methods or sorted(registry.supported())
    print(f"{'method':<16} {'plugin':<10} {'ms/exchange':>12} {'runs':>6} {'x fastest':>10}")
    for method in methods:
        results = {p: measure(registry, p, method, args.min_time) for p in registry.providers(method)}
        best = min(t for t, _ in results.values())
        for plugin, (t, runs) in sorted(results.items(), key=lambda kv: kv[1][0]):
            print(f"{ke_name(method):<16} {plugin:<10} {t * 1e3:>12.3f} {runs:>6} {t / best:>10.1f}")


if __name__ == "__main__":
    main()
