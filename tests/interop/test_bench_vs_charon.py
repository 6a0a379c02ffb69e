"""``python -m bench`` runs end to end on a tiny scale, so it cannot rot (no timing asserted).

Every scenario runs for vicid and charon 6.1 with a handful of SAs; the test checks that the
run produced each figure, the JSON, the PNG and a CPU profile.
"""

from __future__ import annotations

import json

import pytest

from bench.__main__ import main

pytestmark = pytest.mark.interop


def test_bench_runs_every_scenario(interop_rootfs, tmp_path, capsys):
    out = tmp_path / "results"
    assert main(["--quick", "--rate-sas", "12", "--latency-sas", "3", "--scale", "30", "--budget", "120",
                 "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    figures = {f["id"]: f for f in results["figures"]}
    for fid in ("setup_rate.classic", "setup_rate.pq", "latency_p50.classic", "latency_p99.pq",
                "memory_resp.30", "memory_ini.30", "held", "list_sas", "load_conns"):
        assert fid in figures, sorted(figures)
        assert figures[fid]["vicid"] is not None and figures[fid]["charon"] is not None, figures[fid]
    assert set(figures["setup_rate.classic"]["pairs"]) == {"charon->charon", "vicid->vicid", "vicid->charon",
                                                           "charon->vicid"}
    assert figures["held"]["vicid"] == figures["held"]["charon"] == 30
    assert (out / "ratios.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert (out / "profile-vicid.txt").read_text().strip()
    printed = capsys.readouterr().out
    assert "setup rate classic" in printed and "goal" in printed
