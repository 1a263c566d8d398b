"""The compiled engine's speed here against another checkout, side by side in one run.

For a change that must not slow the engine (a refactor): each case runs in a fresh process
per repeat, alternating between this checkout and ``--against DIR`` (another checkout of
Fishpond, e.g. a ``git worktree`` of the commit before), so both see the same machine
load. Kernels are compiled (or loaded) before timing; the time is the run's wall time.

    python benchmarks/versus.py --against /tmp/before            # 5 repeats
    python benchmarks/versus.py --against /tmp/before --repeats 9

Cases: the fish pond (20,000 persons, 365 days; as ``benchmarks/engines.py``) and pure SIR
(100,000 persons, 50 days; fishpond's case of ``benchmarks/peers.py``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

from common import machine  # noqa: I001  (run as a script from benchmarks/)

HERE = Path(__file__).resolve().parents[1]
CASES = {
    "fish_pond 20,000 x 365": ("fish_pond", 20_000, 365),
    "pure_sir 100,000 x 50": ("pure_sir", 100_000, 50),
}
CHILD = """
import sys, time
from sim import GrowthModel
name, size, days = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
GrowthModel(name, rng=1, population={"size": 500}, steps=2).run()  # compile or load
m = GrowthModel(name, rng=1, population={"size": size}, steps=days)
t = time.perf_counter()
m.run()
print(time.perf_counter() - t)
"""


def _time(tree: Path, case: tuple) -> float:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run([sys.executable, "-c", CHILD, *map(str, case)], env=env, cwd=tree,
                         capture_output=True, text=True, check=True).stdout
    return float(out.strip().splitlines()[-1])


def main(argv=None) -> None:
    """Print each case's median wall time here and there, and their ratio."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--against", type=Path, required=True, metavar="DIR")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    print(machine())
    print(f"this checkout: {HERE}; against: {args.against.resolve()}")
    for label, case in CASES.items():
        here, there = [], []
        for _ in range(args.repeats):
            there.append(_time(args.against, case))
            here.append(_time(HERE, case))
        h, t = statistics.median(here), statistics.median(there)
        print(f"{label}: here {h:.3f} s, against {t:.3f} s (medians of {args.repeats}); "
              f"here/against = {h / t:.3f}")


if __name__ == "__main__":
    main()
