"""Charts of a calibration (sim.charts.calibration): pairs plot and forecast fan chart."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.charts.calibration import forecast_fan, posterior_pairs
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
