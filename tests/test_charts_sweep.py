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


# --- titles that state the finding --------------------------------------------------------------

def finding(fig: Figure) -> str:
    """The headline of a chart (one line, whatever its line breaks)."""
    found = by_gid(fig, "finding")
    assert len(found) == 1, "no finding"
    return found[0].get_text().replace("\n", " ").strip()


def fan(groups: dict[str, list[tuple[int | None, int]]], days: int = DAYS) -> pd.DataFrame:
    """A fan's table: per group, per run ``(day it reaches 1,000 or None, members at the end)``.

    Members start at 150 (the 100 level is reached on day 0), jump to 1,000 on the given day
    and rise linearly to the end value from there (or from day 0 up to a value below 1,000).
    """
    rows, run = [], 0
    day = np.arange(days + 1)
    for name, runs in groups.items():
        for hit, end in runs:
            if hit is None:
                members = np.linspace(150, end, days + 1)
            else:
                members = np.where(day < hit, 150, 1_000 + (end - 1_000) * (day - hit)
                                   / max(days - hit, 1))
            rows.append(pd.DataFrame({"run_id": run, "day": day, "members": members,
                                      "scenario": name}))
            run += 1
    return pd.concat(rows, ignore_index=True)


def test_fan_finding_says_who_is_sooner_only_when_the_bands_do_not_overlap():
    sooner = fan({"A": [(50, 3_000), (52, 3_000), (54, 3_000)],
                  "B": [(20, 3_000), (22, 3_000), (24, 3_000)]})
    assert charts.fan_finding(sooner) == ("B reaches 1,000 members 30 days sooner than A "
                                          "(day 22 vs 52)")
    overlap = fan({"A": [(20, 3_000), (40, 3_000), (60, 3_000)],
                   "B": [(30, 3_000), (45, 3_000), (55, 3_000)]})
    assert charts.fan_finding(overlap) == ("A and B overlap: no clear difference in the day "
                                           "they reach 1,000 members")
    # the same day to 1,000, but clearly apart at the end: the ends are the finding
    apart = fan({"A": [(20, 2_000), (40, 2_100)], "B": [(25, 5_000), (35, 5_200)]})
    assert charts.fan_finding(apart) == "B ends 149% higher than A (5,100 vs 2,050)"
    only = fan({"A": [(None, 600), (None, 700)], "B": [(30, 2_000), (40, 2_000)]})
    assert charts.fan_finding(only) == "B reaches 1,000 members by day 35; A does not by day 120"
    # a line that jumps over the level and falls back: said so
    pulled = fan({"A": [(None, 600), (None, 700)], "B": [(0, 400), (0, 500)],
                  "C": [(None, 300), (None, 350)]})
    assert charts.fan_finding(pulled) == ("B reaches 1,000 members by day 0 but ends at 450; "
                                          "no other line does by day 120")
    three = fan({"A": [(60, 2_000)] * 2, "B": [(30, 2_000)] * 2, "C": [(90, 2_000)] * 2})
    assert charts.fan_finding(three) == ("B reaches 1,000 members first: day 30, 30 days "
                                         "before A")


def test_fan_finding_when_no_line_reaches_a_level_compares_the_ends():
    never = fan({"A": [(None, 500), (None, 520)], "B": [(None, 800), (None, 820)]})
    assert charts.fan_finding(never, milestones=(1_000, 10_000)) == (
        "Neither line reaches 1,000 members by day 120; B ends 59% higher than A (810 vs 510)")
    close = fan({"A": [(None, 500), (None, 800)], "B": [(None, 600), (None, 900)]})
    assert charts.fan_finding(close, milestones=(1_000,)).endswith(
        "B and A overlap: no clear difference in members on day 120")
    big = fan({"A": [(None, 1_234)], "B": [(None, 12_345)]}, days=1_200)
    assert charts.fan_finding(big, milestones=(100_000,)) == (
        "Neither line reaches 100,000 members by day 1,200; B ends 900% higher than A "
        "(12,345 vs 1,234) (one run each)")


def test_fan_finding_of_one_group_one_run_and_no_data():
    one = fan({"fish pond": [(40, 2_000), (50, 2_000), (60, 2_000)]})
    assert charts.fan_finding(one) == "1,000 members by day 50 (median of 3 runs)"
    single = fan({"fish pond": [(40, 2_000)]})
    assert charts.fan_finding(single) == "1,000 members by day 40 (one run)"
    flat = fan({"fish pond": [(None, 900), (None, 700)]})
    assert charts.fan_finding(flat, milestones=(1_000,)) == (
        "800 members on day 120 (median of 2 runs); 1,000 not reached")
    # a level the runs start at (the seeds) is no finding: the end is
    seeded = fan({"fish pond": [(None, 600), (None, 800)]})
    assert charts.fan_finding(seeded) == (
        "700 members on day 120 (median of 2 runs); 1,000 not reached")
    assert charts.fan_finding(one.iloc[:0]) == ""


def test_the_fan_chart_shows_its_finding_above_the_callers_title():
    ts = fan({"A": [(50, 3_000), (52, 3_000)], "B": [(20, 3_000), (22, 3_000)]})
    fig = charts.fan_chart(ts, title="Members by strategy")
    assert finding(fig) == charts.fan_finding(ts)
    assert fig.axes[0].get_title() == "Members by strategy"  # the caller's title: the subtitle
    assert not by_gid(charts.fan_chart(ts, finding=""), "finding")
    assert finding(charts.fan_chart(ts, finding="Said by hand")) == "Said by hand"
    log = charts.fan_chart(ts, log=True)
    assert log.axes[0].get_ylabel() == "members (log scale)"


def runs(groups: dict[str, dict[str, list]], **extra) -> pd.DataFrame:
    frames = [pd.DataFrame({"scenario": name, **cols, **extra}) for name, cols in groups.items()]
    return pd.concat(frames, ignore_index=True)


def test_comparison_finding_names_the_first_metric_with_a_clear_leader():
    clear = runs({"A": {"members": [1_000, 1_100, 1_200]}, "B": {"members": [3_000, 3_100, 3_200]}})
    assert charts.comparison_finding(clear, ["members"]) == (
        "B ends with the most members: 3,100 vs 1,100 for A")
    # members overlap, so the finding moves on to the cost, lower being better, in EUR
    cost = runs({"A": {"members": [1_000, 3_000], "cost_per_retained_member": [2.5, 2.6]},
                 "B": {"members": [1_500, 2_500], "cost_per_retained_member": [4.0, 4.2]}},
                currency="EUR")
    assert charts.comparison_finding(cost, ["members", "cost_per_retained_member"]) == (
        "A has the lowest cost per retained member: 2.55 EUR vs 4.10 EUR for B")
    assert charts.comparison_finding(cost.drop(columns="currency"),
                                     ["cost_per_retained_member"]).endswith("4.10 CNY for B")
    assert charts.comparison_finding(cost, ["members"]) == (
        "A and B overlap: no clear difference on any metric shown")
    three = runs({"A": {"members": [1, 9]}, "B": {"members": [2, 8]}, "C": {"members": [3, 7]}})
    assert charts.comparison_finding(three, ["members"]) == (
        "No clear leader: the top two overlap on every metric shown")


def test_comparison_finding_handles_never_one_run_and_one_group():
    days = runs({"A": {"day_inflection": [None, None]}, "B": {"day_inflection": [30.0, 40.0]}},
                steps=DAYS)
    assert charts.comparison_finding(days, ["day_inflection"]) == (
        "B reaches 1,000 members by day 35; A does not by day 120")
    both_never = runs({"A": {"day_inflection": [None]}, "B": {"day_inflection": [None]}},
                      steps=DAYS)
    assert "overlap" in charts.comparison_finding(both_never, ["day_inflection"])
    single = runs({"A": {"members": [10]}, "B": {"members": [30]}})
    assert charts.comparison_finding(single, ["members"]) == (
        "B ends with the most members: 30 vs 10 for A (one run each)")
    alone = runs({"fish pond": {"members": [1_000, 2_000, 30_000]}})
    assert charts.comparison_finding(alone, ["members"]) == (
        "fish pond: members at horizon 2,000 (median of 3 runs)")
    assert charts.comparison_finding(alone.iloc[:0], ["members"]) == ""


def test_a_comparison_figure_has_its_finding_above_the_descriptive_title():
    data = runs({"A": {"members": [1_000, 1_100]}, "B": {"members": [3_000, 3_100]}})
    fig = charts.scenario_comparison(data, ["members"])
    assert finding(fig) == "B ends with the most members: 3,050 vs 1,050 for A"
    subtitle = by_gid(fig, "subtitle")
    assert [t.get_text() for t in subtitle] == [
        "Scenarios compared: median and 90% interval of the runs"]
    own = charts.scenario_comparison(data, ["members"], title="Two strategies")
    assert [t.get_text() for t in by_gid(own, "subtitle")] == ["Two strategies"]


def test_milestones_finding_never_one_group_and_a_leader():
    never = runs({"A": {"day_inflection": [None, None, 50.0]}}, steps=DAYS)
    assert charts.milestones_finding(never, ["day_inflection"]) == (
        "Half the runs or more never reach 1,000 members by day 120")
    nobody = runs({"A": {"day_inflection": [None, None]}}, steps=DAYS)
    assert charts.milestones_finding(nobody, ["day_inflection"]) == (
        "No run reaches 1,000 members by day 120")
    one = runs({"A": {"day_inflection": [40.0, 50.0, 60.0], "day_explosion": [None, 110.0, None]}},
               steps=DAYS)
    assert charts.milestones_finding(one) == (
        "1,000 members by day 50 (median of 3 runs); 10,000 in 1 of 3 runs by day 120")
    two = runs({"A": {"day_inflection": [40.0, 42.0], "day_explosion": [None, None]},
                "B": {"day_inflection": [80.0, 90.0], "day_explosion": [None, None]}},
               steps=DAYS)
    assert charts.milestones_finding(two) == "A reaches 1,000 members first: day 41 vs 85 for B"
    fig = charts.milestone_days(two)
    assert finding(fig) == "A reaches 1,000 members first: day 41 vs 85 for B"


def test_heatmap_finding_names_the_best_and_worst_cells():
    grid = pd.DataFrame({"rules.invite_rate": [0.01, 0.01, 0.03, 0.03] * 2,
                         "seeding.count": [10, 100, 10, 100] * 2,
                         "members": [800, 2_000, 5_000, 12_400] * 2})
    fig = charts.grid_heatmap(grid, "rules.invite_rate", "seeding.count")
    assert finding(fig) == ("Most members at horizon (12,400) at invite_rate 0.03, count 100; "
                            "fewest (800) at invite_rate 0.01, count 10")
    days = grid.assign(day_inflection=[90.0, 60.0, 40.0, 20.0] * 2, steps=DAYS)
    fig = charts.grid_heatmap(days, "rules.invite_rate", "seeding.count", "day_inflection")
    assert finding(fig).startswith("Earliest day of inflection (1,000) (20) at invite_rate 0.03")
    flat = grid.assign(members=5)
    assert finding(charts.grid_heatmap(flat, "rules.invite_rate", "seeding.count")) == (
        "Members at horizon: 5 in every cell")


def test_sobol_finding_claims_a_driver_only_when_the_sample_can_tell():
    clear = pd.DataFrame({"parameter": ["rules.invite_rate", "rules.decay"],
                          "S1": [0.61, 0.1], "S1_conf": [0.04, 0.03],
                          "ST": [0.74, 0.2], "ST_conf": [0.05, 0.04]})
    assert charts.sobol_finding(clear, "day_inflection") == (
        "invite_rate drives 61% of the variance in day of inflection (1,000) "
        "(74% with interactions)")
    fig = charts.sobol_bars(clear.assign(output="members"))
    assert finding(fig) == ("invite_rate drives 61% of the variance in members at horizon "
                            "(74% with interactions)")
    close = clear.assign(ST=[0.45, 0.40], ST_conf=[0.05, 0.05])
    assert charts.sobol_finding(close, "members") == (
        "invite_rate and decay matter most for members at horizon (45% and 40% of its "
        "variance with interactions)")
    noisy = clear.assign(ST_conf=[0.5, 0.5])
    assert charts.sobol_finding(noisy, "members") == (
        "Sample too small to tell what drives members at horizon")
    assert charts.sobol_finding(clear.iloc[:0]) == ""


def test_parameter_finding_follows_one_swept_parameter():
    res, _ = grid_sweep([{"rules.invite_rate": r} for r in (0.005, 0.01, 0.03)],
                        [[100, 110, 120], [60, 70, 80], [40, 45, 50]])
    assert charts.parameter_finding(res, "rules.invite_rate", ["day_inflection"]) == (
        "Day of inflection (1,000) falls from 110 to 45 as invite_rate rises 0.005 -> 0.03")
    res, _ = grid_sweep([{"rules.invite_rate": r} for r in (0.005, 0.03)],
                        [[NEVER, NEVER], [40, 45]])
    assert charts.parameter_finding(res, "rules.invite_rate", ["day_inflection"]) == (
        "Day of inflection (1,000) goes from never to 42 as invite_rate rises 0.005 -> 0.03")
    res, _ = grid_sweep([{"rules.invite_rate": r} for r in (0.005, 0.03)],
                        [[40, 90], [45, 80]])
    assert charts.parameter_finding(res, "rules.invite_rate", ["day_inflection"]) == (
        "Day of inflection (1,000): no clear change as invite_rate rises 0.005 -> 0.03 "
        "(65 to 62)")
    assert charts.parameter_finding(res, "seeding.strategy", ["members"]) == ""


def test_a_one_parameter_sweep_titles_its_comparison_by_the_trend(tmp_path):
    res, ts = grid_sweep([{"rules.invite_rate": r} for r in (0.005, 0.01, 0.03)],
                         [[100, 110, 120], [60, 70, 80], [40, 45, 50]])
    written = charts.write_sweep_charts(res, ts, tmp_path, formats=("svg",), design_kind="grid")
    names = [p.name for p in written]
    assert names[:2] == ["members_fan.svg", "comparison.svg"]
    shown = svg_texts(tmp_path / "milestones.svg")
    assert "Day of inflection (1,000) falls from 110 to 45 as" in shown
    assert "Day of inflection (1,000) falls from 110 to 45 as" in svg_texts(
        tmp_path / "comparison.svg")
