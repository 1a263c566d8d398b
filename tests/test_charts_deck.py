"""Charts over many runs (sim.charts.deck, sim.charts.sweep) on synthetic sweep tables."""

from __future__ import annotations

import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from sim import charts
from sim.errors import DataError

DAYS = 120
SCENARIOS = {"seed-100 fish pond": 3_000, "mass pull (拉群)": 400, "paid ads only": 1_500}


def texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.findobj(matplotlib.text.Text)]


def gids(fig: Figure) -> set[str]:
    return {a.get_gid() for a in fig.findobj() if a.get_gid()}


@pytest.fixture(scope="module")
def sweep() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Results and time series shaped like sim.store's: 3 scenarios x 8 replicates."""
    rng = np.random.default_rng(1)
    rows, series = [], []
    day = np.arange(DAYS + 1)
    for point, (name, cap) in enumerate(SCENARIOS.items()):
        for rep in range(8):
            run_id = point * 8 + rep
            members = np.round(100 + (cap - 100) / (1 + np.exp(-(day - 50) / 12))
                               * rng.uniform(0.9, 1.1)).astype(int)
            series.append(pd.DataFrame({"run_id": run_id, "day": day, "members": members,
                                        "kols": members // 20, "actives": members // 5,
                                        "lurkers": members - members // 20 - members // 5,
                                        "churned": day}))
            hit = np.flatnonzero(members >= 1_000)
            rows.append({"run_id": run_id, "point": point, "replicate": rep, "seed": 10 + rep,
                         "status": "ok", "scenario": name.split(" ")[0],
                         "scenario_name": name, "steps": DAYS, "members": int(members[-1]),
                         "day_inflection": float(hit[0]) if len(hit) else np.nan,
                         "day_explosion": np.nan, "cost_per_retained_member": 1e5 / members[-1],
                         "croi": -0.9 + 0.01 * rep, "referral_share": 0.5 + 0.02 * point,
                         "contributor_share": 0.3, "commitment_share": 0.1 * point})
    return pd.DataFrame(rows), pd.concat(series, ignore_index=True)


@pytest.fixture(scope="module")
def results(sweep):
    res, _ = sweep
    return res.assign(scenario=res["scenario_name"])


def grid_results() -> pd.DataFrame:
    rows = []
    for a in (0.002, 0.004, 0.008):
        for b in (0, 7, 14):
            for rep in range(2):
                rows.append({"rules.invite_rate": a, "program.content_per_week": b,
                             "members": 1000 * a * 1000 + 10 * b + rep, "status": "ok",
                             "scenario_name": "fish", "seed": rep, "steps": DAYS,
                             "day_inflection": np.nan if a < 0.004 else 60.0})
    return pd.DataFrame(rows)


SOBOL = pd.DataFrame({"output": "members",
                      "parameter": ["rules.churn_base", "rules.invite_rate", "rules.convert_prob"],
                      "S1": [0.05, 0.5, 0.3], "S1_conf": [0.02, 0.05, 0.04],
                      "ST": [0.08, 0.6, 0.35], "ST_conf": [0.02, 0.06, 0.05]})


def test_fan_chart_bands_medians_and_milestones(sweep):
    res, ts = sweep
    fig = charts.fan_chart(ts, res.assign(scenario=res["scenario_name"]))
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    found = gids(fig)
    for i in range(3):
        assert {f"band50-{i}", f"band90-{i}", f"median-{i}"} <= found
    assert {"milestone-100", "milestone-1000"} <= found and "milestone-10000" not in found
    assert "reached-1000-0" in found  # the fish pond's median crosses 1,000
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["middle 50% of runs", "middle 90% of runs"]
    # three lines: each labelled at its end, in its colour, instead of in the legend
    shown = [t.get_text() for t in ax.texts if (t.get_gid() or "").startswith("label-")]
    assert "seed-100 fish pond (8 runs)" in shown and len(shown) == 3
    # drawn with a CJK font where one is installed, else transliterated; never dropped
    assert "mass pull (拉群) (8 runs)" in shown or "mass pull (La Qun) (8 runs)" in shown
    assert "inflection · 1,000" in texts(fig)
    band = next(a for a in ax.collections if a.get_gid() == "band90-0")
    median = next(a for a in ax.lines if a.get_gid() == "median-0")
    top = band.get_paths()[0].vertices[:, 1].max()
    assert top >= median.get_ydata().max()  # the 90% band holds the median


def test_fan_chart_single_group_and_log(sweep):
    _, ts = sweep
    fig = charts.fan_chart(ts[ts.run_id < 8], title="Fish pond")
    assert fig.axes[0].get_title() == "Fish pond"
    assert "median of 8 runs" in [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any(t.startswith("day ") for t in texts(fig))  # the day 1,000 was reached
    log = charts.fan_chart(ts, log=True)
    assert log.axes[0].get_yscale() == "log"
    assert "no runs" in texts(charts.fan_chart(ts.iloc[:0]))
    with pytest.raises(DataError, match="members"):
        charts.fan_chart(ts.drop(columns="members"))


def test_scenario_comparison_small_multiples(results):
    metrics = ["members", "day_inflection", "croi", "commitment_share"]
    fig = charts.scenario_comparison(results, metrics)
    assert len([a for a in fig.axes if a.get_visible()]) == 4
    found = gids(fig)
    for metric in metrics:
        for i in range(3):
            assert {f"interval-{metric}-{i}", f"median-{metric}-{i}"} <= found
    day_axis = fig.axes[1]
    assert "never" in [t.get_text() for t in day_axis.get_xticklabels()]
    assert any(p.get_gid() == "never-zone" for p in day_axis.patches)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] in (
        ["seed-100 fish pond", "mass pull (拉群)", "paid ads only"],  # a CJK font is installed
        ["seed-100 fish pond", "mass pull (La Qun)", "paid ads only"])
    assert "never" in [t.get_text() for t in day_axis.texts]  # the mass pull never got there
    one = Figure()
    ax = one.add_subplot()
    assert charts.scenario_comparison(results, ["members"], ax=ax) is one
    with pytest.raises(DataError, match="one panel"):
        charts.scenario_comparison(results, ["members", "croi"], ax=ax)


def test_milestone_days_shows_never_explicitly(results):
    fig = charts.milestone_days(results)
    assert len(fig.axes) == 2
    shown = texts(fig)
    assert "Inflection: 1,000 members" in shown and "Explosion: 10,000 members" in shown
    assert shown.count("never (8 of 8)") == 4  # explosion: all three never; inflection: mass pull
    assert "box-day_inflection-0" in gids(fig)
    dots = [c for c in fig.axes[0].collections if c.get_gid() == "runs-day_inflection-0"]
    assert len(dots[0].get_offsets()) == 8
    assert "never" in [t.get_text() for t in fig.axes[1].get_xticklabels()]


def test_grid_heatmap_annotates_every_cell():
    grid = grid_results()
    fig = charts.grid_heatmap(grid, "rules.invite_rate", "program.content_per_week")
    assert len(fig.axes) == 2  # the map and its colour bar
    cells = {a.get_gid(): a.get_text() for a in fig.axes[0].texts
             if a.get_gid() != "finding"}  # the headline is the axes' text too
    assert len(cells) == 9
    assert cells["cell-0-0"] == "2,000"  # invite 0.002, content 0: median of 2,000 and 2,001
    assert cells["cell-2-2"] == "8,140"
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["0.002", "0.004", "0.008"]
    days = charts.grid_heatmap(grid, "rules.invite_rate", "program.content_per_week",
                               "day_inflection")
    assert "never" in [a.get_text() for a in days.axes[0].texts]


def test_sobol_bars_first_and_total_order_with_whiskers():
    fig = charts.sobol_bars(SOBOL)
    ax = fig.axes[0]
    bars = {p.get_gid(): p.get_width() for p in ax.patches}
    assert bars["S1-rules.invite_rate"] == 0.5 and bars["ST-rules.invite_rate"] == 0.6
    assert len(bars) == 6
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["rules.invite_rate", "rules.convert_prob", "rules.churn_base"]  # by ST
    whiskers = [c for c in ax.containers if isinstance(c, matplotlib.container.ErrorbarContainer)]
    assert len(whiskers) == 2 and all(c.has_xerr for c in whiskers)
    assert "members at horizon" in ax.get_title()


def test_cjk_names_draw_without_missing_glyph_warnings(results):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = charts.scenario_comparison(results, ["members"])
        fig.canvas.draw()


CHARTS = {
    "fan": lambda res, ts: charts.fan_chart(ts, res),
    "comparison": lambda res, ts: charts.scenario_comparison(res),
    "milestones": lambda res, ts: charts.milestone_days(res),
    "heatmap": lambda res, ts: charts.grid_heatmap(grid_results(), "rules.invite_rate",
                                                   "program.content_per_week"),
    "sobol": lambda res, ts: charts.sobol_bars(SOBOL),
}


@pytest.mark.parametrize("name", CHARTS)
def test_saves_are_byte_identical(name, sweep, results, tmp_path):
    _, ts = sweep
    formats = ("png", "svg") if name == "comparison" else ("png",)
    first = charts.save_figure(CHARTS[name](results, ts), tmp_path / "a", formats)
    second = charts.save_figure(CHARTS[name](results, ts), tmp_path / "b", formats)
    for a, b in zip(first, second):
        assert a.read_bytes() == b.read_bytes()


def svg_panels(path) -> int:
    """The axes of a saved SVG chart (matplotlib names each one axes_N)."""
    import re

    return len(set(re.findall(r'id="axes_(\d+)"', path.read_text())))


def test_write_sweep_charts_for_a_comparison(sweep, tmp_path):
    res, ts = sweep
    paths = charts.write_sweep_charts(res, ts, tmp_path / "out", formats=("png", "svg"))
    assert [p.name for p in paths] == [
        "members_fan.png", "members_fan.svg", "comparison.png", "comparison.svg",
        "comparison_2.png", "comparison_2.svg", "milestones.png", "milestones.svg"]
    for name in ("comparison", "comparison_2"):  # one slide each: at most 4 panels
        panels = svg_panels(tmp_path / "out" / f"{name}.svg")
        assert 1 <= panels <= 4, (name, panels)
    assert "seed-100 fish pond" in (tmp_path / "out" / "comparison.svg").read_text()


def test_write_sweep_charts_grid_and_sobol(tmp_path):
    paths = charts.write_sweep_charts(grid_results(), None, tmp_path / "grid")
    assert [p.name for p in paths] == ["comparison.png", "milestones.png", "heatmap.png"]

    few = grid_results().drop(columns="program.content_per_week")
    paths = charts.write_sweep_charts(few, None, tmp_path / "sobol", design_kind="sobol",
                                      sobol_indices=SOBOL)
    assert [p.name for p in paths] == ["comparison.png", "milestones.png", "sobol.png",
                                       "sobol_indices.csv"]


def test_write_sweep_charts_needs_runs(sweep, tmp_path):
    res, ts = sweep
    with pytest.raises(DataError, match="no successful runs"):
        charts.write_sweep_charts(res.assign(status="failed"), ts, tmp_path)
