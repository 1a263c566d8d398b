"""Nothing a user has is lost.

--overwrite rules, staged replacement, locks, recovery, write errors.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import main
from sim.experiments import experiment_from_dict, run_sweep
from sim.store import BatchWriter, prepare, read_manifest, read_results, read_timeseries

RUN = ["--set", "population.size=300", "--steps", "8", "--quiet"]
EXP = {"scenario": "fish_pond", "replicates": 2, "seed": 5,
       "overrides": {"population": {"size": 300}, "steps": 10, "seeding": {"count": 20}},
       "design": {"kind": "grid", "parameters": {"rules.invite_rate": [0.004, 0.01]}}}
ROOT = Path(__file__).resolve().parents[1]


def cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.fixture
def exp_file(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text(json.dumps(EXP))
    return path


@pytest.fixture
def no_model_run(monkeypatch):
    """Fail the test if a simulation starts (the output checks must come first)."""
    from sim import executors, model

    def boom(*a, **k):
        raise AssertionError("the simulation ran before the output folder was checked")

    monkeypatch.setattr(model.GrowthModel, "run", boom)
    monkeypatch.setattr(executors, "drive", boom)


# --- 1. --overwrite replaces only what fishpond wrote -------------------------------------------


def test_overwrite_never_deletes_the_working_directory_or_the_inputs(tmp_path, exp_file, capsys,
                                                                     monkeypatch, no_model_run):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mydata.txt").write_text("mine")
    for argv in (["sweep", "exp.yaml", "--out", ".", "--overwrite", "--workers", "1", "--quiet"],
                 ["compare", "fish_pond", "no_feed", "--out", ".", "--overwrite", "--quiet"],
                 ["run", "fish_pond", "--out", ".", "--overwrite", *RUN]):
        code, _, err = cli(capsys, *argv)
        assert code == 2 and "working directory" in one_line(err), argv
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exp.yaml", "mydata.txt"]
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "exp.yaml").write_text(json.dumps(EXP))
    (proj / "my.yaml").write_text("extends: fish_pond.yaml\n")
    (proj / "notes.txt").write_text("mine")
    for argv in (["sweep", "proj/exp.yaml", "--out", "proj", "--overwrite", "--quiet"],
                 ["run", "proj/my.yaml", "--out", "proj", "--overwrite", *RUN]):
        code, _, err = cli(capsys, *argv)
        assert code == 2 and "proj" in one_line(err), argv
    assert sorted(p.name for p in proj.iterdir()) == ["exp.yaml", "my.yaml", "notes.txt"]


def test_overwrite_refuses_a_folder_fishpond_did_not_write_and_a_link(tmp_path, capsys,
                                                                     no_model_run):
    other = tmp_path / "other"
    other.mkdir()
    (other / "thesis.tex").write_text("years of work")
    code, _, err = cli(capsys, "run", "fish_pond", "--out", other, "--overwrite", *RUN)
    assert code == 2 and "not written by fishpond" in one_line(err)
    link = tmp_path / "link"
    link.symlink_to(other)
    code, _, err = cli(capsys, "run", "fish_pond", "--out", link, "--overwrite", *RUN)
    assert code == 2 and "symbolic link" in one_line(err)
    assert (other / "thesis.tex").read_text() == "years of work" and link.is_symlink()


def test_overwrite_replaces_a_run_folder_but_not_one_holding_its_input(tmp_path, capsys):
    out = tmp_path / "r"
    code, _, err = cli(capsys, "run", "fish_pond", "--out", out, *RUN)
    assert code == 0, err
    assert json.loads((out / "manifest.json").read_text())["kind"] == "run"
    code, _, err = cli(capsys, "run", out / "scenario.yaml", "--out", out, "--overwrite", *RUN)
    assert code == 2 and "input" in one_line(err) and (out / "scenario.yaml").is_file()
    code, _, err = cli(capsys, "run", "fish_pond", "--out", out, "--overwrite", *RUN,
                       "--seed", "9")
    assert code == 0, err
    assert json.loads((out / "summary.json").read_text())["seed"] == 9
    assert hidden(tmp_path) == []


# --- 2. sweep --overwrite replaces the old results only when the new sweep is complete ---------


def test_an_interrupted_overwrite_keeps_the_old_sweep(tmp_path):
    out = tmp_path / "sweep"
    run_sweep(experiment_from_dict(EXP), out, workers=1, progress=False)
    old = read_results(out)

    def stop(done, total, failed):
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(experiment_from_dict({**EXP, "seed": 6}), out, workers=1, progress=stop,
                  overwrite=True, batch_size=1)
    pd.testing.assert_frame_equal(read_results(out), old)
    assert read_manifest(out)["root_seed"] == 5 and read_manifest(out)["status"] == "complete"
    assert hidden(tmp_path) == []
    run_sweep(experiment_from_dict({**EXP, "seed": 6}), out, workers=1, progress=False,
              overwrite=True)
    assert read_manifest(out)["root_seed"] == 6 and len(read_results(out)) == 4
    assert hidden(tmp_path) == []


# --- 3. one writer per sweep folder; unique batch names; identical duplicates repaired --------


def test_a_second_writer_is_refused_while_a_sweep_holds_the_folder(tmp_path, exp_file, capsys):
    from sim.outdir import locked

    out = tmp_path / "sweep"
    out.mkdir()
    with locked(out):
        code, _, err = cli(capsys, "sweep", exp_file, "--out", out, "--resume", "--quiet")
    assert code == 2 and f"in use by another fishpond process (pid {os.getpid()})" in one_line(err)
    assert [p.name for p in out.iterdir()] in ([], [".fishpond.lock"])


def series(run_id: int, days: int = 3) -> pd.DataFrame:
    return pd.DataFrame({"run_id": run_id, "day": range(days), "members": range(days),
                         "kols": 1, "actives": 0, "lurkers": 0, "churned": 0})


def test_two_writers_never_write_the_same_batch_file(tmp_path):
    out = tmp_path / "sweep"
    prepare(out, {"experiment_hash": "abc"}, resume=False, overwrite=False)
    a, b = BatchWriter(out, 10), BatchWriter(out, 10)
    for writer, ids in ((a, [0, 1]), (b, [2, 3])):
        for i in ids:
            writer.add({"run_id": i, "status": "ok", "duration": 0.1}, series(i))
    a.flush()
    b.flush()
    assert read_results(out).run_id.tolist() == [0, 1, 2, 3]
    assert sorted(read_timeseries(out).run_id.unique()) == [0, 1, 2, 3]


def test_resume_repairs_identical_duplicates_left_by_two_writers(tmp_path):
    out = tmp_path / "sweep"
    prepare(out, {"experiment_hash": "abc"}, resume=False, overwrite=False)
    rows = {i: {"run_id": i, "status": "ok", "members": 10 * i} for i in range(4)}
    for ids, duration in (([0, 1, 2], 0.1), ([1, 2, 3], 0.2)):  # same runs, other wall clock
        w = BatchWriter(out, 10)
        for i in ids:
            w.add({**rows[i], "duration": duration}, series(i))
        w.flush()
    # an older version's two writers: one replaced the other's timeseries file of batch 3
    pd.DataFrame([{**rows[3], "duration": 0.3}]).to_parquet(
        out / "results" / "batch-000003.parquet")
    series(2).to_parquet(out / "timeseries" / "batch-000003.parquet")
    done = prepare(out, {"experiment_hash": "abc"}, resume=True, overwrite=False)
    assert done == {0, 1, 2, 3}
    df = read_results(out)
    assert df.run_id.tolist() == [0, 1, 2, 3] and df.members.tolist() == [0, 10, 20, 30]
    assert read_timeseries(out).groupby("run_id").size().tolist() == [3, 3, 3, 3]
    assert read_manifest(out)["repairs"]


def test_resume_refuses_duplicates_that_differ(tmp_path):
    from sim.errors import DataError

    out = tmp_path / "sweep"
    prepare(out, {"experiment_hash": "abc"}, resume=False, overwrite=False)
    for members in (10, 11):
        w = BatchWriter(out, 10)
        w.add({"run_id": 1, "status": "ok", "members": members}, series(1))
        w.flush()
    with pytest.raises(DataError, match="recorded twice with different results"):
        prepare(out, {"experiment_hash": "abc"}, resume=True, overwrite=False)


# --- 4. a crash while replacing a folder is repaired on the next write -------------------------


def _child(code: str, cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_kill_9_between_the_two_renames_loses_nothing(tmp_path, capsys):
    out = tmp_path / "o"
    assert cli(capsys, "run", "fish_pond", "--out", out, *RUN, "--engine", "agents")[0] == 0
    before = (out / "summary.json").read_text()
    proc = _child(f"""
        import os, signal
        real = os.rename
        def rename(a, b):
            real(a, b)
            if ".old" in os.path.basename(str(b)):
                os.kill(os.getpid(), signal.SIGKILL)  # dies with the folder moved aside
        os.rename = rename
        from sim.cli import main
        main(["run", "fish_pond", "--out", {str(out)!r}, "--overwrite", "--seed", "4",
              "--engine", "agents", *{RUN!r}])
        """, tmp_path)
    proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL
    assert not out.exists() and hidden(tmp_path)  # the folder is hidden aside
    code, _, err = cli(capsys, "run", "fish_pond", "--out", out, *RUN, "--engine", "agents")
    assert code == 2 and "restored" in err and "--overwrite" in err
    assert (out / "summary.json").read_text() == before and hidden(tmp_path) == []


def test_kill_9_while_writing_leaves_nothing_after_the_next_run(tmp_path, capsys):
    out = tmp_path / "o"
    proc = _child(f"""
        import time, sim.charts
        real = sim.charts.write_run_charts
        def slow(*a, **k):
            written = real(*a, **k)
            print("written", flush=True)
            time.sleep(60)
            return written
        sim.charts.write_run_charts = slow
        from sim.cli import main
        main(["run", "fish_pond", "--out", {str(out)!r}, "--engine", "agents", *{RUN!r}])
        """, tmp_path)
    assert proc.stdout.readline().strip() == "written"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert hidden(tmp_path) and not out.exists()
    code, _, err = cli(capsys, "run", "fish_pond", "--out", out, *RUN, "--engine", "agents")
    assert code == 0, err
    assert hidden(tmp_path) == [] and (out / "summary.json").is_file()


# --- 16. the output location is checked before running; late write errors are one line ---------


@pytest.fixture
def read_only(monkeypatch):
    """Make folders read only for this process, also as root (which ignores permission bits).

    Every file or folder creation below them fails with EROFS, as on a read-only mount.
    """
    folders: list[Path] = []
    real_open, real_mkdir = os.open, os.mkdir

    def blocked(path) -> bool:
        p = Path(os.path.abspath(path))
        return any(p == f or f in p.parents for f in folders)

    def fake_open(path, flags, *a, **k):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT) and blocked(path):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real_open(path, flags, *a, **k)

    def fake_mkdir(path, *a, **k):
        if blocked(path):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real_mkdir(path, *a, **k)

    monkeypatch.setattr(os, "open", fake_open)
    monkeypatch.setattr(os, "mkdir", fake_mkdir)

    def make(folder: Path) -> Path:
        folder.mkdir(exist_ok=True)
        folder.chmod(0o555)
        folders.append(folder.resolve())
        return folder

    yield make
    for f in folders:
        f.chmod(0o755)


def test_bad_output_locations_are_refused_before_running(tmp_path, capsys, monkeypatch,
                                                         read_only, exp_file, no_model_run):
    afile = tmp_path / "afile"
    afile.write_text("x")
    ro = read_only(tmp_path / "ro")
    for argv, words in (
        (["run", "fish_pond", "--out", afile / "sub", *RUN], "is a file"),
        (["run", "fish_pond", "--out", ro / "sub", *RUN], "cannot write"),
        (["run", "fish_pond", "--out", ro, *RUN], "cannot write"),
        (["sweep", exp_file, "--out", ro / "s", "--quiet"], "cannot write"),
        (["compare", "fish_pond", "no_feed", "--out", ro / "c", "--quiet"], "cannot write"),
    ):
        code, _, err = cli(capsys, *argv)
        assert code == 2 and words in one_line(err), (argv, err)
    assert list(ro.iterdir()) == [] and afile.read_text() == "x"
    import shutil

    monkeypatch.setattr(
        shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(10**9, 10**9, 1000)
    )
    code, _, err = cli(capsys, "run", "fish_pond", "--out", tmp_path / "full", *RUN)
    assert code == 2 and "free" in one_line(err) and not (tmp_path / "full").exists()


def test_chart_into_a_read_only_folder(tmp_path, capsys, read_only):
    out = tmp_path / "r"
    assert cli(capsys, "run", "fish_pond", "--out", out, *RUN)[0] == 0
    before = sorted(p.name for p in out.iterdir())
    read_only(out)
    code, _, err = cli(capsys, "chart", out, "--format", "svg")
    assert code == 2 and "cannot write" in one_line(err)
    assert sorted(p.name for p in out.iterdir()) == before


def test_a_full_disk_while_writing_is_one_line_and_leaves_nothing(tmp_path, capsys, monkeypatch,
                                                                  exp_file):
    def full(*a, **k):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(pd.DataFrame, "to_csv", full)
    code, _, err = cli(capsys, "run", "fish_pond", "--out", tmp_path / "r", *RUN)
    assert code == 2 and "No space left on device" in one_line(err)
    monkeypatch.setattr(pd.DataFrame, "to_parquet", full)
    code, _, err = cli(capsys, "sweep", exp_file, "--out", tmp_path / "s", "--workers", "1",
                       "--quiet")
    assert code == 2 and "No space left on device" in one_line(err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exp.yaml"]


def test_out_dot_and_empty_out_write_into_the_empty_working_directory(tmp_path, capsys,
                                                                      monkeypatch):
    for name, given in (("a", "."), ("b", "")):
        folder = tmp_path / name
        folder.mkdir()
        monkeypatch.chdir(folder)
        code, _, err = cli(capsys, "run", "fish_pond", "--out", given, *RUN)
        assert code == 0, err
        assert (folder / "summary.json").is_file() and (folder / "manifest.json").is_file()
        assert hidden(folder) == [] and hidden(tmp_path) == []


def test_out_dot_with_overwrite_in_a_run_folder_is_refused(tmp_path, capsys, monkeypatch):
    out = tmp_path / "r"
    assert cli(capsys, "run", "fish_pond", "--out", out, *RUN)[0] == 0
    monkeypatch.chdir(out)
    code, _, err = cli(capsys, "run", "fish_pond", "--out", ".", "--overwrite", *RUN)
    assert code == 2 and "working directory" in one_line(err) and (out / "summary.json").is_file()


# --- 17. a damaged batch file on --resume -------------------------------------------------------


def test_resume_names_a_damaged_batch_and_repair_reruns_its_runs(tmp_path, exp_file, capsys):
    out = tmp_path / "s"
    ref = read_results(run_sweep(experiment_from_dict(EXP), tmp_path / "ref", workers=1,
                                 progress=False))
    run_sweep(experiment_from_dict(EXP), out, workers=1, progress=False, batch_size=2)
    damaged = min((out / "results").glob("batch-*.parquet"))
    damaged.write_bytes(damaged.read_bytes()[:100])  # truncated
    code, _, err = cli(capsys, "sweep", exp_file, "--out", out, "--resume", "--quiet")
    line = one_line(err)
    assert code == 2 and damaged.name in line and "--repair" in line
    code, _, err = cli(capsys, "sweep", exp_file, "--out", out, "--resume", "--repair", "--quiet")
    assert code == 0, err
    got = read_results(out)
    pd.testing.assert_frame_equal(got.drop(columns="duration"), ref.drop(columns="duration"))
    assert (out / "damaged" / damaged.name).is_file()
    assert read_timeseries(out).groupby("run_id").size().eq(11).all()

