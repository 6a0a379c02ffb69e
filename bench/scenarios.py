"""The scenarios: each starts fresh daemons in a fresh two-node lab and returns plain dicts.

* ``setup_pair``: latency at low load (one initiation in flight), then the setup rate with
  WINDOW in flight, for one (initiator, responder) pair and one proposal.
* ``scale``: one homogeneous pair ramps up to 1k, 10k, ... SAs: RSS per SA at each milestone,
  ``swanctl --list-sas`` on the responder at the list milestone, and the largest count held
  within a time budget. The initiator's first connections are loaded with ``swanctl
  --load-conns`` (timed: the load-conn scenario).
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import trio

from bench import drive, lab
from bench.lab import Daemon
from tests.interop import netns

Status = Callable[[str, int, int], None]  # (label, done, total)
WARMUP = 5  # SAs set up before the latency samples, not counted (first-use imports, caches)


@dataclass
class Env:
    """What every scenario needs: the strongSwan rootfs, a scratch dir, a progress callback."""

    rootfs: Path
    work: Path
    status: Status
    swanctl: str | None = shutil.which("swanctl")


def _start(env: Env, stack: ExitStack, kind: str, node: netns.Node, tag: str, profile: Path | None = None) -> Daemon:
    run_dir = Path(tempfile.mkdtemp(prefix=f"{kind}-{node.name}-", dir=env.work))
    if kind == "charon":
        daemon = lab.start_charon_daemon(env.rootfs, node, run_dir)
    else:
        daemon = lab.start_vicid_daemon(node, run_dir, profile=profile)
    stack.callback(daemon.stop)
    return daemon


def _lab(stack: ExitStack) -> netns.Lab:
    lb = netns.create_lab(("moon", "carol"))
    stack.callback(lb.close)
    return lb


def _settle(daemons: list[Daemon], seconds: float = 1.0) -> None:
    """Let in-flight work finish before reading RSS or CPU counters."""
    time.sleep(seconds)
    for d in daemons:
        if not d.alive():
            raise RuntimeError(f"{d.kind} on {d.node.name} died; see {d.run_dir}")


def setup_pair(env: Env, initiator: str, responder: str, proposal: str, *, latency_n: int, rate_n: int,
               window: int, timeout: float, attach: Callable[[Daemon, Daemon], Callable[[], None]] | None = None,
               label: str = "", profiles: tuple[Path, Path] | None = None) -> dict:
    """Latency (LATENCY_N SAs one at a time) then rate (RATE_N SAs, WINDOW in flight).

    ATTACH, if given, is called with (initiator, responder) daemons before the rate phase and
    returns a function to call after it (the profiler). PROFILES runs both vicids under cProfile
    (initiator's and responder's stats files)."""
    with ExitStack() as stack:
        lb = _lab(stack)
        resp = _start(env, stack, responder, lb["moon"], "resp", profiles[1] if profiles else None)
        ini = _start(env, stack, initiator, lb["carol"], "ini", profiles[0] if profiles else None)
        warmup = WARMUP if latency_n else 0
        total = warmup + latency_n + rate_n
        conns = [lab.initiator_conn(i, lab.PROPOSALS[proposal]) for i in range(total)]
        trio.run(drive.load_conns, resp.socket, [lab.responder_conn()], lab.SHARED)
        trio.run(drive.load_conns, ini.socket, conns, lab.SHARED,
                 lambda d, t: env.status(f"{label} loading", d, t))
        names = [f"b{i}" for i in range(total)]
        trio.run(drive.initiate_all, ini.socket, names[:warmup], 1, timeout)
        lat = trio.run(drive.initiate_all, ini.socket, names[warmup:warmup + latency_n], 1, timeout,
                       lambda d, t: env.status(f"{label} latency", d, t))
        cpu0 = {d.kind + "_" + role: d.cpu_seconds() for d, role in ((ini, "ini"), (resp, "resp"))}
        detach = attach(ini, resp) if attach else None
        try:
            rate = trio.run(drive.initiate_all, ini.socket, names[warmup + latency_n:], window, timeout,
                            lambda d, t: env.status(f"{label} rate", d, t))
        finally:
            if detach is not None:
                detach()
        cpu = {f"{role}_cpu_s": round(d.cpu_seconds() - cpu0[d.kind + "_" + role], 2)
               for d, role in ((ini, "ini"), (resp, "resp"))}
        _settle([ini, resp], 0.2)
        return {"initiator": initiator, "responder": responder, "proposal": proposal, "window": window,
                "latency": lat.summary(), "rate": rate.summary(), **cpu}


def _swanctl_list_sas(env: Env, socket: str, runs: int) -> float | None:
    if env.swanctl is None:
        return None
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([env.swanctl, "--list-sas", "--uri", f"unix://{socket}"], capture_output=True,
                       timeout=600, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _swanctl_load_conns(env: Env, socket: str, count: int, proposal: str) -> float | None:
    if env.swanctl is None or count == 0:
        return None
    conf = Path(tempfile.mkdtemp(dir=env.work)) / "swanctl.conf"
    conf.write_text(lab.swanctl_conf(count, proposal))
    start = time.perf_counter()
    subprocess.run([env.swanctl, "--load-conns", "--file", str(conf), "--uri", f"unix://{socket}"],
                   capture_output=True, timeout=1800, check=True)
    return time.perf_counter() - start


def scale(env: Env, kind: str, *, milestones: list[int], list_at: int, load_conns: int, target: int,
          window: int, budget: float, list_runs: int, label: str = "") -> dict:
    """Ramp one homogeneous KIND->KIND pair up to TARGET SAs (classic proposal)."""
    proposal = lab.PROPOSALS["classic"]
    with ExitStack() as stack:
        lb = _lab(stack)
        resp = _start(env, stack, kind, lb["moon"], "resp")
        ini = _start(env, stack, kind, lb["carol"], "ini")
        trio.run(drive.load_conns, resp.socket, [lab.responder_conn()], lab.SHARED)
        _settle([ini, resp], 0.5)
        rss0 = {"ini": ini.rss_kib(), "resp": resp.rss_kib()}
        # the control-plane load-conn scenario: swanctl parses and sends LOAD_CONNS connections
        env.status(f"{label} swanctl --load-conns {load_conns}", 0, 1)
        load_seconds = _swanctl_load_conns(env, ini.socket, load_conns, proposal)
        rest = [lab.initiator_conn(i, proposal) for i in range(load_conns, target)]
        trio.run(drive.load_conns, ini.socket, rest, lab.SHARED,
                 lambda d, t: env.status(f"{label} loading", d, t))
        if not load_conns:
            trio.run(drive.load_conns, ini.socket, [], lab.SHARED)
        _settle([ini, resp], 1.0)
        base = {"ini": ini.rss_kib(), "resp": resp.rss_kib()}
        out: dict = {"kind": kind, "load_conns": load_conns, "load_conns_s": load_seconds,
                     "rss_start_kib": rss0, "rss_loaded_kib": base, "memory": [], "held": 0}
        done = 0
        started = time.perf_counter()
        for goal in sorted({*milestones, list_at, target}):
            if goal > target:
                continue
            remaining = budget - (time.perf_counter() - started)
            if remaining <= 0:
                break
            names = [f"b{i}" for i in range(done, goal)]
            res = trio.run(drive.initiate_all, ini.socket, names, window, remaining,
                           lambda d, t, g=goal, n=done: env.status(f"{label} ramp to {g}", n + d, g))
            done = goal
            _settle([ini, resp], 2.0)
            held, half_open = trio.run(drive.ike_sa_count, resp.socket)
            rss = {"ini": ini.rss_kib(), "resp": resp.rss_kib()}
            point = {"target": goal, "held": held, "half_open": half_open, "rate": round(res.rate, 2),
                     "failed": res.failed, "rss_kib": rss,
                     "per_sa_kib": {r: round((rss[r] - base[r]) / held, 2) if held else None for r in rss}}
            out["memory"].append(point)
            out["held"] = max(out["held"], held)
            if goal == list_at and held:
                env.status(f"{label} list-sas with {held} SAs", 0, 1)
                out["list_sas"] = {"sas": held, "swanctl_s": _swanctl_list_sas(env, resp.socket, list_runs),
                                   "vici_s": min(trio.run(drive.list_sas, resp.socket)[1] for _ in range(list_runs))}
            if res.established < len(names):
                break  # budget spent or SAs failing: what is held is the answer
        out["ramp_seconds"] = round(time.perf_counter() - started, 1)
        return out
