"""bench/handshake.py runs (a few handshakes, no timing asserted), so it cannot rot."""

from __future__ import annotations

from bench import handshake


def test_in_memory_handshake_benchmark_runs(capsys):
    assert handshake.main(["--count", "3", "--no-charon"]) == 0
    out = capsys.readouterr().out
    for name in ("classic ", "pq      "):
        assert f"{name} vicid  one process" in out and f"{name} charon 6.1: not measured (--no-charon)" in out
    assert out.count("per peer") == 3  # the header and both proposals


def test_paired_engines_complete_every_handshake():
    """One process per peer, several in flight: every CHILD_SA comes up (the rate is only printed)."""
    result = handshake.paired_rate(handshake.PROPOSALS["pq"], 12, window=4, warmup=2)
    assert result["rate"] > 0 and result["ini_cpu_ms"] > 0 and result["resp_cpu_ms"] > 0
