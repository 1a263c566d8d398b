"""Where a run's time goes: the parts of a cascade's run, and the phases of a fish-pond day.

Issue 11's unmet targets are about where the time goes, so this prints it:

cascade   ``peers.py --cascade``'s Fishpond run (``pure_sir``, churn_base 1, on one prebuilt BA
          graph, 100 random seeds, 200 days) split into the model's construction (and within
          it the state's arrays, the seeding, the engine's buffers and the record of day
          0), the days in the
          compiled engine (``run_day_flows``, Python around the kernel included), their
          records (``Recorder.record_row``) and the rest (Python of ``run()``, idle days).
pond      the fish pond (``fish_pond`` at SIZE persons) run to DAY - 1, then that day's first
          stage (``sim.kernels._day_invite``: the start of day, feed, activities,
          interactions, invitations and the conversions) timed on copies of the state, in
          full and with each phase switched off in turn (its parameter at 0), and the day's
          other stages (organic draws, joins, roles/churn/payments, close) in full. The
          compiled functions are called without Numba's dispatch (as the model does).

    python benchmarks/breakdown.py                       # cascades at p = 0.01, 0.05, 0.2;
                                                         # ponds 5,000 at day 90, 100,000 at day 200
    python benchmarks/breakdown.py --cascade 0.05 --pond 5000,90 --repeats 15
    python benchmarks/breakdown.py --quick               # small sizes (a smoke test)

Medians of the repeats, in ms (cascade) and us (pond): each part's own median, so the parts
need not add up to the total's. The cascade runs as peers.py runs
it (Numba's default threads: a population this size may run its per-person loops on
threads); the pond's stages are the serial ones. Measurements to find the costs, not
targets: compare figures only within one invocation.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict
from contextlib import contextmanager

import numpy as np
from common import machine  # noqa: I001  (run as a script from benchmarks/)

M, SEED, SEEDS = 5, 1, 100  # peers.py's cascade: BA m, graph seed, random seeds

#: the phases of a fish-pond day's first stage, each switched off by these parameters at 0
PHASES = {
    "full": (),
    "no feed (posts)": ("content_per_week",),
    "no activities": ("activities_per_month",),
    "no self-organised": ("self_org_rate",),
    "no interactions": ("interact_gain",),
    "no invitations": ("invite_rate",),
    "none of these": ("content_per_week", "activities_per_month", "self_org_rate",
                      "interact_gain", "invite_rate"),
}


@contextmanager
def _timed(owner, name: str, into: dict, label: str):
    """Replace ``owner.name`` by a wrapper adding each call's seconds to ``into[label]``.

    ``owner`` is a module or a class (a method or classmethod of it: the wrapper calls it as
    looked up); what was there is put back as it was, a classmethod as a classmethod.
    """
    original = getattr(owner, name)
    kept = vars(owner).get(name, original)

    def wrapper(*args, **kwargs):
        t = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            into[label] += time.perf_counter() - t

    setattr(owner, name, wrapper)
    try:
        yield
    finally:
        setattr(owner, name, kept)


def cascade_parts(n: int, p: float, repeats: int) -> dict:
    """Median seconds of each part of ``peers.py``'s Fishpond cascade run (see the docstring)."""
    import networkx as nx

    import sim.model as model_mod
    from sim import kernels
    from sim.metrics import Recorder
    from sim.model import GrowthModel
    from sim.population import from_edges
    from sim.state import PopulationState

    G = nx.barabasi_albert_graph(n, M, seed=SEED)
    e = np.array(G.edges(), dtype=np.int64)
    g = from_edges(n, e[:, 0], e[:, 1])

    def once(r, parts):
        t = time.perf_counter()
        m = GrowthModel("pure_sir", rng=r, graph=g, steps=200,
                        seeding={"count": SEEDS, "strategy": "random"},
                        rules={"invite_rate": p, "churn_base": 1.0})
        built = time.perf_counter()
        # the model records day 0 while it is built: part of the construction
        parts["  day-0 record"] = parts.pop("records of the days", 0.0)
        m.run()
        done = time.perf_counter()
        return m, built - t, done - t

    once(10**6, defaultdict(float))  # load the compiled functions
    rows = defaultdict(list)
    sizes = []
    for r in range(repeats):
        parts = defaultdict(float)
        with _timed(kernels, "run_day_flows", parts, "days in the engine"), \
                _timed(Recorder, "record_row", parts, "records of the days"), \
                _timed(model_mod, "choose_seeds", parts, "  seeding"), \
                _timed(kernels, "buffers", parts, "  engine buffers"), \
                _timed(PopulationState, "empty", parts, "  state arrays"):
            m, build, total = once(r, parts)
        sizes.append(int(m.today["members"] + m.today["churned"]))
        rows["total"].append(total)
        rows["construction"].append(build)
        inner = ("  state arrays", "  seeding", "  engine buffers", "  day-0 record")
        for label in inner:
            rows[label].append(parts[label])
        rows["  the rest of construction"].append(build - sum(parts[k] for k in inner))
        rows["days in the engine"].append(parts["days in the engine"])
        rows["records of the days"].append(parts["records of the days"])
        rows["the rest of the run"].append(
            total - build - parts["days in the engine"] - parts["records of the days"])
    out = {k: statistics.median(v) for k, v in rows.items()}
    out["final size"] = statistics.mean(sizes)
    return out


def pond_phases(size: int, day: int, repeats: int) -> dict:
    """Median seconds of a fish-pond day's stages, and of its first stage by phase."""
    from sim import kernels as K
    from sim.jit import entry_point
    from sim.kernels import StateArrays, WorkArrays
    from sim.model import GrowthModel

    m = GrowthModel("fish_pond", rng=1, population={"size": size}, steps=max(day, 1))
    m.run(day - 1)
    state = {k: v.copy() for k, v in m.state.arrays().items()}
    work = [a.copy() for a in m.work.arrays]
    P0, g = m.work.kparams(m.params), m.work.graph

    def fresh():
        return (StateArrays(*(state[f].copy() for f in StateArrays._fields)),
                WorkArrays(*(a.copy() for a in work)))

    def stages(P, st, wk):  # day_kernel's stages, timed one by one
        t0 = time.perf_counter()
        nm, n_in, nj = invite(day, P, g, st, wk)
        t1 = time.perf_counter()
        if P.organic_rate > 0.0:
            organic(P, day, st.status, st.fit, wk.joining)
        t2 = time.perf_counter()
        n_new = join(day, P, st, wk, nm, n_in, nj)
        t3 = time.perf_counter()
        dropouts, churns = roles(P, day, wk.members[:nm + n_new], st)
        t4 = time.perf_counter()
        close(day, P, st, wk, nm, n_new, dropouts, churns)
        t5 = time.perf_counter()
        return {"first stage": t1 - t0, "organic draws": t2 - t1, "joins": t3 - t2,
                "roles, churn, payments": t4 - t3, "close": t5 - t4}, nm

    # typed once through Numba's dispatch, then called without it
    st, wk = fresh()
    nm, n_in, nj = K._day_invite(day, P0, g, st, wk)
    K._organic_serial(P0, day, st.status, st.fit, wk.joining)
    n_new = K._day_join(day, P0, st, wk, nm, n_in, nj)
    today = wk.members[:nm + n_new]
    d, c = K._roles_churn_pay_serial(P0, day, today, st)
    K._day_close(day, P0, st, wk, nm, n_new, d, c)
    st, wk = fresh()
    invite = entry_point(K._day_invite, day, P0, g, st, wk)
    organic = entry_point(K._organic_serial, P0, day, st.status, st.fit, wk.joining)
    join = entry_point(K._day_join, day, P0, st, wk, nm, n_in, nj)
    roles = entry_point(K._roles_churn_pay_serial, P0, day, today, st)
    close = entry_point(K._day_close, day, P0, st, wk, nm, n_new, d, c)
    if None in (invite, organic, join, roles, close):
        raise RuntimeError("no compiled function to call without dispatch (Numba's internals?)")
    rows = defaultdict(list)
    members = 0
    for r in range(repeats + 1):
        for label, off in PHASES.items():
            P = P0._replace(**{name: 0.0 for name in off})
            st, wk = fresh()
            if label == "full":
                times, members = stages(P, st, wk)
                for k, v in times.items():
                    rows[f"stage: {k}"].append(v)
            else:
                t = time.perf_counter()
                invite(day, P, g, st, wk)
                rows[f"first stage, {label}"].append(time.perf_counter() - t)
        if r == 0:  # a warm-up round
            rows.clear()
    out = {k: statistics.median(v) for k, v in rows.items()}
    out["members at the day's start"] = members
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cascade", type=float, action="append", metavar="P",
                    help="a cascade at invitation probability P (repeatable)")
    ap.add_argument("--pond", action="append", metavar="SIZE,DAY",
                    help="a fish pond of SIZE persons at DAY (repeatable)")
    ap.add_argument("--persons", type=int, default=100_000,
                    help="the cascade's persons (default 100,000, as peers.py)")
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--quick", action="store_true", help="small sizes, 3 repeats")
    args = ap.parse_args(argv)
    if args.quick:
        cascades, ponds, n, repeats = [0.05], [(800, 20)], 5_000, 3
    else:
        cascades = args.cascade or ([] if args.pond else [0.01, 0.05, 0.2])
        ponds = [tuple(int(x) for x in s.split(",")) for s in args.pond or []]
        if not args.pond and not args.cascade:
            ponds = [(5_000, 90), (100_000, 200)]
        n, repeats = args.persons, args.repeats
    print(machine())
    for p in cascades:
        parts = cascade_parts(n, p, repeats)
        print(f"\ncascade: pure_sir, BA n={n:,} m={M} seed={SEED}, {SEEDS} random seeds, p = {p}, "
              f"medians of {repeats} runs, ms; final size {parts.pop('final size'):,.1f}")
        for k, v in parts.items():
            print(f"  {k:<30} {1000 * v:9.3f}")
    for size, day in ponds:
        rows = pond_phases(size, day, repeats)
        members = rows.pop("members at the day's start")
        print(f"\nfish pond: {size:,} persons, day {day}, {members:,} members at its start; "
              f"medians of {repeats}, us")
        for k, v in rows.items():
            print(f"  {k:<40} {1e6 * v:9.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
