"""The app's charts (sim.charts.live): data in, figure out, titles that state the finding."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.charts.live import daily_joins, members_ab, money, network_view
from sim.errors import DataError


def _ts():
    return pd.DataFrame({"day": [0, 1, 2, 3], "members": [100, 130, 170, 220],
                         "joins_referral": [0, 30, 70, 118], "joins_organic": [0, 0, 1, 2],
                         "joins_ads": [0, 0, 0, 2], "cost": [0.0, 900.0, 1800.0, 2700.0],
                         "revenue": [0.0, 10.0, 25.0, 40.0]})


def test_daily_joins_are_differences_of_the_cumulative_columns():
    fig = daily_joins(_ts())
    ax = fig.axes[0]
    assert ax.get_title() == "Day 3: 51 joins, 94% by referral"
    tops = ax.collections[-1].get_paths()[0].vertices[:, 1]  # the top of the stack
    assert tops.max() == pytest.approx(51)


def test_empty_and_missing_columns():
    assert daily_joins(_ts().iloc[:1]).axes[0].get_title() == "Daily joins by source"
    with pytest.raises(DataError, match="joins_ads"):
        daily_joins(_ts().drop(columns="joins_ads"))
    with pytest.raises(DataError, match="revenue"):
        money(_ts().drop(columns="revenue"))


def test_money_and_ab_titles():
    assert money(_ts(), "EUR").axes[0].get_title() == (
        "Day 3: cost 2,700 EUR, revenue 40 EUR, 12.27 EUR per member")
    b = _ts().assign(members=[100, 110, 120, 125])
    assert members_ab(_ts(), b, "A", "B (no_feed)").axes[0].get_title() == (
        "Day 3: A 220 members, B (no_feed) 125")


def test_network_view_colours_every_group():
    people = pd.DataFrame({"x": np.arange(5.0), "y": np.arange(5.0),
                           "group": ["KOL", "active", "lurker", "churned", "not a member"]})
    fig = network_view(people, np.array([[0, 1], [1, 2]]))
    ax = fig.axes[0]
    assert ax.get_title() == "3 of 5 sampled persons are members"
    assert len(ax.collections) == 6  # the ties and five groups
    assert [t.get_text() for t in ax.get_legend().get_texts()][0] == "KOL (1)"
