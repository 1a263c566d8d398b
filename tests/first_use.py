"""Runs small models that reach every cached kernel, and prints a digest of each (JSON).

Run as a script by tests/test_jit_cache.py, in fresh processes sharing one
``NUMBA_CACHE_DIR``: ``python tests/first_use.py CASE [CASE ...]`` (or ``all``). A case's
digest is a hash of its timeseries and final state, so two processes (or this process and
the test's own) agree exactly when their results do.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from sim import GrowthModel, threads  # noqa: E402
from sim.config import SEEDING_STRATEGIES  # noqa: E402

SMALL = {"size": 2000, "graph": {"kind": "barabasi_albert", "m": 3}}
GRAPHS = {
    "watts_strogatz": {"kind": "watts_strogatz", "k": 6, "p": 0.1},
    "powerlaw_cluster": {"kind": "powerlaw_cluster", "m": 3, "p": 0.2},
    "circles": {"kind": "circles"},
    "complete": {"kind": "complete"},
}

# name -> (scenario, overrides, threaded); each runs a few days
CASES: dict[str, tuple[str, dict, bool]] = {
    "serial": ("fish_pond", {"population": {"size": 3000}, "steps": 5}, False),
    # the threaded twins at a real size (above threads.PARALLEL_MIN)
    "threaded": ("fish_pond", {"population": {"size": 500_000}, "steps": 3}, True),
    "edgelist": ("facebook", {"steps": 5}, False),
    "well_mixed": ("fish_pond", {"population": {"size": 3000, "graph": {"kind": "well_mixed",
                                                                          "contacts": 8}},
                                 "rules": {"organic_rate": 0.001}, "steps": 5}, False),
    **{f"graph_{k}": ("fish_pond", {"population": {"size": 300 if k == "complete" else 2000,
                                                   "graph": g}, "steps": 3}, False)
       for k, g in GRAPHS.items()},
    **{f"seeding_{s}": ("fish_pond", {"population": SMALL, "seeding": {"strategy": s, "count": 20},
                                      "steps": 3}, False)
       for s in SEEDING_STRATEGIES},
}


def digest(case: str) -> str:
    """Run ``case`` and hash its results."""
    scenario, over, threaded = CASES[case]
    model = GrowthModel(scenario, rng=11, **over)
    if threaded and not threads.use_threads(model.params.n):
        return "no threads here"  # one core: the threaded twins cannot run
    model.run()
    h = hashlib.sha256(model.timeseries().to_csv().encode())
    for name in ("status", "role", "intimacy", "influence", "referrer", "funnel"):
        h.update(np.ascontiguousarray(getattr(model.state, name)).tobytes())
    return h.hexdigest()


if __name__ == "__main__":
    names = list(CASES) if sys.argv[1:] == ["all"] else sys.argv[1:]
    print(json.dumps({name: digest(name) for name in names}))
