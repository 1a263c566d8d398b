"""Posterior summaries, forecast bands and milestone odds (sim.posterior)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sim.posterior import (
    first_days,
    forecast_table,
    identifiability,
    milestone_table,
    milestone_words,
    posterior_summary,
    weighted_quantile,
)


def test_weighted_quantile_follows_the_weights():
    values = np.array([1.0, 2.0, 3.0, 4.0])
    assert weighted_quantile(values, np.ones(4), 0.5) == 2.5
    heavy = weighted_quantile(values, np.array([0.01, 0.01, 0.01, 10.0]), 0.5)
    assert heavy > 3.9  # almost all weight on 4
    rng = np.random.default_rng(0)
    x = rng.normal(size=20_000)
    assert abs(weighted_quantile(x, np.ones_like(x), 0.95) - 1.645) < 0.05


def test_posterior_summary_columns_and_values():
    p = pd.DataFrame({"a": np.arange(101.0), "b": np.full(101, 3.0), "weight": np.ones(101)})
    s = posterior_summary(p, ["a", "b"])
    assert s.columns.tolist() == ["parameter", "median", "q05", "q95"]
    assert s["parameter"].tolist() == ["a", "b"]
    assert s.loc[0, "median"] == 50.0 and 4.0 < s.loc[0, "q05"] < 6.0 and 94 < s.loc[0, "q95"] < 96
    assert s.loc[1, ["median", "q05", "q95"]].tolist() == [3.0, 3.0, 3.0]


def test_forecast_table_bands_and_observed_points():
    runs = {"members": np.vstack([np.arange(5.0) * k for k in range(1, 101)])}
    obs = pd.DataFrame({"day": [1, 3, 9], "members": [50.0, np.nan, 7.0]})
    t = forecast_table(runs, obs, 4)
    assert t.columns.tolist() == ["day"] + [f"members_{q}" for q in
                                            ("q05", "q25", "q50", "q75", "q95", "observed")]
    assert t["day"].tolist() == [0, 1, 2, 3, 4]
    row = t.iloc[2]  # values 2, 4, ..., 200
    assert row["members_q05"] < row["members_q25"] < row["members_q50"] < row["members_q75"] \
        < row["members_q95"]
    assert row["members_q50"] == 101.0
    assert t.loc[1, "members_observed"] == 50.0
    assert t["members_observed"].isna().tolist() == [True, False, True, True, True]


def test_milestones_count_a_miss_as_after_the_horizon():
    members = np.array([[0, 5, 10, 20], [0, 0, 10, 10], [0, 0, 0, 5], [0, 0, 0, 0]])
    assert first_days(members, 10).tolist() == [2.0, 2.0, math.inf, math.inf]
    t = milestone_table(members, [5, 10, 50], 3)
    assert t.columns.tolist() == ["milestone", "probability_by_horizon", "day_q05", "day_q50",
                                  "day_q95"]
    five = t.iloc[0]
    assert five["probability_by_horizon"] == 0.75 and math.isnan(five["day_q95"])
    assert five["day_q05"] >= 1.0 and five["day_q50"] <= 3.0
    ten = t.iloc[1]
    assert ten["probability_by_horizon"] == 0.5 and math.isnan(ten["day_q50"])
    never = t.iloc[2]
    assert never["probability_by_horizon"] == 0 and math.isnan(never["day_q05"])
    words = milestone_words(t, 3)
    assert words[0].startswith("5 members by day 3: 75% likely; median day ")
    assert words[0].endswith("and after day 3")
    assert words[2] == "50 members by day 3: 0% likely; not reached by day 3 in any forecast run"


def test_identifiability_flags_flat_and_wide_parameters():
    post = pd.DataFrame({"parameter": ["a", "b", "c"], "q05": [0.4, 0.0, 0.45],
                         "q95": [0.5, 0.95, 0.55]})
    oat = pd.DataFrame({"parameter": ["a", "b", "c"], "effect": [1.0, 1.0, 0.01],
                        "noise": [0.1, 0.1, 0.1]})
    t = identifiability(post, {"a": 1.0, "b": 1.0, "c": 1.0}, oat)
    assert t["identified"].tolist() == [True, False, False]
    assert "spans 95% of the prior's" in t.loc[1, "note"]
    assert "barely respond" in t.loc[2, "note"]
