"""Issue-13 speed: trials per minute of ``fishpond optimize``; the example goal's wall time.

Trials per minute at 20,000 persons, and the wall time of the shipped example goal
(``experiments/goals/cheapest_inflection.yaml``).

A trial is one candidate judged on ``--replicates`` runs (common seeds); its replicates run on
``--workers`` processes. Part 1 times ``--trials`` trials of a four-lever goal on the
20,000-person fish pond (365 days) with 1 and 2 workers; part 2 runs the shipped goal as
``fishpond optimize cheapest_inflection --workers 2`` does (its trials, then the out-of-sample
check of its best candidates, the charts and the files).

    python benchmarks/optimize.py            # 20 trials x 4 replicates at 20,000; the example
    python benchmarks/optimize.py --quick    # 6 trials x 2 replicates at 2,000; the example
    taskset -c 0,1 python benchmarks/optimize.py   # on 2 cores
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from common import Timer, machine

from sim import GrowthModel
from sim.goals import goal_from_dict, load_goal
from sim.optimize import run_optimize


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--replicates", type=int, default=4)
    ap.add_argument("--size", type=int, default=20_000)
    ap.add_argument("--no-example", action="store_true", help="skip the shipped example goal")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    trials, reps, size = (6, 2, 2_000) if args.quick else (args.trials, args.replicates,
                                                             args.size)
    print(machine())
    GrowthModel("fish_pond", rng=0, population={"size": 500}, steps=2).run()  # compile first
    spec = {"name": "optimize benchmark", "base": "fish_pond",
            "overrides": {"population": {"size": size}},
            "levers": {"seeding.count": "20..500", "seeding.strategy": ["degree", "random"],
                       "program.content_per_week": "0..21",
                       "program.activities_per_month": "0..40"},
            "objective": {"minimize": "cost"}, "constraints": ["P(day_inflection <= 90) >= 0.8"],
            "replicates": reps, "seed": 1, "trials": trials,
            "check": {"replicates": reps, "candidates": 1}}
    goal = goal_from_dict(spec)
    print(f"fish_pond, {size:,} persons, {goal.base_scenario.steps} days: {trials} trials x "
          f"{reps} replicates, 4 levers")
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as tmp, Timer() as t:
            out = run_optimize(goal, Path(tmp) / "out", workers=workers, progress=False)
        print(f"optimize, {workers} worker(s): {t.s:8.1f} s for {len(out.trials)} trials "
              f"(with the check and the files) = {60 * len(out.trials) / t.s:6.1f} trials/min "
              f"= {60 * len(out.trials) * reps / t.s:6.0f} runs/min")
    if args.no_example:
        return
    example = load_goal("cheapest_inflection")
    with tempfile.TemporaryDirectory() as tmp, Timer() as t:
        out = run_optimize(example, Path(tmp) / "out", workers=2, progress=False)
    runs = len(out.trials) * example.replicates + len(out.candidates) * example.check_replicates
    print(f"example goal cheapest_inflection ({example.base_scenario.population.size:,} persons, "
          f"{example.base_scenario.steps} days, {example.trials} trials x {example.replicates} "
          f"replicates, check {example.check.candidates} x {example.check_replicates}), "
          f"2 workers: {t.s:.1f} s wall ({runs} runs)")
    print(out.paragraph)


if __name__ == "__main__":
    main()
