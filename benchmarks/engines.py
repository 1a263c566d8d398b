"""Benchmark 1: the compiled engine against the readable one on the same scenario.

Both engines run the same 20,000-person fish pond with the same seed for the same days, side
by side in one process (the numba kernels are compiled before timing), and must end in the
same state. Prints days per second of each and the ratio.

    python benchmarks/engines.py            # 20,000 persons, 365 days (the agents take minutes)
    python benchmarks/engines.py --quick    # 5,000 persons, 20 days
"""

from __future__ import annotations

import argparse

import numpy as np

from common import Timer, machine  # noqa: I001  (run as a script from benchmarks/)
from sim import GrowthModel


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

    times, models = {}, {}
    for engine in ("numba", "agents"):
        m = GrowthModel("fish_pond", rng=1, population={"size": size}, steps=days, engine=engine)
        with Timer() as t:
            m.run()
        times[engine], models[engine] = t.s, m
        print(f"{engine:>7}: {t.s:9.3f} s for {days} days = {days / t.s:10.2f} days/s "
              f"({size * days / t.s:,.0f} person-days/s)")
    same = all(
        np.array_equal(v, models["agents"].state.arrays()[k]) for k, v in models["numba"].state.arrays().items()
    ) and models["numba"].timeseries().equals(models["agents"].timeseries())
    print(f"identical final state and timeseries: {same}")
    print(f"ratio numba / agents (speed-up): {times['agents'] / times['numba']:.0f}x")
    full = GrowthModel("fish_pond", rng=1, population={"size": size}, engine="numba")
    with Timer() as t:
        full.run()
    print(f"numba, full horizon: {full.horizon} days in {t.s:.2f} s ({full.horizon / t.s:.0f} days/s)")


if __name__ == "__main__":
    main()
