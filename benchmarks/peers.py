"""Fishpond against its peers: discrete-time SIR on one Barabási–Albert graph.

Usage::

    python benchmarks/peers.py            # 100,000 persons, 50 days (a few minutes)
    python benchmarks/peers.py --quick    # 10,000 persons, 20 days (CI smoke test)

The parent process builds ONE graph (networkx ``barabasi_albert_graph(N, 5, seed=1)``),
writes its edge list to a temporary folder, and runs every tool in its own subprocess
(``python benchmarks/peers.py --worker TOOL --data DIR``) so that peak memory is per tool.
Every worker rebuilds its own graph object from that edge list and prints a fingerprint of
the edge set, so all tools provably run on the very same graph. The 100 initial infected
are the ones fishpond's ``random`` seeding picks for the run seed; every other tool gets
that same node list.

Tools (semantics; q = 0.05 transmission per contact per day, gamma = 0.1 recovery per day):

fishpond   ``GrowthModel("pure_sir", engine="numba")``, the exact SIR reduction of the model:
           a node infected on day t transmits from day t+1 on, each day it first transmits
           to each susceptible neighbour with prob. q, then recovers with prob. gamma.
mesa       a Mesa 3 model written like Mesa's own ``virus_on_network`` example
           (``mesa.discrete_space.Network`` over the networkx graph, one ``FixedAgent`` per
           node, ``self.agents.shuffle_do("step")``, a ``DataCollector``), made synchronous
           by an ``infected_on`` day guard: same discrete SIR as fishpond, in distribution.
ndlib      ``ndlib.models.epidemics.SIRModel`` (beta=q, gamma=gamma): the same discrete
           SIR (new infections written to a copy of the status, infected nodes transmit
           then recover). Its iteration 0 only reports the initial state, so 50 days take
           ``iteration_bunch(51)``.
eon        ``EoN.basic_discrete_SIR(G, q)``: EoN's only discrete-time SIR; a node is
           infectious for exactly ONE step and then recovers (no recovery probability), so
           it is a different, much milder epidemic (it dies out within a few days).
eon_T      the same EoN function with p = T = q / (1 - (1-q)(1-gamma)) = 0.345, the
           per-edge transmissibility of the geometric-duration SIR: comparable final size
           (not identical: durations are not independent per edge in the SIR), but the
           epidemic is compressed into a few days instead of 50.
fishpond_eon, fishpond_eon_T
           fishpond running EoN's semantics, the references of the two EoN rows: recovery
           probability 1 (``churn_base = 1``: a node infected on day t transmits on day t+1
           only), transmission q and T respectively. Same model as EoN's, in distribution.

Measured per tool: median wall time of R runs (setup = model construction from the
prebuilt graph incl. the initial infection; run = the days, incl. the tool's own daily
bookkeeping: fishpond's time series, Mesa's DataCollector, NDlib's iteration reports, EoN's
S/I/R arrays), person-steps/s = persons x days simulated / total time, edge visits = the
neighbour visits of the transmission step, i.e. sum over days of the degrees of the nodes
infectious that day, which is exactly what all four implementations iterate over
(counted from each tool's own trajectory: agent attributes for Mesa, iteration reports for
NDlib, an instrumented replay with the same seed for fishpond and EoN; not timed), peak RSS
(``ru_maxrss``) after imports + graph building (baseline) and at the end of the timed runs,
and the final epidemic size R + I.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib.util import find_spec
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import (  # noqa: E402
    Stopwatch,
    edge_visits,
    graph_fingerprint,
    machine,
    maxrss_mb,
    versions,
)

HERE = Path(__file__).resolve().parent
SEED = 1  # graph seed and run seed
M = 5  # Barabási–Albert attachment
SEEDS = 100  # initial infected
Q = 0.05  # transmission per contact per day
GAMMA = 0.1  # recovery per day
T_EDGE = Q / (1.0 - (1.0 - Q) * (1.0 - GAMMA))  # per-edge transmissibility, 0.345

TOOLS = ("fishpond", "mesa", "ndlib", "fishpond_eon", "eon", "fishpond_eon_T", "eon_T")
REPEATS = {"fishpond": 5, "mesa": 1, "ndlib": 3, "fishpond_eon": 5, "eon": 3, "fishpond_eon_T": 5,
           "eon_T": 3}
LABELS = {
    "fishpond": "fishpond (numba)",
    "mesa": "Mesa-style",
    "ndlib": "NDlib SIRModel",
    "fishpond_eon": "fishpond, 1 step, p=q",
    "eon": "EoN basic_discrete_SIR p=q",
    "fishpond_eon_T": "fishpond, 1 step, p=T",
    "eon_T": "EoN basic_discrete_SIR p=T",
}
SEMANTICS = {
    "fishpond": "SIR, geometric infectious period (gamma=0.1)",
    "mesa": "SIR, geometric infectious period (gamma=0.1)",
    "ndlib": "SIR, geometric infectious period (gamma=0.1)",
    "fishpond_eon": "infectious exactly 1 step (churn_base=1), p=0.05",
    "eon": "infectious exactly 1 step (NOT gamma=0.1), p=0.05",
    "fishpond_eon_T": f"infectious exactly 1 step (churn_base=1), p=T={T_EDGE:.3f}",
    "eon_T": f"infectious exactly 1 step, p=T={T_EDGE:.3f} (matched transmissibility)",
}
# (transmission, recovery) of each fishpond run, and the fishpond run each tool is timed against
FISHPOND_RUNS = {"fishpond": (Q, GAMMA), "fishpond_eon": (Q, 1.0), "fishpond_eon_T": (T_EDGE, 1.0)}
REFERENCE = {"eon": "fishpond_eon", "eon_T": "fishpond_eon_T"}
SNAP_DAYS = (5, 10, 20, 30, 40, 50)
MODULES = {"mesa": "mesa", "ndlib": "ndlib", "eon": "EoN", "eon_T": "EoN"}  # skipped if absent


# ======================================================================================
# workers (one tool per process)
# ======================================================================================


def _load(data: Path):
    d = np.load(data / "graph.npz")
    n, days = int(d["n"]), int(d["days"])
    src, dst = d["src"], d["dst"]
    seeds = np.load(data / "seeds.npy") if (data / "seeds.npy").exists() else None
    return n, days, src, dst, seeds


def _nx_graph(n, src, dst):
    import networkx as nx

    G = nx.Graph()
    G.add_nodes_from(range(n))
    G.add_edges_from(zip(src.tolist(), dst.tolist()))
    return G


def _nx_fingerprint(G) -> str:
    e = np.fromiter((x for uv in G.edges() for x in uv), np.int64, 2 * G.number_of_edges())
    return graph_fingerprint(e[0::2], e[1::2])


def _nx_degrees(G, n) -> np.ndarray:
    deg = np.zeros(n, np.int64)
    for u, k in G.degree():
        deg[u] = k
    return deg


def _series(t, s, i, r) -> dict:
    return {k: list(map(int, v)) for k, v in (("t", t), ("S", s), ("I", i), ("R", r))}


def _time_runs(once, repeats):
    """Call ``once()`` -> (setup Stopwatch, run Stopwatch, result) ``repeats`` times.

    Returns the wall times of set-up and run, the CPU times of both together (lists), and
    the last result.
    """
    setup, run, cpu, result = [], [], [], None
    for _ in range(repeats):
        a, b, result = once()
        setup.append(a.s)
        run.append(b.s)
        cpu.append(a.cpu + b.cpu)
    return {"setup_s": setup, "run_s": run, "cpu_s": cpu}, result


# --- fishpond -------------------------------------------------------------------------


def worker_fishpond(
    data: Path, repeats: int, cold: bool, q: float = Q, gamma: float = GAMMA
) -> dict:
    n, days, src, dst, seeds = _load(data)
    from sim.codes import MEMBER
    from sim.kernels import cache_present
    from sim.model import GrowthModel
    from sim.population import from_edges

    g = from_edges(n, src, dst)
    base = maxrss_mb()
    kw = dict(
        engine="numba", rng=SEED, graph=g, steps=days,
        seeding={"count": SEEDS, "strategy": "random"},
        rules={"invite_rate": q, "churn_base": gamma},
    )

    def once():
        with Stopwatch() as s1:
            m = GrowthModel("pure_sir", **kw)
        with Stopwatch() as s2:
            m.run()
        return s1, s2, m

    cached = cache_present()
    a, b, m = once()  # first run: compiles (cold cache) or loads the on-disk cache
    out = {"first_run_s": a.s + b.s, "cache_was_present": cached,
           "seeds": sorted(map(int, m.seeds))}
    if seeds is not None and sorted(map(int, seeds)) != out["seeds"]:
        raise SystemExit("fishpond chose different seeds than the ones handed to the peers")
    if cold:
        out.update(rss_base_mb=base, rss_peak_mb=maxrss_mb())
        return out
    times, m = _time_runs(once, repeats)
    peak = maxrss_mb()
    ts = m.timeseries()
    s, i, r = ts["non_users"].to_numpy(), ts["members"].to_numpy(), ts["churned"].to_numpy()
    # untimed replay (counter-based RNG: identical trajectory) counting neighbour visits
    deg = np.diff(g.indptr)
    rep = GrowthModel("pure_sir", **kw)
    visits = 0
    for _ in range(days):
        visits += int(deg[rep.state.status == MEMBER].sum())  # infectious today
        rep.step()
    assert rep.timeseries()["members"].iloc[-1] == i[-1], "replay diverged"
    lo = np.repeat(np.arange(n), deg)
    up = g.indices > lo
    out.update(
        **times, rss_base_mb=base, rss_peak_mb=peak,
        days=int(ts["day"].iloc[-1]), edge_visits=visits, visits_how="instrumented replay",
        series=_series(ts["day"], s, i, r), fingerprint=graph_fingerprint(lo[up], g.indices[up]),
    )
    return out


# --- Mesa-style -----------------------------------------------------------------------


def _mesa_classes():
    from enum import Enum

    import mesa
    from mesa.discrete_space import FixedAgent, Network

    class Health(Enum):
        SUSCEPTIBLE = 0
        INFECTED = 1
        RECOVERED = 2

    class Person(FixedAgent):
        """One node of the network: susceptible, infected or recovered."""

        def __init__(self, model, cell):
            super().__init__(model)
            self.cell = cell
            self.health = Health.SUSCEPTIBLE
            self.infected_on = -1  # day of infection (0 for the initial infected)
            self.recovered_on = -1

        def try_to_infect_neighbours(self):
            day, p = self.model.day, self.model.transmission
            for other in self.cell.neighborhood.agents:
                if other.health is Health.SUSCEPTIBLE and self.random.random() < p:
                    other.health = Health.INFECTED
                    other.infected_on = day

        def try_to_recover(self):
            if self.random.random() < self.model.recovery:
                self.health = Health.RECOVERED
                self.recovered_on = self.model.day

        def step(self):
            # Synchronous SIR: whoever was infected today (earlier in this shuffled
            # sweep) starts transmitting (and may recover) tomorrow only.
            if self.health is Health.INFECTED and self.infected_on < self.model.day:
                self.try_to_infect_neighbours()
                self.try_to_recover()

    class SIROnNetwork(mesa.Model):
        """SIR on a given networkx graph, in the style of Mesa's virus_on_network."""

        def __init__(self, graph, initial_infected, transmission, recovery, rng=None):
            super().__init__(rng=rng)
            self.transmission = transmission
            self.recovery = recovery
            self.day = 0
            self.grid = Network(graph, capacity=1, random=self.random)
            Person.create_agents(self, graph.number_of_nodes(), list(self.grid.all_cells))
            for node in initial_infected:
                for agent in self.grid[node].agents:
                    agent.health = Health.INFECTED
                    agent.infected_on = 0
            self.census = {}
            self.datacollector = mesa.DataCollector(
                model_reporters={
                    "Susceptible": lambda m: m.census[Health.SUSCEPTIBLE],
                    "Infected": lambda m: m.census[Health.INFECTED],
                    "Recovered": lambda m: m.census[Health.RECOVERED],
                }
            )
            self.take_census()
            self.datacollector.collect(self)

        def take_census(self):
            counts = dict.fromkeys(Health, 0)
            for agent in self.agents:
                counts[agent.health] += 1
            self.census = counts

        def step(self):
            self.day += 1
            self.agents.shuffle_do("step")
            self.take_census()
            self.datacollector.collect(self)

    return SIROnNetwork


def worker_mesa(data: Path, repeats: int) -> dict:
    n, days, src, dst, seeds = _load(data)
    SIROnNetwork = _mesa_classes()
    G = _nx_graph(n, src, dst)
    base = maxrss_mb()
    infected = [int(x) for x in seeds]

    def once():
        with Stopwatch() as s1:
            model = SIROnNetwork(G, infected, Q, GAMMA, rng=SEED)
        with Stopwatch() as s2:
            for _ in range(days):
                model.step()
        return s1, s2, model

    times, model = _time_runs(once, repeats)
    peak = maxrss_mb()
    df = model.datacollector.get_model_vars_dataframe()
    a, r = np.full(n, -1, np.int64), np.full(n, -1, np.int64)
    for agent in model.agents:
        a[agent.cell.coordinate] = agent.infected_on
        r[agent.cell.coordinate] = agent.recovered_on
    return dict(
        **times, rss_base_mb=base, rss_peak_mb=peak, days=model.day,
        edge_visits=edge_visits(_nx_degrees(G, n), a, r, model.day),
        visits_how="from agent infection/recovery days",
        series=_series(range(len(df)), df["Susceptible"], df["Infected"], df["Recovered"]),
        fingerprint=_nx_fingerprint(G),
    )


# --- NDlib ----------------------------------------------------------------------------


def worker_ndlib(data: Path, repeats: int) -> dict:
    n, days, src, dst, seeds = _load(data)
    import ndlib.models.epidemics as ep
    import ndlib.models.ModelConfig as mc

    G = _nx_graph(n, src, dst)
    base = maxrss_mb()
    infected = [int(x) for x in seeds]

    def once():
        with Stopwatch() as s1:
            model = ep.SIRModel(G, seed=SEED)
            cfg = mc.Configuration()
            cfg.add_model_parameter("beta", Q)
            cfg.add_model_parameter("gamma", GAMMA)
            cfg.add_model_initial_configuration("Infected", infected)
            model.set_initial_status(cfg)
        with Stopwatch() as s2:
            its = model.iteration_bunch(days + 1)  # iteration 0 = the initial state
        return s1, s2, its

    times, its = _time_runs(once, repeats)
    peak = maxrss_mb()
    a, r = np.full(n, -1, np.int64), np.full(n, -1, np.int64)
    a[infected] = 0
    for it in its[1:]:
        for node, st in it["status"].items():
            if st == 1:
                a[node] = it["iteration"]
            elif st == 2:
                r[node] = it["iteration"]
    cnt = [it["node_count"] for it in its]
    return dict(
        **times, rss_base_mb=base, rss_peak_mb=peak, days=len(its) - 1,
        edge_visits=edge_visits(_nx_degrees(G, n), a, r, len(its) - 1),
        visits_how="from iteration status deltas",
        series=_series(
            [it["iteration"] for it in its], *([c[k] for c in cnt] for k in (0, 1, 2))
        ),
        fingerprint=_nx_fingerprint(G),
    )


# --- EoN ------------------------------------------------------------------------------


class _CountingGraph:
    """Quacks like the networkx graph for EoN.discrete_SIR, counting neighbour visits."""

    def __init__(self, G):
        self.G, self.visits = G, 0

    def neighbors(self, u):
        nb = self.G._adj[u]
        self.visits += len(nb)
        return iter(nb)

    def order(self):
        return self.G.order()

    def has_node(self, u):
        return self.G.has_node(u)

    def __iter__(self):
        return iter(self.G)


def worker_eon(data: Path, repeats: int, p: float) -> dict:
    n, days, src, dst, seeds = _load(data)
    import EoN

    G = _nx_graph(n, src, dst)
    base = maxrss_mb()
    infected = [int(x) for x in seeds]

    def run_on(graph):
        return EoN.basic_discrete_SIR(
            graph, p, initial_infecteds=infected, tmax=days, rng=np.random.default_rng(SEED)
        )

    def once():
        with Stopwatch() as s2:
            res = run_on(G)
        return Stopwatch(), s2, res  # no separate set-up step: the function does it all

    times, (t, s, i, r) = _time_runs(once, repeats)
    peak = maxrss_mb()
    cg = _CountingGraph(G)
    t2, s2, i2, r2 = run_on(cg)  # same rng seed -> same trajectory, now counted
    assert np.array_equal(i, i2) and np.array_equal(r, r2), "replay diverged"
    return dict(
        **times, rss_base_mb=base, rss_peak_mb=peak, days=int(t[-1]),
        edge_visits=cg.visits, visits_how="instrumented replay",
        series=_series(t, s, i, r), fingerprint=_nx_fingerprint(G),
    )


def run_worker(args) -> None:
    data = Path(args.data)
    tool = args.worker
    if tool == "fishpond_cold":
        out = worker_fishpond(data, 0, cold=True)
    elif tool in FISHPOND_RUNS:
        out = worker_fishpond(data, args.repeats, False, *FISHPOND_RUNS[tool])
    elif tool == "mesa":
        out = worker_mesa(data, args.repeats)
    elif tool == "ndlib":
        out = worker_ndlib(data, args.repeats)
    elif tool == "eon":
        out = worker_eon(data, args.repeats, Q)
    elif tool == "eon_T":
        out = worker_eon(data, args.repeats, T_EDGE)
    else:
        raise SystemExit(f"unknown tool {tool!r}")
    (data / f"{tool}.json").write_text(json.dumps(out))


# ======================================================================================
# parent
# ======================================================================================


def _spawn(tool: str, data: Path, repeats: int, env=None) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", tool, "--data", str(data),
           "--repeats", str(repeats)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"worker {tool} failed (exit {proc.returncode})")
    out = json.loads((data / f"{tool}.json").read_text())
    out["process_wall_s"] = wall
    print(f"  {tool:14s} done in {wall:7.1f} s", file=sys.stderr, flush=True)
    return out


def _fmt_rate(x: float) -> str:
    for unit, div in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if x >= div:
            return f"{x / div:.3g} {unit}"
    return f"{x:.3g}"


# ======================================================================================
# the independent cascade against CyNetDiff (--cascade)
# ======================================================================================

CASCADE_P = (0.01, 0.05, 0.2)


def cascade(n: int, repeats: int, ps=CASCADE_P) -> list[dict]:
    """Fishpond's one-step setting against CyNetDiff's IndependentCascadeModel, in this process.

    One networkx BA graph (n, M, seed SEED) for both; the 100 seeds are the ones fishpond's
    ``random`` seeding picks for run seed r, handed to CyNetDiff as they are. Fishpond:
    ``pure_sir`` with ``churn_base = 1`` (a person joined on day t invites each neighbour
    once, on day t+1, with probability p: the independent cascade), a model built from the
    prebuilt graph and run until the cascade stops (idle days cost nothing). CyNetDiff:
    ``reset_model``, ``set_seeds``, ``advance_until_completion``. Timed per run, alternating
    the two tools run by run; final sizes (members + churned) compared by their means and
    standard errors.
    """
    import networkx as nx
    from cynetdiff.utils import networkx_to_ic_model

    from sim.model import GrowthModel
    from sim.population import from_edges

    G = nx.barabasi_albert_graph(n, M, seed=SEED)
    e = np.array(G.edges(), dtype=np.int64)
    g = from_edges(n, e[:, 0], e[:, 1])
    rows = []
    for p in ps:
        ic, labels = networkx_to_ic_model(G, activation_prob=p, rng=SEED)
        assert all(labels[v] == v for v in range(n))  # nodes 0..n-1 keep their numbers

        def fishpond(r):
            m = GrowthModel("pure_sir", rng=r, graph=g, steps=200,
                            seeding={"count": SEEDS, "strategy": "random"},
                            rules={"invite_rate": p, "churn_base": 1.0})
            m.run()
            return m, int(m.today["members"] + m.today["churned"])

        def cynet(seeds):
            ic.reset_model()
            ic.set_seeds(seeds)
            ic.advance_until_completion()
            return ic.get_num_activated_nodes()

        fishpond(10**6)  # load the kernels
        ft, ct, fs, cs = [], [], [], []
        for r in range(repeats):
            t = time.perf_counter()
            m, size = fishpond(r)
            ft.append(time.perf_counter() - t)
            fs.append(size)
            seeds = [int(i) for i in m.seeds]
            t = time.perf_counter()
            cs.append(cynet(seeds))
            ct.append(time.perf_counter() - t)
        fse = np.std(fs, ddof=1) / np.sqrt(repeats)
        cse = np.std(cs, ddof=1) / np.sqrt(repeats)
        rows.append({"p": p, "fishpond_ms": 1000 * statistics.median(ft),
                     "cynetdiff_ms": 1000 * statistics.median(ct),
                     "fishpond_size": float(np.mean(fs)), "fishpond_se": float(fse),
                     "cynetdiff_size": float(np.mean(cs)), "cynetdiff_se": float(cse)})
    return rows


def cascade_report(rows: list[dict], n: int, repeats: int) -> str:
    L = [f"independent cascade: BA n={n:,} m={M} seed={SEED}, {SEEDS} seeds, {repeats} runs per "
         "tool and p, medians, the tools alternating run by run",
         f"{'p':>5} {'fishpond ms':>12} {'CyNetDiff ms':>13} {'ratio':>7}   final size "
         "fishpond | CyNetDiff (mean +- s.e.)   agree"]
    for r in rows:
        gap = abs(r["fishpond_size"] - r["cynetdiff_size"])
        se = math.hypot(r["fishpond_se"], r["cynetdiff_se"])
        agree = "yes" if gap <= 3 * se + 1e-9 else "NO"
        L.append(f"{r['p']:>5} {r['fishpond_ms']:>12.3f} {r['cynetdiff_ms']:>13.3f} "
                 f"{r['fishpond_ms'] / r['cynetdiff_ms']:>7.1f}   "
                 f"{r['fishpond_size']:,.1f} +- {r['fishpond_se']:.1f} | "
                 f"{r['cynetdiff_size']:,.1f} +- {r['cynetdiff_se']:.1f}   {agree} "
                 f"(gap {gap / se if se else 0:.1f} s.e.)")
    return "\n".join(L)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="10,000 persons, 20 days (CI smoke)")
    ap.add_argument("--cascade", action="store_true",
                    help="the independent cascade against CyNetDiff (pip install cynetdiff)")
    ap.add_argument("--tools", default=",".join(TOOLS), help=f"comma list from {','.join(TOOLS)}")
    ap.add_argument("--repeats", type=int, default=None,
                    help="timed runs per tool (default: 5 fishpond, 1 mesa, 3 others)")
    ap.add_argument("--save", default=None, help="also write the raw results as JSON here")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        run_worker(args)
        return 0
    if args.cascade:
        if not find_spec("cynetdiff"):
            print("--cascade needs CyNetDiff: pip install -e '.[bench]'", file=sys.stderr)
            return 2
        n, reps = (10_000, 10) if args.quick else (100_000, args.repeats or 30)
        print(machine()["cpu"], "load", machine()["loadavg"])
        print(cascade_report(cascade(n, reps), n, reps))
        return 0

    tools = [t for t in args.tools.split(",") if t]
    bad = set(tools) - set(TOOLS)
    if bad:
        ap.error(f"unknown tools: {', '.join(sorted(bad))}")
    if "fishpond" not in tools:
        tools.insert(0, "fishpond")  # the reference of every ratio
    missing = {t: MODULES[t] for t in tools if MODULES.get(t) and not find_spec(MODULES[t])}
    for t, mod in missing.items():
        print(f"skipping {t}: {mod} is not installed (pip install -e '.[bench]')", file=sys.stderr)
    tools = [t for t in tools if t not in missing]
    for tool, ref in REFERENCE.items():  # and the EoN rows' own references
        if tool in tools and ref not in tools:
            tools.insert(tools.index(tool), ref)
    n, days = (10_000, 20) if args.quick else (100_000, 50)
    command = " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv])
    mach = machine()
    started = datetime.now(UTC).astimezone()

    import networkx as nx

    with tempfile.TemporaryDirectory(prefix="fishpond-peers-") as tmp:
        data = Path(tmp)
        with Stopwatch() as sw:
            G = nx.barabasi_albert_graph(n, M, seed=SEED)
        e = np.array(G.edges(), dtype=np.int64)
        del G
        np.savez(data / "graph.npz", n=n, days=days, src=e[:, 0], dst=e[:, 1])
        fp = graph_fingerprint(e[:, 0], e[:, 1])
        print(f"graph: BA n={n} m={M} seed={SEED}, {len(e)} edges, fingerprint {fp} ({sw.s:.1f} s)",
              file=sys.stderr, flush=True)

        res = {}
        # an empty Numba cache folder: the first fishpond worker measures a true cold compile
        env = {**os.environ, "NUMBA_CACHE_DIR": str(data / "numba-cache")}
        res["fishpond_cold"] = _spawn("fishpond_cold", data, 0, env)
        np.save(data / "seeds.npy", np.array(res["fishpond_cold"]["seeds"], np.int64))
        for tool in tools:
            reps = args.repeats if args.repeats is not None else REPEATS[tool]
            res[tool] = _spawn(tool, data, max(reps, 1), env if tool in FISHPOND_RUNS else None)

    for tool in tools:
        if res[tool]["fingerprint"] != fp:
            raise SystemExit(f"{tool} did not run on the benchmark graph")

    mach["loadavg_end"] = machine()["loadavg"]
    report = format_report(res, tools, n, days, fp, len(e), mach, command, started)
    print(report)
    if args.save:
        raw = {"results": res, "machine": mach, "command": command}
        Path(args.save).write_text(json.dumps(raw, indent=1))
    return 0


def format_report(res, tools, n, days, fp, n_edges, mach, command, started) -> str:
    ver = versions(["fishpond", "numba", "numpy", "networkx", "mesa", "ndlib", "EoN"])
    L = []
    L.append(f"command: {command}")
    L.append(f"date: {started:%Y-%m-%d %H:%M %Z}")
    L.append(
        f"machine: {mach['cpu']}, {mach['cores']} cores ({mach['usable_cores']} usable), "
        f"{mach['mem_gib']:.0f} GiB RAM, "
        f"1-min load average {mach['loadavg'][0]} at start, {mach['loadavg_end'][0]} at end; "
        f"Python {mach['python']}; {mach['platform']}"
    )
    L.append("versions: " + ", ".join(f"{k} {v}" for k, v in ver.items()))
    L.append(
        f"graph: networkx barabasi_albert_graph({n}, {M}, seed={SEED}): {n_edges} edges, "
        f"edge-set fingerprint {fp} (identical in every worker)"
    )
    L.append(
        f"run: {SEEDS} initial infected (fishpond's random seeding, run seed {SEED}, same nodes "
        f"for all), q={Q} per contact per day, gamma={GAMMA} per day, {days} days"
    )
    L.append("")
    def medians(r):
        return (statistics.median(a + b for a, b in zip(r["setup_s"], r["run_s"])),
                statistics.median(r["cpu_s"]))

    ref = res["fishpond"]
    hdr = ("tool", "R", "days", "setup s", "days s", "total s", "CPU s", "person-steps/s",
           "edge visits", "edge-visits/s", "RSS base MiB", "RSS peak MiB", "+MiB",
           "final R+I", "time ratio", "CPU ratio")
    L.append("| " + " | ".join(hdr) + " |")
    L.append("|" + "|".join(["---"] * len(hdr)) + "|")
    for tool in tools:
        r = res[tool]
        totals = [a + b for a, b in zip(r["setup_s"], r["run_s"])]
        tot, cpu = statistics.median(totals), statistics.median(r["cpu_s"])
        s = r["series"]
        final = s["I"][-1] + s["R"][-1]
        if tool in FISHPOND_RUNS:
            ratio, cratio = ("1", "1") if tool == "fishpond" else ("ref. †", "ref. †")
        else:
            ref_total, ref_cpu = medians(res[REFERENCE.get(tool, "fishpond")])
            mark = " †" if tool in REFERENCE else ""
            ratio, cratio = f"{tot / ref_total:,.1f}x{mark}", f"{cpu / ref_cpu:,.1f}x{mark}"
        L.append("| " + " | ".join([
            LABELS[tool], str(len(totals)), str(r["days"]),
            f"{statistics.median(r['setup_s']):.3f}", f"{statistics.median(r['run_s']):.3f}",
            f"{tot:.3f}", f"{cpu:.3f}", _fmt_rate(n * r["days"] / tot), f"{r['edge_visits']:,}",
            _fmt_rate(r["edge_visits"] / tot), f"{r['rss_base_mb']:.0f}", f"{r['rss_peak_mb']:.0f}",
            f"{r['rss_peak_mb'] - r['rss_base_mb']:.0f}", f"{final:,}", ratio, cratio,
        ]) + " |")
    L.append("time ratio = their median total wall time / fishpond's; CPU ratio = the same with "
             "process CPU time (user + system), less sensitive to other jobs on the machine; "
             "rates use wall time.")
    if any(t in REFERENCE for t in tools):
        L.append("† EoN's discrete SIR is a different epidemic (no recovery probability: "
                 "infectious for exactly one step): its ratios are to fishpond running the same "
                 "one-step epidemic (the 'fishpond, 1 step' rows), not to the first row.")
    L.append("")
    cold = res["fishpond_cold"]
    L.append(
        f"fishpond first run: {cold['first_run_s']:.2f} s with an empty Numba cache (compile; "
        f"peak RSS {cold['rss_peak_mb']:.0f} MiB), {ref['first_run_s']:.2f} s with the on-disk "
        f"cache (not in the table: the table times warm runs)."
    )
    L.append("semantics:")
    for tool in tools:
        L.append(f"  {LABELS[tool]:28s} {SEMANTICS[tool]}")
    L.append(
        "edge visits = neighbour visits in the transmission step = sum over days of the degrees "
        "of the nodes infectious that day (each implementation scans every neighbour of every "
        "infectious node); counted from each tool's own trajectory, untimed."
    )
    L.append("")
    snaps = [d for d in SNAP_DAYS if d <= days] or [days]
    if days not in snaps:
        snaps.append(days)
    L.append("infected I / recovered R on day: " + ", ".join(map(str, snaps)))
    for tool in tools:
        s = res[tool]["series"]
        by_t = {t: (i, r) for t, i, r in zip(s["t"], s["I"], s["R"])}
        last = s["t"][-1]
        cells = []
        for d in snaps:
            i, r = by_t.get(d, (0, by_t[last][0] + by_t[last][1]) if d > last else (None, None))
            cells.append(f"{i:>6}/{r:<6}")
        L.append(f"  {LABELS[tool]:28s} " + " ".join(cells))
    return "\n".join(L)


if __name__ == "__main__":
    sys.exit(main())
