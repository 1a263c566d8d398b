"""`fishpond compare` and `fishpond chart`: outputs, the printed table, bad input exits 2."""

from __future__ import annotations

import contextlib
import io

import pandas as pd
import pytest

from sim.cli import main

TINY = ["--set", "population.size=300", "--set", "steps=20", "--set", "seeding.count=20",
        "--replicates", "3", "--workers", "1", "--quiet"]


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    """One tiny comparison folder shared by the tests that only read it."""
    out = tmp_path_factory.mktemp("cmp") / "compare"
    stdout, stderr = io.StringIO(), io.StringIO()  # capsys is per test; this runs once
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(["compare", "fish_pond", "no_feed", "--out", str(out), *TINY])
    assert code == 0, stderr.getvalue()
    return out, stdout.getvalue()


def test_compare_writes_results_table_and_charts(compared):
    out, stdout = compared
    names = {p.name for p in out.iterdir()}
    assert {"results", "timeseries", "manifest.json", "comparison.csv", "members_fan.png",
            "comparison.png", "milestones.png"} <= names
    table = pd.read_csv(out / "comparison.csv")
    assert set(table["scenario"]) == {"seed-100 fish pond", "fish pond without feeding"}
    assert {"metric", "median", "low", "high", "p_holm", "significant"} <= set(table.columns)
    assert len(table) == 2 * 8
    assert "Compared 2 scenarios x 3 replicates on common seeds" in stdout
    assert "members at horizon" in stdout and "cost per retained member" in stdout
    assert "paired Wilcoxon signed-rank" in stdout and "Holm" in stdout
    assert "never" in stdout  # 300 persons never reach 1,000 members
    assert ("With 3 replicates no difference can be significant at 5% after the correction "
            "across 8 metrics; use >= 9") in stdout
    assert "Amounts in CNY" in stdout
    assert f"Wrote {out}/" in stdout
    runs = pd.read_parquet(out / "results")
    seeds = runs.groupby("scenario")["seed"].apply(sorted)
    assert seeds.iloc[0] == seeds.iloc[1]  # common random numbers


def test_chart_redraws_a_compare_folder(compared, capsys):
    out, _ = compared
    code, stdout, err = run_cli(capsys, "chart", out, "--format", "svg,png")
    assert code == 0, err
    for name in ("members_fan", "comparison", "comparison_2", "milestones"):
        assert (out / f"{name}.svg").stat().st_size > 1000
    assert "Wrote 8 charts" in stdout


def test_chart_redraws_a_run_folder(tmp_path, capsys):
    run = tmp_path / "run"
    code, _, err = run_cli(capsys, "run", "fish_pond", "--out", run, "--quiet",
                           "--set", "population.size=300", "--steps", "10")
    assert code == 0, err
    (run / "funnel.png").unlink()
    code, stdout, err = run_cli(capsys, "chart", run, "--format", "pdf,png")
    assert code == 0, err
    assert (run / "funnel.png").is_file() and (run / "members_by_role.pdf").is_file()
    assert "Wrote 6 charts" in stdout


def test_compare_default_folder_and_no_overwrite(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(capsys, "compare", "fish_pond", "random_seeds", *TINY)
    assert code == 0, err
    out = tmp_path / "runs" / "compare-fish_pond-random_seeds"
    assert (out / "comparison.csv").is_file()
    code, _, err = run_cli(capsys, "compare", "fish_pond", "random_seeds", *TINY)
    assert code == 2 and "--overwrite" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("argv, words", [
    (["compare", "fish_pond"], "two or more"),
    (["compare", "fish_pond", "nosuch"], "scenario file not found"),
    (["compare", "fish_pond", "fish_pond.yaml"], "given twice"),
    (["compare", "fish_pond", "no_feed", "--set", "rules.invite_rat=3"], "invite_rate"),
    (["compare", "fish_pond", "no_feed", "--set", "rules.invite_rate=-1"], "rules.invite_rate"),
    (["compare", "fish_pond", "no_feed", "--set", "seed=4"], "--seed"),
    (["compare", "fish_pond", "no_feed", "--replicates", "0"], "--replicates 0"),
    (["compare", "fish_pond", "no_feed", "--format", "gif"], "allowed: png, svg, pdf"),
    (["chart", "nowhere"], "not a folder"),
    (["chart", "."], "no results found"),
])
def test_bad_input_exits_2_with_one_line(argv, words, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(capsys, *argv)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("fishpond: error:")
    assert words in err
    assert not (tmp_path / "runs").exists()


def test_chart_unknown_format(compared, capsys):
    out, _ = compared
    code, _, err = run_cli(capsys, "chart", out, "--format", "png,jpg")
    assert code == 2 and "'jpg'" in err and "allowed: png, svg, pdf" in err
