"""Sweep charts that say nothing false.

One line or row per design point, labelled with its values; one rule for "never reached"
on every chart of a folder; Sobol indices with their confidence intervals, a CSV and a
warning when the sample is too small for them.
"""

from __future__ import annotations

import json
import re
import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from sim import charts
from sim.analysis import milestone_median, summarize_by_scenario
from sim.charts import MAX_POINTS, group_runs
from sim.cli import main
from sim.errors import FishpondWarning
from sim.sensitivity import sobol_problems

DAYS = 120
NEVER = None


def texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.findobj(matplotlib.text.Text)]


def by_gid(fig: Figure, gid: str):
    return [a for a in fig.findobj() if a.get_gid() == gid]


def footnote(fig: Figure) -> str:
    found = by_gid(fig, "footnote")
    assert len(found) == 1, "no footnote"
    return found[0].get_text().replace("\n", " ")


def grid_sweep(points: list[dict], days: list[list[int | None]]):
    """Results and time series like a grid sweep's: same scenario name, one row per run.

    ``days[p]`` lists, per replicate of point ``p``, the day it reaches 1,000 members (None:
    never); members grow by one step of 900 on that day.
    """
    rows, series, run_id = [], [], 0
    day = np.arange(DAYS + 1)
    for p, (params, reached) in enumerate(zip(points, days)):
        for rep, hit in enumerate(reached):
            members = np.where(day >= (hit if hit is not None else DAYS + 5), 1_100, 200 + rep)
            series.append(pd.DataFrame({"run_id": run_id, "day": day, "members": members}))
            rows.append({"run_id": run_id, "point": p, **params, "replicate": rep,
                         "seed": 100 + rep, "status": "ok", "scenario_name": "seed-100 fish pond",
                         "steps": DAYS, "members": int(members[-1]),
                         "day_inflection": np.nan if hit is None else float(hit),
                         "day_explosion": np.nan, "croi": 0.1 * p})
            run_id += 1
    return pd.DataFrame(rows), pd.concat(series, ignore_index=True)


# --- one line or row per design point, labelled with its values -------------------------------

def test_two_design_points_get_one_line_and_row_each_named_by_their_values():
    res, ts = grid_sweep([{"seeding.count": 10}, {"seeding.count": 100}],
                         [[50, 60, NEVER], [20, 30, 40]])
    ok, by, pooled = group_runs(res)
    assert pooled is None
    fan = charts.fan_chart(ts, ok, by=by)
    labels = [t.get_text() for t in fan.axes[0].texts
              if (t.get_gid() or "").startswith("label-")]  # two lines: labelled at their ends
    assert labels == ["seeding.count = 10 (3 runs)", "seeding.count = 100 (3 runs)"]
    assert {"median-0", "median-1"} <= {a.get_gid() for a in fan.findobj()}
    assert not by_gid(fan, "median-2")
    for fig in (charts.scenario_comparison(ok, ["members", "day_inflection"], by=by),
                charts.milestone_days(ok, ["day_inflection"], by=by)):
        assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == [
            "seeding.count = 10", "seeding.count = 100"]
        assert "seed-100 fish pond" not in texts(fig)  # not the base scenario's name


def test_a_seed_count_grid_is_not_pooled_into_one_fan():
    counts, strategies = (10, 30, 100, 300, 1000), ("random", "degree", "influence_max")
    points = [{"seeding.count": c, "seeding.strategy": s} for c in counts for s in strategies]
    res, ts = grid_sweep(points, [[40 + i, 50 + i] for i in range(len(points))])
    ok, by, pooled = group_runs(res)
    assert pooled is None and ok[by].nunique() == 15
    fan = charts.fan_chart(ts, ok, by=by)
    medians = [g for g in {a.get_gid() for a in fan.findobj()} if g and g.startswith("median-")]
    assert len(medians) == 15
    assert not by_gid(fan, "band50-0")  # 15 overlapping bands would hide each other
    legend = [t.get_text() for t in fan.axes[0].get_legend().get_texts()]
    assert "seeding.count = 300, seeding.strategy = degree (2 runs)" in legend
    styles = {(a.get_color(), a.get_linestyle()) for a in fan.axes[0].lines
              if (a.get_gid() or "").startswith("median-")}
    assert len(styles) == 15  # every line can be told apart
    comparison = charts.scenario_comparison(ok, ["members"], by=by)
    labels = [t.get_text() for t in comparison.axes[0].get_yticklabels()]
    assert len(labels) == 15 and len(set(labels)) == 15
    assert labels[0] == "seeding.count = 10, seeding.strategy = random"


def test_more_points_than_can_be_drawn_are_pooled_and_the_charts_say_so(tmp_path):
    points = [{"rules.invite_rate": 0.001 * (i + 1)} for i in range(MAX_POINTS + 6)]
    res, _ = grid_sweep(points, [[40] for _ in points])
    ok, by, pooled = group_runs(res)
    assert ok[by].unique().tolist() == [f"all {MAX_POINTS + 6} design points pooled"]
    assert "rules.invite_rate from 0.001 to 0.03" in pooled
    fig = charts.milestone_days(ok, ["day_inflection"], by=by, note=pooled)
    assert footnote(fig).startswith(f"All {MAX_POINTS + 6} design points pooled")


def test_randomly_drawn_points_are_pooled_and_the_charts_say_so():
    rng = np.random.default_rng(0)
    points = [{"rules.invite_rate": a, "rules.decay": b} for a, b in rng.uniform(0, 1, (6, 2))]
    res, _ = grid_sweep(points, [[40, 50] for _ in points])
    for kind in (None, "lhs"):
        ok, by, pooled = group_runs(res, kind)
        assert ok[by].unique().tolist() == ["all 6 design points pooled"]
        assert ("random draws of a lhs design" if kind else "not a grid") in pooled
    grid = [{"rules.invite_rate": a, "rules.decay": b} for a in (1, 2) for b in (3, 4, 5)]
    ok, by, pooled = group_runs(grid_sweep(grid, [[40] for _ in grid])[0])
    assert pooled is None and ok[by].nunique() == 6


# --- one rule for "never reached", stated on every chart --------------------------------------

def test_fan_comparison_and_milestone_charts_agree_on_the_median_day():
    # Point 0: 40, 50, 60, never, never -> median 60 over all runs (50 among those that reached
    # it); point 1: 3 of 5 never -> "never"; point 2: all reached -> 25.
    days = [[40, 50, 60, NEVER, NEVER], [30, 35, NEVER, NEVER, NEVER], [20, 25, 25, 30, 10]]
    res, ts = grid_sweep([{"seeding.count": c} for c in (10, 30, 100)], days)
    ok, by, _ = group_runs(res)
    expected = ["60", "never", "25"]

    summary = summarize_by_scenario(ok, ["day_inflection"], by=by)
    assert summary["median"].tolist() == [60.0, DAYS + 1, 25.0]

    milestones = charts.milestone_days(ok, ["day_inflection"], by=by)
    comparison = charts.scenario_comparison(ok, ["members", "day_inflection"], by=by)
    fan = charts.fan_chart(ts, ok, by=by)
    for i, want in enumerate(expected):
        written = by_gid(milestones, f"median-day-day_inflection-{i}")[0].get_text()
        assert written == (want if want != "never" else "never (3 of 5)")
        assert by_gid(comparison, f"median-value-day_inflection-{i}")[0].get_text() == want
        dots = by_gid(fan, f"reached-1000-{i}")
        if want == "never":
            assert not dots  # no median day to mark
        else:
            assert dots[0].get_xdata()[0] == float(want)
    one = charts.fan_chart(ts[ts.run_id < 5], ok[ok.run_id < 5], by=by)
    assert "day 60" in texts(one)

    rule = f"a run that never reached a level counts as later than day {DAYS}"
    for fig in (milestones, comparison, fan, charts.grid_heatmap(
            ok.assign(other=ok["replicate"] % 2), "seeding.count", "other", "day_inflection")):
        assert rule in footnote(fig)
    assert "5 of 15 runs never reached 1,000" in footnote(fan)
    assert "2 of 5" in texts(milestones) and "2 of 5" in texts(comparison)
    assert "3 of 5" in texts(comparison)


def test_milestone_median_counts_every_run():
    assert milestone_median([40, 50, 60, None, None], 120) == 60.0
    assert milestone_median([40, 50, None, None], 120) == 121.0  # half never: "never"
    assert milestone_median([np.nan, 10.0, 20.0], 120) == 20.0


# --- Sobol: intervals, a CSV, a warning ---------------------------------------------------------

TINY_SOBOL = pd.DataFrame({"output": "members", "parameter": ["rules.invite_rate", "rules.decay"],
                           "S1": [1.12, -0.31], "S1_conf": [0.85, 0.25],
                           "ST": [0.9, 0.4], "ST_conf": [0.7, 0.5], "missing_points": 0})
GOOD_SOBOL = pd.DataFrame({"output": "members", "parameter": ["rules.invite_rate", "rules.decay"],
                           "S1": [0.6, 0.1], "S1_conf": [0.04, 0.03],
                           "ST": [0.7, 0.2], "ST_conf": [0.05, 0.02], "missing_points": 0})


def test_sobol_bars_print_the_intervals_and_warn_on_a_tiny_sample():
    fig = charts.sobol_bars(TINY_SOBOL)
    assert by_gid(fig, "value-S1-rules.invite_rate")[0].get_text() == "1.12 [0.27, 1.97]"
    assert by_gid(fig, "value-ST-rules.decay")[0].get_text() == "0.40 [-0.10, 0.90]"
    assert "Sample too small" in by_gid(fig, "sobol-warning")[0].get_text()
    assert "95% confidence intervals" in footnote(fig)
    good = charts.sobol_bars(GOOD_SOBOL)
    assert not by_gid(good, "sobol-warning")
    assert by_gid(good, "value-S1-rules.invite_rate")[0].get_text() == "0.60 [0.56, 0.64]"


def test_sobol_problems_criterion():
    problems = sobol_problems(TINY_SOBOL)
    assert problems[0] == ("S1 = 1.12 [0.27, 1.97]: interval wider than ±0.10, "
                           "ST = 0.90 [0.20, 1.60]: interval wider than ±0.10")
    assert problems[1].startswith("S1 = -0.31 [-0.56, -0.06]: outside 0-1; interval wider")
    assert (sobol_problems(GOOD_SOBOL) == "").all()
    edge = GOOD_SOBOL.assign(S1=[1.03, -0.02], S1_conf=[0.05, 0.05])  # within their intervals
    assert (sobol_problems(edge) == "").all()
    assert "NaN" in sobol_problems(GOOD_SOBOL.assign(ST_conf=np.nan))[0]


def test_write_sweep_charts_writes_the_indices_and_warns(tmp_path):
    res, _ = grid_sweep([{"rules.invite_rate": 0.002 + 0.001 * i} for i in range(4)],
                        [[40], [50], [60], [NEVER]])
    with pytest.warns(FishpondWarning, match=r"2 of 2 \(output, parameter\) pairs.*2 base samples"):
        paths = charts.write_sweep_charts(res, None, tmp_path / "tiny", design_kind="sobol",
                                          sobol_indices=TINY_SOBOL, sobol_samples=2)
    assert paths[-1].name == "sobol_indices.csv"
    table = pd.read_csv(paths[-1])
    assert ["output", "parameter", "S1", "S1_conf", "ST", "ST_conf"] == table.columns[:6].tolist()
    assert table["S1"].tolist() == [1.12, -0.31] and not table["reliable"].any()

    with warnings.catch_warnings():
        warnings.simplefilter("error", FishpondWarning)
        paths = charts.write_sweep_charts(res, None, tmp_path / "good", design_kind="sobol",
                                          sobol_indices=GOOD_SOBOL, sobol_samples=2)
    assert pd.read_csv(paths[-1])["reliable"].all()


# --- end to end: fishpond sweep, fishpond chart ------------------------------------------------

TINY = {"population": {"size": 300}, "steps": 20}


def svg_texts(path) -> str:
    return " ".join(re.findall(r">([^<>]+)</text>", path.read_text()))


def test_a_tiny_grid_sweep_draws_one_line_per_point_with_its_values(tmp_path, capsys):
    exp = tmp_path / "two.yaml"
    exp.write_text(json.dumps({"scenario": "fish_pond", "replicates": 2, "seed": 3,
                               "overrides": TINY, "design": {"kind": "grid", "parameters": {
                                   "seeding.count": [5, 40]}}}))
    out = tmp_path / "two"
    assert main(["sweep", str(exp), "--out", str(out), "--workers", "1", "--quiet"]) == 0
    assert "4 charts" in capsys.readouterr().out  # the comparison: 2 figures of <= 4 panels
    assert main(["chart", str(out), "--format", "svg"]) == 0
    capsys.readouterr()
    for name in ("members_fan", "comparison", "comparison_2", "milestones"):
        shown = svg_texts(out / f"{name}.svg")
        assert "seeding.count = 5" in shown and "seeding.count = 40" in shown, name
        assert "fish pond" not in shown, name
    assert "counts as later than day 20" in svg_texts(out / "milestones.svg")


def test_a_tiny_sobol_sweep_writes_its_indices_and_warns_in_one_line(tmp_path, capsys):
    exp = tmp_path / "sobol.yaml"
    exp.write_text(json.dumps({"scenario": "fish_pond", "replicates": 1, "seed": 3,
                               "overrides": TINY, "outputs": ["members"],
                               "design": {"kind": "sobol", "samples": 4, "parameters": {
                                   "rules.invite_rate": [0.002, 0.02],
                                   "program.content_gain": [0.0, 0.1]}}}))
    out = tmp_path / "sobol"
    assert main(["sweep", str(exp), "--out", str(out), "--workers", "1", "--quiet"]) == 0
    stdout, err = capsys.readouterr()
    warned = [line for line in err.splitlines() if line.startswith("fishpond: warning:")]
    assert len(warned) == 1 and "raise design.samples" in warned[0], err
    assert "Traceback" not in err and "sobol_indices.csv" in stdout
    table = pd.read_csv(out / "sobol_indices.csv")
    assert {"S1", "S1_conf", "ST", "ST_conf"} <= set(table.columns) and len(table) == 2
