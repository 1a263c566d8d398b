"""Benchmark 1: the compiled engine against the readable one on the same scenario.

Both engines run the same 20,000-person fish pond with the same seed for the same days, side
by side in one process (the numba kernels are compiled before timing), and must end in the
same state. Prints days per second of each and the ratio: the compiled engine's median of
five runs against the readable engine's one run, and against the slowest of the five.

    python benchmarks/engines.py            # 20,000 persons, 365 days (the agents take minutes)
    python benchmarks/engines.py --quick    # 5,000 persons, 20 days
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np
from common import Timer, machine  # (run as a script from benchmarks/)

from sim import GrowthModel

REPEATS = 5


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=20_000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--quick", action="store_true", help="5,000 persons, 20 days")
    args = ap.parse_args(argv)
    size, days = (5_000, 20) if args.quick else (args.size, args.days)
    print(machine())
    print(f"fish_pond, {size:,} persons, {days} days, seed 1")

    warm = GrowthModel("fish_pond", rng=1, population={"size": 500}, steps=2, engine="numba")
    warm.run()  # compile (or load) the kernels outside the timing

    # the compiled engine: REPEATS runs, the median reported (one run is a fraction of a
    # second, so a single one is at the mercy of the machine's other work); the readable
    # engine: one run (it takes about a minute)
    times, models = {}, {}
    numba_runs = []
    for _ in range(REPEATS):
        m = GrowthModel("fish_pond", rng=1, population={"size": size}, steps=days, engine="numba")
        with Timer() as t:
            m.run()
        numba_runs.append(t.s)
    times["numba"], models["numba"] = statistics.median(numba_runs), m
    m = GrowthModel("fish_pond", rng=1, population={"size": size}, steps=days, engine="agents")
    with Timer() as t:
        m.run()
    times["agents"], models["agents"] = t.s, m
    for engine in ("numba", "agents"):
        s = times[engine]
        print(f"{engine:>7}: {s:9.3f} s for {days} days = {days / s:10.2f} days/s "
              f"({size * days / s:,.0f} person-days/s)")
    print(f"numba runs: {', '.join(f'{x:.3f}' for x in numba_runs)} s (median above; the first "
          f"one after a 500-person warm-up)")
    same = all(
        np.array_equal(v, models["agents"].state.arrays()[k])
        for k, v in models["numba"].state.arrays().items()
    ) and models["numba"].timeseries().equals(models["agents"].timeseries())
    print(f"identical final state and timeseries: {same}")
    print(f"ratio numba / agents (speed-up): {times['agents'] / times['numba']:.0f}x "
          f"(against the slowest numba run: {times['agents'] / max(numba_runs):.0f}x)")


if __name__ == "__main__":
    main()
