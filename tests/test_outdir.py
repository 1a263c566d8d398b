"""Tests of sim.outdir: output folders checked, written completely, recovered and locked."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sim import outdir
from sim.config import Scenario
from sim.errors import OutputError

DEAD = 99_999_999  # above any pid_max: never a live process


def _run_folder(path, manifest=True):
    path.mkdir()
    (path / "summary.json").write_text("{}")
    (path / "timeseries.csv").write_text("day\n")
    if manifest:
        (path / outdir.MANIFEST).write_text(json.dumps({"kind": "run"}))
    return path


def test_entries_and_has_content_ignore_the_lock(tmp_path):
    assert not outdir.has_content(tmp_path / "missing")
    (tmp_path / outdir.LOCK).write_text("1\n")
    assert outdir.entries(tmp_path) == [] and not outdir.has_content(tmp_path)
    (tmp_path / "a").write_text("")
    assert outdir.entries(tmp_path) == [tmp_path / "a"] and outdir.has_content(tmp_path)
    assert not outdir.has_content(tmp_path / "a")  # a file is not a folder


def test_fishpond_kind(tmp_path):
    assert outdir.fishpond_kind(_run_folder(tmp_path / "run")) == "run"
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    (sweep / outdir.MANIFEST).write_text(json.dumps({"experiment_hash": "abc"}))
    assert outdir.fishpond_kind(sweep) == "sweep"
    old = _run_folder(tmp_path / "old", manifest=False)
    (old / "members_by_role.png").write_bytes(b"")
    assert outdir.fishpond_kind(old) == "run"  # before run folders had a manifest
    (old / "notes.txt").write_text("mine")
    assert outdir.fishpond_kind(old) is None
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / outdir.MANIFEST).write_text("not json")
    assert outdir.fishpond_kind(bad) is None
    assert outdir.fishpond_kind(tmp_path / "missing") is None


def test_may_replace_accepts_a_run_folder(tmp_path):
    outdir.may_replace(_run_folder(tmp_path / "run"))


def test_may_replace_refusals(tmp_path, monkeypatch):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("")
    with pytest.raises(OutputError, match=r"^--out .*mine: not written by fishpond"):
        outdir.may_replace(mine)
    run = _run_folder(tmp_path / "run")
    link = tmp_path / "link"
    link.symlink_to(run)
    with pytest.raises(OutputError, match="is a symbolic link"):
        outdir.may_replace(link)
    with pytest.raises(OutputError, match="holds the input file"):
        outdir.may_replace(run, inputs=[run / "scenario.yaml"])
    monkeypatch.chdir(run)
    with pytest.raises(OutputError, match="is the working directory;"):
        outdir.may_replace(run)
    with pytest.raises(OutputError, match="is the working directory or above it"):
        outdir.may_replace(tmp_path, label="X")


def test_check_paths(tmp_path):
    outdir.check(tmp_path / "new" / "deeper")  # the nearest existing folder is writable
    outdir.check(_run_folder(tmp_path / "run"), overwrite=True)
    (tmp_path / "file").write_text("")
    with pytest.raises(OutputError, match="exists and is not a folder"):
        outdir.check(tmp_path / "file")
    with pytest.raises(OutputError, match=r"file is a file, not a folder"):
        outdir.check(tmp_path / "file" / "out")
    (tmp_path / "broken").symlink_to(tmp_path / "nowhere")
    with pytest.raises(OutputError, match="is a broken symbolic link"):
        outdir.check(tmp_path / "broken")
    with pytest.raises(OutputError, match=r"needs about .* MB, .* free on"):
        outdir.check(tmp_path / "big", need_bytes=2**62)


def test_check_overwrite_of_a_foreign_folder_is_refused(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "data.csv").write_text("")
    outdir.check(mine)  # the caller refuses a non-empty folder without --overwrite itself
    with pytest.raises(OutputError, match="not written by fishpond"):
        outdir.check(mine, overwrite=True)
    outdir.check(mine, overwrite=True, resume=True)  # resuming keeps the folder


def test_write_error_is_one_line():
    err = outdir.write_error(Path("out"), OSError(errno.ENOSPC, "No space\nleft", "f.csv"))
    assert isinstance(err, OutputError)
    assert str(err) == "--out out: cannot write f.csv: No space left; nothing was written"
    assert str(outdir.write_error(Path("o"), OSError(), "kept")) == (
        "--out o: cannot write: OSError; kept")


def test_writing_a_new_folder(tmp_path):
    out = tmp_path / "a" / "out"
    with outdir.writing(out, overwrite=False) as tmp:
        assert tmp.parent == out.parent and tmp.name.startswith(".out.tmp-")
        (tmp / "x.txt").write_text("1")
        assert not out.exists()  # nothing visible before the block ends
    assert (out / "x.txt").read_text() == "1"
    assert sorted(p.name for p in out.parent.iterdir()) == ["out"]


def test_writing_into_an_empty_folder_keeps_the_folder(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    inode = out.stat().st_ino
    with outdir.writing(out, overwrite=False) as tmp:
        assert tmp.parent == out.resolve() and tmp.name.startswith(".fishpond.tmp-")
        (tmp / outdir.MANIFEST).write_text("{}")
        (tmp / "summary.json").write_text("{}")
    assert out.stat().st_ino == inode
    assert sorted(p.name for p in out.iterdir()) == [outdir.MANIFEST, "summary.json"]


def test_writing_replaces_a_run_folder_with_overwrite(tmp_path):
    out = _run_folder(tmp_path / "out")
    with outdir.writing(out, overwrite=True) as tmp:
        (tmp / "new.txt").write_text("")
    assert [p.name for p in out.iterdir()] == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_writing_leaves_out_as_it_was_on_error(tmp_path):
    out = _run_folder(tmp_path / "out")
    with pytest.raises(RuntimeError):
        with outdir.writing(out, overwrite=True) as tmp:
            (tmp / "half").write_text("")
            raise RuntimeError("boom")
    assert outdir.fishpond_kind(out) == "run" and not (out / "half").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    with pytest.raises(OutputError, match="cannot write .*gone: .*nothing was written"):
        with outdir.writing(tmp_path / "new", overwrite=False):
            raise FileNotFoundError(errno.ENOENT, "No such file", "gone")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_install_refuses_a_folder_that_appeared(tmp_path):
    out = tmp_path / "out"
    tmp = outdir.staging(out)
    out.mkdir()
    (out / "other").write_text("")
    with pytest.raises(OutputError, match="folder appeared while running"):
        outdir.install(tmp, out, overwrite=False)
    assert (out / "other").exists() and tmp.is_dir()


def test_recover_restores_an_interrupted_replacement(tmp_path):
    out = tmp_path / "out"
    old = _run_folder(tmp_path / f".out.old-{DEAD}-0123abcd")
    dead_tmp = tmp_path / f".out.tmp-{DEAD}-89abcdef"
    dead_tmp.mkdir()
    live_tmp = tmp_path / f".out.tmp-{os.getpid()}-89abcdef"
    live_tmp.mkdir()
    other = tmp_path / f".other.tmp-{DEAD}-89abcdef"
    other.mkdir()
    notes = outdir.recover(out)
    assert notes == [f"restored {out} from an interrupted replacement ({old})"]
    assert outdir.fishpond_kind(out) == "run"
    assert not dead_tmp.exists() and live_tmp.exists() and other.exists()


def test_recover_deletes_an_old_folder_when_out_exists(tmp_path):
    out = _run_folder(tmp_path / "out")
    old = tmp_path / f".out.old-{DEAD}-0123abcd"
    old.mkdir()
    assert outdir.recover(out) == []
    assert not old.exists() and out.is_dir()


def test_recover_completes_or_drops_an_in_place_fill(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    done = out / f".fishpond.tmp-{DEAD}-0123abcd"
    done.mkdir()
    (done / "summary.json").write_text("{}")
    (done / outdir.COMPLETE).touch()
    assert outdir.recover(out) == [f"completed the interrupted writing of {out}"]
    assert [p.name for p in out.iterdir()] == ["summary.json"]
    half = out / f".fishpond.tmp-{DEAD}-89abcdef"
    half.mkdir()
    (half / "timeseries.csv").write_text("")
    assert outdir.recover(out) == []
    assert [p.name for p in out.iterdir()] == ["summary.json"]


def test_recover_of_a_missing_parent_is_nothing(tmp_path):
    assert outdir.recover(tmp_path / "no" / "out") == []


def test_locked_writes_the_owner_and_excludes_another_process(tmp_path):
    with outdir.locked(tmp_path):
        assert (tmp_path / outdir.LOCK).read_text() == f"{os.getpid()}\n"
        code = ("import sys; from pathlib import Path; from sim import outdir\n"
                "try:\n    with outdir.locked(Path(sys.argv[1])): pass\n"
                "except outdir.OutputError as e: print(e)\n")
        out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True,
                             text=True, check=True, env=os.environ | {"PYTHONPATH": os.getcwd()})
        assert out.stdout == (f"--out {tmp_path}: folder is in use by another fishpond process "
                              f"(pid {os.getpid()}); wait for it to finish or choose another "
                              "--out\n")
    with outdir.locked(tmp_path):  # released: taken again
        pass


def test_run_bytes():
    assert outdir.run_bytes(Scenario.model_validate({"steps": 99})) == 4_000_000 + 400 * 100
