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


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    """One tiny run folder; each damage test works on a copy."""
    run = tmp_path_factory.mktemp("run") / "run"
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert main(["run", "fish_pond", "--out", str(run), "--quiet",
                     "--set", "population.size=300", "--steps", "10"]) == 0
    return run


def _edit_line(path, line, column, value):
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[line - 1].split(",")
    cells[header.index(column)] = value
    lines[line - 1] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")


CSV_DAMAGE = [  # (file, line, column, new cell, words of the message)
    ("timeseries.csv", 6, "members", "12x", "timeseries.csv:6: members = '12x': not a number"),
    ("timeseries.csv", 3, "lurkers", '"[]"', "timeseries.csv:3: lurkers = '[]': not a number"),
    ("timeseries.csv", 7, "members", "inf", "members = 'inf': not a finite number"),
    ("timeseries.csv", 5, "churned", "", "timeseries.csv:5: churned = '': missing"),
    ("timeseries.csv", 4, "croi", "-inf", "timeseries.csv:4: croi = '-inf': not a finite"),
    ("referral_curve.csv", 2, "referral_share", "0.1abc", "referral_share = '0.1abc'"),
]
JSON_DAMAGE = [  # (summary.json's text, words of the message)
    ('{"milestones": {"100": "x"}}', "milestones.100 = 'x': not a member count with a day"),
    ('{"scenario": 5}', "summary.json: scenario = 5: not text"),
    ("[1, 2]", "summary.json: the file = [1, 2]: not a JSON object"),
]


def _damage_csv(file, line, column, cell):
    return lambda d: _edit_line(d / file, line, column, cell)


def _damage_json(text):
    return lambda d: (d / "summary.json").write_text(text)


@pytest.mark.parametrize("damage, words", [
    *((_damage_csv(*case[:4]), case[4]) for case in CSV_DAMAGE),
    *((_damage_json(text), words) for text, words in JSON_DAMAGE),
])
def test_chart_refuses_damaged_run_files_in_one_line(run_folder, damage, words, tmp_path,
                                                     capsys):
    """A run file damaged or edited since the run wrote it: one line, exit 2, no chart lost.

    Before, text in a number column crashed the charts with a traceback (found by fuzzing).
    """
    import shutil

    run = tmp_path / "run"
    shutil.copytree(run_folder, run)
    before = (run / "funnel.png").read_bytes()
    damage(run)
    code, _, err = run_cli(capsys, "chart", run)
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and err.startswith("fishpond: error:")
    assert words in err and "run the scenario again" in err, err
    assert (run / "funnel.png").read_bytes() == before


def test_chart_reads_empty_cells_of_a_run_file_as_missing(run_folder, tmp_path, capsys):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(run_folder, run)
    _edit_line(run / "timeseries.csv", 4, "croi", "")
    code, _, err = run_cli(capsys, "chart", run)
    assert code == 0, err


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
