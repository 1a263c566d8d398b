"""Charts of a run in progress, as ``fishpond app`` shows them: joins, money, the network.

Like every chart of :mod:`sim.charts`, each function takes tables (never a model), draws in
the house style and returns the figure; pass ``ax`` to draw into an axes of your own.
Members by role and the funnel are :mod:`sim.charts.run`'s.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from sim.charts.style import (
    BLUE,
    GREEN,
    GREY,
    ORANGE,
    SKY,
    VERMILLION,
    axes_note,
    new_axes,
    require_columns,
    styled,
    thousands,
    whole_ticks,
)

__all__ = ["JOIN_SOURCES", "NETWORK_COLOURS", "daily_joins", "members_ab", "money", "network_view"]

#: Join channels of the daily joins chart: column of the time series, label, colour.
JOIN_SOURCES = (
    ("joins_referral", "referral", GREEN),
    ("joins_organic", "organic", BLUE),
    ("joins_ads", "ads", ORANGE),
)
#: Colours of the network view's groups (:data:`sim.explore.GROUPS`).
NETWORK_COLOURS = {"KOL": GREEN, "active": BLUE, "lurker": SKY, "churned": VERMILLION,
                   "not a member": "#CCCCCC"}


@styled
def daily_joins(timeseries: pd.DataFrame, ax: Axes | None = None) -> Figure:
    """New members per day by how they joined (referral, organic, ads), stacked.

    The daily joins are the day-to-day differences of the cumulative ``joins_*`` columns of
    the time series. Seeds and a mass pull join before day 1 and are left out.

    Args:
        timeseries: One row a day from day 0 with the cumulative ``day, joins_referral,
            joins_organic, joins_ads``.
        ax: Axes to draw into; a new 16:9 figure when ``None``.

    Returns:
        The figure.

    Example:
        >>> ts = pd.DataFrame({"day": [0, 1, 2], "joins_referral": [0, 5, 14],
        ...                    "joins_organic": [0, 1, 1], "joins_ads": [0, 0, 2]})
        >>> daily_joins(ts).axes[0].get_title()
        'Day 2: 11 joins, 82% by referral'
    """
    require_columns(timeseries, ["day"] + [c for c, _, _ in JOIN_SOURCES], "daily_joins")
    fig, ax = new_axes(ax)
    ax.set_xlabel("day")
    ax.set_ylabel("new members per day")
    ax.yaxis.set_major_formatter(thousands())
    ax.xaxis.set_major_locator(whole_ticks())
    columns = [c for c, _, _ in JOIN_SOURCES]
    daily = timeseries[["day"] + columns].copy()
    daily[columns] = daily[columns].diff().fillna(0)
    days = daily[daily["day"] > 0]
    if days.empty:
        ax.set_title("Daily joins by source")
        axes_note(ax, "no day simulated yet")
        return fig
    ax.stackplot(days["day"], *(days[c] for c, _, _ in JOIN_SOURCES),
                 labels=[label for _, label, _ in JOIN_SOURCES],
                 colors=[colour for _, _, colour in JOIN_SOURCES], alpha=0.9, linewidth=0)
    last = days.iloc[-1]
    total = sum(float(last[c]) for c, _, _ in JOIN_SOURCES)
    share = f", {float(last['joins_referral']) / total:.0%} by referral" if total else ""
    ax.set_title(f"Day {int(last['day'])}: {total:,.0f} joins{share}")
    ax.set_xlim(days["day"].min(), max(days["day"].max(), days["day"].min() + 1))
    ax.set_ylim(0, None)
    ax.legend(loc="upper left")
    return fig


@styled
def money(timeseries: pd.DataFrame, currency: str = "CNY", ax: Axes | None = None) -> Figure:
    """Cumulative cost and revenue, with the cost per retained member in the title.

    Args:
        timeseries: One row a day with ``day, cost, revenue, members``.
        currency: The unit of the money axis.
        ax: Axes to draw into; a new 16:9 figure when ``None``.

    Returns:
        The figure.

    Example:
        >>> ts = pd.DataFrame({"day": [0, 1], "cost": [0.0, 500.0], "revenue": [0.0, 40.0],
        ...                    "members": [100, 125]})
        >>> money(ts).axes[0].get_title()
        'Day 1: cost 500 CNY, revenue 40 CNY, 4.00 CNY per member'
    """
    require_columns(timeseries, ("day", "cost", "revenue", "members"), "money")
    fig, ax = new_axes(ax)
    ax.set_xlabel("day")
    ax.set_ylabel(f"cumulative, {currency}")
    ax.yaxis.set_major_formatter(thousands())
    ax.xaxis.set_major_locator(whole_ticks())
    if timeseries.empty:
        ax.set_title("Money")
        axes_note(ax, "no data")
        return fig
    ax.plot(timeseries["day"], timeseries["cost"], color=VERMILLION, label="cost")
    ax.plot(timeseries["day"], timeseries["revenue"], color=GREEN, label="revenue")
    last = timeseries.iloc[-1]
    members = int(last["members"])
    per = (f", {float(last['cost']) / members:,.2f} {currency} per member" if members > 0
           else "")
    ax.set_title(f"Day {int(last['day'])}: cost {float(last['cost']):,.0f} {currency}, "
                 f"revenue {float(last['revenue']):,.0f} {currency}{per}")
    ax.set_xlim(timeseries["day"].min(),
                max(timeseries["day"].max(), timeseries["day"].min() + 1))
    ax.set_ylim(0, None)
    ax.legend(loc="upper left")
    return fig


@styled
def network_view(persons: pd.DataFrame, ties: np.ndarray, ax: Axes | None = None) -> Figure:
    """A sample of the population and its ties, each person coloured by status and role.

    Args:
        persons: One row a person: ``x, y, group`` (a key of :data:`NETWORK_COLOURS`), as
            :func:`sim.explore.sample_frame` gives it.
        ties: Pairs of row positions in ``persons`` (int, shape (e, 2)).
        ax: Axes to draw into; a new 16:9 figure when ``None``.

    Returns:
        The figure.

    Example:
        >>> people = pd.DataFrame({"x": [0.0, 1.0], "y": [0.0, 1.0],
        ...                        "group": ["KOL", "not a member"]})
        >>> network_view(people, np.array([[0, 1]])).axes[0].get_title()
        '1 of 2 sampled persons are members'
    """
    require_columns(persons, ("x", "y", "group"), "network_view")
    fig, ax = new_axes(ax)
    ax.set_axis_off()
    xy = persons[["x", "y"]].to_numpy(dtype=float)
    ties = np.asarray(ties, dtype=np.int64).reshape(-1, 2)
    if len(ties):
        ax.add_collection(LineCollection(xy[ties], colors=GREY, linewidths=0.4, alpha=0.35))
    for group, colour in NETWORK_COLOURS.items():
        mine = persons["group"] == group
        if mine.any():
            ax.scatter(xy[mine.to_numpy(), 0], xy[mine.to_numpy(), 1], s=28, color=colour,
                       label=f"{group} ({int(mine.sum())})", edgecolors="white",
                       linewidths=0.4, zorder=3)
    members = int(persons["group"].isin(("KOL", "active", "lurker")).sum())
    ax.set_title(f"{members:,} of {len(persons):,} sampled persons are members")
    if len(persons):
        ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5))
        ax.autoscale_view()
    else:
        axes_note(ax, "no persons")
    return fig


@styled
def members_ab(ts_a: pd.DataFrame, ts_b: pd.DataFrame, label_a: str = "A", label_b: str = "B",
               ax: Axes | None = None) -> Figure:
    """Members of strategy A and strategy B over the same days, side by side on one axes.

    Args:
        ts_a: A's time series (``day, members``).
        ts_b: B's time series (``day, members``).
        label_a: A's name in the legend.
        label_b: B's name in the legend.
        ax: Axes to draw into; a new 16:9 figure when ``None``.

    Returns:
        The figure.

    Example:
        >>> a = pd.DataFrame({"day": [0, 1], "members": [100, 150]})
        >>> b = pd.DataFrame({"day": [0, 1], "members": [100, 110]})
        >>> members_ab(a, b).axes[0].get_title()
        'Day 1: A 150 members, B 110'
    """
    require_columns(ts_a, ("day", "members"), "members_ab")
    require_columns(ts_b, ("day", "members"), "members_ab")
    fig, ax = new_axes(ax)
    ax.set_xlabel("day")
    ax.set_ylabel("members")
    ax.yaxis.set_major_formatter(thousands())
    ax.xaxis.set_major_locator(whole_ticks())
    ax.plot(ts_a["day"], ts_a["members"], color=BLUE, label=f"{label_a}")
    ax.plot(ts_b["day"], ts_b["members"], color=ORANGE, linestyle="--", label=f"{label_b}")
    if len(ts_a) and len(ts_b):
        ax.set_title(f"Day {int(ts_a['day'].iloc[-1])}: {label_a} "
                     f"{int(ts_a['members'].iloc[-1]):,} members, {label_b} "
                     f"{int(ts_b['members'].iloc[-1]):,}")
        ax.set_ylim(0, None)
    else:
        ax.set_title("Members: A and B")
    ax.legend(loc="upper left")
    return fig
