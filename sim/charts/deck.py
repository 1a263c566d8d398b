"""Deck-ready charts over many runs: fan charts, scenario comparisons, milestone days.

The companions of :mod:`sim.charts.run` for replicates and comparisons (heatmaps, Sobol bars
and :func:`~sim.charts.sweep.write_sweep_charts` are in :mod:`sim.charts.sweep`). Every
function takes the tables of :mod:`sim.store` (``results``: one row per run; ``timeseries``:
one row per run and day, keyed by ``run_id``), draws in the house style and returns the
figure; pass ``ax`` to draw a single panel into an axes of your own. All are exported by
:mod:`sim.charts`, so ``from sim.charts import fan_chart`` works.

Each chart's headline states its finding, computed from the table it draws
(:func:`fan_finding`, :func:`comparison_finding`, :func:`milestones_finding`: "B reaches
1,000 members 30 days sooner than A (day 22 vs 52)"); a difference is only claimed when the
90% intervals of the runs do not overlap. The descriptive title becomes the subtitle; pass
``finding=""`` for none, or your own sentence.

Runs whose ``status`` is not ``ok`` are left out. A milestone never reached is shown as
"never", in a grey zone past the horizon, and counts as ``horizon + 1`` (as in
:mod:`sim.analysis`): every chart that shows milestone days takes its medians over all runs
with :func:`sim.analysis.milestone_median` and says so in a footnote, so two charts of one
folder cannot disagree.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Hashable, Iterable, Sequence

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from sim.analysis import (
    MAIN_METRICS,
    MILESTONE_METRICS,
    format_value,
    horizon_of,
    metric_label,
    metric_values,
    milestone_level,
    milestone_median,
    never_rule,
    summarize_by_scenario,
)
from sim.charts.run import MILESTONE_NAMES
from sim.charts.style import (
    GREY,
    PALETTE,
    amount,
    axes_note,
    currency_of,
    display_text,
    footnote,
    format_axis,
    headline,
    label_line_ends,
    new_axes,
    ok_runs,
    require_columns,
    styled,
    whole_ticks,
)
from sim.errors import DataError

__all__ = ["clear_leader", "comparison_finding", "fan_chart", "fan_finding", "lower_is_better",
           "milestone_days", "milestones_finding", "scenario_comparison"]


# --- helpers -------------------------------------------------------------------------

def _order(values: Iterable) -> list:
    return list(dict.fromkeys(values))


def _colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


_DASHES = ("-", "--", ":", "-.")


def _dash(i: int) -> str:
    """Line style of group ``i``: a new style each time the palette's colours come round."""
    return _DASHES[(i // len(PALETTE)) % len(_DASHES)]


def _row_sizes(rows: int) -> tuple[int, int]:
    """Font sizes (row labels, numbers) that keep ``rows`` rows of a chart apart."""
    return (15, 12) if rows <= 6 else (12, 10) if rows <= 12 else (10, 9)


def _label(metric: str, results: pd.DataFrame | None = None) -> str:
    level = milestone_level(results, metric)
    text = f"day of {level:,} members" if level is not None else metric_label(metric)
    return text[0].upper() + text[1:]


def _panels(n: int, ax: Axes | None, ncols: int | None, what: str) -> tuple[Figure, list[Axes]]:
    if ax is not None:
        if n != 1:
            raise DataError(f"{what}: ax= draws one panel; got {n} metrics. Pass one metric, "
                            "or leave ax out for small multiples.")
        fig, ax = new_axes(ax)
        return fig, [ax]
    ncols = ncols or (n if n <= 4 else math.ceil(n / 2))
    nrows = math.ceil(n / ncols)
    fig = Figure()
    axes = fig.subplots(nrows, ncols, sharey=True, squeeze=False).ravel().tolist()
    for extra in axes[n:]:
        extra.set_visible(False)
    return fig, axes[:n]


def _never_zone(ax: Axes, horizon: int, low: float = 0.0) -> float:
    """Grey "never" column past the horizon; returns its x centre. Call after plotting."""
    width = max(horizon - low, 1)
    left, right = horizon + 0.03 * width, horizon + 0.2 * width
    centre = (left + right) / 2
    ax.axvspan(left, right, color="#EEEEEE", linewidth=0, zorder=0, gid="never-zone")
    ax.set_xlim(low, right)
    ticks = [t for t in ax.xaxis.get_major_locator().tick_values(low, horizon)
             if low <= t <= horizon - 0.12 * width]  # keep clear of the "never" label
    ax.set_xticks(ticks + [centre], [f"{t:,.0f}" for t in ticks] + ["never"])
    return centre


def _jitter(n: int, seed: int, spread: float) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-spread, spread, n)


# --- findings: what a chart shows, in one sentence ----------------------------------------

def _band(values: np.ndarray) -> tuple[float, float]:
    """The 90% interval (5th-95th percentile) of ``values``, as the charts draw it."""
    low, high = np.quantile(values, [0.05, 0.95], method="inverted_cdf")
    return float(low), float(high)


def clear_leader(samples: dict, medians: dict, lower: bool) -> tuple[list, bool]:
    """The groups ordered best first, and whether the best is clearly apart from the next.

    Clear means both groups have two runs or more and their 90% intervals (the bands and
    bars the charts draw) do not overlap; with one run each, a difference counts as clear
    when the medians differ (the caller says "one run each").

    Args:
        samples: Group -> its runs' values (never-reached days as ``horizon + 1``).
        medians: Group -> the median to rank by.
        lower: Whether less is better.

    Returns:
        ``(groups best first, clear)``.

    Example:
        >>> import numpy as np
        >>> runs = {"a": np.array([1.0, 2.0]), "b": np.array([5.0, 6.0])}
        >>> clear_leader(runs, {"a": 1.5, "b": 5.5}, lower=False)
        (['b', 'a'], True)
    """
    order = sorted(medians, key=lambda g: (medians[g] if lower else -medians[g]))
    if len(order) < 2:
        return order, False
    a, b = samples[order[0]], samples[order[1]]
    if medians[order[0]] == medians[order[1]]:
        return order, False
    if len(a) < 2 or len(b) < 2:
        return order, True
    (alow, ahigh), (blow, bhigh) = _band(a), _band(b)
    return order, (ahigh < blow) if lower else (alow > bhigh)


def _runs(samples: dict) -> str:
    """How many runs each group has, when that needs saying: "(one run each)" or ""."""
    return " (one run each)" if samples and all(len(v) == 1 for v in samples.values()) else ""


def _first_days(values: np.ndarray, day: np.ndarray, level: float, horizon: int) -> np.ndarray:
    """Each run's (column's) first day at ``level``; ``horizon + 1`` when it never got there."""
    return np.array([day[hit[0]] if len(hit := np.flatnonzero(col >= level)) else horizon + 1
                     for col in values.T], float)


def _median_text(n: int) -> str:
    return "one run" if n == 1 else f"median of {n:,} runs"


def fan_finding(timeseries: pd.DataFrame, *, by: str = "scenario", metric: str = "members",
                horizon: int | None = None,
                milestones: Sequence[int] = (100, 1_000, 10_000)) -> str:
    """What a fan chart shows, in one sentence: who reaches the highest level first, or ends higher.

    The level is the highest of ``milestones`` that some group's median run reaches (the
    rule of :func:`sim.analysis.milestone_median`); groups are compared by the day their
    runs reach it, else (no level reached, or no clear difference in the day) by their
    value on the last day. A difference is only claimed when the 90% intervals of the two
    best groups do not overlap (or with one run each, said so).

    Args:
        timeseries: One row per run and day: ``run_id, day``, ``metric`` and ``by``.
        by: Column naming each run's group (without it, all runs form one group).
        metric: The drawn column (milestone levels apply to ``members`` only).
        horizon: The last day; default the latest day of the table.
        milestones: Member levels.

    Returns:
        The sentence; "" for an empty table.

    Example:
        >>> ts = pd.DataFrame({"run_id": [0, 0, 1, 1], "day": [0, 90, 0, 90],
        ...                    "members": [100, 1_500, 100, 700], "scenario": ["A", "A", "B", "B"]})
        >>> fan_finding(ts)
        'A reaches 1,000 members by day 90; B does not by day 90 (one run each)'
    """
    if timeseries.empty:
        return ""
    ts = timeseries if by in timeseries.columns else timeseries.assign(**{by: "all runs"})
    h = int(ts["day"].max()) if horizon is None else int(horizon)
    what = metric.replace("_", " ")
    levels = sorted(milestones) if metric == "members" else []
    finals, first = {}, {}
    for group in _order(ts[by]):
        wide = ts[ts[by] == group].pivot_table(index="day", columns="run_id", values=metric,
                                               aggfunc="first").sort_index()
        values, day = wide.to_numpy(float), wide.index.to_numpy(float)
        name = display_text(group)
        finals[name] = values[-1][~np.isnan(values[-1])]
        first[name] = {lvl: _first_days(values, day, lvl, h) for lvl in levels}
    reached = [lvl for lvl in levels
               if any(milestone_median(first[g][lvl], h) <= h for g in first)]
    top = max(reached, default=None)
    if len(first) == 1:
        (name,) = first
        n = len(finals[name])
        start = float(ts["day"].min())
        days = {lvl: milestone_median(first[name][lvl], h) for lvl in levels}
        grown = [lvl for lvl in levels if start < days[lvl] <= h]  # not where the runs start
        if grown:
            top = max(grown)
            return f"{top:,} {what} by day {days[top]:,.0f} ({_median_text(n)})"
        end = f"{np.median(finals[name]):,.0f} {what} on day {h:,} ({_median_text(n)})"
        missed = [lvl for lvl in levels if days[lvl] > h]
        return end + (f"; {missed[0]:,} not reached" if missed else "")
    if top is not None:
        days = {g: first[g][top] for g in first}
        medians = {g: milestone_median(v, h) for g, v in days.items()}
        order, clear = clear_leader(days, medians, lower=True)
        best, nxt = order[0], order[1]
        d1, d2 = medians[best], medians[nxt]
        tail = _runs(days)
        ends, apart = _ends(finals, what, h, "")
        if not clear and apart:
            return ends  # no clear difference in the day, but clearly apart at the end
        if not clear:
            return (f"{best} and {nxt} overlap: no clear difference in the day they reach "
                    f"{top:,} {what}{tail}")
        end = float(np.median(finals[best])) if len(finals[best]) else math.nan
        fell = f" but ends at {end:,.0f}" if end < top else ""
        if d2 > h:
            others = f"{nxt} does not" if len(first) == 2 else "no other line does"
            return f"{best} reaches {top:,} {what} by day {d1:,.0f}{fell}; {others} by day " \
                   f"{h:,}{tail}"
        if len(first) == 2:
            return (f"{best} reaches {top:,} {what} {d2 - d1:,.0f} days sooner than {nxt} "
                    f"(day {d1:,.0f} vs {d2:,.0f}){tail}")
        return (f"{best} reaches {top:,} {what} first: day {d1:,.0f}, {d2 - d1:,.0f} days "
                f"before {nxt}{tail}")
    lead = (f"{'Neither' if len(first) == 2 else 'No'} line reaches {levels[0]:,} {what} by "
            f"day {h:,}; " if levels else "")
    return _ends(finals, what, h, lead)[0]


def _ends(finals: dict, what: str, h: int, lead: str) -> tuple[str, bool]:
    """The groups compared by their value on the last day, and whether the best is ahead.

    ``("", False)`` when fewer than two groups have a value.
    """
    finals = {g: v for g, v in finals.items() if len(v)}
    medians = {g: float(np.median(v)) for g, v in finals.items()}
    order, clear = clear_leader(finals, medians, lower=False)
    if len(order) < 2:
        return "", False
    best, nxt = order[0], order[1]
    tail = _runs(finals)
    if not clear:
        return (lead + f"{best} and {nxt} overlap: no clear difference in {what} on day "
                f"{h:,}{tail}", False)
    more = (f"{medians[best] / medians[nxt] - 1:.0%} higher" if medians[nxt] > 0 else "higher")
    return (lead + f"{best} ends {more} than {nxt} ({medians[best]:,.0f} vs "
            f"{medians[nxt]:,.0f}){tail}", True)


def lower_is_better(metric: str) -> bool:
    """Whether less of ``metric`` is better: an earlier milestone day, a lower cost.

    Args:
        metric: A metric name.

    Returns:
        True for ``day_*`` and ``cost*`` metrics.
    """
    return metric.startswith("day_") or metric.startswith("cost")


def _verb(metric: str, results: pd.DataFrame | None) -> str:
    """What leading on ``metric`` means, in words ("reaches 1,000 members first")."""
    level = milestone_level(results, metric)
    if level is not None:
        return f"reaches {level:,} members first"
    label = metric_label(metric, results)
    if metric == "members":
        return "ends with the most members"
    return f"has the {'lowest' if lower_is_better(metric) else 'highest'} {label}"


def comparison_finding(results: pd.DataFrame, metrics: Sequence[str] = MAIN_METRICS, *,
                       by: str = "scenario", horizon: int | None = None) -> str:
    """What a comparison shows: the first metric on which one group clearly leads the rest.

    The groups are ranked on each metric in turn (more members, an earlier milestone, a
    lower cost, a higher share); the sentence names the first metric whose leader's 90%
    interval does not overlap the runner-up's. When there is none, it says so. Amounts of
    money carry the runs' currency (``currency`` column, default CNY).

    Args:
        results: One row per run with ``by`` and the metric columns (successful runs).
        metrics: The metrics shown, in order.
        by: Column naming the group of a run.
        horizon: Run length in days; defaults to the ``steps`` column.

    Returns:
        The sentence; "" when there are no runs.

    Example:
        >>> runs = pd.DataFrame({"scenario": ["a", "a", "b", "b"], "members": [10, 12, 30, 33]})
        >>> comparison_finding(runs, ["members"])
        'b ends with the most members: 32 vs 11 for a'
    """
    results = ok_runs(results)
    if results.empty or not metrics:
        return ""
    h = horizon_of(results, horizon)
    groups = _order(results[by])
    if len(groups) == 1:  # nothing to compare: the first metric's median
        metric = metrics[0]
        v = metric_values(results, metric, h)
        v = v[~np.isnan(v)]
        if not len(v):
            return ""
        med = milestone_median(v, h) if _is_day(metric) and h is not None else float(np.median(v))
        return (f"{display_text(groups[0])}: {metric_label(metric, results)} "
                f"{amount(metric, med, h, currency_of(results))} ({_median_text(len(v))})")
    led = _leader(results, metrics, by, h)
    if led:
        return led
    names = [display_text(g) for g in groups]
    if len(names) == 2:
        return f"{names[0]} and {names[1]} overlap: no clear difference on any metric shown"
    return "No clear leader: the top two overlap on every metric shown"


def _leader(results: pd.DataFrame, metrics: Sequence[str], by: str, h: int | None) -> str:
    """"X leads on <metric>: a vs b for Y" for the first metric with a clear leader, else ""."""
    currency = currency_of(results)
    for metric in metrics:
        samples = {}
        for g in _order(results[by]):
            v = metric_values(results[results[by] == g], metric, h)
            v = v[~np.isnan(v)]
            if len(v):
                samples[display_text(g)] = v
        day = _is_day(metric) and h is not None
        medians = {g: milestone_median(v, h) if day else float(np.median(v))
                   for g, v in samples.items()}
        order, clear = clear_leader(samples, medians, lower_is_better(metric))
        if not clear or (day and medians[order[0]] > h):
            continue
        best, nxt = order[0], order[1]
        level = milestone_level(results, metric)
        if day and level is not None:
            if medians[nxt] > h:
                others = f"{nxt} does not" if len(order) == 2 else "no other line does"
                return (f"{best} reaches {level:,} members by day {medians[best]:,.0f}; "
                        f"{others} by day {h:,}{_runs(samples)}")
            return (f"{best} reaches {level:,} members first: day {medians[best]:,.0f} vs "
                    f"{medians[nxt]:,.0f} for {nxt}{_runs(samples)}")
        return (f"{best} {_verb(metric, results)}: "
                f"{amount(metric, medians[best], h, currency)} vs "
                f"{amount(metric, medians[nxt], h, currency)} for {nxt}{_runs(samples)}")
    return ""


def milestones_finding(results: pd.DataFrame,
                       milestones: Sequence[str] = ("day_inflection", "day_explosion"), *,
                       by: str = "scenario", horizon: int | None = None) -> str:
    """What the milestone chart shows: the highest milestone reached and who gets there first.

    Args:
        results: One row per run with ``by`` and the ``day_*`` columns (missing = never).
        milestones: The milestone columns shown, lowest level first.
        by: Column naming the group of a run.
        horizon: Run length in days; defaults to the ``steps`` column.

    Returns:
        The sentence ("" without runs or milestones): "1,000 members by day 45 (median of
        20 runs)", "A reaches 1,000 members first: day 45 vs 60 for B", "Half the runs or
        more never reach 1,000 members by day 90".

    Example:
        >>> runs = pd.DataFrame({"scenario": "a", "day_inflection": [40, 50, None],
        ...                      "steps": 90})
        >>> milestones_finding(runs, ["day_inflection"])
        '1,000 members by day 50 (median of 3 runs)'
    """
    results = ok_runs(results)
    milestones = list(milestones)
    if results.empty or not milestones:
        return ""
    h = horizon_of(results, horizon)
    if h is None:
        seen = pd.to_numeric(results[milestones].stack(), errors="coerce")
        h = int(seen.max()) if seen.notna().any() else 1
    groups = _order(results[by])
    done = [m for m in milestones
            if any(milestone_median(metric_values(results[results[by] == g], m, h), h) <= h
                   for g in groups)]
    if not done:
        level = milestone_level(results, milestones[0])
        if not (metric_values(results, milestones[0], h) <= h).any():
            return f"No run reaches {level:,} members by day {h:,}"
        return f"Half the runs or more never reach {level:,} members by day {h:,}"
    metric = done[-1]
    level = milestone_level(results, metric)
    if len(groups) == 1:
        v = metric_values(results, metric, h)
        text = f"{level:,} members by day {milestone_median(v, h):,.0f} ({_median_text(len(v))})"
        later = milestones[milestones.index(metric) + 1:]
        if later:
            w = metric_values(results, later[0], h)
            text += (f"; {milestone_level(results, later[0]):,} in {int((w <= h).sum())} of "
                     f"{len(w)} runs by day {h:,}")
        return text
    led = _leader(results, [metric], by, h)
    if led:
        return led
    names = [display_text(g) for g in groups]
    pair = f"{names[0]} and {names[1]}" if len(names) == 2 else "The lines"
    return f"{pair} overlap: no clear difference in the day they reach {level:,} members"


# --- fan chart -----------------------------------------------------------------------

@styled
def fan_chart(
    timeseries: pd.DataFrame,
    runs: pd.DataFrame | None = None,
    *,
    metric: str = "members",
    by: str = "scenario",
    milestones: Sequence[int] = (100, 1_000, 10_000),
    log: bool = False,
    title: str | None = None,
    ax: Axes | None = None,
    note: str | None = None,
    finding: str | None = None,
) -> Figure:
    """Members over time across replicates: median line, 50% and 90% bands, milestone levels.

    One fan per group (scenario or design point), each in its own colour; with more than
    four groups only the median lines are drawn (the bands would hide each other), in a new
    line style each time the colours come round. Milestone levels up to 1.5x the highest
    band get a dotted line labelled origin / inflection / explosion, and a dot marks each
    group's median day to each level: the median over all its runs of the first day the run
    reached the level, a run that never did counting as later than the horizon
    (:func:`sim.analysis.milestone_median`, the rule of every chart of a folder; a footnote
    says so). No dot means half the runs or more never got there. Up to four lines are
    labelled at their ends (the legend then explains the bands); more get a legend. The
    headline above the title states the finding (:func:`fan_finding`).

    Args:
        timeseries: One row per run and day: ``run_id, day`` and ``metric``; the group column
            ``by`` is taken from ``runs`` (joined on ``run_id``) when absent.
        runs: Per-run results with ``run_id`` and ``by`` (and ``status``, ``steps``: the
            horizon), or ``None``.
        metric: Column to draw.
        by: Column naming the group of a run; without one, all runs form one fan.
        milestones: Member levels to mark (MODEL.md §6).
        log: Logarithmic y axis (for groups of very different sizes).
        title: The descriptive title (shown as the subtitle under the finding).
        ax: Axes to draw into; a new 16:9 figure when ``None``.
        note: Text to put first in the footnote (e.g. what the groups pool).
        finding: The headline above the title; default :func:`fan_finding`; "" for none.

    Returns:
        The figure.

    Example:
        >>> import pandas as pd
        >>> ts = pd.DataFrame({"run_id": ["a", "a", "b", "b"], "day": [0, 1, 0, 1],
        ...                    "members": [100, 150, 100, 180]})
        >>> fig = fan_chart(ts)
    """
    require_columns(timeseries, ("run_id", "day", metric), "fan_chart")
    ts = timeseries
    if runs is not None:
        require_columns(runs, ("run_id",), "fan_chart runs")
        runs = ok_runs(runs)
        keep = ["run_id"] + ([by] if by in runs.columns and by not in ts.columns else [])
        ts = ts.merge(runs[keep].drop_duplicates("run_id"), on="run_id", how="inner")
    if by not in ts.columns:
        ts = ts.assign(**{by: "all runs"})
    own = ax is None
    fig, ax = new_axes(ax)
    what = metric.replace("_", " ")
    ax.set_title(title or f"{what.capitalize()} over time: median and spread of the runs")
    ax.set_xlabel("day")
    ax.set_ylabel(f"{what} (log scale)" if log else what)
    ax.xaxis.set_major_locator(whole_ticks())
    format_axis(ax.yaxis, metric)
    if ts.empty:
        axes_note(ax, "no runs")
        return fig

    groups = _order(ts[by])
    bands = len(groups) <= 4
    horizon = horizon_of(runs, None) if runs is not None else None
    horizon = int(ts["day"].max()) if horizon is None else horizon
    top, low, reached, never, ends = 0.0, math.inf, [], {}, []
    for i, group in enumerate(groups):
        wide = ts[ts[by] == group].pivot_table(index="day", columns="run_id", values=metric,
                                               aggfunc="first").sort_index()
        day, values = wide.index.to_numpy(float), wide.to_numpy(float)
        q = np.nanpercentile(values, [5, 25, 50, 75, 95], axis=1)
        colour = _colour(i)
        if bands:
            ax.fill_between(day, q[0], q[4], color=colour, alpha=0.14, linewidth=0,
                            gid=f"band90-{i}")
            ax.fill_between(day, q[1], q[3], color=colour, alpha=0.32, linewidth=0,
                            gid=f"band50-{i}")
        runs_n = values.shape[1]
        name = f"{display_text(group)} ({runs_n} run{'s' if runs_n != 1 else ''})"
        ax.plot(day, q[2], color=colour, linewidth=3 if bands else 2.2, linestyle=_dash(i),
                gid=f"median-{i}", label=name)
        ends.append((name, float(q[2][-1]), colour))
        top = max(top, float(np.nanmax(q[4] if bands else q[2])))
        floor = q[0] if bands else q[2]
        low = min(low, float(np.nanmin(np.where(floor > 0, floor, np.inf))))
        for level in milestones:
            first = [day[hit[0]] if len(hit := np.flatnonzero(col >= level)) else np.nan
                     for col in values.T]  # each run's first day at the level (never: NaN)
            median = milestone_median(first, horizon)
            missed, total = never.get(level, (0, 0))
            never[level] = (missed + int(np.isnan(first).sum()), total + runs_n)
            if median <= horizon:
                reached.append((level, median, colour, i))

    day_all = ts["day"].to_numpy(float)
    ax.set_xlim(day_all.min(), max(day_all.max(), day_all.min() + 1))
    shown = [lvl for lvl in milestones if 0 < top and lvl <= 1.5 * top]
    upper = max([top] + shown) * 1.08
    if log:
        ax.set_yscale("log")
        ax.set_ylim(max(min(low, min(shown, default=low)) / 1.5, 0.8), upper * 1.4)
        format_axis(ax.yaxis, metric)
        ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    else:
        ax.set_ylim(0, max(upper, 10))
    bottom, ceiling = ax.get_ylim()
    to_frac = ((lambda v: (math.log10(v) - math.log10(bottom)) /
                (math.log10(ceiling) - math.log10(bottom))) if log else (lambda v: v / ceiling))
    label_y = -1.0
    for level in shown:
        name = MILESTONE_NAMES.get(level)
        ax.axhline(level, color=GREY, linestyle=":", linewidth=1.8, gid=f"milestone-{level}")
        label_y = max(to_frac(level), label_y + 0.055)
        ax.text(1.01, label_y, f"{name} · {level:,}" if name else f"{level:,}",
                transform=ax.transAxes, ha="left", va="center", fontsize=14, color=GREY,
                clip_on=False)
    for level, day, colour, i in reached:
        if level in shown:
            ax.plot([day], [level], "o", color=colour, markeredgecolor="white", markersize=9,
                    zorder=5, gid=f"reached-{level}-{i}")
            if len(groups) == 1 and day > day_all.min():
                ax.annotate(f"day {day:,.0f}", (day, level), xytext=(-8, 6),
                            textcoords="offset points", ha="right", va="bottom", fontsize=14,
                            fontweight="bold", gid=f"reached-day-{level}")

    handles, labels = ax.get_legend_handles_labels()
    if len(groups) == 1:
        labels = [f"median of {labels[0].rsplit('(', 1)[-1].rstrip(')')}"]
    elif bands:  # few lines: labelled at their ends; the legend explains the bands
        label_line_ends(ax, float(day_all.max()), [(t, y if y > 0 or not log else bottom, c)
                                                  for t, y, c in ends])
        handles, labels = [], []
    if bands:
        band = _colour(0) if len(groups) == 1 else GREY
        handles += [Patch(color=band, alpha=0.45), Patch(color=band, alpha=0.18)]
        labels += ["middle 50% of runs", "middle 90% of runs"]
    wide = max(len(t) for t in labels) > 40
    ax.legend(handles, labels, loc="upper center",
              bbox_to_anchor=(0.5, -0.13 if len(labels) <= 8 else -0.17),
              ncol=min(len(labels), 2 if wide or len(labels) == 4 else 3),
              handlelength=2.4 if not bands else 1.6, columnspacing=1.6,
              fontsize=11 if len(labels) > 8 else None)
    counts = "; ".join(f"{k:,} of {n:,} runs never reached {level:,}"
                       for level, (k, n) in never.items() if level in shown and k)
    footnote(fig, own, (f"Dots: median day each level was reached, over all the runs of a "
                         f"line. {never_rule(horizon)}" + (f" ({counts}.)" if counts else ""))
              if shown else None, note)
    headline(ax, fan_finding(ts, by=by, metric=metric, horizon=horizon, milestones=milestones)
             if finding is None else finding)
    return fig


# --- scenario comparison -------------------------------------------------------------

@styled
def scenario_comparison(
    results: pd.DataFrame,
    metrics: Sequence[str] = MAIN_METRICS,
    *,
    by: str = "scenario",
    baseline: Hashable | None = None,
    horizon: int | None = None,
    title: str | None = None,
    ncols: int | None = None,
    ax: Axes | None = None,
    note: str | None = None,
    finding: str | None = None,
) -> Figure:
    """Scenarios side by side: dot = median, bar = 90% interval of the runs, one panel a metric.

    The baseline's median is a dashed vertical line in every panel. Milestone days that were
    never reached sit in the grey "never" column past the horizon.

    Args:
        results: One row per run with ``by`` and the metric columns.
        metrics: Metrics to show, one panel each (small multiples, shared scenario axis).
        by: Column naming the group of a run.
        baseline: Group whose median is marked; the first group when ``None``.
        horizon: Run length in days (for "never"); defaults to the ``steps`` column.
        title: The descriptive title (shown as the subtitle under the finding).
        ncols: Panels per row (default: all in one row up to 4, else two rows).
        ax: Axes for a single metric.
        note: Text to put first in the footnote (e.g. what the groups pool).
        finding: The headline above the title; default :func:`comparison_finding`; ""
            for none.

    Returns:
        The figure.

    Example:
        >>> import pandas as pd
        >>> runs = pd.DataFrame({"scenario": ["a", "a", "b", "b"], "members": [10, 12, 30, 33]})
        >>> len(scenario_comparison(runs, ["members"]).axes)
        1
    """
    results = ok_runs(results)
    metrics = list(metrics)
    require_columns(results, [by] + metrics, "scenario_comparison")
    fig, axes = _panels(len(metrics), ax, ncols, "scenario_comparison")
    groups = _order(results[by])
    baseline = groups[0] if baseline is None and groups else baseline
    h = horizon_of(results, horizon)
    summary = summarize_by_scenario(results, metrics, by=by, horizon=h)
    y = np.arange(len(groups))
    label_size, number_size = _row_sizes(len(groups))
    dense = len(groups) > 8 and len(metrics) > 1  # numbers would overlap: the dots must do
    single = ax is not None
    if single:
        axes[0].set_title(title or _label(metrics[0]))
    else:
        fig.suptitle(title or "Scenarios compared: median and 90% interval of the runs",
                     fontsize=22, fontweight="bold")
    for panel, metric in zip(axes, metrics):
        rows = summary[summary["metric"] == metric].set_index(by)
        milestone = metric.startswith("day_") and h is not None
        never_x = h + 1 if milestone else None
        if not single:
            panel.set_title(textwrap.fill(_label(metric, results), 14 if len(axes) > 3 else 40),
                            fontsize=16, pad=8)
            panel.tick_params(axis="x", labelsize=13 if len(axes) > 3 else 15)
        panel.grid(axis="y", visible=False)
        format_axis(panel.xaxis, metric)
        panel.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(3 if len(axes) > 3 else 5))
        values, nevers = [], []
        for i, group in enumerate(groups):
            if group not in rows.index or rows.loc[group, "runs"] == 0:
                continue
            r = rows.loc[group]
            values += [r["low"], r["high"]]
            if milestone and r["never"]:
                nevers.append((i, int(r["never"]), int(r["runs"])))
            colour = _colour(i)
            panel.hlines(i, r["low"], r["high"], color=colour, linewidth=7, alpha=0.4,
                         gid=f"interval-{metric}-{i}")
            panel.plot([r["median"]], [i], "o", color=colour, markersize=11, zorder=4,
                       gid=f"median-{metric}-{i}")
            panel.annotate(format_value(metric, r["median"], h), (r["median"], i),
                           xytext=(0, 9), textcoords="offset points", ha="center", va="bottom",
                           fontsize=number_size, color="#222222",
                           gid=f"median-value-{metric}-{i}", visible=not dense)
            if group == baseline:
                panel.axvline(r["median"], color=GREY, linestyle="--", linewidth=1.2, zorder=1)
        if not values:
            axes_note(panel, "no data")
            continue
        lo, hi = min(values), max(values)
        if milestone:
            centre = _never_zone(panel, h, low=min(-0.03 * h, lo))
            for line in panel.lines + panel.collections:  # move "never" onto the zone centre
                _shift_never(line, never_x, centre)
            for text in panel.texts:
                if text.get_text() == "never":
                    text.xy = (centre, text.xy[1])
            for i, k, n in nevers if not dense else ():  # runs in "never", as on milestones
                panel.text(centre, i + 0.38, f"{k} of {n}", ha="center", va="center",
                           fontsize=number_size - 1, color="#222222",
                           gid=f"never-count-{metric}-{i}")
        else:
            pad = (hi - lo) * 0.18 or abs(hi) * 0.1 or 1.0
            panel.set_xlim(lo - pad, hi + pad)
    first = axes[0]
    first.set_yticks(y, [display_text(g) for g in groups], fontsize=label_size)
    first.set_ylim(len(groups) - 0.4, -0.7)
    for panel in axes:
        panel.tick_params(axis="y", length=0, labelsize=label_size)
    days = h is not None and any(_is_day(m) for m in metrics)
    counts = ("; 'k of n': runs in the never column" if not dense else
              "; the milestone chart gives the days and the runs that never got there")
    footnote(fig, not single, "Dot: median, bar: 90% interval (5th-95th percentile) of the "
              f"runs{counts}. {never_rule(h)}" if days else None, note)
    headline(axes[0] if single else fig,
             comparison_finding(results, metrics, by=by, horizon=h) if finding is None
             else finding)
    return fig


def _is_day(metric: str) -> bool:
    return metric in MILESTONE_METRICS or metric.startswith("day_")


def _shift_never(artist, never_x: float, centre: float) -> None:
    """Move the points of ``artist`` at x = horizon + 1 ("never") to the never zone's centre."""
    if hasattr(artist, "get_xdata"):
        x = np.asarray(artist.get_xdata(), float)
        artist.set_xdata(np.where(x >= never_x, centre, x))
    elif hasattr(artist, "get_segments"):
        fixed = []
        for seg in artist.get_segments():
            seg = np.asarray(seg, float).copy()
            if len(seg):
                seg[:, 0] = np.where(seg[:, 0] >= never_x, centre, seg[:, 0])
            fixed.append(seg)
        artist.set_segments(fixed)


# --- milestone days ------------------------------------------------------------------

@styled
def milestone_days(
    results: pd.DataFrame,
    milestones: Sequence[str] = ("day_inflection", "day_explosion"),
    *,
    by: str = "scenario",
    horizon: int | None = None,
    title: str | None = None,
    ax: Axes | None = None,
    note: str | None = None,
    finding: str | None = None,
) -> Figure:
    """When each run reached each milestone: one dot a run, a box of the quartiles per scenario.

    Runs that never reached the milestone are drawn in the grey "never" column past the
    horizon, with their count ("3 of 20", or "never (12 of 20)" when that is the median).
    The box (quartiles) and the median (thick line, with its day written above) are over
    all runs of a group, a run that never got there counting as later than the horizon
    (:func:`sim.analysis.milestone_median`, as on every chart of a folder; a footnote says
    so): a median in the "never" column means half the
    runs or more never got there.

    Args:
        results: One row per run with ``by`` and the ``day_*`` columns (missing = never).
        milestones: Milestone columns, one panel each.
        by: Column naming the group of a run.
        horizon: Run length in days; defaults to the ``steps`` column, else the latest day seen.
        title: The descriptive title (shown as the subtitle under the finding).
        ax: Axes for a single milestone.
        note: Text to put first in the footnote (e.g. what the groups pool).
        finding: The headline above the title; default :func:`milestones_finding`; ""
            for none.

    Returns:
        The figure.

    Example:
        >>> import pandas as pd
        >>> runs = pd.DataFrame({"scenario": ["a", "a"], "day_inflection": [40, None]})
        >>> fig = milestone_days(runs, ["day_inflection"], horizon=90)
    """
    results = ok_runs(results)
    milestones = list(milestones)
    require_columns(results, [by] + milestones, "milestone_days")
    h = horizon_of(results, horizon)
    if h is None:
        seen = pd.to_numeric(results[milestones].stack(), errors="coerce")
        h = int(seen.max()) if seen.notna().any() else 1
    own = ax is None
    fig, axes = _panels(len(milestones), ax, None, "milestone_days")
    groups = _order(results[by])
    if ax is None:
        fig.suptitle(title or "When the milestones were reached (one dot a run)",
                     fontsize=22, fontweight="bold")
    label_size, number_size = _row_sizes(len(groups))
    for m, (panel, metric) in enumerate(zip(axes, milestones)):
        level = milestone_level(results, metric)
        name = metric[4:] if metric in MILESTONE_METRICS else MILESTONE_NAMES.get(level)
        panel.set_title((title if ax is not None and title else "")
                        or (f"{name.capitalize()}: {level:,} members" if name and level
                            else _label(metric, results)),
                        fontsize=(18 if label_size > 12 else 16) if ax is None else None)
        panel.set_xlabel("day")
        panel.grid(axis="y", visible=False)
        panel.xaxis.set_major_locator(whole_ticks())
        panel.set_xlim(-0.03 * h, h)
        centre = _never_zone(panel, h, low=-0.03 * h)
        for i, group in enumerate(groups):
            v = metric_values(results[results[by] == group], metric, h)
            v = np.where(v > h, h + 1, v)
            reached, never = v[v <= h], int((v > h).sum())
            colour = _colour(i)
            if len(reached):  # whisker over the days seen; box and median over all runs
                q1, q3 = np.percentile(v, [25, 75])
                panel.hlines(i, reached.min(), reached.max(), color=colour, linewidth=1.5,
                             zorder=2)
                if q1 <= h:
                    panel.add_patch(Rectangle((q1, i - 0.22), max(min(q3, h) - q1, 0.4), 0.44,
                                              zorder=2, facecolor=colour, alpha=0.25,
                                              edgecolor=colour, linewidth=1.5,
                                              gid=f"box-{metric}-{i}"))
            if len(v):  # one line of text a row, above it: median day, runs never there
                med = milestone_median(v, h)
                at = med if med <= h else centre
                panel.vlines(at, i - 0.22, i + 0.22, color=colour, linewidth=3, zorder=3,
                             gid=f"median-{metric}-{i}")
                panel.annotate(format_value(metric, med, h) if med <= h else
                               f"never ({never} of {len(v)})", (at, i - 0.22), xytext=(0, 2),
                               textcoords="offset points", ha="center",
                               va="bottom", fontsize=number_size, fontweight="bold",
                               color="#222222", gid=f"median-day-{metric}-{i}")
                if never and med <= h:
                    panel.annotate(f"{never} of {len(v)}", (centre, i - 0.22), xytext=(0, 2),
                                   textcoords="offset points", ha="center", va="bottom",
                                   fontsize=number_size, color="#222222", gid="never-count")
            xs = np.where(v > h, centre + _jitter(len(v), 1000 + 97 * m + i, 0.025 * h), v)
            panel.scatter(xs, i + _jitter(len(v), 31 * m + i, 0.15), s=55 if len(v) <= 30 else 30,
                          color=colour,
                          edgecolor="white", linewidth=0.6, zorder=4, alpha=0.9,
                          gid=f"runs-{metric}-{i}")
    axes[0].set_yticks(np.arange(len(groups)), [display_text(g) for g in groups],
                       fontsize=label_size)
    axes[0].set_ylim(len(groups) - 0.5, -0.75)
    for panel in axes:
        panel.tick_params(axis="y", length=0)
    footnote(fig, own, "Dots: runs; box: middle 50% of the runs; thick line and number: "
              f"median; 'k of n': runs that never got there. {never_rule(h)}", note)
    headline(fig if ax is None else axes[0],
             milestones_finding(results, milestones, by=by, horizon=h) if finding is None
             else finding)
    return fig
