"""Cascades and SIR here and in other checkouts, alternated run by run in warm processes.

``runs.py`` and ``versus.py`` start a fresh process per repeat. For runs of 10-300 ms that
leaves each figure at the mercy of the minutes it ran in: on the shared 2-core machine the
same case moved by 1.5x between invocations. Here each checkout gets one worker process,
kept warm (kernels loaded, the graph built once), and the runs go to the workers one at a
time, the order of the checkouts rotating from run to run, so that every checkout sees the
same machine. The time of a run is its CPU time in the worker (building the model and
running it), on one thread.

Each run: ``GrowthModel("pure_sir", graph=g, steps=STEPS, seeding={"count": 100, "strategy":
"random"}, rules={"invite_rate": q, "churn_base": gamma})`` then ``run()``, on one networkx
Barabási–Albert graph (n persons, m = 5, seed 1), the run seed ``r`` for run ``r`` (or one
fixed seed). The final sizes (members + churned) must agree between the checkouts: the
script says whether they do.

    python benchmarks/alternate.py --against /tmp/before                  # the cases below
    python benchmarks/alternate.py --against /tmp/a --against /tmp/b --repeats 30
    python benchmarks/alternate.py --against /tmp/before --case 0.05,0.1,50,1
    python benchmarks/alternate.py --against /tmp/before --pond 5000,180   # the fish pond

Default cases (``q,gamma,steps,seed``; seed ``r``: the run seed is the repeat's number):

- ``0.01,1,200,r``, ``0.05,1,200,r``, ``0.2,1,200,r``: the independent cascade of
  ``peers.py --cascade`` (CyNetDiff's comparison), 200 days, run until it stops;
- ``0.05,0.1,50,1``: the SIR of ``peers.py`` (its "fishpond (numba)" row);
- ``0.345,1,50,1`` and ``0.05,1,50,1``: its one-step rows (p = T and p = q).

``--pond SIZE,STEPS`` (instead of the cases above, or with ``--case``): the shipped fish pond
at that size and horizon, run as ``runs.py``'s ``fish_pond_5k`` runs it (the scenario parsed
once; build, ``run()``, ``summary()``, ``timeseries()``), run seed ``r``.
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
CASES = ("0.01,1,200,r", "0.05,1,200,r", "0.2,1,200,r", "0.05,0.1,50,1", "0.345,1,50,1",
         "0.05,1,50,1")
WORKER = r"""
import json, sys, time
import networkx as nx
import numpy as np
from sim.model import GrowthModel
from sim.population import from_edges

n, cases = int(sys.argv[1]), json.loads(sys.argv[2])
G = nx.barabasi_albert_graph(n, 5, seed=1)
e = np.array(G.edges(), dtype=np.int64)
g = from_edges(n, e[:, 0], e[:, 1])


ponds = {}


def run(case, seed):
    if case[0] == "pond":  # the fish pond as runs.py runs it: scenario parsed once, summary
        _, size, steps = case
        sc = ponds.get((size, steps))
        if sc is None:
            from sim.scenario_io import load_scenario, resolve_scenario_path
            sc = ponds[size, steps] = load_scenario(
                resolve_scenario_path("fish_pond"), [f"population.size={size}", f"steps={steps}"])
        m = GrowthModel(sc, rng=seed)
        m.run()
        m.summary()
        m.timeseries()
    else:
        q, gamma, steps = case
        m = GrowthModel("pure_sir", rng=seed, graph=g, steps=steps,
                        seeding={"count": 100, "strategy": "random"},
                        rules={"invite_rate": q, "churn_base": gamma})
        m.run()
    return int(m.today["members"] + m.today["churned"])


for case in cases:  # load the kernels, warm the paths
    run(case[:-1], 10**6)
print("ready", flush=True)
for line in sys.stdin:
    case, seed = json.loads(line)
    t = time.process_time()
    size = run(case, seed)
    print(json.dumps([time.process_time() - t, size]), flush=True)
"""


def parse_case(text: str) -> tuple[float, float, int, str]:
    """``q,gamma,steps,seed`` (seed: an int, or ``r`` for the repeat's number)."""
    try:
        q, gamma, steps, seed = text.split(",")
        if seed != "r":
            int(seed)
        return float(q), float(gamma), int(steps), seed
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"case {text!r}: allowed: q,gamma,steps,seed (seed an int or r)") from None


def parse_pond(text: str) -> tuple[str, int, int, str]:
    """``size,steps``: the fish pond of that size and horizon, run seed ``r``."""
    try:
        size, steps = (int(v) for v in text.split(","))
        return "pond", size, steps, "r"
    except ValueError:
        raise argparse.ArgumentTypeError(f"--pond {text!r}: allowed: size,steps") from None


def start(tree: Path, n: int, cases) -> subprocess.Popen:
    """A warm worker of checkout ``tree`` (one thread; Numba's cache of that checkout)."""
    env = {**os.environ, "PYTHONPATH": str(tree), "NUMBA_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-c", WORKER, str(n), json.dumps(cases)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
                            cwd=tree)
    if proc.stdout.readline().strip() != "ready":
        raise SystemExit(f"the worker of {tree} failed to start")
    return proc


def alternate(procs: dict, case, repeats: int) -> dict:
    """Median CPU ms of each checkout, and whether all final sizes agree, for one case."""
    seed = case[-1]
    names = list(procs)
    times: dict = {k: [] for k in names}
    sizes: dict = {k: [] for k in names}
    for r in range(repeats):
        for k in names[r % len(names):] + names[:r % len(names)]:
            procs[k].stdin.write(json.dumps([case[:-1], r if seed == "r" else int(seed)])
                                 + "\n")
            procs[k].stdin.flush()
            dt, size = json.loads(procs[k].stdout.readline())
            times[k].append(dt)
            sizes[k].append(size)
    return {"ms": {k: 1000 * statistics.median(v) for k, v in times.items()},
            "same": all(sizes[k] == sizes[names[0]] for k in names),
            "mean_size": statistics.mean(sizes[names[0]])}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--against", type=Path, action="append", required=True, metavar="DIR",
                    help="another checkout of Fishpond (repeat for several)")
    ap.add_argument("--case", type=parse_case, action="append", metavar="Q,GAMMA,STEPS,SEED")
    ap.add_argument("--pond", type=parse_pond, action="append", metavar="SIZE,STEPS",
                    help="the fish pond (run, summary, timeseries), as runs.py's fish_pond_5k")
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--size", type=int, default=100_000)
    args = ap.parse_args(argv)
    cases = (args.case or []) + (args.pond or [])
    cases = cases or [parse_case(c) for c in CASES]
    trees = {"here": HERE, **{str(d): d.resolve() for d in args.against}}
    print(machine())
    if any(case[0] != "pond" for case in cases):
        print(f"pure_sir on BA n={args.size:,} m=5 seed 1, 100 random seeds", end="; ")
    print(f"CPU ms per run (build + run, one thread), medians of {args.repeats}, checkouts "
          "alternated")
    procs = {k: start(tree, args.size, cases) for k, tree in trees.items()}
    status = 0
    try:
        for case in cases:
            out = alternate(procs, case, args.repeats)
            ms = out["ms"]
            cols = ", ".join(f"{k} {v:.1f}" for k, v in ms.items())
            ratios = ", ".join(f"{k}/here {ms[k] / ms['here']:.2f}" for k in ms if k != "here")
            name = (f"fish pond {case[1]:,} x {case[2]} seed=r" if case[0] == "pond" else
                    f"q={case[0]} gamma={case[1]} steps={case[2]} seed={case[3]}")
            print(f"{name}: {cols}; "
                  f"{ratios}; final sizes {'identical' if out['same'] else 'DIFFER'} "
                  f"(mean {out['mean_size']:,.1f})")
            status |= not out["same"]
    finally:
        for p in procs.values():
            p.stdin.close()
            p.wait()
    return status


if __name__ == "__main__":
    sys.exit(main())
