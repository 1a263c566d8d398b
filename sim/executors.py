"""Where the runs of a sweep execute: this process, local worker processes, or a Dask cluster.

A run is a pure function of its scenario (whose seed is the run seed), so results are the
same whichever executor runs it and however many workers share the work. :func:`drive` keeps
a bounded number of runs in flight, retries failed runs, turns finished runs into result rows
and hands them to a :class:`sim.store.BatchWriter`.

- :class:`LocalRunner`: ``workers == 1`` runs in this process; more workers use a
  ``ProcessPoolExecutor`` with the "spawn" context, each worker warming the Numba kernels
  once and ignoring Ctrl-C (the parent handles it). A crashed worker breaks the pool: the
  runs that were in flight are re-run one at a time, so a run that crashes its worker is
  identified and recorded as failed without blaming the others.
- :class:`DaskRunner`: ``distributed.Client(address)`` with ``client.submit``; Dask itself
  reschedules the runs of a lost worker (``KilledWorker`` after its allowed failures).

Example:
    >>> from sim.executors import execute
    >>> from sim.experiments import expand, load_experiment
    >>> spec = expand(load_experiment("seed_count"))[0]  # doctest: +SKIP
    >>> execute((spec.run_id, spec.scenario))["status"]  # doctest: +SKIP
    'ok'
"""

from __future__ import annotations

import concurrent.futures as cf
import math
import multiprocessing
import signal
import time
import traceback
from collections import deque
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .errors import FishpondError

if TYPE_CHECKING:  # pragma: no cover
    from .config import Scenario
    from .experiments import RunSpec
    from .store import BatchWriter

SERIES = ("day", "members", "kols", "actives", "lurkers", "churned")


# --- in the worker ---------------------------------------------------------------------------


def execute(job: tuple[int, Scenario]) -> dict:
    """Run one model; never raises: an exception becomes ``status: failed`` with its text.

    Returns:
        ``{"run_id", "status", "error", "duration", "summary", "series"}`` where ``series``
        maps SERIES names to int arrays of one value per recorded day.
    """
    from .model import GrowthModel

    run_id, scenario = job
    start = time.perf_counter()
    try:
        model = GrowthModel(scenario)
        model.run()
        ts = model.timeseries()
        return {"run_id": run_id, "status": "ok", "error": None,
                "duration": time.perf_counter() - start, "summary": model.summary(),
                "series": {c: ts[c].to_numpy(np.int64) for c in SERIES}}
    except Exception as e:  # noqa: BLE001 (a run's failure is data, not a crash of the sweep)
        where = traceback.extract_tb(e.__traceback__)[-1] if e.__traceback__ else None
        at = f" (at {where.filename.rsplit('/', 1)[-1]}:{where.lineno})" if where else ""
        text = f"{type(e).__name__}: {e}{at}".replace("\r", " ").replace("\n", " ")
        return {"run_id": run_id, "status": "failed", "error": text,
                "duration": time.perf_counter() - start, "summary": None, "series": None}


def warm() -> None:
    """Run a tiny model so that this process has loaded (or compiled) the Numba kernels."""
    from .model import GrowthModel

    GrowthModel(None, rng=0, population={"size": 60, "graph": {"kind": "barabasi_albert", "m": 2}},
                seeding={"count": 5}, steps=3).run()


def _init_worker() -> None:
    from .kernels import single_threaded

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    single_threaded()  # the worker processes already fill the cores
    try:
        warm()
    except Exception:  # noqa: BLE001 (a broken warm-up shows up in the first run instead)
        pass


# --- executors -------------------------------------------------------------------------------


def _crash_text(e: BaseException) -> str:
    return f"worker lost ({type(e).__name__}: {e})".replace("\n", " ")


class LocalRunner:
    """Runs in this process (``workers == 1``) or in a pool of spawned local processes."""

    shared_crashes = True  # a crashed worker fails every run in flight

    def __init__(self, workers: int) -> None:
        self.workers, self.window = workers, workers
        self.pool: cf.ProcessPoolExecutor | None = None
        self.broken = False

    def _start(self) -> None:
        self.close()
        self.pool = cf.ProcessPoolExecutor(
            max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker)
        self.broken = False

    def submit(self, job: tuple) -> cf.Future:
        """Start one run; with one worker it runs here and now."""
        if self.workers == 1:
            fut: cf.Future = cf.Future()
            fut.set_result(execute(job))
            return fut
        if self.pool is None or self.broken:
            self._start()
        return self.pool.submit(execute, job)

    def wait(self, futures: list, timeout: float) -> list:
        """The futures that finished within ``timeout`` seconds (at least one if any did)."""
        return list(cf.wait(futures, timeout=timeout, return_when=cf.FIRST_COMPLETED)[0])

    def outcome(self, fut: cf.Future) -> tuple[dict | None, str | None]:
        """(result, None), or (None, why the worker was lost)."""
        try:
            return fut.result(), None
        except BrokenProcessPool as e:
            self.broken = True
            return None, _crash_text(e)

    def abort(self, futures: list) -> None:
        """Stop now: kill the workers (runs in flight are lost; they were not recorded)."""
        if self.pool is None:
            return
        procs = list(getattr(self.pool, "_processes", {}).values())
        self.pool.shutdown(wait=False, cancel_futures=True)
        for p in procs:
            p.terminate()
        for p in procs:
            p.join(5)
        self.pool = None

    def close(self) -> None:
        """Shut the pool down (waits for nothing: every submitted run has finished)."""
        if self.pool is not None:
            self.pool.shutdown(wait=not self.broken, cancel_futures=True)
            self.pool = None


class DaskRunner:
    """Runs on a Dask distributed cluster (every worker needs fishpond installed)."""

    shared_crashes = False  # Dask reports a lost worker per task

    def __init__(self, cluster: Any) -> None:
        from distributed import Client

        if isinstance(cluster, Client):
            self.client, self.own = cluster, False
        else:
            try:
                _probe(str(cluster))  # fail fast, before a half-made Client hangs at exit
                self.client = Client(cluster, timeout="10s", set_as_default=False)
            except (OSError, TimeoutError, ValueError, TypeError) as e:
                raise FishpondError(
                    f"--cluster {cluster}: cannot connect to a Dask scheduler "
                    f"({type(e).__name__}: {e}); start one with 'dask scheduler' and workers with "
                    "'dask worker ADDRESS', or leave out --cluster".replace("\n", " ")) from None
            self.own = True
        try:
            self.client.run(_warm_quietly)
        except Exception:  # noqa: BLE001 (warming is an optimisation)
            pass
        self.window = max(8, 2 * sum(self.client.nthreads().values()))

    def submit(self, job: tuple) -> Any:
        """Submit one run (``pure=False``: a retry is a new task)."""
        return self.client.submit(execute, job, pure=False, key=f"fishpond-run-{job[0]}-"
                                  f"{time.monotonic_ns()}")

    def wait(self, futures: list, timeout: float) -> list:
        """The futures that finished within ``timeout`` seconds."""
        from distributed import wait

        try:
            with self.client.as_current():
                return list(wait(futures, timeout=timeout, return_when="FIRST_COMPLETED").done)
        except TimeoutError:
            return []

    def outcome(self, fut: Any) -> tuple[dict | None, str | None]:
        """(result, None), or (None, why the task was lost)."""
        try:
            return fut.result(), None
        except Exception as e:  # noqa: BLE001 (KilledWorker, CancelledError, comm errors)
            return None, _crash_text(e)

    def abort(self, futures: list) -> None:
        """Cancel the runs in flight."""
        try:
            self.client.cancel(futures)
        except Exception:  # noqa: BLE001
            pass
        self.close()

    def close(self) -> None:
        """Close the client if this runner opened it."""
        if self.own and self.client.status not in ("closing", "closed"):
            self.client.close()


def _probe(address: str) -> None:
    """Raise ValueError/OSError if a ``tcp://host:port`` scheduler address is unreachable."""
    import socket

    from distributed.comm.addressing import parse_address, parse_host_port

    scheme, loc = parse_address(address)
    host, port = parse_host_port(loc)  # ValueError: missing port number
    if scheme == "tcp":
        socket.create_connection((host, port), timeout=5).close()


def _warm_quietly() -> None:
    try:
        warm()
    except Exception:  # noqa: BLE001
        pass


def make(workers: int, cluster: Any = None) -> LocalRunner | DaskRunner:
    """A runner: a Dask cluster if ``cluster`` is given, else ``workers`` local processes."""
    if cluster is not None:
        return DaskRunner(cluster)
    if workers > 1:
        from .kernels import cache_present

        if not cache_present():
            warm()  # compile once here; the workers then load the cache
    return LocalRunner(workers)


# --- the loop --------------------------------------------------------------------------------


def _flatten(summary: dict) -> dict:
    """A run summary as flat table columns (milestones → day_<level>, funnel → funnel_*)."""
    s = dict(summary)
    s.pop("seed", None)
    s["scenario_name"] = s.pop("scenario", None)
    for level, day in (s.pop("milestones", None) or {}).items():
        s[f"day_{level}"] = day
    for stage, count in (s.pop("funnel", None) or {}).items():
        s.setdefault(f"funnel_{stage}", count)
    return {k: math.nan if v is None else v for k, v in s.items()}


def result_row(spec: RunSpec, result: dict, attempts: int, experiment_hash: str) -> dict:
    """One row of the results table for a finished (ok or failed) run."""
    row = {"run_id": spec.run_id, "experiment": experiment_hash,
           "scenario_hash": spec.scenario_hash, "point": spec.point, **spec.params,
           "replicate": spec.replicate, "seed": spec.seed, "status": result["status"],
           "error": result["error"], "attempts": attempts, "duration": float(result["duration"]),
           "scenario_name": spec.scenario.name}
    if result["summary"] is not None:
        row.update(_flatten(result["summary"]))
    return row


def _series(spec: RunSpec, result: dict) -> pd.DataFrame | None:
    if result["series"] is None:
        return None
    frame = pd.DataFrame(result["series"])
    frame.insert(0, "run_id", np.int64(spec.run_id))
    return frame


def drive(runner: LocalRunner | DaskRunner, todo: list[RunSpec], writer: BatchWriter, *,
          experiment_hash: str, retries: int, total: int, done: int,
          progress: bool | Callable[[int, int, int], None]) -> None:
    """Run ``todo`` on ``runner``; every finished run goes to ``writer``.

    A failed run is retried ``retries`` times, then recorded with status ``failed``. On
    KeyboardInterrupt the workers are stopped, the finished runs are written, and the
    interrupt is raised again.
    """
    from .progress import progress_bar

    bar = progress_bar(total, "sweep", unit="run", initial=done, enabled=progress is True,
                       smoothing=0.05)
    report = progress if callable(progress) else None
    queue, isolate = deque(todo), deque()
    attempts: dict[int, int] = {}
    pending: dict[Any, tuple[RunSpec, bool]] = {}
    failed = 0

    def submit(spec: RunSpec, alone: bool) -> None:
        attempts[spec.run_id] = attempts.get(spec.run_id, 0) + 1
        pending[runner.submit((spec.run_id, spec.scenario))] = (spec, alone)

    try:
        while queue or isolate or pending:
            if isolate:  # suspects of a worker crash run alone until cleared
                if not pending:
                    submit(isolate.popleft(), True)
            else:
                while queue and len(pending) < runner.window:
                    submit(queue.popleft(), False)
            for fut in runner.wait(list(pending), timeout=1.0):
                spec, alone = pending.pop(fut)
                result, lost = runner.outcome(fut)
                if lost is not None:
                    if runner.shared_crashes and not alone:
                        attempts[spec.run_id] -= 1
                        isolate.append(spec)
                        continue
                    result = {"status": "failed", "error": lost, "duration": math.nan,
                              "summary": None, "series": None}
                if result["status"] == "failed" and attempts[spec.run_id] <= retries:
                    (isolate.appendleft if alone else queue.appendleft)(spec)
                    continue
                failed += result["status"] == "failed"
                writer.add(result_row(spec, result, attempts[spec.run_id], experiment_hash),
                           _series(spec, result))
                done += 1
                bar.update(1)
                bar.set_postfix(failed=failed, refresh=False)
                if report is not None:
                    report(done, total, failed)
            if writer.due():
                writer.flush()
        writer.flush()
    except KeyboardInterrupt:
        runner.abort(list(pending))
        writer.flush()
        raise
    finally:
        bar.close()
