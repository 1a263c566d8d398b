"""Benchmark 3: the fish pond at scale (Barabási–Albert, m = 5, 365 days).

Each size runs in its own process, so peak memory is per size. Reports graph build time,
run time, end-to-end time, peak RSS and bytes per (undirected) edge.

    python benchmarks/scale.py                 # 1M and 10M persons
    python benchmarks/scale.py --sizes 100000000
    python benchmarks/scale.py --quick         # 100k persons
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from common import machine, peak_rss_mib


def one(size: int, days: int) -> dict:
    from sim import GrowthModel
    from sim.population import build_graph
    from sim.scenario_io import load_scenario, resolve_scenario_path

    t0 = time.perf_counter()
    sc = load_scenario(
        resolve_scenario_path("fish_pond"), [f"population.size={size}", f"steps={days}"]
    )
    graph = build_graph(sc.population, sc.seed)
    t1 = time.perf_counter()
    model = GrowthModel(sc, graph=graph)
    t2 = time.perf_counter()
    model.run()
    t3 = time.perf_counter()
    s = model.summary()
    return {
        "size": size, "edges": graph.n_edges, "days": days,
        "graph_s": t1 - t0, "setup_s": t2 - t1, "run_s": t3 - t2, "total_s": t3 - t0,
        "peak_rss_mib": peak_rss_mib(), "members": s["members"],
        "day_explosion": s["day_explosion"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--quick", action="store_true", help="100k persons only")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(one(args.child, args.days)))
        return
    sizes = [100_000] if args.quick else args.sizes
    print(machine())
    warm = subprocess.run(
        [sys.executable, __file__, "--child", "2000", "--days", "2"], capture_output=True
    )
    if warm.returncode:
        sys.exit(warm.stderr.decode())
    print(f"{'persons':>12} {'edges':>12} {'graph s':>8} {'setup s':>8} {'run s':>8} "
          f"{'total s':>8} {'peak RSS':>10} {'B/edge':>7} {'members':>9}")
    for size in sizes:
        proc = subprocess.run(
            [sys.executable, __file__, "--child", str(size), "--days", str(args.days)],
            capture_output=True, text=True,
        )
        if proc.returncode:
            print(f"{size:>12,} failed: {proc.stderr.strip().splitlines()[-1:]}")
            continue
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        rss = r["peak_rss_mib"]
        print(f"{r['size']:>12,} {r['edges']:>12,} {r['graph_s']:>8.1f} {r['setup_s']:>8.1f} "
              f"{r['run_s']:>8.1f} {r['total_s']:>8.1f} {rss / 1024:>8.2f} GiB "
              f"{rss * 2**20 / r['edges']:>7.0f} {r['members']:>9,}",
              flush=True)


if __name__ == "__main__":
    main()
