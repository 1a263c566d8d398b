"""Write, or compare, the timeseries of every shipped scenario: a bit-for-bit check for refactors.

A change that must not change results (a refactor) is checked by running this script before
and after it: ``--write DIR`` saves every shipped scenario's timeseries and summary (the
compiled engine at ``--size`` persons, 365 days; the readable engine at ``--agents-size``
persons, 60 days; and the fish pond at 600,000 persons, 60 days, which runs the threaded
kernels), ``--against DIR`` runs them again and compares exactly (every column,
every day, bit for bit; summaries by their JSON text).

    python benchmarks/identical.py --write /tmp/before
    ... change the code ...
    python benchmarks/identical.py --against /tmp/before
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from sim import GrowthModel
from sim.shipped import names


def _runs(size: int, agents_size: int):
    for name in names("scenarios"):
        if name == "base":
            continue
        yield name, "numba", {"rng": 3, "population": {"size": size}}
        yield name, "agents", {"rng": 5, "population": {"size": agents_size}, "steps": 60}
    # above the threading threshold the compiled engine runs its threaded twins
    yield "fish_pond", "threaded", {"rng": 7, "population": {"size": 600_000}, "steps": 60}


def _one(name: str, engine: str, kwargs: dict) -> tuple[pd.DataFrame, str]:
    kw = dict(kwargs)
    if name == "facebook":  # an edge list sets its own size
        kw.pop("population")
    m = GrowthModel(name, engine="numba" if engine == "threaded" else engine, **kw)
    m.run()
    summary = json.dumps(m.summary(), sort_keys=True, default=str)
    return m.timeseries().reset_index(drop=True), summary


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = ap.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", type=Path, metavar="DIR")
    group.add_argument("--against", type=Path, metavar="DIR")
    ap.add_argument("--size", type=int, default=100_000)
    ap.add_argument("--agents-size", type=int, default=3_000)
    args = ap.parse_args(argv)
    failed = 0
    for name, engine, kw in _runs(args.size, args.agents_size):
        ts, summary = _one(name, engine, kw)
        stem = f"{name}-{engine}"
        if args.write:
            args.write.mkdir(parents=True, exist_ok=True)
            ts.to_parquet(args.write / f"{stem}.parquet")
            (args.write / f"{stem}.json").write_text(summary)
            print(f"wrote {stem}: {len(ts)} days, {ts.shape[1]} columns")
            continue
        ref = pd.read_parquet(args.against / f"{stem}.parquet")
        ref_summary = json.loads((args.against / f"{stem}.json").read_text())
        problems = []
        common = [c for c in ref.columns if c in ts.columns]
        if missing := [c for c in ref.columns if c not in ts.columns]:
            problems.append(f"columns gone: {missing}")
        if len(ref) != len(ts):
            problems.append(f"{len(ts)} days against {len(ref)}")
        else:
            for c in common:
                a, b = ref[c].to_numpy(), ts[c].to_numpy()
                if not np.array_equal(a, b, equal_nan=a.dtype.kind == "f"):
                    problems.append(f"column {c} differs")
        now = json.loads(summary)
        for k, v in ref_summary.items():
            if k in now and now[k] != v:
                problems.append(f"summary {k}: {now[k]!r} against {v!r}")
        added = sorted(set(ts.columns) - set(ref.columns))
        extra = f" (new columns: {', '.join(added)})" if added else ""
        print(f"{'SAME' if not problems else 'DIFF'}  {stem}{extra}")
        for p in problems:
            print(f"      {p}")
        failed += bool(problems)
    if args.against:
        print("all identical" if not failed else f"{failed} runs differ")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
