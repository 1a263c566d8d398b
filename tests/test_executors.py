"""Tests of sim.executors: one run as data, the local runner, the drive loop, Dask probing."""

from __future__ import annotations

import concurrent.futures as cf
import json
import socket
import struct
import subprocess
import sys
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from sim import executors
from sim.config import Scenario
from sim.executors import SERIES, LocalRunner, drive, execute

TINY = {"population": {"size": 60, "graph": {"kind": "barabasi_albert", "m": 2}},
        "seeding": {"count": 5}, "steps": 4}


def test_execute_a_run_returns_its_series():
    out = execute((7, Scenario.model_validate(TINY)))
    assert out["run_id"] == 7 and out["status"] == "ok" and out["error"] is None
    assert set(out["series"]) == set(SERIES)
    assert out["series"]["day"].tolist() == [0, 1, 2, 3, 4]
    assert all(a.dtype == np.int64 for a in out["series"].values())
    for name in SERIES[1:]:
        assert out["summary"][name] == out["series"][name][-1], name
    assert out["summary"]["steps"] == 4 and out["summary"]["population"] == 60
    assert out["duration"] > 0


def test_execute_never_raises_a_failure_is_one_line(tmp_path):
    sc = Scenario.model_validate({"population": {"size": 5, "graph": {
        "kind": "edgelist", "path": str(tmp_path / "missing.csv")}}, "seeding": {"count": 1}})
    out = execute((3, sc))
    assert out["status"] == "failed" and out["run_id"] == 3
    assert out["summary"] is None and out["series"] is None
    assert "\n" not in out["error"] and "missing.csv" in out["error"]


def test_local_runner_with_one_worker_runs_here():
    runner = LocalRunner(1)
    assert runner.window == 1 and runner.shared_crashes
    fut = runner.submit((1, Scenario.model_validate(TINY)))
    assert runner.wait([fut], timeout=0.0) == [fut]
    result, lost = runner.outcome(fut)
    assert lost is None and result["status"] == "ok"
    assert runner.pool is None  # no processes started
    runner.abort([])
    runner.close()


def test_local_runner_reports_a_lost_worker():
    from concurrent.futures.process import BrokenProcessPool

    runner = LocalRunner(2)
    fut: cf.Future = cf.Future()
    fut.set_exception(BrokenProcessPool("a child process\nterminated"))
    assert runner.outcome(fut) == (None, "worker lost (BrokenProcessPool: a child process "
                                         "terminated)")
    assert runner.broken


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork: Linux only")
def test_can_fork_until_numba_threads_are_started():
    code = ("import numba; from sim.executors import can_fork; a = can_fork(); "
            "numba.set_num_threads(1); print(a, can_fork())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.split() == ["True", "False"]


def test_local_workers_forked_or_spawned_give_the_same_runs(monkeypatch):
    results = {}
    for forked in (True, False):
        monkeypatch.setattr(executors, "can_fork", lambda forked=forked: forked)
        runner = LocalRunner(2)
        try:
            futs = [runner.submit((i, Scenario.model_validate({**TINY, "seed": i})))
                    for i in range(3)]
            assert runner.pool._mp_context.get_start_method() == (
                "fork" if forked else "spawn")
            outs = [runner.outcome(f) for f in futs]
        finally:
            runner.close()
        assert all(lost is None and r["status"] == "ok" for r, lost in outs)
        results[forked] = [(json.dumps(r["summary"], sort_keys=True),
                            {k: v.tolist() for k, v in r["series"].items()})
                           for r, _ in outs]
    assert results[True] == results[False]


def test_make_without_a_cluster_is_local():
    runner = executors.make(1)
    assert isinstance(runner, LocalRunner) and runner.workers == 1


# --- drive, with a runner that plays back scripted outcomes ----------------------------------


@dataclass
class Spec:
    run_id: int
    scenario: Any = None


class ScriptedRunner:
    """Outcomes by run id, one per attempt: "ok", "failed" or "lost" (a crashed worker)."""

    def __init__(self, script: dict[int, list[str]], shared_crashes: bool = True, window=2):
        self.script, self.shared_crashes, self.window = script, shared_crashes, window
        self.submitted: list[int] = []
        self.in_flight = 0

    def submit(self, job):
        run_id, _ = job
        self.submitted.append(run_id)
        self.in_flight += 1
        fut: cf.Future = cf.Future()
        fut.set_result(self.script[run_id].pop(0))
        return fut

    def wait(self, futures, timeout):
        return futures

    def outcome(self, fut):
        self.in_flight -= 1
        what = fut.result()
        if what == "lost":
            return None, "worker lost (boom)"
        return {"status": what, "error": None if what == "ok" else "E", "duration": 1.0,
                "summary": {}, "series": {}}, None

    def abort(self, futures):
        self.aborted = True


class Sink:
    def __init__(self):
        self.added: list[tuple[int, str, int]] = []
        self.flushes = 0

    def add(self, task, result, attempts):
        self.added.append((task.run_id, result["status"], attempts))

    def due(self):
        return False

    def flush(self):
        self.flushes += 1


def test_drive_retries_failed_runs_then_records_them():
    runner = ScriptedRunner({1: ["ok"], 2: ["failed", "ok"], 3: ["failed", "failed"]})
    sink, seen = Sink(), []
    drive(runner, [Spec(1), Spec(2), Spec(3)], sink, retries=1, total=5, done=2,
          progress=lambda *a: seen.append(a))
    assert sorted(sink.added) == [(1, "ok", 1), (2, "ok", 2), (3, "failed", 2)]
    assert seen[-1] == (5, 5, 1)  # done counts on from the runs done before
    assert [s[0] for s in seen] == [3, 4, 5]
    assert sink.flushes >= 1


def test_drive_runs_crash_suspects_alone_without_counting_the_crash():
    runner = ScriptedRunner({1: ["lost", "ok"], 2: ["lost", "lost"]}, shared_crashes=True)
    sink = Sink()
    drive(runner, [Spec(1), Spec(2)], sink, retries=0, total=2, done=0, progress=False)
    # a crash of a crowded run is not the run's fault: it runs again, alone; a crash of a
    # run alone is its own: failed, with the worker's words
    assert sorted(sink.added) == [(1, "ok", 1), (2, "failed", 1)]
    assert runner.submitted == [1, 2, 1, 2]


def test_drive_with_per_task_crashes_records_them_at_once():
    runner = ScriptedRunner({1: ["lost"]}, shared_crashes=False)
    sink = Sink()
    drive(runner, [Spec(1)], sink, retries=0, total=1, done=0, progress=False)
    assert sink.added == [(1, "failed", 1)]


def test_drive_interrupted_aborts_and_flushes():
    class Interrupting(ScriptedRunner):
        def wait(self, futures, timeout):
            raise KeyboardInterrupt

    runner, sink = Interrupting({1: ["ok"]}), Sink()
    with pytest.raises(KeyboardInterrupt):
        drive(runner, [Spec(1)], sink, retries=0, total=1, done=0, progress=False)
    assert runner.aborted and sink.flushes == 1 and sink.added == []


# --- Dask: the framing of a greeting, the probe, the warm-up order ----------------------------


def _frames(*frames: bytes) -> bytes:
    return struct.pack(f"<{1 + len(frames)}Q", len(frames), *map(len, frames)) + b"".join(frames)


def test_dask_frames():
    assert executors._dask_frames(_frames(b"hello", b"x"))
    assert not executors._dask_frames(_frames(b"hello") + b"extra")
    assert not executors._dask_frames(b"HTTP/1.1 400 Bad Request\r\n")
    assert not executors._dask_frames(struct.pack("<QQ", 0, 0))  # no frames
    assert not executors._dask_frames(b"")


def _serve_once(payload: bytes) -> tuple[str, threading.Thread]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def answer():
        conn, _ = server.accept()
        with conn:
            conn.sendall(payload)
            try:
                conn.recv(1 << 16)
            except OSError:
                pass
        server.close()

    t = threading.Thread(target=answer, daemon=True)
    t.start()
    return f"tcp://127.0.0.1:{server.getsockname()[1]}", t


def test_probe_accepts_a_dask_greeting():
    body = _frames(b"greeting")
    address, t = _serve_once(struct.pack("<Q", len(body)) + body)
    executors._probe(address, timeout=5)
    t.join(5)


def test_probe_refuses_another_server():
    address, t = _serve_once(b"SSH-2.0-OpenSSH_9.6\r\n")
    with pytest.raises(executors._NotAScheduler, match="not a Dask scheduler .*SSH-2.0"):
        executors._probe(address, timeout=5)
    t.join(5)


def test_probe_bad_addresses():
    with pytest.raises(ValueError):
        executors._probe("tcp://127.0.0.1", timeout=1)
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()
    with pytest.raises(OSError):
        executors._probe(f"tcp://127.0.0.1:{port}", timeout=1)
    executors._probe("inproc://x:1", timeout=1)  # other schemes: left to the client


def test_warm_order_one_alone_then_one_per_host_then_the_rest():
    nthreads = {"tcp://10.0.0.1:1": 1, "tcp://10.0.0.1:2": 1, "tcp://10.0.0.2:1": 1,
                "tcp://10.0.0.3:1": 1, "tcp://10.0.0.2:2": 1}
    assert executors._warm_order(nthreads) == [
        ["tcp://10.0.0.1:1"], ["tcp://10.0.0.2:1", "tcp://10.0.0.3:1"],
        ["tcp://10.0.0.1:2", "tcp://10.0.0.2:2"]]
    assert executors._warm_order({"tcp://h:1": 2}) == [["tcp://h:1"]]
    assert executors._warm_order({}) == []
