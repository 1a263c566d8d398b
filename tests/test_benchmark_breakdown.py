"""benchmarks/breakdown.py: its parts are measured inside the run they split."""

from __future__ import annotations

import pytest

from tests.helpers import load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("breakdown")


def test_a_cascades_parts_add_up_to_its_run(bench):
    parts = bench.cascade_parts(2_000, 0.1, 2)
    assert parts["final size"] >= bench.SEEDS  # the seeds at least
    inner = ("  state arrays", "  seeding", "  engine buffers", "  day-0 record")
    assert all(parts[k] > 0 for k in inner + ("days in the engine", "records of the days"))
    assert sum(parts[k] for k in inner) <= parts["construction"]
    assert parts["  the rest of construction"] >= 0
    assert parts["construction"] + parts["days in the engine"] + parts["records of the days"] \
        <= parts["total"]
    # the wrappers are gone again
    from sim import kernels
    from sim.metrics import Recorder
    from sim.state import PopulationState
    assert "wrapper" not in kernels.run_day_flows.__qualname__
    assert "wrapper" not in Recorder.record_row.__qualname__
    assert isinstance(vars(PopulationState)["empty"], classmethod)  # put back as it was


def test_a_pond_days_phases_are_each_timed(bench):
    rows = bench.pond_phases(400, 12, 1)
    assert rows.pop("members at the day's start") > 0
    for label in bench.PHASES:
        if label != "full":
            assert rows[f"first stage, {label}"] > 0
    for stage in ("first stage", "organic draws", "joins", "roles, churn, payments", "close"):
        assert rows[f"stage: {stage}"] > 0


def test_quick_prints_both_tables(bench, capsys):
    assert bench.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "cascade: pure_sir" in out and "fish pond: 800 persons, day 20" in out
    assert "first stage, no invitations" in out
