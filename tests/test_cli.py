"""The `fishpond` command line: outputs of a run, and every bad-input path."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import main
from sim.scenario_io import SCENARIOS_DIR, load_scenario

FAST = ["--set", "population.size=300", "--steps", "15", "--quiet"]


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_run_writes_summary_timeseries_scenario_and_charts(tmp_path, capsys):
    out = tmp_path / "run"
    code, stdout, err = run_cli(capsys, "run", "fish_pond", "--seed", "3", "--out", str(out), *FAST,
                                "--set", "seeding.count=20")
    assert code == 0, err
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(["summary.json", "timeseries.csv", "referral_curve.csv", "scenario.yaml",
                            "members_by_role.png", "funnel.png", "referral_concentration.png",
                            "manifest.json"])
    summary = json.loads((out / "summary.json").read_text())
    ts = pd.read_csv(out / "timeseries.csv")
    assert len(ts) == 16 and summary["members"] == ts.members.iloc[-1] and summary["seed"] == 3
    for key in ("day_origin", "day_inflection", "day_explosion", "k_factor",
                "top20_referral_share", "croi", "lurker_share", "seed_referral_share",
                "nonseed_top20_referral_share", "retention_30", "retention_by_source",
                "bass_p", "bass_q", "cost_to_milestone"):
        assert key in summary
    resolved = load_scenario(out / "scenario.yaml")
    assert resolved.seed == 3 and resolved.steps == 15 and resolved.population.size == 300
    assert all((out / n).stat().st_size > 1000 for n in names if n.endswith(".png"))
    for word in ("Milestones", "Members", "K-factor", "Top 20%", "CROI", "Fission",
                 "seeds' share of referral joins", "Retention", "Bass fit", "q/p",
                 "Cost to"):
        assert word in stdout
    lurkers = f"lurkers {summary['lurkers']:,} = "
    assert lurkers in stdout
    assert not list(tmp_path.glob(".run.*")), "temporary folders left behind"


def test_the_printout_shows_the_revision_2_metrics():
    from sim.cli import format_summary

    s = {"scenario": "x", "seed": 1, "steps": 130, "population": 3000, "engine": "kernels",
         "milestones": {"100": 0, "1000": 88, "10000": None}, "members": 50, "kols": 1,
         "actives": 9, "lurkers": 40, "churned": 0, "non_users": 2950, "joins_seed": 10,
         "joins_mass_pull": 0, "joins_referral": 30, "joins_organic": 0, "joins_ads": 0,
         "invites_sent": 90, "k_factor": 0.1, "k_factor_30d": 0.2, "referral_share": 0.5,
         "contributor_share": 0.2, "commitment_share": 0.2, "self_org_share": 0.1,
         "top20_referral_share": 0.7, "revenue": 10.0, "cost": 20.0, "croi": -0.5,
         "cost_per_retained_member": 0.4, "lurker_share": 0.8, "seed_referral_share": 0.3,
         "nonseed_top20_referral_share": 0.65, "bass_p": 0.1, "bass_q": 0.95,
         "retention_by_source": {"referral": {"30": 0.9, "90": 0.5, "120": 0.25},
                                 "organic": {"30": None, "90": None, "120": None},
                                 "ads": {"30": 0.5, "90": 0.1, "120": None}},
         "cost_to_milestone": {"100": 0.0, "1000": 12345.6, "10000": None}}
    text = format_summary(s)
    assert "lurkers 40 = 80.0%)" in text
    assert "seeds' share of referral joins 30.0%; top 20% of non-seeds by intimacy: 65.0%" in text
    assert "on day 30/90/120: referral 90.0%/50.0%/25.0%; ads 50.0%/10.0%/n/a" in text
    assert "organic" not in text.split("Retention")[1].splitlines()[0]
    assert "Bass fit     p 0.100, q 0.950 per year; q/p 9.5" in text
    assert ("Cost to      100 members: day 0, CNY 0 spent | 1,000 members: day 88, CNY 12,346 "
            "spent | 10,000 members: never reached") in text
    assert "Money        revenue CNY 10, cost CNY 20, CROI -50.0%" in text
    assert "Glossary     K-factor: " in text and "CROI: (revenue - cost) / cost" in text
    assert "revenue EUR 10" in format_summary({**s, "currency": "EUR"})
    # a summary written before these metrics still prints
    old = {k: v for k, v in s.items() if k not in ("lurker_share", "retention_by_source",
                                                   "bass_p", "bass_q", "cost_to_milestone")}
    assert "q/p n/a" in format_summary(old)


def test_default_output_folder_and_overwrite(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(capsys, "run", "pure_sir", *FAST)
    assert code == 0, err
    out = tmp_path / "runs" / "pure_sir-42"
    assert (out / "summary.json").exists()
    marker = out / "mine.txt"
    marker.write_text("keep me")
    code, _, err = run_cli(capsys, "run", "pure_sir", *FAST)
    assert code == 2 and "--overwrite" in err and marker.read_text() == "keep me"
    code, _, err = run_cli(capsys, "run", "pure_sir", *FAST, "--overwrite")
    assert code == 0 and not marker.exists()


def test_validate_prints_the_resolved_scenario(capsys):
    code, out, err = run_cli(capsys, "validate", "no_feed", "--set", "rules.invite_rate=0.01")
    assert code == 0
    assert "invite_rate: 0.01" in out and "content_per_week: 0" in out and "valid" in err


BAD = [
    (["run", "no_such_scenario.yaml"], "no_such_scenario"),
    (["run", "fish_pond", "--set", "rules.invite_rat=0.1"], "invite_rate"),
    (["run", "fish_pond", "--set", "rules.invite_rate=2"], "rules.invite_rate"),
    (["run", "fish_pond", "--set", "rules.invite_rate=abc"], "rules.invite_rate"),
    (["run", "fish_pond", "--set", "novalue"], "novalue"),
    (["run", "fish_pond", "--seed", "-1"], "seed"),
    (["run", "fish_pond", "--steps", "0"], "steps"),
    (["run", "fish_pond", "--engine", "warp"], "engine"),
    (["run", "fish_pond", "--set", "population.graph.kind=barabasi"], "barabasi_albert"),
    (["run", "fish_pond", "--set", "seeding.count=100000000"], "seeding.count"),
    (["run"], "scenario"),
    (["frobnicate"], "frobnicate"),
    (["run", "fish_pond", "--seed", "x"], "--seed"),
]


@pytest.mark.parametrize("argv,needle", BAD)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(
    argv, needle, tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    with_out = argv + (
        ["--out", str(tmp_path / "out")] if argv[:1] == ["run"] and len(argv) > 1 else []
    )
    try:
        code = main(with_out)
    except SystemExit as exc:  # argparse errors
        code = exc.code
    out, err = capsys.readouterr()
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert needle in lines[0] and "Traceback" not in err
    assert not (tmp_path / "out").exists() and not (tmp_path / "runs").exists()


def test_bad_yaml_files(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("extends: " + str(SCENARIOS_DIR / "base.yaml") + "\nrules:\n  decay: [1, 2\n")
    code, _, err = run_cli(capsys, "run", str(bad), "--out", str(tmp_path / "o"))
    assert code == 2 and "bad.yaml" in err and len(err.strip().splitlines()) == 1
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("name: x\nprogram:\n  contnet_per_week: 3\n")
    code, _, err = run_cli(capsys, "validate", str(unknown))
    assert code == 2 and "unknown.yaml:3" in err and "content_per_week" in err
    assert not (tmp_path / "o").exists()


def test_malformed_edge_list_is_a_clear_error(tmp_path, capsys):
    edges = tmp_path / "edges.txt"
    edges.write_text("0 1\n1 2\n2\n")
    sc = tmp_path / "net.yaml"
    sc.write_text(
        "name: net\npopulation:\n  graph: {kind: edgelist, path: edges.txt}\nseeding: {count: 1}\n"
    )
    code, _, err = run_cli(capsys, "run", str(sc), "--out", str(tmp_path / "o"), "--quiet")
    assert code == 2 and "edges.txt:3" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_console_entry_point_bad_input_has_no_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "sim", "run", "fish_pond", "--set", "rules.decay=-1",
         "--out", str(tmp_path / "o")],
        capture_output=True, text=True, cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert (proc.stderr.count("\n") == 1 and "rules.decay" in proc.stderr
            and "Traceback" not in proc.stderr)
    assert not (tmp_path / "o").exists()


def test_quiet_prints_no_compile_notice(tmp_path, capsys, monkeypatch):
    import sim.kernels

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sim.kernels, "cache_present", lambda: False)  # as on first use
    exp = tmp_path / "tiny.yaml"
    exp.write_text(json.dumps({"scenario": "pure_sir", "replicates": 1, "overrides": {
        "population": {"size": 300}, "steps": 15}, "design": {"kind": "grid", "parameters": {
            "seeding.count": [5, 10]}}}))
    for argv in (["run", "pure_sir", "--out", "r", *FAST],
                 ["sweep", str(exp), "--out", "s", "--workers", "1", "--quiet"],
                 ["compare", "pure_sir", "fish_pond", "--replicates", "1", "--workers", "1",
                  "--set", "population.size=300", "--set", "steps=15", "--out", "c", "--quiet"]):
        code, stdout, err = run_cli(capsys, *argv)
        assert code == 0 and stdout and err == "", (argv, err)  # results only
    code, _, err = run_cli(capsys, "run", "pure_sir", "--out", "loud", "--set",
                           "population.size=300", "--steps", "15")
    assert code == 0 and "compiling the simulation kernels" in err  # without --quiet: told


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_run_folder_and_files_follow_the_umask(umask, tmp_path, capsys):
    out = tmp_path / "run"
    old = os.umask(umask)
    try:
        code, _, err = run_cli(capsys, "run", "pure_sir", *FAST, "--engine", "agents",
                               "--out", str(out))
    finally:
        os.umask(old)
    assert code == 0, err
    assert stat.S_IMODE(out.stat().st_mode) == 0o777 & ~umask  # 0755 with umask 022
    for file in out.iterdir():  # the charts too (written through mkstemp, which makes 0600)
        assert stat.S_IMODE(file.stat().st_mode) == 0o666 & ~umask, file.name


def test_progress_on_a_pipe_is_one_line_per_stage(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}  # this checkout
    proc = subprocess.run(
        [sys.executable, "-m", "sim", "run", "pure_sir", "--engine", "agents",
         "--set", "population.size=300", "--steps", "40", "--out", str(tmp_path / "o")],
        capture_output=True, text=True, cwd=tmp_path, env=env, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "\r" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if "days" in line]
    assert len(lines) == 1 and lines[0].startswith("pure SIR: 40/40 days in "), proc.stderr
    quiet = subprocess.run(
        [sys.executable, "-m", "sim", "run", "pure_sir", "--engine", "agents", "--quiet",
         "--set", "population.size=300", "--steps", "40", "--out", str(tmp_path / "q")],
        capture_output=True, text=True, cwd=tmp_path, env=env, check=False,
    )
    assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr


@pytest.mark.parametrize("argv", [["run", "x"], ["sweep", "x"], ["facts"], ["bench"],
                                  ["compare", "a", "b"], ["chart", "d"], ["doctor"],
                                  ["validate", "x"], ["calibrate", "x"]])
def test_every_command_dispatches_to_its_own_function(argv):
    from sim import cli

    args = cli._parser().parse_args(argv)
    assert args.func is getattr(cli, f"_{argv[0]}")


@pytest.mark.parametrize("argv", [[], ["validat", "fish_pond"]])
def test_no_command_or_an_unknown_one_is_a_usage_error_not_validate(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out, err = capsys.readouterr()
    assert exc.value.code == 2 and out == "" and "fishpond: error:" in err
