"""``fishpond doctor``: the cache in use, a check in a child process, clearing the cache."""

from __future__ import annotations

from sim import doctor
from sim.cli import main
from sim.jit import LOCK_NAME


def _fake_cache(folder):
    folder.mkdir()
    for name in ("kernels.day_kernel-169.py311.nbi", "kernels.day_kernel-169.py311.1.nbc",
                 "metrics._top_shares_nb-96.py311.nbi"):
        (folder / name).write_bytes(b"x" * 10)
    (folder / "kernels.cpython-311.pyc").write_bytes(b"keep")
    (folder / "notes.txt").write_text("keep")


def test_clear_deletes_only_numba_entries(tmp_path):
    folder = tmp_path / "cache"
    _fake_cache(folder)
    assert doctor.clear(folder) == 3
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["kernels.cpython-311.pyc", "notes.txt", LOCK_NAME])
    assert doctor.clear(tmp_path / "missing") == 0


def test_check_reports_a_crash_in_the_child(monkeypatch):
    monkeypatch.setattr(doctor, "_CHECK", "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)")
    healthy, verdict = doctor.check()
    assert not healthy and "SIGSEGV" in verdict and "fishpond doctor --clear" in verdict
    monkeypatch.setattr(doctor, "_CHECK", "raise SystemExit('broken install')")
    healthy, verdict = doctor.check()
    assert not healthy and "broken install" in verdict


def test_check_runs_a_model():
    healthy, verdict = doctor.check()
    assert healthy, verdict


def test_doctor_command_says_which_cache_and_clears_it(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "cache"
    _fake_cache(folder)
    monkeypatch.setattr(doctor, "cache_folder", lambda: folder)
    monkeypatch.setattr(doctor, "check", lambda: (False, "a tiny model crashed (SIGSEGV)"))
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert f"cache folder: {folder}" in out and "cached kernels: 2 (3 files" in out
    assert "problem: a tiny model crashed" in out and (folder / "notes.txt").exists()
    monkeypatch.setattr(doctor, "check", lambda: (True, "a tiny model ran"))
    assert main(["doctor", "--clear"]) == 0
    out = capsys.readouterr().out
    assert "cleared: 3 cache files deleted" in out and "ok: a tiny model ran" in out
    assert not doctor.entries(folder)
