"""Charts of a calibration (sim.charts.calibration): pairs plot and forecast fan chart."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.charts.calibration import forecast_fan, forecast_finding, pairs_finding, posterior_pairs
from sim.errors import DataError


def _particles():
    rng = np.random.default_rng(1)
    return pd.DataFrame({"rules.invite_rate": 10 ** rng.uniform(-3, -1, 50),
                         "rules.convert_prob": rng.uniform(0.1, 0.6, 50),
                         "weight": rng.uniform(0.5, 1.0, 50)})


def test_pairs_plot_has_a_panel_per_pair_on_the_prior_axes():
    keys = ["rules.invite_rate", "rules.convert_prob"]
    fig = posterior_pairs(_particles(), keys, {"rules.invite_rate": (0.001, 0.1, True),
                                               "rules.convert_prob": (0.1, 0.6, False)})
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(fig.axes) == 4 and len(visible) == 3  # the upper triangle is hidden
    top_left, bottom_left = fig.axes[0], fig.axes[2]
    assert top_left.get_xscale() == "log" and top_left.get_xlim() == pytest.approx((0.001, 0.1))
    assert bottom_left.get_ylim() == pytest.approx((0.1, 0.6))
    assert bottom_left.get_xlabel() == "rules.invite_rate (log scale)"  # log axes say so
    assert bottom_left.get_ylabel() == "rules.convert_prob"
    assert len(bottom_left.collections[0].get_offsets()) == 50


def test_fan_chart_draws_bands_median_and_observed_points():
    day = np.arange(30)
    table = {"day": day}
    for q, k in zip(("q05", "q25", "q50", "q75", "q95"), (0.8, 0.9, 1.0, 1.1, 1.2)):
        table[f"members_{q}"] = k * 10 * day
    table["members_observed"] = np.where(day % 7 == 0, 10.0 * day, np.nan)
    fig = forecast_fan(pd.DataFrame(table), ["members"], last_observed=21)
    ax = fig.axes[0]
    assert len(ax.collections) == 2  # the 90% and 50% bands
    observed = [line for line in ax.lines if line.get_marker() == "o"][0]
    assert observed.get_xdata().tolist() == [0, 7, 14, 21, 28]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "90% band", "50% band", "median", "observed"]
    with pytest.raises(DataError):
        forecast_fan(pd.DataFrame({"day": day}), ["members"])


def _finding(fig) -> str:
    found = [a for a in fig.findobj() if a.get_gid() == "finding"]
    assert len(found) == 1
    return found[0].get_text().replace("\n", " ").strip()


MILESTONES = pd.DataFrame({"milestone": [100, 1_000, 10_000],
                           "probability_by_horizon": [1.0, 0.9, 0.64],
                           "day_q05": [3.0, 40.0, 160.0], "day_q50": [5.0, 60.0, 181.0],
                           "day_q95": [8.0, 90.0, np.nan]})


def _forecast(days: int = 200) -> pd.DataFrame:
    day = np.arange(days + 1)
    table = {"day": day}
    for q, k in zip(("q05", "q25", "q50", "q75", "q95"), (0.5, 0.8, 1.0, 1.2, 1.5)):
        table[f"members_{q}"] = k * 60 * day
    table["members_observed"] = np.where(day < 50, 60.0 * day, np.nan)
    return pd.DataFrame(table)


def test_forecast_finding_states_the_likeliest_highest_milestone():
    assert forecast_finding(_forecast(), ["members"], MILESTONES) == (
        "10,000 members by day 200: 64% likely (median day 181)")
    unlikely = MILESTONES.assign(probability_by_horizon=[1.0, 0.9, 0.3],
                                 day_q50=[5.0, 60.0, np.nan])
    assert forecast_finding(_forecast(), ["members"], unlikely) == (
        "10,000 members by day 200: 30% likely")  # no median day: half the runs never got there
    certain = MILESTONES.assign(probability_by_horizon=1.0)
    assert forecast_finding(_forecast(), ["members"], certain) == (
        "10,000 members by day 200 in every forecast run (median day 181)")
    stuck = MILESTONES.assign(probability_by_horizon=[1.0, 0.0, 0.0])
    assert forecast_finding(_forecast(), ["members"], stuck) == (
        "No forecast run reaches 1,000 members by day 200 (100: in every run)")
    none = MILESTONES.assign(probability_by_horizon=0.0)
    assert forecast_finding(_forecast(), ["members"], none) == (
        "No forecast run reaches 100 members by day 200")
    # without the milestone table: the median and band of the last day
    assert forecast_finding(_forecast(), ["members"]) == (
        "Median forecast: 12,000 members on day 200 (90% band 6,000-18,000)")
    assert forecast_finding(_forecast().iloc[:0], ["members"]) == ""


def test_the_forecast_chart_states_its_finding_above_the_title():
    fig = forecast_fan(_forecast(), ["members"], last_observed=49, milestones=MILESTONES)
    assert _finding(fig) == "10,000 members by day 200: 64% likely (median day 181)"
    subtitle = [a.get_text() for a in fig.findobj() if a.get_gid() == "subtitle"]
    assert subtitle == ["Forecast from the calibrated posterior: median, 50% and 90% bands"]
    own = forecast_fan(_forecast(), ["members"], title="Our community", finding="By hand")
    assert _finding(own) == "By hand"
    assert [a.get_text() for a in own.findobj() if a.get_gid() == "subtitle"] == ["Our community"]


def test_pairs_finding_says_what_the_data_pin_down():
    priors = {"rules.invite_rate": (0.001, 0.1, True), "rules.convert_prob": (0.1, 0.6, False)}
    rng = np.random.default_rng(2)
    post = pd.DataFrame({"rules.invite_rate": 10 ** rng.uniform(-2.2, -2.0, 400),
                         "rules.convert_prob": rng.uniform(0.1, 0.6, 400), "weight": 1.0})
    text = pairs_finding(post, list(priors), priors)
    assert text.startswith("The data pin invite_rate to 0.00")
    assert text.endswith("(90%); convert_prob stays as wide as its prior")
    wide = post.assign(**{"rules.invite_rate": 10 ** rng.uniform(-3, -1, 400)})
    assert pairs_finding(wide, list(priors), priors).startswith(
        "The data barely narrow the priors: every 90% interval spans 8")
    # the weights count: a heavy particle pulls the interval onto itself
    heavy = pd.DataFrame({"rules.convert_prob": [0.1, 0.3, 0.6], "weight": [0.0, 1.0, 0.0]})
    assert pairs_finding(heavy, ["rules.convert_prob"]) == (
        "convert_prob: 90% of the posterior between 0.3 and 0.3")
    fig = posterior_pairs(post, list(priors), priors)
    assert _finding(fig) == text
