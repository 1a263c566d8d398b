"""The generality tax: the full model configured as SIR against a bare sequential SIR kernel.

Issue 11's target: Fishpond's ``pure_sir`` reduction costs at most 2x a bare Numba SIR kernel
at 100,000 and 1,000,000 persons. Side by side in one process, on one graph (Fishpond's own
Barabási–Albert generator, m = 5), the same 100 initial infected (Fishpond's ``random``
seeding for the run seed), 50 days, q = 0.05 transmission per contact per day, gamma = 0.1
recovery per day:

fishpond  ``GrowthModel("pure_sir", graph=g, ...)`` built from the prebuilt graph and run:
          construction, the days and the daily record of every metric (as a user runs it),
          on Numba's default threads, and on one thread (``--threads 1`` sets
          NUMBA_NUM_THREADS for the whole process, so both columns are printed only with
          the default).
bare      a plain ``@njit`` loop written here: a person infected on day t transmits from day
          t+1 on; each day every infected person first tries each susceptible neighbour with
          probability q, then recovers with probability gamma; only S, I and R are counted
          each day. Sequential, Numba's own random generator (so the same epidemic in
          distribution, not draw for draw: the final sizes are compared by mean and
          standard error).

    python benchmarks/tax.py                 # 100,000 and 1,000,000 persons, 5 runs each
    python benchmarks/tax.py --quick         # 20,000 persons, 3 runs (a smoke test)

Times are medians of the runs, the two alternating run by run; the ratio fishpond / bare is
the tax.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import numpy as np
from common import machine  # noqa: I001  (run as a script from benchmarks/)
from numba import config, njit, set_num_threads

from sim import GrowthModel

Q, GAMMA, DAYS, SEEDS, M = 0.05, 0.1, 50, 100, 5


@njit
def bare_sir(indptr, indices, seeds, q, gamma, days, seed):
    """Discrete SIR on a CSR graph; returns the (S, I, R) counts of days 0..days."""
    np.random.seed(seed)
    n = len(indptr) - 1
    status = np.zeros(n, np.int8)  # 0 susceptible, 1 infected, 2 recovered, 3 infected today
    infected = np.empty(n, np.int64)
    new = np.empty(n, np.int64)
    ni = 0
    for s in seeds:
        if status[s] == 0:
            status[s] = 1
            infected[ni] = s
            ni += 1
    counts = np.zeros((days + 1, 3), np.int64)
    counts[0, 0], counts[0, 1] = n - ni, ni
    recovered = 0
    for d in range(1, days + 1):
        nn = 0
        for k in range(ni):
            i = infected[k]
            for e in range(indptr[i], indptr[i + 1]):
                j = indices[e]
                if status[j] == 0 and np.random.random() < q:
                    status[j] = 3
                    new[nn] = j
                    nn += 1
        kept = 0
        for k in range(ni):
            i = infected[k]
            if np.random.random() < gamma:
                status[i] = 2
                recovered += 1
            else:
                infected[kept] = i
                kept += 1
        for k in range(nn):
            status[new[k]] = 1
            infected[kept] = new[k]
            kept += 1
        ni = kept
        counts[d, 0], counts[d, 1], counts[d, 2] = n - ni - recovered, ni, recovered
    return counts


def fishpond(g, r: int) -> tuple[GrowthModel, int]:
    m = GrowthModel("pure_sir", rng=r, graph=g, steps=DAYS,
                    seeding={"count": SEEDS, "strategy": "random"},
                    rules={"invite_rate": Q, "churn_base": GAMMA})
    m.run()
    return m, int(m.today["members"] + m.today["churned"])


def measure(n: int, repeats: int, threads: list[int]) -> list[dict]:
    g = GrowthModel("pure_sir", rng=0, steps=1, population={
        "size": n, "graph": {"kind": "barabasi_albert", "m": M}}).graph
    rows = []
    for nt in threads:
        set_num_threads(nt)
        fishpond(g, 10**6)  # load the kernels (threaded twins too)
        bare_sir(g.indptr, g.indices, np.arange(SEEDS), Q, GAMMA, 2, 0)  # compile
        ft, bt, fs, bs = [], [], [], []
        for r in range(repeats):
            t = time.perf_counter()
            m, size = fishpond(g, r)
            ft.append(time.perf_counter() - t)
            fs.append(size)
            seeds = np.asarray(m.seeds, np.int64)
            t = time.perf_counter()
            c = bare_sir(g.indptr, g.indices, seeds, Q, GAMMA, DAYS, r)
            bt.append(time.perf_counter() - t)
            bs.append(int(c[-1, 1] + c[-1, 2]))
        se = [float(np.std(x, ddof=1) / math.sqrt(len(x))) if len(x) > 1 else 0.0
              for x in (fs, bs)]
        rows.append({"n": n, "threads": nt, "fishpond_s": statistics.median(ft),
                     "bare_s": statistics.median(bt), "fishpond_size": float(np.mean(fs)),
                     "bare_size": float(np.mean(bs)), "fishpond_se": se[0], "bare_se": se[1]})
    return rows


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100000,1000000", help="comma list of populations")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="20,000 persons, 3 runs (a smoke test)")
    args = ap.parse_args(argv)
    if args.quick:
        args.sizes, args.repeats = "20000", 3
    threads = sorted({1, config.NUMBA_NUM_THREADS})
    print(machine())
    print(f"pure SIR, BA m={M}, {SEEDS} seeds, {DAYS} days, q={Q}, gamma={GAMMA}; "
          f"{args.repeats} runs each, medians, alternating; bare kernel sequential")
    print(f"{'persons':>10} {'threads':>7} {'fishpond s':>11} {'bare s':>8} {'tax':>6}   "
          "final size fishpond | bare (mean +- s.e.)")
    for n in (int(s) for s in args.sizes.split(",")):
        for row in measure(n, args.repeats, threads):
            print(f"{row['n']:>10,} {row['threads']:>7} {row['fishpond_s']:>11.3f} "
                  f"{row['bare_s']:>8.3f} {row['fishpond_s'] / row['bare_s']:>6.2f}   "
                  f"{row['fishpond_size']:,.0f} +- {row['fishpond_se']:,.0f} | "
                  f"{row['bare_size']:,.0f} +- {row['bare_se']:,.0f}", flush=True)


if __name__ == "__main__":
    main()
