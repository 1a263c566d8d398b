"""Charts of one run (sim.charts.run): figures from synthetic tables, files, empty data."""

from __future__ import annotations

import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from sim import charts
from sim.errors import DataError

N_DAYS = 365


def synthetic_timeseries(n_days: int = N_DAYS, cap: float = 15_000) -> pd.DataFrame:
    """Logistic growth from 100 to ``cap`` members with a fixed role split and a funnel."""
    day = np.arange(n_days)
    members = np.round(100 + (cap - 100) / (1 + np.exp(-(day - 200) / 22))).astype(int)
    kols = np.round(members * 0.02).astype(int)
    actives = np.round(members * 0.18).astype(int)
    churned = np.round(np.cumsum(members) * 0.0004).astype(int)
    ts = pd.DataFrame({"day": day, "members": members, "kols": kols, "actives": actives,
                       "lurkers": members - kols - actives, "churned": churned})
    finals = {"reached": 90_000, "invited": 37_000, "joined": 16_000, "active": 3_000,
              "paying": 450}
    for stage, final in finals.items():
        ts[f"funnel_{stage}"] = np.linspace(0, final, n_days).round().astype(int)
    return ts


def milestones_of(ts: pd.DataFrame) -> dict[str, int | None]:
    out = {}
    for level in (100, 1_000, 10_000, 100_000):
        hit = ts.loc[ts["members"] >= level, "day"]
        out[str(level)] = int(hit.iloc[0]) if len(hit) else None
    return out


def lorenz_curve(power: float = 5.4, n: int = 101) -> pd.DataFrame:
    x = np.linspace(0, 1, n)
    return pd.DataFrame({"member_share": x, "referral_share": 1 - (1 - x) ** power})


def texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.findobj(matplotlib.text.Text)]


@pytest.fixture(scope="module")
def ts() -> pd.DataFrame:
    return synthetic_timeseries()


def test_members_by_role_draws_roles_milestones_and_labels(ts):
    ms = milestones_of(ts)
    fig = charts.members_by_role(ts, ms, title="Seed 100: growth")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_title() == "Seed 100: growth"
    assert ax.get_xlabel() == "day" and ax.get_ylabel() == "people"
    labels = ax.get_legend_handles_labels()[1]
    assert {"KOLs", "actives", "lurkers", "members (total)", "churned (cumulative)"} <= set(labels)
    gids = {a.get_gid() for a in ax.get_children()}
    # 100, 1,000, 10,000 are within 1.5x the peak of 15,000; 100,000 is not.
    assert {"milestone-100", "milestone-1000", "milestone-10000"} <= gids
    assert "milestone-100000" not in gids
    assert {"day-100", "day-1000", "day-10000"} <= gids
    shown = texts(fig)
    assert f"day {ms['10000']}" in shown and f"day {ms['1000']}" in shown
    assert "explosion · 10,000" in shown and "origin · 100" in shown
    assert ax.yaxis.get_major_formatter()(12_000, 0) == "12,000"


def test_members_by_role_skips_unreached_and_far_levels():
    small = synthetic_timeseries(cap=800)
    fig = charts.members_by_role(small)  # milestones derived from the table
    gids = {a.get_gid() for a in fig.axes[0].get_children()}
    assert "milestone-1000" in gids  # 1,000 <= 1.5 x 800: drawn as a level
    assert "day-1000" not in gids  # but never reached
    assert "milestone-10000" not in gids
    assert fig.axes[0].get_title() == "Community growth by role"


def test_members_by_role_into_given_axes(ts):
    fig = Figure()
    left, right = fig.subplots(1, 2)
    assert charts.members_by_role(ts, ax=right) is fig
    assert right.get_title() and not left.get_title()


def test_funnel_labels_counts_and_stage_shares(ts):
    fig = charts.funnel(ts)
    ax = fig.axes[0]
    assert len(ax.patches) == 5
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "Reached", "Invited", "Joined", "Active", "Paying"]
    shown = texts(fig)
    assert "90,000" in shown
    assert "37,000   (41% of reached)" in shown
    assert "450   (15% of active)" in shown
    assert ax.get_xlabel()
    # A final row or a plain mapping works as well as the table.
    assert len(charts.funnel(ts.iloc[-1]).axes[0].patches) == 5


def test_referral_concentration_marks_top_20(ts):
    fig = charts.referral_concentration(lorenz_curve())
    ax = fig.axes[0]
    top20 = 1 - 0.8 ** 5.4
    assert f"top 20% of members → {top20:.0%} of referral joins" in texts(fig)
    assert "%" in ax.get_xlabel() and "%" in ax.get_ylabel()
    assert "70/20 rule of thumb (60–80%)" in ax.get_legend_handles_labels()[1]


def test_empty_and_zero_data_do_not_crash(tmp_path):
    zero = synthetic_timeseries()
    zero.loc[:, zero.columns != "day"] = 0
    no_refs = pd.DataFrame({"member_share": np.linspace(0, 1, 11), "referral_share": 0.0})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        figs = [charts.members_by_role(zero), charts.members_by_role(zero.iloc[:0]),
                charts.funnel(zero), charts.funnel(zero.iloc[:0]),
                charts.referral_concentration(no_refs),
                charts.referral_concentration(no_refs.iloc[:0])]
        for i, fig in enumerate(figs):
            charts.save_figure(fig, tmp_path / f"empty{i}")
    assert "no referral joins" in texts(figs[4])
    assert "no members yet" in texts(figs[0])


def test_missing_column_is_a_data_error(ts):
    with pytest.raises(DataError, match="lurkers"):
        charts.members_by_role(ts.drop(columns="lurkers"))


def test_write_run_charts_writes_named_pngs(ts, tmp_path):
    summary = {"scenario": "seed-100", "seed": 1, "milestones": milestones_of(ts)}
    out = tmp_path / "charts"
    paths = charts.write_run_charts(ts, summary, lorenz_curve(), out, formats=("png", "svg"))
    assert [p.name for p in paths] == [
        "members_by_role.png", "members_by_role.svg", "funnel.png", "funnel.svg",
        "referral_concentration.png", "referral_concentration.svg"]
    for p in paths:
        assert p.parent == out and p.stat().st_size > 1000
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in paths)  # no temp files
    assert "seed-100: community growth by role" in paths[1].read_text()


@pytest.mark.parametrize("fmt", ["png", "svg", "pdf"])
def test_saves_are_byte_identical(ts, tmp_path, fmt):
    first = charts.save_figure(charts.members_by_role(ts), tmp_path / "a", (fmt,))[0]
    second = charts.save_figure(charts.members_by_role(ts), tmp_path / "b", (fmt,))[0]
    assert first.read_bytes() == second.read_bytes()


def test_svg_text_stays_text(ts, tmp_path):
    (svg,) = charts.save_figure(charts.funnel(ts), tmp_path / "funnel", ("svg",))
    body = svg.read_text()
    assert "<text" in body and "Growth funnel: from reach to paying members" in body
    assert "<dc:date>" not in body


def test_run_charts_state_their_finding_and_label_lines_directly(ts):
    ms = milestones_of(ts)
    fig = charts.members_by_role(ts, ms, title="growth by role")
    ax = fig.axes[0]
    finding = [a for a in ax.get_children() if a.get_gid() == "finding"]
    assert len(finding) == 1 and ax.get_title() == "growth by role"  # the title: a subtitle
    last = ts.iloc[-1]
    top = max(int(k) for k, d in ms.items() if d is not None)
    share = ts.loc[ts.day == ms[str(top)]].iloc[0]
    assert finding[0].get_text() == (f"{top:,} members on day {ms[str(top)]}; "
                                     f"{share.lurkers / share.members:.0%} of them lurk")
    assert ax.get_legend() is None  # no legend: the lines and bands say what they are
    shown = texts(fig)
    assert f"KOLs {last.kols:,}" in shown and f"members {last.members:,}" in shown
    none = charts.members_by_role(ts, ms, finding="")
    assert not [a for a in none.axes[0].get_children() if a.get_gid() == "finding"]


def test_a_log_axis_says_so():
    from sim.charts.deck import fan_chart

    days = list(range(5))
    ts = pd.DataFrame({"run_id": [0] * 5 + [1] * 5, "day": days * 2,
                       "members": [1, 2, 3, 4, 5] + [100, 300, 900, 3000, 9000]})
    runs = pd.DataFrame({"run_id": [0, 1], "scenario": ["a", "b"], "steps": 4})
    fig = fan_chart(ts, runs, log=True)
    assert "(log scale)" in fig.axes[0].get_ylabel()
    assert "(log scale)" not in fan_chart(ts, runs).axes[0].get_ylabel()
