"""Results on disk: run folders and sweep folders.

Sweep folders with batch files, atomic writes, orphans, manifests.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from sim.errors import DataError, OutputError
from sim.store import (
    TIMESERIES_COLUMNS,
    BatchWriter,
    check_out,
    git_revision,
    package_versions,
    prepare,
    read_manifest,
    read_results,
    read_timeseries,
    write_json,
    write_run,
)


def series(run_id: int, days: int = 3) -> pd.DataFrame:
    return pd.DataFrame({"run_id": run_id, "day": range(days), "members": range(days),
                         "kols": 1, "actives": 0, "lurkers": 0, "churned": 0})


def fill(out, run_ids, batch_size=2) -> BatchWriter:
    writer = BatchWriter(out, batch_size)
    for i in run_ids:
        writer.add({"run_id": i, "status": "ok", "members": 10 * i}, series(i))
        if writer.due():
            writer.flush()
    writer.flush()
    return writer


@pytest.fixture
def folder(tmp_path):
    out = tmp_path / "sweep"
    prepare(out, {"experiment_hash": "abc", "runs": 7}, resume=False, overwrite=False)
    return out


def test_batches_are_read_back_in_run_id_order_whatever_order_they_finished(folder):
    fill(folder, [5, 2, 6, 0, 1, 4, 3])
    assert len(list((folder / "results").glob("batch-*.parquet"))) == 4
    df = read_results(folder)
    assert (df.run_id.tolist() == list(range(7))
            and df.members.tolist() == [10 * i for i in range(7)])
    ts = read_timeseries(folder)
    assert list(ts.columns) == list(TIMESERIES_COLUMNS) and len(ts) == 21
    assert ts.run_id.tolist() == sorted(ts.run_id.tolist())
    assert read_timeseries(folder, run_ids=[3]).run_id.unique().tolist() == [3]
    assert read_results(folder, columns=["members"]).columns.tolist() == ["run_id", "members"]
    assert not list(folder.rglob("*.tmp"))


def test_a_time_limit_also_writes_a_batch(folder):
    writer = BatchWriter(folder, batch_size=100, max_seconds=0.0)
    writer.add({"run_id": 0, "status": "ok"}, series(0))
    assert writer.due()


def test_resume_ignores_temporary_files_and_removes_orphaned_timeseries(folder):
    fill(folder, [0, 1, 2, 3])
    (folder / "results" / ".batch-000003.parquet.99.tmp").write_bytes(b"half")
    series(4).to_parquet(folder / "timeseries" / "batch-000003.parquet")  # killed before results
    assert 4 not in read_timeseries(folder).run_id.tolist()
    done = prepare(folder, {"experiment_hash": "abc", "runs": 7}, resume=True, overwrite=False)
    assert done == {0, 1, 2, 3}
    assert not list(folder.rglob("*.tmp"))
    assert not (folder / "timeseries" / "batch-000003.parquet").exists()
    writer = fill(folder, [4, 5, 6])
    assert writer.next_index == 5
    assert read_results(folder).run_id.tolist() == list(range(7))
    info = read_manifest(folder)
    assert info["status"] == "running" and len(info["resumed"]) == 1 and info["runs_done"] == 4


def test_a_run_recorded_twice_is_an_error_not_a_silent_duplicate(folder):
    fill(folder, [0, 1])
    pd.DataFrame({"run_id": [1], "status": ["ok"]}).to_parquet(
        folder / "results" / "batch-000009.parquet")
    with pytest.raises(DataError, match="run 1 is recorded twice"):
        read_results(folder)
    with pytest.raises(DataError, match="recorded twice with different results"):
        prepare(folder, {"experiment_hash": "abc"}, resume=True, overwrite=False)


def test_output_folder_checks(tmp_path, folder):
    afile = tmp_path / "file.txt"
    afile.write_text("x")
    with pytest.raises(OutputError, match="not a folder"):
        check_out(afile, "abc", resume=False, overwrite=False)
    check_out(tmp_path / "new", "abc", resume=False, overwrite=False)  # fine: does not exist
    fill(folder, [0])
    with pytest.raises(OutputError, match="--resume"):
        check_out(folder, "abc", resume=False, overwrite=False)
    check_out(folder, "abc", resume=True, overwrite=False)
    check_out(folder, "abc", resume=False, overwrite=True)
    with pytest.raises(OutputError, match="different experiment"):
        check_out(folder, "xyz", resume=True, overwrite=False)
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match="not a sweep folder"):
        check_out(other, "abc", resume=True, overwrite=False)
    with pytest.raises(DataError, match="not a sweep folder"):
        read_results(other)
    prepare(folder, {"experiment_hash": "xyz"}, resume=False, overwrite=True)
    assert len(read_results(folder)) == 0 and read_manifest(folder)["experiment_hash"] == "xyz"


def test_manifest_helpers(tmp_path):
    write_json(tmp_path / "m.json", {"a": 1})
    assert json.loads((tmp_path / "m.json").read_text()) == {"a": 1}
    assert not list(tmp_path.glob(".*"))
    versions = package_versions()
    assert versions["numpy"] and versions["pandas"] and "SALib" in versions
    rev = git_revision()
    assert rev is None or len(rev) == 40
    with pytest.raises(DataError, match="not found"):
        read_manifest(tmp_path)


RUN = {"summary": {"scenario": "s", "seed": 3, "steps": 2, "engine": "numba", "members": 5},
       "timeseries": pd.DataFrame({"day": [0, 1, 2], "members": [1, 3, 5]}),
       "referral_curve": pd.DataFrame({"member_share": [0.0, 1.0], "referral_share": [0.0, 1.0]}),
       "scenario_yaml": "name: s\n"}


def test_write_run_writes_every_file_and_a_run_manifest(tmp_path):
    out = tmp_path / "run"
    drawn = []

    def charts(folder):
        drawn.append(folder)
        (folder / "funnel.png").write_bytes(b"png")
        return [folder / "funnel.png"]

    names = write_run(out, **RUN, source=tmp_path / "s.yaml", charts=charts)
    assert names == sorted(["summary.json", "timeseries.csv", "referral_curve.csv",
                            "scenario.yaml", "manifest.json", "funnel.png"])
    assert sorted(p.name for p in out.iterdir()) == names
    assert drawn[0] != out  # charts are drawn in the private folder, moved in with the rest
    info = json.loads((out / "manifest.json").read_text())
    assert info["kind"] == "run" and info["seed"] == 3 and info["files"] == names
    assert info["scenario_file"] == str(tmp_path / "s.yaml")
    assert pd.read_csv(out / "timeseries.csv").members.tolist() == [1, 3, 5]
    assert json.loads((out / "summary.json").read_text())["members"] == 5
    assert (out / "scenario.yaml").read_text() == "name: s\n"


def test_write_run_replaces_only_with_overwrite_and_leaves_nothing_half_written(tmp_path):
    out = tmp_path / "run"
    write_run(out, **RUN)
    with pytest.raises(OutputError):
        write_run(out, **RUN)

    def broken(folder):
        raise OSError(28, "No space left on device")

    with pytest.raises(OutputError, match="No space left"):
        write_run(out, **RUN, overwrite=True, charts=broken)
    assert "funnel.png" not in {p.name for p in out.iterdir()}
    assert json.loads((out / "summary.json").read_text())["members"] == 5  # the old folder
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no staging folder left
    write_run(out, **{**RUN, "summary": {**RUN["summary"], "members": 9}}, overwrite=True)
    assert json.loads((out / "summary.json").read_text())["members"] == 9
