"""Experiment files, their expansion into runs, sweeps on every executor, resume, failures."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.errors import FishpondError, ScenarioError
from sim.executors import warm_after_first
from sim.experiments import (
    EXPERIMENTS_DIR,
    analyze,
    expand,
    experiment_from_dict,
    experiment_hash,
    load_experiment,
    run_sweep,
)
from sim.store import read_manifest, read_results, read_timeseries

TINY = {"population": {"size": 300}, "steps": 20, "seeding": {"count": 20}}
GRID = {
    "scenario": "fish_pond", "replicates": 3, "seed": 5, "overrides": TINY,
    "design": {"kind": "grid", "parameters": {
        "seeding.count": [10, 30], "rules.invite_rate": [0.004, 0.01],
        "seeding.strategy": "degree"}},
}


def grid(**changes) -> dict:
    return {**GRID, **changes}


def same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Row-for-row equality of two result tables, except the wall-clock duration."""
    pd.testing.assert_frame_equal(a.drop(columns="duration"), b.drop(columns="duration"))


# --- expansion -------------------------------------------------------------------------------


def test_grid_expands_lists_to_their_product_and_keeps_scalars_constant():
    exp = experiment_from_dict(grid(design={"kind": "grid", "parameters": {
        "seeding.count": [10, 20, 30], "rules.invite_rate": [0.001, 0.002],
        "seeding.strategy": "random"}}))
    runs = expand(exp)
    assert len(runs) == 3 * 2 * 3
    assert [r.run_id for r in runs] == list(range(18))
    assert all(r.point == r.run_id // 3 and r.replicate == r.run_id % 3 for r in runs)
    combos = {(r.params["seeding.count"], r.params["rules.invite_rate"]) for r in runs}
    assert combos == {(c, q) for c in (10, 20, 30) for q in (0.001, 0.002)}
    for r in runs:
        assert r.scenario.seeding.count == r.params["seeding.count"]
        assert r.scenario.rules.invite_rate == r.params["rules.invite_rate"]
        assert r.scenario.seeding.strategy == "random" == r.params["seeding.strategy"]
        assert r.scenario.population.size == 300 and r.scenario.steps == 20  # overrides
        assert r.scenario.seed == r.seed
    hashes = {r.point: r.scenario_hash for r in runs}
    assert len(set(hashes.values())) == 6


def test_seeds_are_deterministic_distinct_and_shared_across_points():
    runs = expand(experiment_from_dict(grid(replicates=4)))
    again = expand(experiment_from_dict(grid(replicates=4)))
    assert [r.seed for r in runs] == [r.seed for r in again]
    by_point = pd.DataFrame([(r.point, r.replicate, r.seed) for r in runs],
                            columns=["point", "replicate", "seed"])
    assert by_point.groupby("point").seed.nunique().eq(4).all()
    assert by_point.groupby("replicate").seed.nunique().eq(1).all()  # common random numbers
    apart = expand(experiment_from_dict(grid(replicates=4, common_seeds=False)))
    assert len({r.seed for r in apart}) == len(apart)
    other = expand(experiment_from_dict(grid(replicates=4, seed=6)))
    assert not {r.seed for r in other} & {r.seed for r in runs}
    assert all(0 <= r.seed < 2**63 for r in runs)


BOUNDS = {"rules.invite_rate": [0.002, 0.008], "rules.decay": [0.005, 0.02],
          "seeding.count": [10, 50]}


@pytest.mark.parametrize("design,points", [
    ({"kind": "sobol", "samples": 8}, 8 * (3 + 2)),
    ({"kind": "sobol", "samples": 8, "second_order": True}, 8 * (2 * 3 + 2)),
    ({"kind": "morris", "samples": 4, "levels": 4}, 4 * (3 + 1)),
    ({"kind": "lhs", "samples": 10}, 10),
    ({"kind": "random", "samples": 7}, 7),
])
def test_sampled_designs_have_the_documented_size_and_stay_in_bounds(design, points):
    exp = experiment_from_dict(grid(replicates=2, design={**design, "parameters": BOUNDS}))
    runs = expand(exp)
    assert len(runs) == 2 * points
    df = pd.DataFrame([r.params for r in runs])
    for key, (low, high) in BOUNDS.items():
        assert df[key].between(low, high).all(), key
    assert all(isinstance(r.params["seeding.count"], int) for r in runs)  # integers rounded
    assert all(r.scenario.seeding.count == r.params["seeding.count"] for r in runs)
    assert [r.params for r in runs] == [r.params for r in expand(
        experiment_from_dict(grid(replicates=2, design={**design, "parameters": BOUNDS})))]
    if design["kind"] == "lhs":  # one sample in each of the 10 strata of every parameter
        unit = (df.iloc[::2]["rules.invite_rate"] - 0.002) / 0.006
        assert sorted((unit * 10).astype(int)) == list(range(10))


def test_scenarios_design_and_the_shipped_experiments():
    runs = expand(load_experiment("compare_strategies"))
    names = ["fish_pond", "random_seeds", "no_feed", "mass_pull", "paid_ads"]
    assert [r.params["scenario"] for r in runs[::20]] == names
    assert len({r.scenario_hash for r in runs}) == 5
    assert runs[0].scenario.population.size == 100_000 and runs[0].scenario.steps == 365
    assert len(expand(load_experiment("seed_count"))) == 15 * 20
    feeding = load_experiment("feeding_grid")
    assert feeding.design.kind == "grid" and set(feeding.design.parameters) == {
        "program.content_per_week", "program.activities_per_month"}
    sens = load_experiment(EXPERIMENTS_DIR / "sensitivity.yaml")
    assert sens.design.kind == "sobol" and set(sens.design.parameters) == {
        "rules.invite_rate", "rules.convert_prob", "rules.churn_base", "rules.decay",
        "rules.fatigue", "program.content_gain"}


BAD = [  # (file text, line, words in the message)
    ("scenario: fish_pond\nreplicate: 3\ndesign: {kind: grid, parameters: {steps: 5}}\n",
     2, ["replicate", "did you mean 'replicates'"]),
    ("scenario: fish_pond\ndesign:\n  kind: grid\n  parameters:\n    rules.invite_rat: [0.1]\n",
     5, ["rules.invite_rat", "invite_rate"]),
    (("scenario: fish_pond\ndesign:\n  kind: grid\n  parameters:\n    rules.invite_rate:\n"
      "      - 0.1\n      - 2\n"), 7, ["rules.invite_rate = 2", "must be <= 1"]),
    ("scenario: fish_pond\ndesign:\n  kind: gird\n", 3, ["unknown design kind", "grid"]),
    (("scenario: fish_pond\ndesign:\n  kind: sobol\n  samples: 8\n  parameters:\n"
      "    rules.decay: [0.2, 0.1]\n"), 6, ["rules.decay", "low < high"]),
    (("scenario: fish_pond\ndesign:\n  kind: lhs\n  samples: 8\n  parameters:\n"
      "    seeding.strategy: [0, 1]\n"), 6, ["seeding.strategy", "not a number"]),
    (("scenario: fish_pond\ndesign:\n  kind: sobol\n  samples: 10\n  parameters:\n"
      "    rules.decay: [0.1, 0.2]\n"), 4, ["design.samples = 10", "power of 2"]),
    (("scenario: fish_pond\ndesign:\n  kind: morris\n  samples: 4\n  parameters:\n"
      "    rules.decay: [0.1]\n"), 6, ["rules.decay", "[low, high]"]),
    ("replicates: 2\ndesign: {kind: grid, parameters: {steps: 5}}\n", None,
     ["scenario", "required key missing"]),
    ("scenario: fish_pnd\ndesign: {kind: grid, parameters: {steps: 5}}\n", 1,
     ["fish_pnd", "scenario file not found"]),
    (("scenario: fish_pond\noverrides:\n  rules:\n    invite: 0.1\n"
      "design: {kind: grid, parameters: {steps: 5}}\n"), 4,
     ["rules.invite", "did you mean 'invite_"]),
    (("scenario: fish_pond\noverrides: {population: {size: 300}}\ndesign:\n  kind: grid\n"
      "  parameters:\n    seeding.count: [10, 500]\n"), 6,
     ["seeding.count = 500", "population.size"]),
    ("scenario: fish_pond\nreplicates: 0\ndesign: {kind: grid, parameters: {steps: 5}}\n", 2,
     ["replicates = 0", "must be >= 1"]),
    ("scenario: fish_pond\ndesign: {kind: grid, parameters: {seed: [1, 2]}}\n", 2,
     ["seed", "replicates"]),
    ("design:\n  kind: scenarios\n  files: [fish_pond, nope]\n", 3, ["nope", "not found"]),
    (("scenario: fish_pond\noutputs: [members, day_inflexion]\n"
      "design: {kind: grid, parameters: {steps: 5}}\n"), 2, ["day_inflexion", "day_inflection"]),
    ("scenario: fish_pond\ndesign: {kind: grid, parameters: {steps: [5\n", 3, ["YAML syntax"]),
    ("", None, ["empty experiment file"]),
    ("scenario: fish_pond\noutputs: []\ndesign: {kind: grid, parameters: {steps: 5}}\n", 2,
     ["outputs = []", "too few items (at least 1)"]),
]


@pytest.mark.parametrize("text,line,words", BAD)
def test_bad_experiment_files_give_one_line_with_file_and_line(text, line, words, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as info:
        load_experiment(path)
    message = str(info.value)
    assert "\n" not in message and "bad.yaml" in message, message
    if line is not None:
        assert f"bad.yaml:{line}:" in message, message
    for word in words:
        assert word in message, message


# --- sweeps ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> pd.DataFrame:
    """The grid experiment swept in this process (workers=1)."""
    out = run_sweep(experiment_from_dict(grid()), tmp_path_factory.mktemp("ref") / "sweep",
                    workers=1, progress=False, batch_size=5)
    return read_results(out)


def test_a_sweep_writes_every_run_with_its_parameters_seed_and_metrics(reference, tmp_path):
    exp = experiment_from_dict(grid())
    df = reference
    assert df.run_id.tolist() == list(range(12)) and (df.status == "ok").all()
    assert (df.experiment == experiment_hash(exp)).all()
    runs = expand(exp)
    assert df.seed.tolist() == [r.seed for r in runs]
    assert df["seeding.count"].tolist() == [r.params["seeding.count"] for r in runs]
    for col in ("scenario_hash", "point", "replicate", "attempts", "duration", "members",
                "day_origin", "day_inflection", "cost_per_retained_member", "funnel_joined",
                "top20_referral_share"):
        assert col in df.columns, col
    assert df.error.isna().all() and (df.attempts == 1).all()


def test_local_processes_give_the_same_results_as_one_process(reference, tmp_path):
    out = run_sweep(experiment_from_dict(grid()), tmp_path / "two", workers=2, progress=False,
                    batch_size=4)
    same(read_results(out), reference)
    ts = read_timeseries(out)
    assert list(ts.columns) == ["run_id", "day", "members", "kols", "actives", "lurkers", "churned"]
    assert len(ts) == 12 * 21 and ts.groupby("run_id").day.max().eq(20).all()
    last = ts[ts.day == 20].set_index("run_id").members
    assert last.tolist() == reference.members.tolist()
    info = read_manifest(out)
    assert info["status"] == "complete" and info["runs"] == info["runs_done"] == 12
    assert info["root_seed"] == 5 and info["experiment_hash"] == reference.experiment[0]
    assert set(info["versions"]) >= {"fishpond", "numpy", "numba", "mesa", "dask", "SALib",
                                     "pandas", "pyarrow"}
    assert len(info["design_points"]) == 4 and "git_revision" in info


def test_a_dask_cluster_gives_the_same_results(reference, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=None) as cluster:
        out = run_sweep(experiment_from_dict(grid()), tmp_path / "dask",
                        cluster=cluster.scheduler_address, progress=False, batch_size=5)
    same(read_results(out), reference)


def test_an_interrupted_sweep_resumes_to_the_same_results(reference, tmp_path):
    out = tmp_path / "sweep"

    def stop_after_five(done, total, failed):
        if done == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(experiment_from_dict(grid()), out, workers=1, progress=stop_after_five,
                  batch_size=2)
    assert read_results(out).run_id.tolist() == [0, 1, 2, 3, 4]  # finished runs were saved
    assert read_manifest(out)["status"] == "interrupted"
    (out / "results" / ".batch-000009.parquet.123.tmp").write_bytes(b"PAR1 half a file")
    (out / "timeseries" / "batch-000009.parquet").write_bytes(b"an orphan")  # killed mid-batch
    run_sweep(experiment_from_dict(grid()), out, workers=1, progress=False, resume=True)
    same(read_results(out), reference)
    assert sorted(read_timeseries(out).run_id.unique()) == list(range(12))
    assert not list(out.rglob("*.tmp")) and read_manifest(out)["status"] == "complete"


def _start_and_stop(cmd: list[str], out: Path, batches: int, sig: int) -> subprocess.Popen:
    """Start the sweep command; once it has written ``batches`` new batch files, send ``sig``."""
    def written() -> int:
        return len(list((out / "results").glob("batch-*.parquet")))

    before = written() if (out / "results").is_dir() else 0
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if (out / "results").is_dir() and written() >= before + batches:
            break
        time.sleep(0.01)
    assert proc.poll() is None, "the sweep ended before the signal: give it more runs"
    proc.send_signal(sig)
    proc.wait()
    return proc


def test_ctrl_c_then_kill_9_then_resume_loses_and_repeats_no_run(tmp_path):
    # enough runs that the sweep is still going when the signal lands: a 300-person run takes
    # milliseconds, and 100 of them once finished within a scheduling hiccup of the test (and
    # 400 did on a loaded machine once the day's metrics were compiled, and 1,000 once under
    # the full suite's load after issue 11 made small runs cheaper)
    RUNS = 3000
    exp = tmp_path / "many.yaml"
    exp.write_text(textwrap.dedent("""\
        scenario: fish_pond
        replicates: 1500
        seed: 3
        overrides: {population: {size: 300}, steps: 20, seeding: {count: 20}}
        design: {kind: grid, parameters: {rules.decay: [0.01, 0.02]}}
        """))
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "sim", "sweep", str(exp), "--out", str(out), "--workers", "1",
           "--batch-size", "3", "--quiet"]
    proc = _start_and_stop(cmd, out, 2, signal.SIGINT)  # Ctrl-C: stops cleanly
    err = proc.stderr.read()
    assert proc.returncode == 130 and len(err.strip().splitlines()) == 1, err
    assert "--resume" in err and read_manifest(out)["status"] == "interrupted"
    first = read_results(out).run_id.tolist()
    assert 0 < len(first) < RUNS and first == list(range(len(first)))
    proc = _start_and_stop(cmd + ["--resume"], out, 1, signal.SIGKILL)  # kill -9: no goodbye
    assert proc.returncode == -signal.SIGKILL
    done = read_results(out).run_id.tolist()
    assert len(first) < len(done) < RUNS and done == sorted(set(done))
    run_sweep(exp, out, workers=1, progress=False, resume=True)
    full = run_sweep(exp, tmp_path / "full", workers=1, progress=False)
    same(read_results(out), read_results(full))
    assert read_timeseries(out).groupby("run_id").size().eq(21).all()
    assert len(read_timeseries(out)) == RUNS * 21 and read_manifest(out)["status"] == "complete"


def test_a_failing_run_is_retried_then_recorded_and_the_sweep_goes_on(tmp_path):
    # An edge list sets the population size only when the model is built: 50 seeds in a
    # 30-person network pass validation and fail inside the worker.
    edges = tmp_path / "net.txt"
    edges.write_text("".join(f"{i} {(i + 1) % 30}\n{i} {(i + 7) % 30}\n" for i in range(30)))
    base = tmp_path / "net.yaml"
    base.write_text("extends: fish_pond.yaml\nsteps: 10\npopulation:\n"
                    "  graph: {kind: edgelist, path: net.txt}\n")
    data = {"scenario": "net.yaml", "replicates": 2,
            "design": {"kind": "grid", "parameters": {"seeding.count": [5, 50]}}}
    exp = experiment_from_dict(data, base_dir=tmp_path)
    df = read_results(run_sweep(exp, tmp_path / "a", workers=1, progress=False))
    assert df.status.tolist() == ["ok", "ok", "failed", "failed"]
    failed = df[df.status == "failed"]
    assert (failed.attempts == 2).all() and failed.error.str.contains("seeding.count").all()
    assert df.loc[df.status == "ok", "members"].notna().all()
    assert sorted(read_timeseries(tmp_path / "a").run_id.unique()) == [0, 1]
    assert read_manifest(tmp_path / "a")["runs_failed"] == 2
    df0 = read_results(run_sweep(exp, tmp_path / "b", workers=1, progress=False, retries=0))
    assert (df0[df0.status == "failed"].attempts == 1).all()


def test_sobol_and_morris_sweeps_give_sensitivity_indices(tmp_path):
    params = {"rules.invite_rate": [0.002, 0.02], "program.content_gain": [0.0, 0.1]}
    for kind, cols in (("sobol", ["S1", "S1_conf", "ST", "ST_conf"]),
                       ("morris", ["mu", "mu_star", "mu_star_conf", "sigma"])):
        exp = experiment_from_dict(grid(replicates=1, design={
            "kind": kind, "samples": 4, "parameters": params}))
        out = run_sweep(exp, tmp_path / kind, workers=1, progress=False)
        table = analyze(read_results(out), exp)
        assert len(table) == 4 * 2 and set(cols) <= set(table.columns)
        assert table.output.unique().tolist() == list(exp.outputs)
        members = table[table.output == "members"].set_index("parameter")
        assert np.isfinite(members[cols[1]]).all(), table
    with pytest.raises(ScenarioError, match="sobol or morris"):
        analyze(read_results(out), experiment_from_dict(grid()))


# --- the command line ------------------------------------------------------------------------


def test_sweep_progress_off_a_terminal_is_one_line(tmp_path, capfd, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exp = tmp_path / "tiny.yaml"
    exp.write_text(json.dumps(grid(replicates=1)))
    assert main(["sweep", str(exp), "--workers", "1"]) == 0
    err = capfd.readouterr().err  # captured: not a terminal
    assert "\r" not in err
    lines = [line for line in err.splitlines() if line.startswith("sweep")]
    assert len(lines) == 1 and lines[0].startswith("sweep: 4/4 runs in "), err
    assert lines[0].endswith(", failed=0")


def test_experiment_not_found_lists_the_shipped_experiments(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shipped = sorted(p.stem for p in (Path(__file__).parents[1] / "experiments").glob("*.yaml"))
    assert len(shipped) >= 4
    for name in ("seed_cont", "nope.yaml", str(tmp_path / "missing.yaml")):
        assert main(["sweep", name, "--quiet"]) == 2, name
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
        assert f"{name}: experiment file not found" in err
        assert err.rstrip().endswith("shipped experiment name: " + ", ".join(shipped)), err
    assert not (tmp_path / "runs").exists()


def test_the_sweep_command(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exp = tmp_path / "tiny.yaml"
    exp.write_text(json.dumps(grid(replicates=1)))
    code = main(["sweep", str(exp), "--workers", "1", "--quiet"])
    out_, err = capsys.readouterr()
    out = tmp_path / "runs" / "sweeps" / "tiny"
    assert code == 0, err
    assert "4 of 4 runs" in out_ and (out / "manifest.json").is_file()
    assert len(read_results(out)) == 4 and list((out / "timeseries").glob("batch-*.parquet"))
    before = sorted(p.name for p in out.rglob("*"))
    for argv, needle in (
        (["sweep", str(exp), "--quiet"], "--resume"),  # not empty
        (["sweep", str(tmp_path / "nope.yaml")], "nope.yaml"),
        (["sweep", str(exp), "--workers", "0"], "--workers"),
        (["sweep", str(exp), "--cluster", "tcp://127.0.0.1:9", "--out", "c"], "--cluster"),
    ):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and needle in err and "Traceback" not in err
    assert sorted(p.name for p in out.rglob("*")) == before and not (tmp_path / "c").exists()
    assert main(["sweep", str(exp), "--resume", "--quiet"]) == 0  # nothing left to do
    exp.write_text(json.dumps(grid(replicates=1, seed=6)))
    assert main(["sweep", str(exp), "--resume", "--quiet"]) == 2
    assert "different experiment" in capsys.readouterr().err
    assert main(["sweep", str(exp), "--overwrite", "--quiet"]) == 0
    assert read_results(out).seed.nunique() == 1 and read_manifest(out)["root_seed"] == 6


# --- clusters that are not, workers that outlive their parent, warm-up order ---------------


@contextlib.contextmanager
def loopback_server(reply: bytes | None, seconds: float = 60):
    """A TCP server on 127.0.0.1 that accepts connections and sends ``reply`` (None: nothing).

    Yields its port. It stops when the block ends, or by itself after ``seconds``.
    """
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        held = []
        end = time.monotonic() + seconds
        while not stop.is_set() and time.monotonic() < end:
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            held.append(conn)
            with contextlib.suppress(OSError):
                if reply is not None:
                    conn.sendall(reply)
        for conn in held:
            conn.close()
        server.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)


HTTP = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"
NOT_DASK = [(None, "no greeting within"), (HTTP, "not a Dask scheduler")]


@pytest.mark.parametrize("reply,needle", NOT_DASK, ids=["silent", "http"])
def test_a_cluster_address_where_no_scheduler_answers_is_refused_in_time(reply, needle,
                                                                          tmp_path):
    with loopback_server(reply) as port:
        start = time.monotonic()
        with pytest.raises(FishpondError, match=needle):
            run_sweep(experiment_from_dict(grid(replicates=1)), tmp_path / "o",
                      cluster=f"tcp://127.0.0.1:{port}", cluster_timeout=0.5, progress=False)
        assert time.monotonic() - start < 5
    assert not (tmp_path / "o").exists()
    for bad in (0, -1.0, float("nan"), float("inf"), "10"):
        with pytest.raises(ScenarioError, match="cluster_timeout"):
            run_sweep(experiment_from_dict(grid(replicates=1)), tmp_path / "o",
                      cluster="tcp://127.0.0.1:9", cluster_timeout=bad, progress=False)


@pytest.mark.parametrize("reply,needle", NOT_DASK, ids=["silent", "http"])
def test_the_sweep_command_refuses_a_cluster_that_is_not_dask_in_one_line(reply, needle,
                                                                          tmp_path, capsys):
    exp = tmp_path / "tiny.yaml"
    exp.write_text(json.dumps(grid(replicates=1)))
    with loopback_server(reply) as port:
        cmd = [sys.executable, "-m", "sim", "sweep", str(exp), "--out", str(tmp_path / "o"),
               "--cluster", f"127.0.0.1:{port}", "--quiet"]
        wait = ["--cluster-timeout", "1"] if reply is None else []  # the http one: default
        try:
            proc = subprocess.run(cmd + wait, capture_output=True, text=True, timeout=90,
                                  check=False)
        except subprocess.TimeoutExpired:
            pytest.fail("the sweep hangs on an address where no Dask scheduler answers")
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr[-3000:]
    assert needle in lines[0] and "--cluster" in lines[0] and "Traceback" not in proc.stderr
    assert not (tmp_path / "o").exists()
    with pytest.raises(SystemExit) as stop:
        main(cmd[3:] + ["--cluster-timeout", "0"])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "--cluster-timeout" in err and len(err.splitlines()) == 1


def _children(pid: int) -> set[int]:
    """The processes whose parent is ``pid`` (read from /proc: psutil may be missing)."""
    kids = set()
    for status in Path("/proc").glob("[0-9]*/status"):
        with contextlib.suppress(OSError):
            if re.search(rf"^PPid:\s*{pid}$", status.read_text(), re.MULTILINE):
                kids.add(int(status.parent.name))
    return kids


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie waiting for its new parent to reap it does not)."""
    try:
        state = re.search(r"^State:\s*(\S)", Path(f"/proc/{pid}/status").read_text(), re.MULTILINE)
    except OSError:
        return False
    return state is not None and state.group(1) not in "ZX"


def _cmdline(pid: int) -> str:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    return ""


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="reads /proc (Linux)")
def test_kill_9_of_a_sweep_takes_its_workers_and_resource_tracker_with_it(tmp_path):
    exp = tmp_path / "many.yaml"  # 2,000 runs: still running when the signal lands
    exp.write_text(textwrap.dedent("""\
        scenario: fish_pond
        replicates: 1000
        overrides: {population: {size: 300}, steps: 20, seeding: {count: 20}}
        design: {kind: grid, parameters: {rules.decay: [0.01, 0.02]}}
        """))
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "sim", "sweep", str(exp), "--out", str(out), "--workers", "2",
           "--batch-size", "3", "--quiet"]
    with open(tmp_path / "stderr.txt", "w") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
    kids: set[int] = set()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if list((out / "results").glob("batch-*.parquet")):  # the workers are at work
                break
            time.sleep(0.05)
        assert proc.poll() is None, (tmp_path / "stderr.txt").read_text()[-3000:]
        kids = _children(proc.pid)
        # on Linux (this test) a fresh sweep forks its workers (the same command line as
        # the sweep); spawned workers and their resource tracker would name themselves
        forked = True
        sweep = _cmdline(proc.pid)
        workers = [k for k in kids if (_cmdline(k) == sweep if forked
                                       else "spawn_main" in _cmdline(k))]
        tracker = [k for k in kids if "resource_tracker" in _cmdline(k)]
        assert len(workers) == 2, [_cmdline(k) for k in kids]
        proc.kill()  # kill -9: the parent cannot tell anyone
        proc.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(k) for k in kids):
            time.sleep(0.05)
        left = {k: _cmdline(k) for k in kids if _alive(k)}
        assert not left, f"outlived the sweep: {left}"
        assert tracker or forked, "no resource tracker seen (the check above covered it)"
    finally:
        proc.kill()
        for pid in kids:  # only the children of the sweep this test started
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_the_first_worker_warms_up_alone_and_the_others_after_it():
    log: list[tuple[str, int, float]] = []
    first, warmed = threading.Lock(), threading.Event()

    def warm_up(i: int) -> None:
        log.append(("start", i, time.monotonic()))
        time.sleep(0.2)
        log.append(("end", i, time.monotonic()))

    threads = [threading.Thread(target=warm_after_first,
                                args=(first, warmed, lambda i=i: warm_up(i))) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    events = [(kind, i) for kind, i, _ in sorted(log, key=lambda e: e[2])]
    assert len(events) == 6 and events[0][0] == "start" and events[1] == ("end", events[0][1])


# Slow on purpose (minutes): Dask workers with an empty Numba cache compile the kernels. The
# whole sweep runs in a subprocess so that its workers get NUMBA_CACHE_DIR set to an empty
# folder; a worker's warm-up is shipped to it by value and logs its start and end.
DASK_WARM_SCRIPT = """
import json, os, sys, time
from pathlib import Path

import distributed

import sim.executors
from sim.experiments import experiment_from_dict, run_sweep

LOG = sys.argv[1]


def logged_warm():
    import os, time
    from pathlib import Path
    from sim.executors import warm
    with open(LOG, "a") as f:
        f.write(f"start {os.getpid()} {time.time()}\\n")
    warm()
    with open(LOG, "a") as f:
        f.write(f"end {os.getpid()} {time.time()}\\n")
    names = sorted(p.name for p in Path(os.environ["NUMBA_CACHE_DIR"]).rglob("*.nbi"))
    with open(LOG + ".cache", "a") as f:  # what the cache holds after a warm-up
        f.write(" ".join(names) + "\\n")


sim.executors._warm_quietly = logged_warm

if __name__ == "__main__":
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=None) as cluster:
        run_sweep(experiment_from_dict(json.loads(sys.argv[2])), sys.argv[3],
                  cluster=cluster.scheduler_address, progress=False, batch_size=5)
"""


def test_dask_workers_with_an_empty_numba_cache_warm_up_one_after_the_other(reference, tmp_path):
    pytest.importorskip("distributed")
    script, log, cache = tmp_path / "warm.py", tmp_path / "warm.log", tmp_path / "numba"
    script.write_text(DASK_WARM_SCRIPT)
    cache.mkdir()
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache),
           "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, str(script), str(log), json.dumps(grid()),
                           str(tmp_path / "dask")], env=env, cwd=root, capture_output=True,
                          text=True, timeout=1200, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    compiled = sorted(p.name for p in cache.rglob("*.nbi"))
    assert compiled, "the workers did not compile into the empty cache"
    first_warm = Path(f"{log}.cache").read_text().splitlines()[0].split()
    assert first_warm == compiled, "the runs compiled functions that the warm-up had not"
    events = sorted((float(t), kind, int(pid)) for kind, pid, t in
                    (line.split() for line in log.read_text().splitlines()))
    assert [kind for _, kind, _ in events].count("start") == 2, events
    assert events[0][1] == "start" and events[1][1:] == ("end", events[0][2]), events
    same(read_results(tmp_path / "dask"), reference)
