"""CPU profiles of vicid during a setup-rate run.

py-spy (sampling, attaches to the running daemon by PID, no change to vicid) writes collapsed
stacks (``*.folded``: one ``frame;frame;... count`` line per stack, loadable in speedscope or
flamegraph.pl), summarised here into the functions with most samples, self and total. Without
py-spy the profiled daemon runs under the standard library's cProfile instead (slower, so
that run's rate is not reported) and its pstats are summarised the same way.
"""

from __future__ import annotations

import io
import os
import pstats
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path


def py_spy() -> str | None:
    """The py-spy binary next to this interpreter, or on PATH (VICID_BENCH_PROFILER=cprofile
    forces the cProfile fallback)."""
    if os.environ.get("VICID_BENCH_PROFILER") == "cprofile":
        return None
    local = Path(sys.executable).parent / "py-spy"
    return str(local) if local.exists() else shutil.which("py-spy")


class PySpy:
    """``py-spy record`` on one PID until stop()."""

    def __init__(self, pid: int, out: Path, rate: int = 100) -> None:
        self.out = out
        binary = py_spy()
        assert binary is not None
        self.proc = subprocess.Popen(
            [binary, "record", "--pid", str(pid), "--rate", str(rate), "--format", "raw", "--nonblocking",
             "--output", str(out)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _frame_name(frame: str) -> str:
    """``func (path/to/file.py:12)`` -> ``vicid/ike/sa.py:func``."""
    func, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("/vicid/", "/plugins/", "/site-packages/", "/lib/python3"):
        if marker in path:
            path = marker.strip("/") + "/" + path.split(marker, 1)[1]
            break
    return f"{path}:{func}"


def summarize_folded(path: Path, top: int = 25) -> tuple[str, list[dict]]:
    """Text table and rows of the functions with most samples (self and total)."""
    self_n: Counter[str] = Counter()
    total_n: Counter[str] = Counter()
    samples = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        samples += n
        frames = [_frame_name(f) for f in stack.split(";") if f and not f.startswith("process ")
                  and not f.startswith("thread ")]
        if not frames:
            continue
        self_n[frames[-1]] += n
        for name in set(frames):
            total_n[name] += n
    rows = [{"function": name, "self_pct": round(100 * n / samples, 1),
             "total_pct": round(100 * total_n[name] / samples, 1)} for name, n in self_n.most_common(top)]
    lines = [f"{samples} samples; top {top} functions by own samples", f"{'self%':>6} {'total%':>7}  function"]
    lines += [f"{r['self_pct']:6.1f} {r['total_pct']:7.1f}  {r['function']}" for r in rows]
    engine = [(name, n) for name, n in total_n.most_common(200) if "vicid/" in name][:top]
    lines += ["", f"{'total%':>7}  vicid function (inclusive)"]
    lines += [f"{100 * n / samples:7.1f}  {name}" for name, n in engine]
    return "\n".join(lines) + "\n", rows


def summarize_pstats(path: Path, top: int = 25) -> str:
    out = io.StringIO()
    stats = pstats.Stats(str(path), stream=out)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return out.getvalue()
