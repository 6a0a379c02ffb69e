"""``python -m bench [--quick] [--out DIR]``: vicid against strongSwan 6.1's charon, same machine, same run.

Provisions the interop lab (strongSwan 6.1 rootfs) if needed, runs every scenario for vicid and
for charon in network namespaces, prints a table of ratios next to the goals and writes
``results.json`` (every figure), ``ratios.png`` and the CPU profile of vicid's setup-rate run
into DIR. Needs root. Prints only; never asserts timings. See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench import plot, profile, scenarios
from bench.lab import PROPOSALS
from tests.interop import provision

PAIRS = [("charon", "charon"), ("vicid", "vicid"), ("vicid", "charon"), ("charon", "vicid")]
STEPS = frozenset({"setup", "profile", "scale"})  # --only picks some of them


@dataclass(frozen=True)
class Plan:
    rate_sas: int
    latency_sas: int
    window: int
    milestones: tuple[int, ...]
    list_at: int
    load_conns: int
    scale_target: int
    scale_budget: float  # seconds per daemon for the ramp
    list_runs: int
    timeout: float  # per drive


FULL = Plan(rate_sas=1000, latency_sas=100, window=32, milestones=(1000, 10000), list_at=10000,
            load_conns=10000, scale_target=100000, scale_budget=1500, list_runs=3, timeout=600)
QUICK = Plan(rate_sas=200, latency_sas=25, window=32, milestones=(200, 1000), list_at=1000,
             load_conns=1000, scale_target=1000, scale_budget=60, list_runs=2, timeout=120)

GOALS = {  # (kind of goal, value) as the issue states them
    "setup_rate": (">=", 1.0), "latency_p99": ("<=", 1.0), "memory": ("<=", 2.0), "list_sas": ("<=", 2.0),
}


class Progress:
    """One line on stderr: step, what runs, a bar and counts; redrawn at most 10 times a second."""

    def __init__(self, steps: int) -> None:
        self.steps, self.step, self.started = steps, 0, time.monotonic()
        self._last = 0.0
        self.tty = sys.stderr.isatty()

    def next(self, what: str) -> None:
        self.step += 1
        self.status(what, 0, 1, force=True)

    def status(self, label: str, done: int, total: int, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < (0.1 if self.tty else 10.0) and done < total:
            return
        self._last = now
        width = 30
        filled = int(width * done / total) if total else width
        line = (f"[{self.step}/{self.steps}] {time.monotonic() - self.started:6.0f}s "
                f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {label}")
        if self.tty:
            sys.stderr.write("\r" + line[:150].ljust(150))
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def done(self) -> None:
        if self.tty:
            sys.stderr.write("\n")


def machine() -> dict:
    model = ""
    with open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as fh:
        mem_kib = int(fh.readline().split()[1])
    return {"cpu": model, "cores": os.cpu_count(), "memory_gib": round(mem_kib / 2**20, 1),
            "kernel": platform.release(), "python": platform.python_version()}


def _ratio(vicid: float | None, charon: float | None) -> float | None:
    if vicid is None or charon is None or not charon or (isinstance(vicid, float) and math.isnan(vicid)):
        return None
    return vicid / charon


def figure(fid: str, label: str, unit: str, vicid: float | None, charon: float | None, goal: str | None,
           **extra: object) -> dict:
    ratio = _ratio(vicid, charon)
    met = None
    if goal in GOALS and ratio is not None:
        op, value = GOALS[goal]
        met = ratio >= value if op == ">=" else ratio <= value
    return {"id": fid, "label": label, "unit": unit, "vicid": vicid, "charon": charon,
            "ratio": None if ratio is None else round(ratio, 3),
            "goal": f"{GOALS[goal][0]} {GOALS[goal][1]:g}x" if goal in GOALS else None,
            "goal_value": GOALS[goal][1] if goal in GOALS else None, "met": met, **extra}


def build_figures(setup: dict, scale: dict) -> list[dict]:
    figs = []
    for prop in PROPOSALS:
        runs = {f"{i}->{r}": setup[(i, r, prop)] for i, r in PAIRS if (i, r, prop) in setup}
        vv, cc = runs.get("vicid->vicid"), runs.get("charon->charon")
        pairs = {k: v["rate"]["rate"] for k, v in runs.items()}
        figs.append(figure(f"setup_rate.{prop}", f"setup rate {prop} (SA/s)", "IKE+CHILD SA/s",
                           vv and vv["rate"]["rate"], cc and cc["rate"]["rate"], "setup_rate", pairs=pairs))
        for pct, goal in (("p50", None), ("p99", "latency_p99")):
            key = f"latency_{pct}_ms"
            figs.append(figure(f"latency_{pct}.{prop}", f"latency {pct} {prop} (ms)", "ms",
                               vv and vv["latency"][key], cc and cc["latency"][key], goal,
                               pairs={k: v["latency"][key] for k, v in runs.items()}))
    v, c = scale.get("vicid"), scale.get("charon")
    if v and c:
        for vp, cp in zip(v["memory"], c["memory"], strict=False):
            if vp["target"] != cp["target"]:
                continue
            n = vp["target"]
            for role, name in (("resp", "responder"), ("ini", "initiator")):
                figs.append(figure(f"memory_{role}.{n}", f"RSS per SA, {name}, {n} SAs (KiB)", "KiB",
                                   vp["per_sa_kib"][role], cp["per_sa_kib"][role], "memory",
                                   held={"vicid": vp["held"], "charon": cp["held"]}))
        figs.append(figure("held", "largest count held (SAs)", "SAs", v["held"], c["held"], None,
                           goal_absolute=">= 100000", met_absolute=v["held"] >= 100000,
                           ramp_seconds={"vicid": v["ramp_seconds"], "charon": c["ramp_seconds"]}))
        vl, cl = v.get("list_sas"), c.get("list_sas")
        if vl and cl:
            figs.append(figure("list_sas", f"swanctl --list-sas, {vl['sas']} SAs (s)", "s",
                               vl["swanctl_s"], cl["swanctl_s"], "list_sas",
                               vici_s={"vicid": vl["vici_s"], "charon": cl["vici_s"]},
                               sas={"vicid": vl["sas"], "charon": cl["sas"]}))
        figs.append(figure("load_conns", f"swanctl --load-conns, {v['load_conns']} conns (s)", "s",
                           v["load_conns_s"], c["load_conns_s"], None))
    return figs


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def table(figs: list[dict]) -> str:
    lines = [f"{'figure':<44} {'charon 6.1':>11} {'vicid':>11} {'ratio':>7}  {'goal':<9} result",
             "-" * 92]
    for f in figs:
        ratio = "-" if f["ratio"] is None else f"{f['ratio']:.2f}x"
        goal = f["goal"] or f.get("goal_absolute") or ""
        met = f["met"] if f["met"] is not None else f.get("met_absolute")
        result = "" if met is None else ("met" if met else "MISSED")
        lines.append(f"{f['label']:<44} {_fmt(f['charon']):>11} {_fmt(f['vicid']):>11} {ratio:>7}  {goal:<9} {result}")
    rates = [f for f in figs if f["id"].startswith("setup_rate.")]
    if rates:
        lines += ["", "setup rate per pair (initiator->responder, SA/s):"]
        for f in rates:
            lines.append(f"  {f['id'].split('.')[1]:<8} " + "  ".join(f"{k} {v:.1f}" for k, v in f["pairs"].items()))
    return "\n".join(lines)


def run(plan: Plan, out: Path, mode: str, only: frozenset[str] = STEPS, pairs: list[tuple[str, str]] = PAIRS) -> dict:
    trees = provision.provision(log=lambda m: print(f"provision: {m}", file=sys.stderr))
    work = Path(tempfile.mkdtemp(prefix="vicid-bench-"))
    steps = (len(pairs) * len(PROPOSALS) * ("setup" in only) + ("profile" in only) + 2 * ("scale" in only))
    bar = Progress(steps)
    env = scenarios.Env(trees.strongswan, work, bar.status)
    setup: dict = {}
    scale: dict = {}
    prof: dict = {}
    started = time.time()
    try:
        for prop in PROPOSALS if "setup" in only else ():
            for ini, resp in pairs:
                label = f"{ini}->{resp} {prop}"
                bar.next(label)
                setup[(ini, resp, prop)] = scenarios.setup_pair(
                    env, ini, resp, prop, latency_n=plan.latency_sas, rate_n=plan.rate_sas, window=plan.window,
                    timeout=plan.timeout, label=label)
        if "profile" in only:
            bar.next("profile vicid->vicid classic")
            prof = profile_run(env, plan, out)
        for kind in ("charon", "vicid") if "scale" in only else ():
            bar.next(f"scale {kind}->{kind}")
            scale[kind] = scenarios.scale(
                env, kind, milestones=list(plan.milestones), list_at=plan.list_at, load_conns=plan.load_conns,
                target=plan.scale_target, window=plan.window, budget=plan.scale_budget, list_runs=plan.list_runs,
                label=f"{kind}->{kind}")
    finally:
        bar.done()
        shutil.rmtree(work, ignore_errors=True)
    figs = build_figures(setup, scale)
    versions = trees.versions().get("strongswan", {})
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "mode": mode, "seconds": round(time.time() - started, 1), "machine": machine(),
        "charon_version": versions.get("strongswan-charon"), "plan": plan.__dict__,
        "proposals": PROPOSALS, "figures": figs,
        "raw": {"setup": [v for v in setup.values()], "scale": scale, "profile": prof},
    }


def profile_run(env: scenarios.Env, plan: Plan, out: Path) -> dict:
    """vicid->vicid classic again, with a profiler on both daemons during the rate phase."""
    out.mkdir(parents=True, exist_ok=True)
    if profile.py_spy() is not None:
        spies: list[profile.PySpy] = []
        files = {role: out / f"profile-vicid-{role}.folded" for role in ("initiator", "responder")}

        def attach(ini: object, resp: object) -> object:
            spies.extend([profile.PySpy(ini.pid, files["initiator"]), profile.PySpy(resp.pid, files["responder"])])
            return lambda: [s.stop() for s in spies]

        res = scenarios.setup_pair(env, "vicid", "vicid", "classic", latency_n=0, rate_n=plan.rate_sas,
                                   window=plan.window, timeout=plan.timeout, attach=attach, label="profile")
        summary, hot = {}, {}
        for role, path in files.items():
            if path.exists():
                text, rows = profile.summarize_folded(path)
                summary[role] = text
                hot[role] = rows[:10]
        (out / "profile-vicid.txt").write_text("".join(f"== vicid {role} (py-spy, setup-rate run)\n{text}\n"
                                                        for role, text in summary.items()))
        return {"tool": "py-spy", "rate_while_profiled": res["rate"]["rate"], "hot": hot,
                "files": [p.name for p in files.values() if p.exists()] + ["profile-vicid.txt"]}
    # no sampling profiler: cProfile inside both daemons (slower; the run's rate is not comparable)
    stats = {"initiator": env.work / "ini.pstats", "responder": env.work / "resp.pstats"}
    res = scenarios.setup_pair(env, "vicid", "vicid", "classic", latency_n=0, rate_n=plan.rate_sas,
                               window=plan.window, timeout=plan.timeout, label="profile (cProfile)",
                               profiles=(stats["initiator"], stats["responder"]))
    text = "".join(f"== vicid {role} (cProfile, setup-rate run)\n{profile.summarize_pstats(path)}\n"
                   for role, path in stats.items() if path.exists())
    (out / "profile-vicid.txt").write_text(text)
    for role, path in stats.items():
        if path.exists():
            shutil.copy(path, out / f"profile-vicid-{role}.pstats")
    return {"tool": "cProfile", "rate_while_profiled": res["rate"]["rate"],
            "files": [f"profile-vicid-{r}.pstats" for r, p in stats.items() if p.exists()] + ["profile-vicid.txt"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a short version of each scenario (under five minutes)")
    ap.add_argument("--out", type=Path, default=Path("bench-results"),
                    help="results directory (default ./bench-results)")
    ap.add_argument("--rate-sas", type=int, help="SAs per setup-rate run")
    ap.add_argument("--latency-sas", type=int, help="SAs per latency run (one in flight)")
    ap.add_argument("--window", type=int, help="initiations in flight in rate runs")
    ap.add_argument("--scale", type=int, help="SAs the scale ramp aims for (its milestones shrink to fit)")
    ap.add_argument("--budget", type=float, help="seconds per daemon for the scale ramp")
    ap.add_argument("--only", action="append", choices=sorted(STEPS),
                    help="run only this part (repeatable): setup (rate + latency), profile, scale")
    ap.add_argument("--pairs", help="comma-separated initiator->responder pairs for the setup part, "
                    "e.g. charon->charon,vicid->vicid (default: all four)")
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        print("python -m bench needs root (network namespaces, chroot)", file=sys.stderr)
        return 2
    plan = QUICK if args.quick else FULL
    changes: dict = {}
    if args.rate_sas is not None:
        changes["rate_sas"] = args.rate_sas
    if args.latency_sas is not None:
        changes["latency_sas"] = args.latency_sas
    if args.window is not None:
        changes["window"] = args.window
    if args.budget is not None:
        changes["scale_budget"] = args.budget
    if args.scale is not None:
        changes.update(scale_target=args.scale, milestones=tuple(m for m in plan.milestones if m < args.scale),
                       list_at=min(plan.list_at, args.scale), load_conns=min(plan.load_conns, args.scale))
    plan = Plan(**{**plan.__dict__, **changes})
    mode = "quick" if args.quick else "full"
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    pairs = PAIRS
    if args.pairs:
        pairs = [tuple(p.split("->")) for p in args.pairs.split(",")]
        if any(p not in PAIRS for p in pairs):
            ap.error(f"--pairs: choose from {', '.join(f'{i}->{r}' for i, r in PAIRS)}")
    results = run(plan, out, mode, frozenset(args.only or STEPS), pairs)
    (out / "results.json").write_text(json.dumps(results, indent=1, default=str) + "\n")
    rows = [{"label": f["label"], "ratio": f["ratio"], "met": f["met"], "goal": f["goal_value"]}
            for f in results["figures"]]
    plot.ratio_chart(rows, f"VICID VS STRONGSWAN 6.1 ({mode.upper()}, {results['date'][:10]})", out / "ratios.png")
    m = results["machine"]
    print(f"vicid vs strongSwan {results['charon_version']} charon, {mode} run of {results['date']}, "
          f"{m['cores']} cores {m['cpu']}, {m['memory_gib']} GiB, Linux {m['kernel']}, Python {m['python']}")
    print(table(results["figures"]))
    print(f"\nresults: {out / 'results.json'}, plot: {out / 'ratios.png'}, "
          f"profile: {', '.join(results['raw']['profile'].get('files', []))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
