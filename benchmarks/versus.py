"""The compiled engine's speed here against another checkout, side by side in one run.

For a change that must not slow the engine (a refactor): each case runs in a fresh process
per repeat, alternating between this checkout and ``--against DIR`` (another checkout of
Fishpond, e.g. a ``git worktree`` of the commit before), so both see the same machine
load. Kernels are compiled (or loaded) before timing; the time is the run's wall time.

    python benchmarks/versus.py --against /tmp/before            # 5 repeats
    python benchmarks/versus.py --against /tmp/before --repeats 9
    python benchmarks/versus.py --against /tmp/before --off      # revision 2's mechanisms off

Cases: the fish pond (20,000 persons, 365 days; as ``benchmarks/engines.py``) and pure SIR
(100,000 persons, 50 days; fishpond's case of ``benchmarks/peers.py``).

``--off`` runs the fish pond in both trees with :data:`OFF`: MODEL.md revision 2's mechanisms
at their neutral values and revision 1's calibrated rates, keys a tree does not know left out
(an older checkout has none of the new keys), so both trees simulate the same model and the
ratio is the cost of the new code paths alone (each run prints its members at the horizon:
they must agree). Pure SIR sets the new mechanisms neutral itself (scenarios/pure_sir.yaml).
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
    "fish_pond 20,000 x 365": ("fish_pond", 20_000, 365),
    "pure_sir 100,000 x 50": ("pure_sir", 100_000, 50),
}
# Revision 2's mechanisms neutral, revision 1's calibrated rates (key path: value).
OFF = {
    "population.engagement.sigma": 0.0, "rules.invite_cap": 0.0,
    "program.activity_capacity": 0.0, "program.ads.saturation": 0.0,
    "program.amplification.enabled": False,  # (revision 2 also amplifies influence)
    "rules.invite_rate": 0.004, "rules.convert_prob": 0.25, "rules.decay": 0.01,
    "rules.churn_base": 0.03, "rules.active_threshold": 0.6, "program.content_gain": 0.04,
}
CHILD = """
import json, os, sys, time
from sim import GrowthModel
from sim.scenario_io import merge_scenario_data
try:
    from sim import parameters
except ImportError:  # a checkout from before revision 2: it knows none of OFF's keys
    parameters = None
if parameters is not None and not parameters.__file__.startswith(os.getcwd()):
    parameters = None  # (found in another checkout, through an editable install's finder)
name, size, days = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
over = {"population": {"size": size}, "steps": days}
for key, value in json.loads(sys.argv[4]).items():
    if parameters is not None and parameters.find(key) is not None:  # a key this tree knows
        for part in reversed(key.split(".")):
            value = {part: value}
        over = merge_scenario_data(over, value)
GrowthModel(name, rng=1, population={"size": 500}, steps=2).run()  # compile or load
m = GrowthModel(name, rng=1, **over)
t = time.perf_counter()
m.run()
print(int(m.timeseries().members.iloc[-1]), time.perf_counter() - t)
"""


def _time(tree: Path, case: tuple, over: dict) -> tuple[int, float]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run([sys.executable, "-c", CHILD, *map(str, case), json.dumps(over)],
                         env=env, cwd=tree, capture_output=True, text=True, check=True).stdout
    members, seconds = out.strip().splitlines()[-1].split()
    return int(members), float(seconds)


def main(argv=None) -> None:
    """Print each case's median wall time here and there, and their ratio."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--against", type=Path, required=True, metavar="DIR")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--case", choices=[c[0] for c in CASES.values()], action="append",
                    help="only this case (repeatable; default: all)")
    ap.add_argument("--off", action="store_true",
                    help="both trees with revision 2's mechanisms off (OFF)")
    args = ap.parse_args(argv)
    offs = {"fish_pond": OFF} if args.off else {}
    print(machine())
    print(f"this checkout: {HERE}; against: {args.against.resolve()}"
          f"{'; mechanisms off' if args.off else '; each tree its own defaults'}")
    for label, case in CASES.items():
        if args.case and case[0] not in args.case:
            continue
        here, there = [], []
        for _ in range(args.repeats):
            there.append(_time(args.against, case, offs.get(case[0], {})))
            here.append(_time(HERE, case, offs.get(case[0], {})))
        h = statistics.median(s for _, s in here)
        t = statistics.median(s for _, s in there)
        print(f"{label}: here {h:.3f} s, against {t:.3f} s (medians of {args.repeats}); "
              f"here/against = {h / t:.3f}; members at the horizon here {here[0][0]:,}, "
              f"against {there[0][0]:,}")


if __name__ == "__main__":
    main()
