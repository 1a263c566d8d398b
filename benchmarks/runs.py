"""Runs per second of many small runs in one process, here and in another checkout, side by side.

Calibrations, sweeps and optimisations are thousands of small and medium runs: what counts is
the whole cost of a run (building the model, the days, the summary and the timeseries), not
the day kernel alone. Each case runs in a fresh process per repeat, alternating between this
checkout and ``--against DIR`` (e.g. a ``git worktree`` of the commit before), so both see the
same machine load; kernels are loaded before timing.

    python benchmarks/runs.py --against /tmp/before                 # every case, 5 repeats
    python benchmarks/runs.py --against /tmp/before --case cascade --repeats 9
    python benchmarks/runs.py --against /tmp/before --cpu      # CPU time: a shared machine

Cases (each run: ``GrowthModel(...)``, ``run()``, ``summary()``, ``timeseries()``; run seeds
0, 1, 2, ...; the checksum of members at the horizon must agree between the trees):

fish_pond_5k    the fish pond, 5,000 persons x 180 days, the scenario parsed once (as a sweep
                or calibration does): issue 11's "fish-pond runs per second"
fish_pond_20k   the fish pond, 20,000 persons x 365 days
cascade_p01     the independent cascade (``pure_sir``, churn_base 1) on one prebuilt BA graph of
                100,000 persons, 100 random seeds, p = 0.01, 50 days (a cascade that stops early)
sweep_crn       the fish pond, 5,000 persons x 180 days, 4 replicate seeds repeated (common random
                numbers, as in a sweep or optimisation with common seeds)
fish_pond_2k    the fish pond, 2,000 persons x 84 days (a calibration's particle: 12 weeks)
bass_daily      the Bass reduction, 1,000 persons x 2,000 days (yearly data at 365 days a year:
                the days' fixed cost, not the persons', is what counts)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from common import machine  # noqa: I001  (run as a script from benchmarks/)

HERE = Path(__file__).resolve().parents[1]
CASES = {
    "fish_pond_5k": {"scenario": "fish_pond", "size": 5_000, "steps": 180, "runs": 10},
    "fish_pond_20k": {"scenario": "fish_pond", "size": 20_000, "steps": 365, "runs": 4},
    "cascade_p01": {"scenario": "pure_sir", "size": 100_000, "steps": 50, "runs": 20,
                    "graph": True, "rules": {"invite_rate": 0.01, "churn_base": 1.0},
                    "seeding": {"count": 100, "strategy": "random"}},
    "sweep_crn": {"scenario": "fish_pond", "size": 5_000, "steps": 180, "runs": 12, "seeds": 4},
    "fish_pond_2k": {"scenario": "fish_pond", "size": 2_000, "steps": 84, "runs": 20},
    "bass_daily": {"scenario": "bass_mean_field", "size": 1_000, "steps": 2_000, "runs": 3,
                   "rules": {"organic_rate": 0.0002, "invite_rate": 0.001}},
}
CHILD = """
import json, sys, time
import numpy as np
from sim import GrowthModel
from sim.scenario_io import load_scenario, resolve_scenario_path
c = json.loads(sys.argv[1])
kw = {k: c[k] for k in ("rules", "seeding") if k in c}
if c.get("graph"):
    import networkx as nx
    from sim.population import from_edges
    G = nx.barabasi_albert_graph(c["size"], 5, seed=1)
    e = np.array(G.edges(), dtype=np.int64)
    kw["graph"] = from_edges(c["size"], e[:, 0], e[:, 1])
    sc = load_scenario(resolve_scenario_path(c["scenario"]), [f"steps={c['steps']}"])
else:
    sc = load_scenario(resolve_scenario_path(c["scenario"]),
                       [f"population.size={c['size']}", f"steps={c['steps']}"])
def one(r):
    m = GrowthModel(sc, rng=r, **kw)
    m.run()
    m.summary()
    return int(m.timeseries().members.iloc[-1])
one(10**6)  # load the kernels
seeds = c.get("seeds", c["runs"])
clock = time.process_time if c.get("cpu") else time.perf_counter
t = clock()
check = sum(one(r % seeds) for r in range(c["runs"]))
print(check, c["runs"] / (clock() - t))
"""


def _rate(tree: Path, case: dict) -> tuple[int, float]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    if case.get("cpu"):
        env["NUMBA_NUM_THREADS"] = "1"
    out = subprocess.run([sys.executable, "-c", CHILD, json.dumps(case)], env=env, cwd=tree,
                         capture_output=True, text=True, check=True).stdout
    check, rate = out.strip().splitlines()[-1].split()
    return int(check), float(rate)


def main(argv=None) -> None:
    """Print each case's median runs per second here and there, and their ratio."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--against", type=Path, required=True, metavar="DIR")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--cpu", action="store_true",
                    help="runs per CPU second of one thread (process time, NUMBA_NUM_THREADS=1): "
                         "steadier than wall time on a shared machine")
    ap.add_argument("--case", choices=list(CASES), action="append",
                    help="only this case (repeatable; default: all)")
    args = ap.parse_args(argv)
    print(machine())
    print(f"this checkout: {HERE}; against: {args.against.resolve()}")
    for label, case in CASES.items():
        if args.case and label not in args.case:
            continue
        case = {**case, "cpu": args.cpu}
        here, there = [], []
        for _ in range(args.repeats):
            there.append(_rate(args.against, case))
            here.append(_rate(HERE, case))
        h = statistics.median(r for _, r in here)
        t = statistics.median(r for _, r in there)
        same = "same" if here[0][0] == there[0][0] else "DIFFERENT"
        unit = "runs per CPU second" if args.cpu else "runs/s"
        print(f"{label}: here {h:.2f} {unit}, against {t:.2f} {unit} (medians of "
              f"{args.repeats}); here/against = {h / t:.2f}; members checksum {same} "
              f"({here[0][0]:,} vs {there[0][0]:,})", flush=True)


if __name__ == "__main__":
    main()
