"""Calibrate a scenario to a community's observed numbers, and forecast with its uncertainty.

``fishpond calibrate OBSERVED.csv --scenario fish_pond --free rules.invite_rate=0.001:0.05:log``
(or a calibration YAML in ``experiments/``, see :func:`load_calibration`) finds which values
of the free parameters make the model reproduce the observed counts, as a Bayesian posterior,
and forecasts the community's milestones from it.

Method: likelihood-free ABC-SMC with pyabc (imported only here, inside functions).

- Priors: ``--free KEY=LO:HI`` is uniform on ``[LO, HI]``; ``--free KEY=LO:HI:log`` is
  log-uniform (uniform in ``log10``, the scale the SMC kernel moves on). Whole-number keys
  (``population.size``, ``seeding.count``) are rounded. Every key path and both bounds are
  checked against the scenario's schema before anything runs.
- Summary statistics: every observed count (column C, observed day d) divided by the
  largest observed value of its column, so that each column weighs alike whatever its size;
  missing values are left out. Distance: Euclidean (``pyabc.PNormDistance(p=2)``) between
  the simulated and the observed statistics. Acceptance thresholds: the median distance of
  the previous generation (``pyabc.MedianEpsilon``).
- Stopping: ``generations`` generations, or epsilon <= ``min_epsilon``, or after a generation
  whose acceptance rate (particles / runs) is below ``min_acceptance``, or ``max_minutes``.
  With a fixed number of generations, how narrow the posterior gets depends on how far
  epsilon got as well as on the data; ``min_acceptance`` instead runs each calibration to the
  same depth of the ABC approximation (the same acceptance rate), so two calibrations of
  different data can be compared.
- Reproducible: the evaluations of a generation are numbered, and numpy's global generator
  (the one pyabc proposes with) is seeded from ``(seed, generation, evaluation)`` before each;
  each simulation's run seed is derived from the particle's parameter values and the root
  seed (:func:`particle_seed`); a generation keeps the evaluations in their order until it has
  its particles. So the same seed gives the same posterior with 1 worker, N workers or a Dask
  cluster, and a resumed calibration continues exactly.
- Sampler: one of pyabc's ``Sampler`` interface that evaluates in this process (1 worker),
  in forked processes (N workers, after the kernels are loaded here, so the forks inherit
  them) or on a Dask cluster (``cluster``), keeping every worker busy (a new evaluation starts
  whenever one finishes) and taking the evaluations in their order.
  The history is a SQLite database in the output folder (``calibration.db``): ``resume``
  continues the generations after Ctrl-C or kill -9.
- Identifiability: one-at-a-time runs at the prior's centre before the calibration, and the
  posterior's width after it (:func:`sim.posterior.identifiability`).
- The population graph is built once and shared by every particle when no free parameter
  changes it (``population.size``, ``population.graph.*``).

Outputs (see :func:`calibrate`): ``posterior.parquet`` (weighted particles),
``posterior_summary.csv``, ``identifiability.csv``, ``forecast.csv``, ``milestones.csv``,
``calibrated.yaml`` (the scenario at the posterior median, runnable with ``fishpond run``),
``draws/draw-NNN.yaml`` and ``posterior_sweep.yaml`` (an experiment over posterior draws, for
``fishpond sweep``) and ``manifest.json``; the command adds the charts
(:func:`sim.charts.calibration.write_calibration_charts`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import scenario_io as sio
from .calibration_config import (
    Calibration,
    CalibrationFile,
    Prior,
    calibration_from_data,
    load_calibration,
    parse_free,
)
from .config import Scenario
from .errors import FishpondError, OutputError
from .observed import Observed, model_series
from .posterior import (
    forecast_table,
    identifiability,
    milestone_table,
    milestone_words,
    posterior_summary,
)
from .yamlio import nested

__all__ = ["Calibration", "CalibrationFile", "Prior", "Result", "Simulator", "calibrate",
           "calibrated_scenario", "calibration_from_data", "forecast_runs", "load_calibration",
           "one_at_a_time", "parse_free", "particle_seed", "posterior_particles", "run_abc"]

DB = "calibration.db"
KIND = "calibration"
DRAW_FILES = 20  # posterior draws written as scenario files for sweep/compare
OAT_REPLICATES = 2


# --- one simulation ----------------------------------------------------------------------------

_GRAPHS: dict[str, Any] = {}  # the shared population graph, per process


def particle_seed(values: list[float], root: int, salt: int = 0) -> int:
    """The run seed of a particle: a hash of its parameter values, the root seed and a salt.

    The same values and root seed give the same seed in any process, so results do not
    depend on which worker runs which particle.

    Example:
        >>> a, b = particle_seed([0.1, 2.0], 0), particle_seed([0.1, 2.0], 1)
        >>> a == particle_seed([0.1, 2.0], 0), a == b
        (True, False)
    """
    digest = hashlib.sha256(np.asarray(values, np.float64).tobytes()).digest()
    words = np.frombuffer(digest[:16], np.uint32).tolist()
    seq = np.random.SeedSequence([root & 0xFFFFFFFF, root >> 32, salt, *words])
    return int(seq.generate_state(1, np.uint64)[0] >> 1)


def _shares_graph(priors: tuple[Prior, ...]) -> bool:
    return not any(p.path[:2] in (("population", "size"), ("population", "graph"))
                   for p in priors)


class Simulator:
    """A picklable model for pyabc: parameters in, summary statistics out.

    Args:
        cal: The calibration.
    """

    def __init__(self, cal: Calibration) -> None:
        """Keep what a simulation needs (see the class docstring)."""
        self.scenario = cal.scenario
        self.priors = cal.priors
        self.root = cal.seed
        self.days = cal.observed.days
        self.columns = cal.observed.columns
        self.scales = {c: _scale(cal.observed.values[c]) for c in self.columns}
        self.keys = [(c, i) for c in self.columns for i in range(len(self.days))
                     if not math.isnan(cal.observed.values[c][i])]
        self.shared = _shares_graph(cal.priors)

    def graph(self):
        """The shared population graph (built once per process), or None."""
        if not self.shared:
            return None
        key = sio.scenario_to_yaml(self.scenario)
        if key not in _GRAPHS:
            from .population import build_graph

            _GRAPHS.clear()
            _GRAPHS[key] = build_graph(self.scenario.population, self.scenario.seed)
        return _GRAPHS[key]

    def run(self, values: list, steps: int, seed: int) -> pd.DataFrame:
        """The timeseries of one run with these parameter values (natural scale)."""
        from .model import GrowthModel

        over: dict = {}
        for prior, v in zip(self.priors, values):
            over = sio.merge_scenario_data(over, nested(prior.path, v))
        model = GrowthModel(self.scenario, rng=seed, steps=steps, graph=self.graph(), **over)
        model.run()
        return model.timeseries()

    def values(self, x: dict) -> list:
        """Natural-scale values of a pyabc parameter (``p0``, ``p1``, ...)."""
        return [p.value(x[f"p{i}"]) for i, p in enumerate(self.priors)]

    def stats(self, ts: pd.DataFrame) -> dict:
        """The summary statistics of a timeseries (see the module docstring)."""
        series = {c: model_series(ts, c) for c in self.columns}
        return {f"{c}@{self.days[i]}": series[c][self.days[i]] / self.scales[c]
                for c, i in self.keys}

    def observed_stats(self, obs: Observed) -> dict:
        """The observed summary statistics."""
        return {f"{c}@{self.days[i]}": obs.values[c][i] / self.scales[c] for c, i in self.keys}

    def __call__(self, x: dict) -> dict:
        """Simulate one particle (pyabc's model function); a failed run is rejected."""
        values = self.values(x)
        try:
            ts = self.run(values, int(self.days[-1]), particle_seed(values, self.root))
            return self.stats(ts)
        except FishpondError:
            return {f"{c}@{self.days[i]}": math.inf for c, i in self.keys}

    def forecast(self, job: tuple[list, int, int]) -> dict[str, np.ndarray]:
        """One posterior-predictive run ``(values, horizon, seed)``: the series to forecast."""
        values, horizon, seed = job
        ts = self.run(values, horizon, seed)
        out = {c: model_series(ts, c) for c in self.columns}
        out["members"] = ts["members"].to_numpy(np.float64)
        return out


def _scale(values: np.ndarray) -> float:
    top = float(np.nanmax(values))
    return top if top > 0 else 1.0


# --- the calibration ---------------------------------------------------------------------------


@dataclass
class Result:
    """What :func:`calibrate` found (the files it wrote hold the same)."""

    particles: pd.DataFrame
    summary: pd.DataFrame
    identifiability: pd.DataFrame
    forecast: pd.DataFrame
    milestones: pd.DataFrame
    generations: pd.DataFrame
    words: list[str]
    files: list[str]


def one_at_a_time(cal: Calibration, sim: Simulator | None = None) -> pd.DataFrame:
    """The cheap identifiability check: how much each parameter moves the statistics.

    At the prior's centre (on its sampling scale), each parameter is set to a quarter and
    to three quarters of its range, :data:`OAT_REPLICATES` runs each, on common random
    numbers (the same run seeds at every point); the effect is the distance between the mean
    statistics of the two; the noise is the mean distance between the statistics of
    replicate runs (other seeds) at the centre.

    Returns:
        ``parameter, effect, noise``.
    """
    sim = sim or Simulator(cal)
    centre = [(p.lo + p.hi) / 2 for p in cal.priors]

    seeds = [particle_seed(centre, cal.seed, 7919 + rep) for rep in range(OAT_REPLICATES + 1)]

    def stats(x: list[float], rep: int) -> np.ndarray:  # common random numbers: seeds[rep]
        values = [p.value(v) for p, v in zip(cal.priors, x)]
        ts = sim.run(values, int(sim.days[-1]), seeds[rep])
        return np.array(list(sim.stats(ts).values()))

    base = [stats(centre, r) for r in range(OAT_REPLICATES + 1)]
    noise = float(np.mean([np.linalg.norm(base[i] - base[j]) for i in range(len(base))
                           for j in range(i)]))
    rows = []
    for k, p in enumerate(cal.priors):
        ends = []
        for share in (0.25, 0.75):
            x = list(centre)
            x[k] = p.lo + share * (p.hi - p.lo)
            ends.append(np.mean([stats(x, r) for r in range(OAT_REPLICATES)], axis=0))
        rows.append({"parameter": p.key, "effect": float(np.linalg.norm(ends[1] - ends[0])),
                     "noise": noise})
    return pd.DataFrame(rows, columns=["parameter", "effect", "noise"])


def _quiet_pyabc() -> None:
    for name in ("ABC", "pyabc", "Sampler", "Distance", "Epsilon", "History", "Acceptor",
                 "Transition", "Population"):
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in list(logging.root.manager.loggerDict):
        if name.startswith(("ABC", "pyabc")):
            logging.getLogger(name).setLevel(logging.WARNING)


def _sampler(workers: int, client: Any, root: int):
    """The sampler pyabc runs: an ``OrderedSampler`` (see :func:`_ordered_sampler_class`)."""
    global _ORDERED
    if _ORDERED is None:
        _ORDERED = _ordered_sampler_class()
    if client is None and workers > 1:
        from .executors import warm

        warm()  # the forked workers inherit the loaded kernels
    return _ORDERED(workers, client, root)


_ORDERED: Any = None
_SIMULATE_ONE: Callable | None = None  # the generation's simulate_one, inherited by forks


def _evaluation_seed(root: int, t: int, k: int) -> int:
    """The seed of numpy's global generator for evaluation ``k`` of generation ``t``."""
    return int(np.random.SeedSequence([root & 0xFFFFFFFF, root >> 32, 1 + t, k])
               .generate_state(1)[0])


_EVALUATING = threading.Lock()  # numpy's global generator: one evaluation at a time


def _evaluate(job: tuple[int, int, int], simulate_one: Callable | None = None):
    """Evaluation ``k`` of generation ``t``: one particle proposed, simulated and judged.

    numpy's global generator is seeded first; ``simulate_one`` is pyabc's (default: the
    generation's, inherited by forked workers). Evaluations in one process run one at a
    time, so that a Dask worker with several threads draws each from its own seed.
    """
    root, t, k = job
    with _EVALUATING:
        np.random.seed(_evaluation_seed(root, t, k))
        return (simulate_one or _SIMULATE_ONE)()


def _ordered_sampler_class():
    import pyabc

    class OrderedSampler(pyabc.sampler.Sampler):
        """Evaluations numbered 0, 1, 2, ... each drawn from its own seed, taken in order.

        A generation takes the evaluations in their order until ``n`` are accepted, however
        many run at once: so 1 worker, N forked workers and a Dask cluster give the same
        particles, the same posterior, for the same root seed. With several workers the
        evaluations stream: ``2 x workers`` (threads on a cluster) are kept running, and a
        new one starts as soon as any finishes, so a slow evaluation holds up no worker;
        the finished ones wait until their turn. Those after the ``n``-th acceptance are
        discarded (as pyabc's evaluation-parallel samplers do).
        """

        def __init__(self, workers: int, client: Any, root: int) -> None:
            super().__init__()
            self.workers, self.client, self.root = workers, client, root

        def sample_until_n_accepted(self, n, simulate_one, t, *, max_eval=np.inf,
                                    all_accepted=False, ana_vars=None):
            global _SIMULATE_ONE
            _SIMULATE_ONE = simulate_one
            sample = self._create_empty_sample()
            k = 0
            try:
                if self.client is None and self.workers <= 1:
                    while sample.n_accepted < n and k < max_eval:
                        sample.append(_evaluate((self.root, t, k)))
                        k += 1
                else:
                    k = self._stream(sample, n, simulate_one, t, max_eval)
            finally:
                _SIMULATE_ONE = None
            self.nr_evaluations_ = k
            if sample.n_accepted < n:
                sample.ok = False
            return sample

        def _stream(self, sample, n, simulate_one, t, max_eval) -> int:
            """Evaluate on the workers, keeping them busy; append in order; return the count."""
            import queue

            finished: queue.Queue = queue.Queue()  # (j, result or Dask future, error)
            pool = None
            if self.client is not None:
                info = self.client.scheduler_info()["workers"].values()
                width = 2 * max(1, sum(int(w.get("nthreads", 1)) for w in info))
                evaluate = _evaluate_with(simulate_one)

                def submit(j):
                    future = self.client.submit(evaluate, (self.root, t, j), pure=False)
                    future.add_done_callback(lambda f, j=j: finished.put((j, f, None)))
                    return future
            else:  # forked now: the workers inherit simulate_one
                import multiprocessing

                pool = multiprocessing.get_context("fork").Pool(self.workers)
                width = 2 * self.workers

                def submit(j):
                    return pool.apply_async(
                        _evaluate, ((self.root, t, j),),
                        callback=lambda r, j=j: finished.put((j, r, None)),
                        error_callback=lambda e, j=j: finished.put((j, None, e)))
            running: dict[int, Any] = {}
            done: dict[int, Any] = {}
            k = nxt = 0
            try:
                while sample.n_accepted < n and k < max_eval:
                    while len(running) < width and nxt < max_eval:
                        running[nxt] = submit(nxt)
                        nxt += 1
                    j, result, error = finished.get()
                    running.pop(j, None)
                    if error is not None:
                        raise error
                    done[j] = result.result() if self.client is not None else result
                    while k in done and sample.n_accepted < n:
                        sample.append(done.pop(k))
                        k += 1
            finally:
                if pool is not None:
                    pool.terminate()
                elif running:
                    self.client.cancel(list(running.values()))
            return k

    return OrderedSampler


def _evaluate_with(simulate_one: Callable) -> Callable:
    """:func:`_evaluate` carrying ``simulate_one`` (for a Dask cluster: shipped, not forked)."""
    def evaluate(job: tuple[int, int, int]):
        return _evaluate(job, simulate_one)

    return evaluate


def _generation_seed(root: int, t: int) -> int:
    return int(np.random.SeedSequence([root & 0xFFFFFFFF, root >> 32, 1 + t]).generate_state(1)[0])


def run_abc(cal: Calibration, db_file: Path, *, resume: bool = False, workers: int = 1,
            client: Any = None, progress: Callable[[str], None] | None = None):
    """Run (or continue) the ABC-SMC generations; return pyabc's History.

    Args:
        cal: The calibration.
        db_file: The SQLite database (created, or continued with ``resume``).
        resume: Continue the generations stored in ``db_file``.
        workers: Local processes.
        client: A ``distributed.Client`` (then ``workers`` is not used).
        progress: Called with one line per generation.

    Returns:
        The pyabc History.
    """
    import pyabc

    _quiet_pyabc()
    sim = Simulator(cal)
    sim.graph()  # built here once; forked workers inherit it
    prior = pyabc.Distribution(**{f"p{i}": pyabc.RV("uniform", p.lo, p.hi - p.lo)
                                  for i, p in enumerate(cal.priors)})
    abc = pyabc.ABCSMC(sim, prior, pyabc.PNormDistance(p=2), population_size=cal.particles,
                       sampler=_sampler(workers, client, cal.seed), eps=pyabc.MedianEpsilon())
    db = f"sqlite:///{Path(db_file).resolve()}"
    history = None
    if resume:
        try:
            history = abc.load(db, 1)
            history.max_t  # noqa: B018 (reads the stored run: fails if it was never written)
        except Exception:  # noqa: BLE001 (killed while the database was being created)
            history = None
            Path(db_file).unlink(missing_ok=True)
    if history is None:
        history = abc.new(db, sim.observed_stats(cal.observed))
    start = time.monotonic()
    times = []
    t = history.max_t + 1
    while t < cal.generations:
        if t > 0:
            last = history.get_all_populations().iloc[-1]
            if last["epsilon"] <= cal.min_epsilon:
                break
            rate = cal.particles / max(1, int(last["samples"]))
            if t > 1 and rate < cal.min_acceptance:  # (generation 0 samples the prior)
                if progress:
                    progress(f"calibrate: acceptance {100 * rate:.1f}% is below "
                             f"min_acceptance {100 * cal.min_acceptance:g}%: stopped")
                break
        if cal.max_minutes is not None and time.monotonic() - start > 60 * cal.max_minutes:
            if progress:
                progress(f"calibrate: stopped after {cal.max_minutes:g} minutes (max_minutes)")
            break
        np.random.seed(_generation_seed(cal.seed, t) % 2**32)
        abc._initial_population = None  # pyabc caches it per object: take generation t - 1
        began = time.monotonic()
        left = None if cal.max_minutes is None else dt.timedelta(
            seconds=max(1.0, 60 * cal.max_minutes - (began - start)))
        history = abc.run(max_nr_populations=1, minimum_epsilon=cal.min_epsilon,
                          max_walltime=left)
        times.append(time.monotonic() - began)
        pops = history.get_all_populations()
        row = pops[pops["t"] == t]
        if row.empty:
            break
        row = row.iloc[0]
        accepted = cal.particles
        rate = accepted / max(1, int(row["samples"]))
        eta = np.mean(times) * (cal.generations - t - 1)
        if progress:
            progress(f"calibrate: generation {t + 1}/{cal.generations}: "
                     f"epsilon {row['epsilon']:.4g}, "
                     f"acceptance {100 * rate:.1f}% ({accepted} of {int(row['samples'])} runs), "
                     f"{_clock(time.monotonic() - start)} so far, ETA {_clock(eta)}")
        t += 1
    return history


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600:d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def posterior_particles(cal: Calibration, history) -> pd.DataFrame:
    """The last generation's particles: one column per free parameter (natural scale), weight.

    Returns:
        ``generation``, the parameters' key paths, ``weight`` (summing to 1).
    """
    frame, w = history.get_distribution(m=0, t=history.max_t)
    out = {"generation": np.full(len(frame), history.max_t + 1, np.int64)}
    for i, p in enumerate(cal.priors):
        out[p.key] = [p.value(x) for x in frame[f"p{i}"].to_numpy()]
    out["weight"] = np.asarray(w, np.float64) / np.sum(w)
    return pd.DataFrame(out)


def _draws(particles: pd.DataFrame, keys: list[str], n: int, seed: int) -> list[list]:
    rng = np.random.default_rng(np.random.SeedSequence([seed & 0xFFFFFFFF, seed >> 32, 2]))
    idx = rng.choice(len(particles), size=n, p=particles["weight"].to_numpy())
    return [[_plain(particles[k].iloc[i]) for k in keys] for i in idx]


def _plain(v: Any) -> float | int:
    return int(v) if isinstance(v, (int, np.integer)) else float(v)


def forecast_runs(cal: Calibration, draws: list[list], *, workers: int = 1,
                  client: Any = None) -> dict[str, np.ndarray]:
    """Run each posterior draw to the horizon; stack the series as ``(draws, horizon + 1)``."""
    sim = Simulator(cal)
    jobs = [(values, cal.horizon, particle_seed(values, cal.seed, 1000 + i))
            for i, values in enumerate(draws)]
    if client is not None:
        results = client.gather(client.map(sim.forecast, jobs, pure=False))
    elif workers > 1:
        import concurrent.futures as cf
        import multiprocessing

        sim.graph()
        with cf.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as ex:
            results = list(ex.map(sim.forecast, jobs, chunksize=max(1, len(jobs) // (4 * workers))))
    else:
        results = [sim.forecast(job) for job in jobs]
    return {c: np.stack([r[c] for r in results]) for c in results[0]}


def calibrated_scenario(cal: Calibration, medians: dict[str, float]) -> Scenario:
    """The base scenario with the free parameters at ``medians``, the root seed, the horizon."""
    data = cal.scenario.model_dump(mode="python")
    for p in cal.priors:
        v = medians[p.key]
        data = sio.merge_scenario_data(data, nested(p.path, int(round(v)) if p.integer else v))
    data["seed"], data["steps"] = cal.seed, cal.horizon
    return sio.validate_scenario_data(data, {}, "calibrated")


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _write_csv(path: Path, table: pd.DataFrame) -> None:
    _write_text(path, table.to_csv(index=False, lineterminator="\n"))


def _write_parquet(path: Path, table: pd.DataFrame) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    table.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def _manifest(cal: Calibration, status: str, **extra: Any) -> dict:
    from .store import now, package_versions

    return {"kind": KIND, "status": status, "name": cal.name, "digest": cal.digest(),
            "seed": cal.seed, "particles": cal.particles, "generations": cal.generations,
            "horizon": cal.horizon, "period_days": cal.observed.period_days,
            "observed": cal.inputs[0] if cal.inputs else None,
            "free": {p.key: [p.low, p.high] + (["log"] if p.log else []) for p in cal.priors},
            "written": now(), "packages": package_versions(), **extra}


def prepare_out(cal: Calibration, out: Path, *, resume: bool, overwrite: bool) -> None:
    """Check ``out`` before anything runs (one line if it cannot be used).

    A fresh calibration needs an empty or new folder (or ``overwrite`` of a calibration
    folder); ``resume`` needs the folder of the same calibration.
    """
    from .outdir import check, has_content, may_replace

    check(out, overwrite=overwrite, resume=resume, inputs=cal.inputs)
    manifest = out / "manifest.json"
    if resume:
        try:
            info = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise OutputError(f"--out {out}: no calibration to resume (no readable "
                              "manifest.json); leave out --resume to start one") from None
        if info.get("kind") != KIND or not (out / DB).is_file():
            raise OutputError(f"--out {out}: not a calibration folder (no {DB}); leave out "
                              "--resume to start one")
        if info.get("digest") != cal.digest():
            raise OutputError(f"--out {out}: holds a calibration with other settings (scenario, "
                              "free parameters, observations, seed or particles); resume it "
                              "with the same ones, or choose another --out")
        return
    if has_content(out):
        if not overwrite:
            raise OutputError(f"--out {out}: folder exists and is not empty; use --overwrite "
                              "to replace it, --resume to continue it, or choose another --out")
        may_replace(out, cal.inputs)


def calibrate(cal: Calibration, out: str | os.PathLike, *, resume: bool = False,
              overwrite: bool = False, workers: int = 1, cluster: Any = None,
              progress: Callable[[str], None] | None = None) -> Result:
    """Calibrate, forecast, and write every output into ``out``.

    Args:
        cal: The calibration (:func:`load_calibration`, :func:`calibration_from_data`).
        out: The output folder (new or empty; ``overwrite`` replaces a calibration folder;
            ``resume`` continues the one there).
        resume: Continue the calibration in ``out``.
        overwrite: Replace ``out`` (a folder fishpond wrote).
        workers: Local processes.
        cluster: A Dask scheduler address (or Client).
        progress: Called with one line per stage and generation.

    Returns:
        The Result; ``out`` holds the files listed in the module docstring.

    Raises:
        FishpondError: a bad output folder or cluster (one line, before any run).
    """
    import shutil

    from .outdir import locked

    out = Path(out)
    prepare_out(cal, out, resume=resume, overwrite=overwrite)
    client, runner = None, None
    if cluster is not None:
        from .executors import DaskRunner

        runner = DaskRunner(cluster)
        client = runner.client
    say = progress or (lambda _text: None)
    if not resume and out.is_dir():
        for entry in out.iterdir():  # overwrite: checked above that fishpond wrote it
            if entry.name != ".fishpond.lock":
                shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else \
                    entry.unlink()
    out.mkdir(parents=True, exist_ok=True)
    try:
        with locked(out):
            from .store import write_json

            if not resume:
                write_json(out / "manifest.json", _manifest(cal, "running"))
            sim = Simulator(cal)
            say(f"calibrate: {len(cal.priors)} free parameters, {len(sim.keys)} observed "
                f"numbers up to day {cal.observed.last_day}; identifiability check "
                f"({(4 * len(cal.priors) + 1) * OAT_REPLICATES // 2 + 2} runs)")
            oat = one_at_a_time(cal, sim)
            history = run_abc(cal, out / DB, resume=resume, workers=workers, client=client,
                              progress=say)
            result = _finish(cal, out, history, oat, workers, client, say)
    finally:
        if runner is not None:
            runner.close()
    return result


def _finish(cal: Calibration, out: Path, history, oat: pd.DataFrame, workers: int, client: Any,
            say: Callable[[str], None]) -> Result:
    from .store import write_json

    particles = posterior_particles(cal, history)
    summary = posterior_summary(particles, cal.keys)
    scaled = particles.copy()
    for p in cal.priors:
        scaled[p.key] = [p.scale(v) for v in particles[p.key]]
    width = {p.key: 0.9 * (p.hi - p.lo) for p in cal.priors}
    ident = identifiability(posterior_summary(scaled, cal.keys), width, oat)
    say(f"calibrate: forecast from {cal.forecast_draws} posterior draws to day {cal.horizon}")
    draws = _draws(particles, cal.keys, cal.forecast_draws, cal.seed)
    runs = forecast_runs(cal, draws, workers=workers, client=client)
    members = runs["members"]
    forecast = forecast_table({c: runs[c] for c in cal.observed.columns},
                              cal.observed.frame(), cal.horizon)
    milestones = milestone_table(members, cal.scenario.milestones, cal.horizon)
    words = milestone_words(milestones, cal.horizon)
    pops = history.get_all_populations()
    gens = pd.DataFrame({"generation": pops["t"].to_numpy() + 1, "epsilon": pops["epsilon"],
                         "runs": pops["samples"]})
    gens = gens[gens["generation"] >= 1]

    medians = dict(zip(summary["parameter"], summary["median"]))
    calibrated = calibrated_scenario(cal, medians)
    files = ["posterior.parquet", "posterior_summary.csv", "identifiability.csv",
             "forecast.csv", "milestones.csv", "generations.csv", "calibrated.yaml",
             "posterior_sweep.yaml", "draws/"]
    _write_parquet(out / "posterior.parquet", particles)
    _write_csv(out / "posterior_summary.csv", summary)
    _write_csv(out / "identifiability.csv", ident)
    _write_csv(out / "forecast.csv", forecast)
    _write_csv(out / "milestones.csv", milestones)
    _write_csv(out / "generations.csv", gens)
    _write_text(out / "calibrated.yaml", f"# {cal.name}: the scenario at the posterior median "
                "(fishpond calibrate); run it with: fishpond run calibrated.yaml\n"
                + sio.scenario_to_yaml(calibrated))
    _write_draws(cal, out, draws[:DRAW_FILES])
    write_json(out / "manifest.json", _manifest(
        cal, "complete", generations_done=int(len(gens)),
        epsilon=None if gens.empty else float(gens["epsilon"].iloc[-1]),
        runs=int(gens["runs"].sum()), milestones=words,
        unidentified=ident.loc[~ident["identified"], "parameter"].tolist()))
    return Result(particles, summary, ident, forecast, milestones, gens, words,
                  ["manifest.json"] + files)


def _write_draws(cal: Calibration, out: Path, draws: list[list]) -> None:
    """``draws/draw-NNN.yaml`` (posterior draws) and ``posterior_sweep.yaml`` over them."""
    import yaml

    folder = out / "draws"
    folder.mkdir(exist_ok=True)
    names = []
    for i, values in enumerate(draws):
        sc = calibrated_scenario(cal, dict(zip(cal.keys, values)))
        sc = sc.model_copy(update={"name": f"{cal.scenario.name} posterior draw {i:03d}"})
        name = f"draw-{i:03d}.yaml"
        _write_text(folder / name, sio.scenario_to_yaml(sc))
        names.append(f"draws/{name}")
    experiment = {"name": f"{cal.name} posterior draws",
                  "description": "posterior draws of fishpond calibrate: run with "
                                 "'fishpond sweep posterior_sweep.yaml'",
                  "replicates": 1, "seed": cal.seed, "common_seeds": False,
                  "outputs": ["members", "day_inflection", "day_explosion"],
                  "design": {"kind": "scenarios", "files": names}}
    _write_text(out / "posterior_sweep.yaml", yaml.safe_dump(experiment, sort_keys=False))
