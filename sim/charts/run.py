"""Charts of one run: members by role, the growth funnel, referral concentration.

Every function takes the tables written by :mod:`sim.metrics` (never a model), draws in the
house style of :mod:`sim.charts.style` (16:9, large type, Okabe-Ito colours, editable SVG
text) and returns the figure. Pass ``ax`` to draw into an axes of your own. Figures are
built with :class:`matplotlib.figure.Figure` directly, so nothing is registered with pyplot
and no GUI backend is touched; PNG output goes through Agg. :func:`write_run_charts` draws
and saves all three.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from sim.charts.save import save_figures
from sim.charts.style import (
    BLUE,
    GREEN,
    GREY,
    ORANGE,
    SKY,
    VERMILLION,
    axes_note,
    display_text,
    headline,
    house_style,
    label_line_ends,
    new_axes,
    require_columns,
    styled,
    thousands,
    whole_ticks,
)
from sim.errors import DataError

__all__ = [
    "FUNNEL_STAGES",
    "MILESTONE_NAMES",
    "funnel",
    "members_by_role",
    "referral_concentration",
    "write_run_charts",
]

#: Names of the default member levels (MODEL.md §6), as the charts label them.
MILESTONE_NAMES = {100: "origin", 1_000: "inflection", 10_000: "explosion"}
#: Stages of the growth funnel, in order (columns ``funnel_<stage>`` of the time series).
FUNNEL_STAGES = ("reached", "invited", "joined", "active", "paying")


def _pct(part: float, whole: float) -> str:
    share = part / whole
    return f"{share:.1%}" if 0 < share < 0.1 else f"{share:.0%}"


def _milestone_days(timeseries: pd.DataFrame) -> dict[str, int | None]:
    """First day members reach each default level (MODEL.md §6), from the time series."""
    days: dict[str, int | None] = {}
    for level in MILESTONE_NAMES:
        hit = timeseries.loc[timeseries["members"] >= level, "day"]
        days[str(level)] = int(hit.iloc[0]) if len(hit) else None
    return days


def _levels(milestones: Mapping[str, int | None]) -> list[tuple[int, int | None]]:
    try:
        return sorted((int(float(k)), None if d is None else int(d)) for k, d in milestones.items())
    except (TypeError, ValueError):
        raise DataError(f"milestones: expected {{'100': day or None, ...}}, got {milestones!r}.")


@styled
def members_by_role(
    timeseries: pd.DataFrame,
    milestones: Mapping[str, int | None] | None = None,
    title: str | None = None,
    ax: Axes | None = None,
    *,
    finding: str | None = None,
) -> Figure:
    """Stacked members by role over time, with milestone levels and the days they were reached.

    KOLs, actives and lurkers are stacked areas; total members is a solid line and cumulative
    churn a dashed one. Each milestone level up to 1.5x the peak membership gets a dotted
    horizontal line (origin 100, inflection 1,000, explosion 10,000); each reached one a
    vertical line marked "day N".

    Args:
        timeseries: One row a day with columns ``day, members, kols, actives, lurkers,
            churned`` (ints).
        milestones: ``{"100": day or None, ...}`` as in the run summary; keys are member
            counts as strings. ``None`` derives the default levels from ``timeseries``.
        title: The descriptive title; defaults to "Community growth by role".
        ax: Axes to draw into; a new 16:9 figure when ``None``.
        finding: The headline above the title; default: what the chart shows
            (:func:`growth_finding`: "10,000 members on day 231; 60% of them lurk"); ""
            for none.

    Returns:
        The figure holding the chart.

    Example:
        >>> import pandas as pd
        >>> ts = pd.DataFrame({"day": [0, 1], "members": [100, 150], "kols": [5, 6],
        ...                    "actives": [20, 30], "lurkers": [75, 114], "churned": [0, 1]})
        >>> members_by_role(ts, {"100": 0, "1000": None}).axes[0].get_title()
        'Community growth by role'
    """
    require_columns(timeseries, ("day", "members", "kols", "actives", "lurkers", "churned"),
             "members_by_role")
    fig, ax = new_axes(ax)
    ax.set_title(title or "Community growth by role")
    ax.set_xlabel("day")
    ax.set_ylabel("people")
    ax.yaxis.set_major_formatter(thousands())
    ax.xaxis.set_major_locator(whole_ticks())
    ax.yaxis.set_major_locator(whole_ticks())
    if timeseries.empty:
        axes_note(ax, "no data")
        return fig

    day = timeseries["day"].to_numpy()
    ax.stackplot(day, timeseries["kols"], timeseries["actives"], timeseries["lurkers"],
                 labels=("KOLs", "actives", "lurkers"), colors=(GREEN, BLUE, SKY),
                 alpha=0.85, linewidth=0)
    ax.plot(day, timeseries["members"], color="black", label="members (total)")
    ax.plot(day, timeseries["churned"], color=VERMILLION, linestyle="--",
            label="churned (cumulative)")

    peak = float(timeseries["members"].max())
    levels = _levels(_milestone_days(timeseries) if milestones is None else milestones)
    shown = [(level, d) for level, d in levels if 0 < peak and level <= 1.5 * peak]
    top = max([peak, float(timeseries["churned"].max())] + [lvl for lvl, _ in shown]) * 1.08
    ax.set_xlim(day.min(), max(day.max(), day.min() + 1))
    ax.set_ylim(0, max(top, 10))
    if peak <= 0:
        axes_note(ax, "no members yet")

    label_y = -1.0  # axes fraction of the last level label, to keep labels apart
    for level, reached in shown:
        name = MILESTONE_NAMES.get(level)
        text = f"{name} · {level:,}" if name else f"{level:,} members"
        ax.axhline(level, color=GREY, linestyle=":", linewidth=1.8, gid=f"milestone-{level}")
        label_y = max(level / top, label_y + 0.055)
        ax.text(1.01, label_y, text, transform=ax.transAxes, ha="left",
                va="center", fontsize=14, color=GREY, clip_on=False)
        if reached is None:
            continue
        ax.axvline(reached, color=GREY, linestyle=":", linewidth=1.2, gid=f"day-{level}")
        ax.plot([reached], [level], "o", color="black", markersize=7, zorder=5)
        left = (reached - day.min()) / max(day.max() - day.min(), 1) > 0.15
        ax.annotate(f"day {reached:,}", (reached, level), xytext=(-8 if left else 8, 6),
                    textcoords="offset points", ha="right" if left else "left", va="bottom",
                    fontsize=14, fontweight="bold")

    # lines and bands labelled at their ends (no legend); the KOLs' band is thin (a few
    # percent of the members), so its label names the count and points at it
    last = timeseries.iloc[-1]
    k, a, lurk = (float(last[c]) for c in ("kols", "actives", "lurkers"))
    end = float(day.max())
    label_line_ends(ax, end, [
        (f"members {last['members']:,.0f}", float(last["members"]), "black"),
        (f"churned {last['churned']:,.0f}", float(last["churned"]), VERMILLION),
        (f"lurkers {lurk:,.0f}", k + a + lurk / 2, "#1f5f8b"),
        (f"actives {a:,.0f}", k + a / 2, BLUE),
        (f"KOLs {k:,.0f}", k / 2, GREEN),
    ])
    headline(ax, growth_finding(timeseries, milestones) if finding is None else finding)
    return fig


def growth_finding(timeseries: pd.DataFrame,
                   milestones: Mapping[str, int | None] | None = None) -> str:
    """What the growth chart shows, in one sentence: the last milestone and the lurkers.

    Example:
        >>> import pandas as pd
        >>> ts = pd.DataFrame({"day": [0, 5], "members": [100, 1200], "kols": [5, 6],
        ...                    "actives": [20, 30], "lurkers": [75, 1164], "churned": [0, 1]})
        >>> growth_finding(ts)
        '1,000 members on day 5; 97% of them lurk'
    """
    if timeseries.empty:
        return ""
    reached = [(level, d) for level, d in
               _levels(_milestone_days(timeseries) if milestones is None else milestones)
               if d is not None]
    last = timeseries.iloc[-1]
    members = float(last["members"])
    lurk = f"; {last['lurkers'] / members:.0%} of them lurk" if members > 0 else ""
    if reached:
        level, d = max(reached)
        at = timeseries.loc[timeseries["day"] == d]
        if len(at) and float(at["members"].iloc[0]) > 0:
            row = at.iloc[0]
            lurk = f"; {row['lurkers'] / row['members']:.0%} of them lurk"
        return f"{level:,} members on day {d:,}{lurk}"
    return f"{members:,.0f} members on day {int(last['day']):,}{lurk}"


@styled
def funnel(
    timeseries_or_final_row: pd.DataFrame | pd.Series | Mapping[str, float],
    ax: Axes | None = None,
    *,
    title: str | None = None,
) -> Figure:
    """Horizontal funnel reached → invited → joined → active → paying, as of the last day.

    Each bar is labelled with its count and its share of the stage before it.

    Args:
        timeseries_or_final_row: The daily time series (its last row is used), or that row
            as a Series or mapping, with columns ``funnel_reached, funnel_invited,
            funnel_joined, funnel_active, funnel_paying``.
        ax: Axes to draw into; a new 16:9 figure when ``None``.
        title: Slide title; defaults to "Growth funnel: from reach to paying members".

    Returns:
        The figure holding the chart.

    Example:
        >>> row = {"funnel_reached": 5000, "funnel_invited": 2000, "funnel_joined": 800,
        ...        "funnel_active": 300, "funnel_paying": 40}
        >>> len(funnel(row).axes[0].patches)
        5
    """
    data = timeseries_or_final_row
    if isinstance(data, pd.DataFrame):
        require_columns(data, [f"funnel_{s}" for s in FUNNEL_STAGES], "funnel")
        data = data.iloc[-1] if len(data) else {}
    elif not isinstance(data, (pd.Series, Mapping)):
        raise DataError(f"funnel: expected a DataFrame, Series or mapping, got {type(data)!r}.")
    counts = [float(np.nan_to_num(data.get(f"funnel_{s}", 0) or 0)) for s in FUNNEL_STAGES]

    fig, ax = new_axes(ax)
    ax.set_title(title or "Growth funnel: from reach to paying members")
    ax.set_xlabel("people (cumulative to the last day)")
    positions = np.arange(len(FUNNEL_STAGES))
    colors = [BLUE] * 3 + [GREEN, ORANGE]
    ax.barh(positions, counts, color=colors, height=0.66)
    ax.set_yticks(positions, [s.capitalize() for s in FUNNEL_STAGES], fontsize=18)
    ax.invert_yaxis()
    ax.grid(axis="y", visible=False)
    ax.tick_params(axis="y", length=0)
    ax.xaxis.set_major_formatter(thousands())
    ax.xaxis.set_major_locator(whole_ticks())
    widest = max(counts)
    ax.set_xlim(0, max(widest * 1.45, 10))
    for i, count in enumerate(counts):
        label = f"{count:,.0f}"
        if i and counts[i - 1] > 0:
            label += f"   ({_pct(count, counts[i - 1])} of {FUNNEL_STAGES[i - 1]})"
        ax.annotate(label, (count, i), xytext=(8, 0), textcoords="offset points",
                    ha="left", va="center", fontsize=16)
    if widest <= 0:
        axes_note(ax, "no one reached yet")
    elif counts[0] > 0 and counts[2] > 0:
        headline(ax, f"{counts[2] / counts[0]:.0%} of the {counts[0]:,.0f} people reached "
                     f"joined; {counts[3] / counts[2]:.0%} of those became active")
    return fig


@styled
def referral_concentration(
    referral_curve: pd.DataFrame,
    ax: Axes | None = None,
    *,
    title: str | None = None,
) -> Figure:
    """Lorenz-style curve of referral joins by member, against the 70/20 rule of thumb.

    Members are ranked by intimacy, highest first; the curve shows the cumulative share of
    referral joins credited to the top x of them. The marker at x = 20% reads off their
    share; the shaded band marks the 60–80% range expected by the 70/20 rule of thumb.

    Args:
        referral_curve: Columns ``member_share`` and ``referral_share`` (floats in [0, 1]),
            from (0, 0) to (1, 1), or ending at 0 when there were no referral joins.
        ax: Axes to draw into; a new 16:9 figure when ``None``.
        title: Slide title; defaults to "Who brings in new members".

    Returns:
        The figure holding the chart.

    Example:
        >>> import pandas as pd
        >>> curve = pd.DataFrame({"member_share": [0, 0.2, 1], "referral_share": [0, 0.7, 1]})
        >>> fig = referral_concentration(curve)
    """
    require_columns(referral_curve, ("member_share", "referral_share"), "referral_concentration")
    fig, ax = new_axes(ax)
    ax.set_title(title or "Who brings in new members")
    ax.set_xlabel("members, ranked by intimacy (cumulative %)")
    ax.set_ylabel("referral joins credited (cumulative %)")
    percent = FuncFormatter(lambda value, _pos: f"{value:.0%}")
    ax.xaxis.set_major_formatter(percent)
    ax.yaxis.set_major_formatter(percent)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)

    ax.fill_between([0.17, 0.23], 0.6, 0.8, color=ORANGE, alpha=0.3, linewidth=0,
                    label="70/20 rule of thumb (60–80%)")
    ax.plot([0, 1], [0, 1], color=GREY, linestyle="--", linewidth=1.5, label="equal shares")
    curve = referral_curve.sort_values("member_share", kind="stable")
    x = curve["member_share"].to_numpy(float)
    y = curve["referral_share"].to_numpy(float)
    ax.plot(x, y, color=BLUE, linewidth=3, label="referral joins")

    if len(x) == 0 or not np.nanmax(y, initial=0) > 0:
        axes_note(ax, "no referral joins")
    else:
        top20 = float(np.interp(0.2, x, y))
        ax.axvline(0.2, color=GREY, linestyle=":", linewidth=1.2)
        ax.plot([0.2], [top20], "o", color="black", markersize=10, zorder=5)
        ax.annotate(f"top 20% of members → {top20:.0%} of referral joins", (0.2, top20),
                    xytext=(0.45, 0.3), textcoords="data", ha="left", va="center",
                    fontsize=16, fontweight="bold",
                    arrowprops={"arrowstyle": "->", "color": "black", "linewidth": 1.5})
        headline(ax, f"The top 20% of members by intimacy brought {top20:.0%} of the "
                     "referral joins")
    ax.legend(loc="lower right")
    return fig


def write_run_charts(
    timeseries: pd.DataFrame,
    summary: Mapping,
    referral_curve: pd.DataFrame,
    out_dir: Path,
    formats: Iterable[str] = ("png",),
) -> list[Path]:
    """Write the standard charts of one run: members by role, funnel, referral concentration.

    Args:
        timeseries: The run's daily time series (see :func:`members_by_role`, :func:`funnel`).
        summary: The run summary; ``scenario`` goes into the titles and ``milestones``
            (``{"100": day or None, ...}``) into the growth chart.
        referral_curve: The run's referral curve (see :func:`referral_concentration`).
        out_dir: Folder to write into; created if missing.
        formats: File formats, as for :func:`sim.charts.save.save_figure`.

    Returns:
        The paths written: ``members_by_role``, ``funnel``, ``referral_concentration``,
        each in every format.

    Example:
        >>> import tempfile, pandas as pd
        >>> cols = ["day", "members", "kols", "actives", "lurkers", "churned"]
        >>> ts = pd.DataFrame(0, index=[0], columns=cols + [f"funnel_{s}" for s in FUNNEL_STAGES])
        >>> curve = pd.DataFrame({"member_share": [0.0, 1.0], "referral_share": [0.0, 0.0]})
        >>> len(write_run_charts(ts, {"scenario": "demo"}, curve, Path(tempfile.mkdtemp())))
        3
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    formats = tuple(formats)
    with house_style():
        scenario = display_text(summary["scenario"]) if summary.get("scenario") else None

    def title(text: str) -> str | None:
        return f"{scenario}: {text}" if scenario else None

    figures = {
        "members_by_role": members_by_role(timeseries, summary.get("milestones"),
                                           title=title("community growth by role")),
        "funnel": funnel(timeseries, title=title("growth funnel")),
        "referral_concentration": referral_concentration(
            referral_curve, title=title("who brings in new members")),
    }
    return save_figures(figures, out_dir, formats)
