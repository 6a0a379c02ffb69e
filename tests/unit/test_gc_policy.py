"""The daemon's garbage-collector policy, applied in a process of its own (never to pytest's)."""

from __future__ import annotations

import subprocess
import sys

from vicid.daemon import gc_policy


def test_apply_freezes_start_up_and_sets_thresholds():
    code = ("import gc; from vicid.daemon import gc_policy; gc_policy.apply(); "
            "print(gc.get_threshold(), gc.get_freeze_count() > 1000, gc.isenabled())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == [*f"{gc_policy.THRESHOLDS}".split(), "True", "True"]


def test_only_the_daemons_own_process_tunes_its_collector(monkeypatch):
    """``vicid`` (main) asks for it; a Daemon started inside another program does not."""
    from vicid.daemon import main, run

    seen = []

    def daemon(options: run.DaemonOptions) -> None:
        seen.append(options)
        raise main.SettingsError("stopped before starting")

    monkeypatch.setattr(run, "Daemon", daemon)
    assert main.main(["--foreground", "--conf", "/dev/null"]) == 1
    assert seen[0].tune_gc and not run.DaemonOptions("x").tune_gc


def test_applied_gives_the_process_its_collector_back():
    import gc

    before = gc.get_threshold()
    with gc_policy.applied():
        assert gc.get_threshold() == gc_policy.THRESHOLDS and gc.get_freeze_count() > 0
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
