"""bench/handshake.py runs (a few handshakes, no timing asserted), so it cannot rot."""

from __future__ import annotations

from bench import handshake


def test_in_memory_handshake_benchmark_runs(capsys):
    assert handshake.main(["--count", "3", "--no-charon"]) == 0
    out = capsys.readouterr().out
    assert "classic  vicid in memory" in out and "pq       vicid in memory" in out
