"""Where the runs of a sweep execute: this process, local worker processes, or a Dask cluster.

A run is a pure function of its scenario (whose seed is the run seed), so results are the
same whichever executor runs it and however many workers share the work. :func:`drive` keeps
a bounded number of runs in flight, retries failed runs and hands every finished run to a
*sink* (anything with ``add(task, result, attempts)``, ``due()`` and ``flush()``; a sweep's
sink writes batch files, see :class:`sim.experiments.RunRecorder`). This module knows tasks
only as objects with a ``run_id`` and a ``scenario``: it imports nothing of the designs.

- :class:`LocalRunner`: ``workers == 1`` runs in this process; more workers use a
  ``ProcessPoolExecutor``. On Linux, while Numba's thread pool is not started here
  (:func:`can_fork`), this process loads the Numba kernels once and the workers are forked
  from it, starting with them loaded; otherwise the "spawn" context, each worker warming
  the kernels once (the first worker alone, the others after it). The workers ignore
  Ctrl-C (the parent handles it) and die with the parent, even when it is killed with
  kill -9. A crashed worker breaks the pool: the runs that were in flight are re-run one at
  a time, so a run that crashes its worker is identified and recorded as failed without
  blaming the others.
- :class:`DaskRunner`: ``distributed.Client(address)`` with ``client.submit``, after checking
  within a timeout that a Dask scheduler answers at the address; the workers are warmed one
  first, then the others. Dask itself reschedules the runs of a lost worker (``KilledWorker``
  after its allowed failures).

Example:
    >>> from sim.executors import execute
    >>> from sim.scenario_io import load_scenario
    >>> scenario = load_scenario("fish_pond", ["population.size=300", "steps=5"])
    >>> execute((0, scenario))["status"]
    'ok'
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import math
import multiprocessing
import os
import signal
import struct
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from .errors import FishpondError

if TYPE_CHECKING:  # pragma: no cover
    from .config import Scenario

SERIES = ("day", "members", "kols", "actives", "lurkers", "churned")
CLUSTER_TIMEOUT = 10.0  # seconds to reach a Dask scheduler (--cluster-timeout)
WARM_WAIT = 900.0  # seconds a worker waits for the first worker's warm-up (a first compile)


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
    """Run a tiny model so that this process has loaded (or compiled) the Numba kernels.

    Its summary and timeseries are computed too, as :func:`execute` does, and it has
    referral joins, so that the summary's compiled functions are loaded here as well and
    not compiled later by every worker at once.
    """
    from .model import GrowthModel

    model = GrowthModel(None, rng=0, steps=3, seeding={"count": 5}, rules={"invite_rate": 0.5},
                        population={"size": 60, "graph": {"kind": "barabasi_albert", "m": 2}})
    model.run()
    model.summary()
    model.timeseries()


def die_with_parent(parent: int) -> None:
    """End this (worker) process as soon as process ``parent`` ends, even by kill -9.

    On Linux the kernel sends SIGKILL when the parent dies (``prctl(PR_SET_PDEATHSIG)``).
    That signal follows the parent *thread* that started this process and other systems
    have no such call, so a daemon thread also checks every second that ``parent`` is still
    the parent (an orphan is adopted by another process) and ends this process if not.
    """
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(ctypes.c_int(1), ctypes.c_ulong(signal.SIGKILL),  # 1: PR_SET_PDEATHSIG
                       ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0))
        except (OSError, AttributeError):  # no libc prctl: the thread below still watches
            pass
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="fishpond-watch-parent", daemon=True).start()


def warm_after_first(first: Any, warmed: Any, warm_up: Callable[[], None] | None = None) -> None:
    """Warm this worker's kernels; the first worker to get here warms alone, the others after it.

    With an empty Numba cache the first warm-up compiles the kernels and writes the cache;
    the other workers then load it instead of compiling the same kernels at the same moment.

    Args:
        first: a lock shared by the workers; whoever takes it first is the first worker
            (it is never released, so a first worker that crashes blocks nobody).
        warmed: an event shared by the workers, set when the first worker has warmed up;
            the others wait for it at most ``WARM_WAIT`` seconds.
        warm_up: what warming means (default :func:`_warm_quietly`; replaceable in tests).
    """
    warm_up = warm_up or _warm_quietly
    if first.acquire(False):
        try:
            warm_up()
        finally:
            warmed.set()
    else:
        warmed.wait(WARM_WAIT)
        warm_up()


def _init_worker(parent: int, first: Any = None, warmed: Any = None) -> None:
    """A worker's start: dies with ``parent``, leaves Ctrl-C to it, runs on one thread.

    A spawned worker also warms its kernels (``first`` and ``warmed``: see
    :func:`warm_after_first`); a forked one has them already (both None).
    """
    from .threads import single_threaded

    die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    single_threaded()  # the worker processes already fill the cores
    if first is not None:
        warm_after_first(first, warmed)  # a broken warm-up shows up in the first run instead


def can_fork() -> bool:
    """Whether local workers may be forked from this process, inheriting its loaded kernels.

    On Linux only (elsewhere fork is unsafe or missing), and only while Numba's thread pool
    has not been started in this process (a run of at least ``PARALLEL_MIN`` persons starts
    it): a forked child would inherit a pool without its threads.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        from numba.np.ufunc import parallel
    except ImportError:  # pragma: no cover (Numba is a dependency)
        return False
    return not getattr(parallel, "_is_initialized", True)


# --- executors -------------------------------------------------------------------------------


def _crash_text(e: BaseException) -> str:
    return f"worker lost ({type(e).__name__}: {e})".replace("\n", " ")


class LocalRunner:
    """Runs in this process (``workers == 1``) or in a pool of local processes.

    The pool's processes are forked or spawned: see the module docstring.
    """

    shared_crashes = True  # a crashed worker fails every run in flight

    def __init__(self, workers: int) -> None:
        """Run on ``workers`` processes (1: in this process); the pool starts on first use.

        Two runs per worker are in flight, so that a worker starts its next run as soon as
        it has sent a result, not after the parent has received it and submitted another.
        """
        self.workers, self.window = workers, 1 if workers == 1 else 2 * workers
        self.pool: cf.ProcessPoolExecutor | None = None
        self.broken = False

    def _start(self) -> None:
        self.close()
        if can_fork():  # warmed here once; the workers start with the kernels loaded
            _warm_quietly()
        if can_fork():  # (asked again: the warm-up must not have started Numba's threads)
            context = multiprocessing.get_context("fork")
            initargs: tuple = (os.getpid(),)
        else:
            context = multiprocessing.get_context("spawn")
            initargs = (os.getpid(), context.Lock(), context.Event())
        self.pool = cf.ProcessPoolExecutor(max_workers=self.workers, mp_context=context,
                                           initializer=_init_worker, initargs=initargs)
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

    def __init__(self, cluster: Any, timeout: float = CLUSTER_TIMEOUT) -> None:
        """Connect to ``cluster`` (an address or a Client) within ``timeout`` seconds.

        Raises:
            FishpondError: nothing answers there as a Dask scheduler (one line).
        """
        from distributed import Client

        if isinstance(cluster, Client):
            self.client, self.own = cluster, False
        else:
            start = f"--cluster {cluster}: "
            hint = ("; start one with 'dask scheduler' and workers with 'dask worker ADDRESS', "
                    "or leave out --cluster")
            try:
                _probe(str(cluster), timeout)  # fail fast, before a half-made Client hangs
                self.client = Client(cluster, timeout=f"{timeout}s", set_as_default=False)
            except _NotAScheduler as e:
                raise FishpondError(_one_line(start + str(e) + hint)) from None
            except (OSError, TimeoutError, ValueError, TypeError) as e:
                raise FishpondError(_one_line(
                    f"{start}cannot connect to a Dask scheduler ({type(e).__name__}: {e})"
                    + hint)) from None
            self.own = True
        try:
            for group in _warm_order(self.client.nthreads()):
                self.client.run(_warm_quietly, workers=group)
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


class _NotAScheduler(Exception):
    """Something answers at a --cluster address, but not as a Dask scheduler."""


def _one_line(text: str) -> str:
    return text.replace("\r", " ").replace("\n", " ")


def _probe(address: str, timeout: float = CLUSTER_TIMEOUT) -> None:
    """Check, within ``timeout`` seconds, that a Dask scheduler answers at ``address``.

    A Dask scheduler greets every new TCP connection with a handshake message: an 8-byte
    length, then that many bytes holding an 8-byte frame count, the frames' 8-byte lengths
    and the frames. The greeting is read with a deadline and its framing checked, so that
    a silent port, or a server of another kind (whose first bytes, read as a length, ask
    for exabytes), is refused instead of hanging ``distributed.Client`` or crashing it. The
    greeting is then sent back (a valid handshake) so the scheduler sees an ordinary
    connection that closes. Addresses other than ``tcp://`` are left to the client's timeout.

    Raises:
        ValueError: not an address with a port.
        OSError: nothing listens there (connection refused, unknown host, ...).
        _NotAScheduler: no greeting within ``timeout``, or not a Dask scheduler's.
    """
    import socket

    from distributed.comm.addressing import parse_address, parse_host_port

    scheme, loc = parse_address(address)
    host, port = parse_host_port(loc)  # ValueError: missing port number
    if scheme != "tcp":
        return
    deadline = time.monotonic() + timeout
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except TimeoutError:
        raise _NotAScheduler(f"no connection within {timeout:g} s (raise --cluster-timeout "
                             "for a slow network)") from None
    with sock:
        def read(n: int, got: bytes = b"") -> bytes:
            while len(got) < n:
                sock.settimeout(max(deadline - time.monotonic(), 0.001))
                try:
                    chunk = sock.recv(min(n - len(got), 65536))
                except TimeoutError:
                    raise _NotAScheduler(
                        f"no greeting within {timeout:g} s: not a Dask scheduler (or a slow "
                        "one: raise --cluster-timeout)") from None
                if not chunk:
                    raise _NotAScheduler(
                        "the server there closed the connection without a Dask scheduler's "
                        f"greeting{f' (it sent {got[:40]!r})' if got else ''}")
                got += chunk
            return got

        head = read(8)
        (size,) = struct.unpack("<Q", head)
        body = read(8 + size, head)[8:] if 16 <= size <= 1 << 20 else b""
        if not _dask_frames(body):
            if not body:  # show a little more of what it sends, if it comes at once
                with contextlib.suppress(OSError):
                    sock.settimeout(0.2)
                    body = sock.recv(32)
            sent = (head + body)[:40]
            raise _NotAScheduler(f"the server there is not a Dask scheduler (it sent {sent!r})")
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        with contextlib.suppress(OSError):  # a scheduler; the client says if it is unreachable
            sock.sendall(head + body)


def _dask_frames(body: bytes) -> bool:
    """Whether ``body`` is framed as Dask frames: count, lengths, then whole frames."""
    if len(body) < 16:
        return False
    (count,) = struct.unpack_from("<Q", body)
    if not 1 <= count <= 64 or 8 * (1 + count) > len(body):
        return False
    at = 8 * (1 + count)
    for length in struct.unpack_from(f"<{count}Q", body, 8):
        at += length
        if at == len(body):
            return True
    return False


def _warm_order(nthreads: dict[str, int]) -> list[list[str]]:
    """Dask workers in warm-up rounds: one alone, then one per other host, then the others.

    With an empty Numba cache the first worker of a machine compiles and writes the cache;
    its neighbours then load it instead of compiling the same kernels at the same moment.
    """
    from distributed.comm.addressing import get_address_host

    rounds: list[list[str]] = [[], [], []]
    hosts: set[str] = set()
    for address in sorted(nthreads):
        host = get_address_host(address)
        rounds[0 if not hosts else 2 if host in hosts else 1].append(address)
        hosts.add(host)
    return [r for r in rounds if r]


def _warm_quietly() -> None:
    try:
        warm()
    except Exception:  # noqa: BLE001
        pass


def make(workers: int, cluster: Any = None,
         cluster_timeout: float = CLUSTER_TIMEOUT) -> LocalRunner | DaskRunner:
    """A runner: a Dask cluster if ``cluster`` is given, else ``workers`` local processes.

    ``cluster_timeout``: seconds allowed to reach the cluster's scheduler.
    """
    if cluster is not None:
        return DaskRunner(cluster, cluster_timeout)
    if workers > 1:
        from .kernels import cache_present

        if not cache_present():
            warm()  # compile once here; the workers then load the cache
    return LocalRunner(workers)


# --- the loop --------------------------------------------------------------------------------


class Task(Protocol):
    """What :func:`drive` needs of a task: an id and the scenario to run."""

    run_id: int
    scenario: Scenario


class Sink(Protocol):
    """Where :func:`drive` puts finished runs."""

    def add(self, task: Any, result: dict, attempts: int) -> None:
        """Take one finished run (ok or failed) and how many times it ran."""

    def due(self) -> bool:
        """Whether :meth:`flush` should be called now."""

    def flush(self) -> None:
        """Write what was added."""


def drive(runner: LocalRunner | DaskRunner, todo: list[Task], sink: Sink, *, retries: int,
          total: int, done: int, progress: bool | Callable[[int, int, int], None]) -> None:
    """Run ``todo`` on ``runner``; every finished run goes to ``sink``.

    A failed run is retried ``retries`` times, then recorded with status ``failed``. On
    KeyboardInterrupt the workers are stopped, the finished runs are written, and the
    interrupt is raised again.

    Args:
        runner: Where the runs execute (:func:`make`).
        todo: The tasks to run, each with ``run_id`` and ``scenario``.
        sink: Takes every finished run (``add``) and writes them (``flush``).
        retries: Retries of a failed run.
        total: All runs of the design (for the progress bar).
        done: Runs already done before this call.
        progress: True for a tqdm bar, or a callable ``(done, total, failed)``.
    """
    from .progress import progress_bar

    bar = progress_bar(total, "sweep", unit="run", initial=done, enabled=progress is True,
                       smoothing=0.05)
    report = progress if callable(progress) else None
    queue, isolate = deque(todo), deque()
    attempts: dict[int, int] = {}
    pending: dict[Any, tuple[Task, bool]] = {}
    failed = 0

    def submit(spec: Task, alone: bool) -> None:
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
                sink.add(spec, result, attempts[spec.run_id])
                done += 1
                bar.update(1)
                bar.set_postfix(failed=failed, refresh=False)
                if report is not None:
                    report(done, total, failed)
            if sink.due():
                sink.flush()
        sink.flush()
    except KeyboardInterrupt:
        runner.abort(list(pending))
        sink.flush()
        raise
    finally:
        bar.close()
