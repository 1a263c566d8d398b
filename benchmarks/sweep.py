"""Issue-4 scale: a 1,000-run sweep of the 20,000-person fish pond (365 days).

Side by side in one invocation: the same runs called directly in a loop (no sweep
machinery), then ``run_sweep`` with 1 and 2 local worker processes. Prints wall time, runs
per minute and the sweep machinery's overhead per run against the direct calls.

    python benchmarks/sweep.py            # 1,000 runs
    python benchmarks/sweep.py --quick    # 40 runs of 2,000 persons

Issue 11's sweep targets (runs per second of a 2-worker sweep against the direct loop in one
process; ``--cli`` also times the whole ``fishpond sweep --workers 2`` command, start-up and
charts included)::

    python benchmarks/sweep.py --size 5000 --steps 180 --runs 400 --direct 40 --workers 2 --cli
    python benchmarks/sweep.py --size 20000 --steps 365 --runs 100 --direct 10 --workers 2 --cli
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml
from common import Timer, machine

from sim import GrowthModel
from sim.experiments import experiment_from_dict, run_sweep
from sim.scenario_io import load_scenario, resolve_scenario_path
from sim.store import read_results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--size", type=int, default=20_000)
    ap.add_argument("--direct", type=int, default=100, help="runs timed in the direct loop")
    ap.add_argument("--steps", type=int, default=365, help="days per run")
    ap.add_argument("--workers", default="1,2", help="worker counts of run_sweep to time")
    ap.add_argument("--cli", action="store_true",
                    help="also time the command `fishpond sweep --workers 2` as a whole")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    runs, size, direct = (40, 2_000, 20) if args.quick else (args.runs, args.size, args.direct)
    print(machine())
    exp_data = {
        "name": "sweep benchmark", "scenario": "fish_pond", "replicates": runs, "seed": 1,
        "overrides": {"population": {"size": size}, "steps": args.steps},
        "design": {"kind": "grid", "parameters": {"seeding.count": 100}},
    }
    exp = experiment_from_dict(exp_data)
    print(f"fish_pond, {size:,} persons, {args.steps} days: {runs} runs")
    GrowthModel("fish_pond", rng=0, population={"size": 500}, steps=2).run()  # compile first

    scenario = load_scenario(resolve_scenario_path("fish_pond"),
                             [f"population.size={size}", f"steps={args.steps}"])
    with Timer() as t:  # the model called directly, scenario parsed once (as the sweep does)
        for r in range(direct):
            model = GrowthModel(scenario, rng=r)
            model.run()
            model.summary()
    per_direct = t.s / direct
    print(f"direct calls (1 process, {direct} runs): {per_direct:.3f} s per run = "
          f"{60 / per_direct:.0f} runs/min")

    per_run = {}
    for workers in (int(w) for w in args.workers.split(",")):
        with tempfile.TemporaryDirectory() as tmp, Timer() as t:
            out = run_sweep(exp, Path(tmp) / "out", workers=workers, progress=False)
            ok = int((read_results(out).status == "ok").sum())
        per_run[workers] = t.s / runs
        print(f"sweep, {workers} worker(s): {t.s:8.1f} s for {runs} runs ({ok} ok) = "
              f"{60 * runs / t.s:6.0f} runs/min")
    if 1 in per_run:
        print(f"sweep overhead per run, 1 worker vs direct calls: "
              f"{per_run[1] - per_direct:+.3f} s ({100 * (per_run[1] / per_direct - 1):+.0f}%)")
    if 1 in per_run and 2 in per_run:
        print(f"speed-up, 2 workers vs 1: {per_run[1] / per_run[2]:.2f}x")
    if 2 in per_run:
        print(f"runs per second, 2-worker sweep vs the direct loop in one process: "
              f"{per_direct / per_run[2]:.2f}x")
    if args.cli:
        with tempfile.TemporaryDirectory() as tmp:
            spec = Path(tmp) / "bench.yaml"
            spec.write_text(yaml.safe_dump(exp_data))
            with Timer() as t:
                subprocess.run([sys.executable, "-m", "sim", "sweep", str(spec), "--workers", "2",
                                "--out", str(Path(tmp) / "cli"), "--quiet"], check=True,
                               stdout=subprocess.DEVNULL)
        print(f"fishpond sweep --workers 2 (the whole command: start-up, {runs} runs, charts): "
              f"{t.s:.1f} s = {runs / t.s:.2f} runs/s; against the direct loop "
              f"{1 / per_direct:.2f} runs/s: {per_direct * runs / t.s:.2f}x")


if __name__ == "__main__":
    main()
