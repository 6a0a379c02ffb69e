"""The benchmarks run end to end on a small scale, so they cannot rot (no timing asserted)."""

from __future__ import annotations

import pytest

from bench import list_conns

pytestmark = pytest.mark.interop


def test_list_conns_benchmark_runs(interop_rootfs, capsys):
    assert list_conns.main(["--conns", "20", "--runs", "2"]) == 0
    out = capsys.readouterr().out
    assert "ratio vicid/charon" in out and "20 connections" in out
