"""Deck-ready charts of sweeps: parameter heatmaps, Sobol bars, and every chart of a sweep.

:func:`write_sweep_charts` draws what a sweep or comparison folder supports (fan chart,
scenario comparison, milestone days, a heatmap for a two-parameter grid, Sobol bars for the
Sobol indices its caller computed) and saves them. Like :mod:`sim.charts.deck`, every chart
function takes DataFrames and plain values (never an experiment), draws in the house style
and returns the figure; all are exported by :mod:`sim.charts`.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure

from sim.analysis import (
    MAIN_METRICS,
    format_value,
    horizon_of,
    metric_label,
    metric_values,
    milestone_median,
    never_rule,
    scenario_labels,
)
from sim.charts.deck import (
    clear_leader,
    fan_chart,
    lower_is_better,
    milestone_days,
    scenario_comparison,
)
from sim.charts.save import save_figures, write_atomically
from sim.charts.style import (
    BLUE,
    GREY,
    ORANGE,
    VERMILLION,
    amount,
    axes_note,
    currency_of,
    footnote,
    format_axis,
    headline,
    new_axes,
    ok_runs,
    require_columns,
    styled,
)
from sim.errors import DataError, FishpondWarning
from sim.sensitivity import sobol_problems

__all__ = ["MAX_POINTS", "SAMPLED", "SOBOL_COLUMNS", "grid_heatmap", "group_runs",
           "heatmap_finding", "parameter_finding", "point_labels", "sobol_bars",
           "sobol_finding", "varying_parameters", "write_sweep_charts"]


# --- heatmap -------------------------------------------------------------------------

def _param(value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value)).lower()
    if isinstance(value, (float, np.floating)) and np.isnan(value):
        return "n/a"
    if isinstance(value, (float, np.floating)):
        return f"{value:,.0f}" if value.is_integer() and abs(value) >= 1 else f"{value:.3g}"
    return f"{value:,}" if isinstance(value, (int, np.integer)) else str(value)


@styled
def grid_heatmap(
    results: pd.DataFrame,
    x: str,
    y: str,
    metric: str = "members",
    *,
    stat: str = "median",
    horizon: int | None = None,
    cmap: str | None = None,
    title: str | None = None,
    ax: Axes | None = None,
    finding: str | None = None,
) -> Figure:
    """A two-parameter grid: the median (or ``stat``) of a metric in each cell, annotated.

    Args:
        results: One row per run with the parameter columns ``x`` and ``y`` and ``metric``.
        x: Parameter on the horizontal axis (a key path such as ``rules.invite_rate``).
        y: Parameter on the vertical axis.
        metric: Metric to aggregate; a never-reached milestone counts as ``horizon + 1``.
        stat: Any pandas aggregation name (``median``, ``mean``, ``min`` ...).
        horizon: Run length in days; defaults to the ``steps`` column.
        cmap: Matplotlib colour map; default viridis (reversed for ``day_*`` metrics).
        title: The descriptive title (shown as the subtitle under the finding).
        ax: Axes to draw into; a new 16:9 figure when ``None``.
        finding: The headline above the title; default :func:`heatmap_finding`; "" for none.

    Returns:
        The figure (the heatmap and its colour bar).

    Example:
        >>> import pandas as pd
        >>> runs = pd.DataFrame({"a": [1, 1, 2, 2], "b": [5, 6, 5, 6], "members": [1, 2, 3, 4]})
        >>> fig = grid_heatmap(runs, "a", "b")
    """
    results = ok_runs(results)
    require_columns(results, (x, y, metric), "grid_heatmap")
    h = horizon_of(results, horizon)
    data = pd.DataFrame({x: results[x].to_numpy(), y: results[y].to_numpy(),
                         "value": metric_values(results, metric, h)})
    day = metric.startswith("day_") and h is not None
    grouped = data.groupby([y, x])["value"]
    if day and stat == "median":  # the rule of every chart: half or more never -> "never"
        table = grouped.agg(lambda v: milestone_median(v.to_numpy(), h))
    else:
        table = grouped.agg(stat)
    table = table.unstack(x).sort_index().sort_index(axis=1)
    found = heatmap_finding(table, x, y, metric, h, stat=stat, currency=currency_of(results),
                            results=results) if finding is None else finding
    own = ax is None
    fig, ax = new_axes(ax)
    if day:
        footnote(fig, own, f"Each cell: {stat} over its runs. {never_rule(h)}")
    ax.set_title(title or f"{stat.capitalize()} {metric_label(metric, results)} by "
                          f"{x.split('.')[-1]} and {y.split('.')[-1]}")
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.grid(False)
    if table.empty:
        axes_note(ax, "no runs")
        return fig
    values = table.to_numpy(float)
    if cmap is None:  # bright = good: more members, but an earlier day
        cmap = "viridis_r" if metric.startswith("day_") else "viridis"
    image = ax.imshow(values, origin="lower", aspect="auto", cmap=cmap)
    ax.set_xticks(np.arange(values.shape[1]), [_param(v) for v in table.columns])
    ax.set_yticks(np.arange(values.shape[0]), [_param(v) for v in table.index])
    ax.tick_params(length=0)
    for side in ("left", "bottom"):
        ax.spines[side].set_visible(False)
    bar = fig.colorbar(image, ax=ax, label=f"{stat} {metric_label(metric, results)}",
                       shrink=0.9, pad=0.02)
    format_axis(bar.ax.yaxis, metric)
    bar.outline.set_visible(False)
    cells = values.size
    if cells <= 400:
        size = 17 if cells <= 30 else 14 if cells <= 80 else 11 if cells <= 160 else 8
        for (r, c), value in np.ndenumerate(values):
            if np.isnan(value):
                text, colour = "n/a", GREY
            else:
                red, green, blue = to_rgb(image.cmap(image.norm(value)))
                colour = "black" if 0.299 * red + 0.587 * green + 0.114 * blue > 0.5 else "white"
                text = format_value(metric, value, h)
            ax.text(c, r, text, ha="center", va="center", fontsize=size, color=colour,
                    gid=f"cell-{r}-{c}")
    headline(ax, found)
    return fig


def _short(key: str) -> str:
    return str(key).split(".")[-1]


def heatmap_finding(table: pd.DataFrame, x: str, y: str, metric: str,
                    horizon: int | None = None, *, stat: str = "median",
                    currency: str = "CNY", results: pd.DataFrame | None = None) -> str:
    """What a heatmap shows: its best and worst cells, with their parameter values.

    Args:
        table: The cells: index the values of ``y``, columns those of ``x`` (NaN: no runs).
        x: The horizontal parameter.
        y: The vertical parameter.
        metric: The metric in the cells (more is better, but for days and costs).
        horizon: Run length, for milestone days past it ("never").
        stat: The statistic of the cells, named when it is not the median.
        currency: The label of amounts of money.
        results: The runs, to name milestone levels from their columns.

    Returns:
        The sentence ("" when no cell has a value), e.g. "Most members at horizon (1,500)
        at invite_rate 0.03, count 100; fewest (200) at invite_rate 0.005, count 10".

    Example:
        >>> t = pd.DataFrame([[1.0, 2.0], [3.0, 4.0]], index=[5, 6], columns=[1, 2])
        >>> heatmap_finding(t, "a.x", "a.y", "members")
        'Most members at horizon (4) at x 2, y 6; fewest (1) at x 1, y 5'
    """
    values = table.to_numpy(float)
    if not np.isfinite(values).any():
        return ""
    lower = lower_is_better(metric)
    flat = np.where(np.isnan(values), np.inf if lower else -np.inf, values)
    best = np.unravel_index(np.argmin(flat) if lower else np.argmax(flat), values.shape)
    flat = np.where(np.isnan(values), -np.inf if lower else np.inf, values)
    worst = np.unravel_index(np.argmax(flat) if lower else np.argmin(flat), values.shape)
    label = metric_label(metric, results)
    if stat != "median":
        label = f"{stat} {label}"

    def at(cell: tuple) -> str:
        r, c = cell
        return f"{_short(x)} {_param(table.columns[c])}, {_short(y)} {_param(table.index[r])}"

    def show(cell: tuple) -> str:
        return amount(metric, float(values[cell]), horizon, currency)

    if values[best] == values[worst]:
        return f"{label[0].upper() + label[1:]}: {show(best)} in every cell"
    if metric.startswith("day_"):
        words = (f"Earliest {label}", "latest")
    elif metric == "members":
        words = ("Most members at horizon", "fewest")
    else:
        words = (f"{'Lowest' if lower else 'Highest'} {label}", "highest" if lower else "lowest")
    return f"{words[0]} ({show(best)}) at {at(best)}; {words[1]} ({show(worst)}) at {at(worst)}"


# --- Sobol indices -------------------------------------------------------------------

@styled
def sobol_bars(
    indices: pd.DataFrame,
    *,
    metric: str | None = None,
    title: str | None = None,
    ax: Axes | None = None,
    finding: str | None = None,
) -> Figure:
    """Sobol first-order (S1) and total-order (ST) indices per parameter, with confidence whiskers.

    Parameters are sorted by ST, most influential on top. S1 is what a parameter explains
    alone; ST adds its interactions with the others. Each bar is labelled with its value and
    95% confidence interval (``0.45 [0.33, 0.57]``), drawn as a whisker. When the sample is
    too small for the indices (:func:`sim.sensitivity.sobol_problems`: an interval wider
    than ±0.10, or an index outside 0-1 by more than its interval) the chart says so in red.

    Args:
        indices: One row per parameter: ``parameter, S1, ST`` and optionally ``S1_conf,
            ST_conf`` (half-widths of the 95% confidence intervals, as SALib reports them)
            and ``output`` or ``metric`` (pick one with ``metric``; default: the first), as
            :func:`sim.experiments.analyze` returns them.
        metric: Which metric's indices to draw, when ``indices`` holds several.
        title: The descriptive title (shown as the subtitle under the finding).
        ax: Axes to draw into; a new 16:9 figure when ``None``.
        finding: The headline above the title; default :func:`sobol_finding`; "" for none.

    Returns:
        The figure.

    Example:
        >>> import pandas as pd
        >>> idx = pd.DataFrame({"parameter": ["a", "b"], "S1": [0.6, 0.1], "ST": [0.7, 0.3]})
        >>> len(sobol_bars(idx).axes[0].patches)
        4
    """
    require_columns(indices, ("parameter", "S1", "ST"), "sobol_bars")
    column = "metric" if "metric" in indices.columns else "output" if "output" in indices else None
    if column and len(indices):
        metric = metric if metric is not None else indices[column].iloc[0]
        indices = indices[indices[column] == metric]
    table = indices.sort_values("ST", ascending=False, kind="stable").reset_index(drop=True)
    own = ax is None
    fig, ax = new_axes(ax)
    about = metric_label(metric) if metric else "the outcome"
    ax.set_title(title or f"What drives {about}: Sobol sensitivity")
    ax.set_xlabel("share of the outcome's variance")
    ax.grid(axis="y", visible=False)
    if table.empty:
        axes_note(ax, "no indices")
        return fig
    y = np.arange(len(table))
    for key, offset, colour, text in (("S1", -0.2, BLUE, "first order S1 (alone)"),
                                      ("ST", 0.2, ORANGE, "total order ST (with interactions)")):
        value = table[key].to_numpy(float)
        conf = table[f"{key}_conf"].to_numpy(float) if f"{key}_conf" in table else None
        bars = ax.barh(y + offset, value, height=0.38, color=colour, label=text,
                       xerr=conf, error_kw={"ecolor": "#333333", "capsize": 4, "linewidth": 1.5})
        for bar, name in zip(bars.patches, table["parameter"]):
            bar.set_gid(f"{key}-{name}")
        for yy, v, c, name in zip(y + offset, value,
                                  conf if conf is not None else np.full_like(value, np.nan),
                                  table["parameter"]):
            text = f"{v:.2f} [{v - c:.2f}, {v + c:.2f}]" if np.isfinite(c) else f"{v:.2f}"
            ax.annotate(text, (max(v, 0) + (c if np.isfinite(c) else 0), yy),
                        xytext=(6, 0), textcoords="offset points", va="center", fontsize=12,
                        gid=f"value-{key}-{name}")
    ax.set_yticks(y, [str(p) for p in table["parameter"]])
    ax.invert_yaxis()
    ax.tick_params(axis="y", length=0)
    ends, starts = [0.0, 1.0], [0.0]
    for key in ("S1", "ST"):
        conf = table[f"{key}_conf"].fillna(0) if f"{key}_conf" in table else 0.0
        ends += (table[key] + conf).dropna().tolist()
        starts += (table[key] - conf).dropna().tolist()
    ax.set_xlim(min(starts) - 0.05 if min(starts) < 0 else 0.0, max(ends) * 1.35)
    ax.axvline(0, color="#444444", linewidth=1.2)
    ax.legend(loc="lower right")
    problems = sobol_problems(table)
    bad = int((problems != "").sum())
    if bad:
        ax.set_ylim(len(table) - 0.5, -1.5)  # room above the bars for the warning
        ax.text(0.99, 0.99, f"Sample too small: {bad} of {len(table)} parameters have an index "
                "outside 0-1 or a 95% interval\nwider than ±0.10; do not read these bars as "
                "shares of variance (raise design.samples)", transform=ax.transAxes,
                ha="right", va="top", fontsize=13, color=VERMILLION, fontweight="bold",
                gid="sobol-warning",
                bbox={"facecolor": "white", "edgecolor": VERMILLION, "pad": 6})
    footnote(fig, own, "Bars: Sobol indices, the share of the output's variance a parameter "
              "explains (0-1); whiskers and [ ]: 95% confidence intervals (SALib bootstrap).")
    headline(ax, sobol_finding(table, metric) if finding is None else finding)
    return fig


def sobol_finding(indices: pd.DataFrame, metric: str | None = None) -> str:
    """What the Sobol bars show: the parameter that drives the outcome, if the sample can tell.

    Args:
        indices: One metric's indices, one row per parameter: ``parameter, S1, ST`` and
            optionally ``S1_conf, ST_conf`` (95% half-widths).
        metric: The metric, to name it.

    Returns:
        "invite_rate drives 61% of the variance in members at horizon (74% with
        interactions)"; "a and b matter most ..." when the top two total indices' intervals
        overlap; "Sample too small ..." when the leading index is unreliable
        (:func:`sim.sensitivity.sobol_problems`); "" without indices.

    Example:
        >>> idx = pd.DataFrame({"parameter": ["rules.a", "rules.b"], "S1": [0.61, 0.1],
        ...                     "ST": [0.74, 0.2]})
        >>> sobol_finding(idx, "members")
        'a drives 61% of the variance in members at horizon (74% with interactions)'
    """
    if indices.empty:
        return ""
    table = indices.sort_values("ST", ascending=False, kind="stable").reset_index(drop=True)
    about = metric_label(metric) if metric else "the outcome"
    if sobol_problems(table.iloc[:2]).ne("").any():
        return f"Sample too small to tell what drives {about}"
    top = table.iloc[0]
    conf = (lambda row: float(row["ST_conf"])) if "ST_conf" in table else (lambda row: 0.0)
    if len(table) > 1:
        second = table.iloc[1]
        if float(top["ST"]) - conf(top) <= float(second["ST"]) + conf(second):
            return (f"{_short(top['parameter'])} and {_short(second['parameter'])} matter most "
                    f"for {about} ({float(top['ST']):.0%} and {float(second['ST']):.0%} of its "
                    "variance with interactions)")
    s1 = max(float(top["S1"]), 0.0)
    return (f"{_short(top['parameter'])} drives {s1:.0%} of the variance in {about} "
            f"({float(top['ST']):.0%} with interactions)")


# --- sweeps and comparisons ----------------------------------------------------------

MAX_POINTS = 24  # design points drawn one line / row each; more are pooled, and say so


def varying_parameters(results: pd.DataFrame) -> list[str]:
    """Parameter columns (key paths such as ``rules.invite_rate``) that vary across runs."""
    return [c for c in results.columns if "." in c and results[c].nunique(dropna=True) > 1]


def point_labels(results: pd.DataFrame, params: list[str] | None = None,
                 scenario: bool = False) -> pd.Series:
    """A label per run naming its design point by the values that vary.

    ``seeding.count = 100, seeding.strategy = degree``; with ``scenario``, the run's
    ``scenario`` first. Two points that the values cannot tell apart get ``(point N)``.

    Args:
        results: One row per run with the parameter columns (and ``point``, ``scenario``).
        params: Parameter columns to name; default :func:`varying_parameters`.
        scenario: Start each label with the ``scenario`` column.

    Returns:
        The labels, aligned with ``results``.

    Example:
        >>> import pandas as pd
        >>> runs = pd.DataFrame({"seeding.count": [10, 10, 100], "seeding.strategy": "degree"})
        >>> point_labels(runs).tolist()
        ['seeding.count = 10', 'seeding.count = 10', 'seeding.count = 100']
    """
    params = varying_parameters(results) if params is None else params
    parts = [results["scenario"].map(str)] if scenario and "scenario" in results else []
    parts += [results[p].map(lambda v, p=p: f"{p} = {_param(v)}") for p in params]
    if not parts:
        return pd.Series("all runs", index=results.index)
    labels = parts[0]
    for part in parts[1:]:
        labels = labels + ", " + part
    if "point" in results.columns:
        per_label = results.groupby(labels)["point"].nunique()
        shared = labels.map(per_label) > 1
        labels = labels.where(~shared, labels + " (point " + results["point"].map(str) + ")")
    return labels


def _pool_note(results: pd.DataFrame, params: list[str], points: int, why: str) -> str:
    ranges = []
    for p in params:
        values = pd.to_numeric(results[p], errors="coerce")
        if values.notna().all():
            ranges.append(f"{p} from {_param(values.min())} to {_param(values.max())}")
        else:
            ranges.append(f"{p}: {results[p].nunique()} values")
    return (f"All {points:,} design points pooled into one group ({why})"
            + (": " + "; ".join(ranges) if ranges else "") + ".")


SAMPLED = ("sobol", "morris", "lhs", "random")  # design kinds whose points are random draws


def group_runs(results: pd.DataFrame,
               design_kind: str | None = None) -> tuple[pd.DataFrame, str, str | None]:
    """The runs with the column to group them by: one group per scenario or design point.

    Points are pooled into one group, labelled as such, when they are random draws (a
    ``sobol``, ``morris``, ``lhs`` or ``random`` design; without ``design_kind``: points of
    two or more parameters that do not form a full grid), or more than :data:`MAX_POINTS`.

    Args:
        results: The successful runs (see :func:`~sim.charts.style.ok_runs`), one row each.
        design_kind: The sweep's ``design.kind`` (``grid``, ``scenarios``, ``sobol`` ...),
            or ``None`` when unknown.

    Returns:
        ``(runs, by, note)``: the runs (with a ``scenario`` or ``setting`` column added),
        the column naming each run's group, and what was pooled (``None`` if nothing).

    Example:
        >>> import pandas as pd
        >>> runs = pd.DataFrame({"point": [0, 1], "seeding.count": [10, 100]})
        >>> ok, by, pooled = group_runs(runs, "grid")
        >>> ok[by].tolist(), pooled
        (['seeding.count = 10', 'seeding.count = 100'], None)
    """
    ok = results
    labels = scenario_labels(ok)
    if labels is not None:
        ok = ok.assign(scenario=labels)
    params = varying_parameters(ok)
    several = "scenario" in ok.columns and ok["scenario"].nunique() > 1
    if several and not params:
        return ok, "scenario", None
    key = ["point"] if "point" in ok.columns else params + (["scenario"] if several else [])
    points = ok[key].drop_duplicates().shape[0] if key else 1
    if points <= 1:
        return (ok if "scenario" in ok.columns else ok.assign(scenario="all runs")), \
            "scenario", None
    kind = design_kind
    grid = int(np.prod([ok[p].nunique() for p in params])) == points
    why = (f"random draws of a {kind} design" if kind in SAMPLED else
           "sampled points, not a grid" if kind is None and len(params) > 1 and not grid else
           f"more than {MAX_POINTS} to draw one each" if points > MAX_POINTS else None)
    if why:
        label = f"all {points:,} design points pooled"
        return ok.assign(setting=label), "setting", _pool_note(ok, params, points, why)
    return ok.assign(setting=point_labels(ok, params, scenario=several)), "setting", None


def parameter_finding(results: pd.DataFrame, param: str, metrics: Iterable[str], *,
                      horizon: int | None = None) -> str:
    """How a metric changes from the lowest to the highest value of one swept parameter.

    The first of ``metrics`` whose runs at the two ends differ clearly (their 90% intervals
    do not overlap; with one run each, any difference, said so) is named; when none does,
    the first metric with values is said not to change clearly.

    Args:
        results: The successful runs, one row each, with the numeric column ``param``.
        param: The parameter (a key path such as ``rules.invite_rate``).
        metrics: Metrics to try, in order.
        horizon: Run length in days; defaults to the ``steps`` column.

    Returns:
        "Day of inflection (1,000) falls from 120 to 45 as invite_rate rises 0.005 -> 0.03",
        or "" when the parameter is not numeric or does not vary.

    Example:
        >>> runs = pd.DataFrame({"rules.invite_rate": [0.01, 0.01, 0.03, 0.03],
        ...                      "members": [100, 120, 900, 1000]})
        >>> parameter_finding(runs, "rules.invite_rate", ["members"])
        'Members at horizon rises from 110 to 950 as invite_rate rises 0.01 -> 0.03'
    """
    values = pd.to_numeric(results[param], errors="coerce") if param in results else None
    if values is None or values.isna().any() or values.nunique() < 2:
        return ""
    h = horizon_of(results, horizon)
    lo, hi = values.min(), values.max()
    currency = currency_of(results)
    rise = f"as {_short(param)} rises {_param(lo)} -> {_param(hi)}"
    quiet = ""
    for metric in metrics:
        if metric not in results.columns:
            continue
        ends = []
        for at in (lo, hi):
            v = metric_values(results[values == at], metric, h)
            ends.append(v[~np.isnan(v)])
        if not len(ends[0]) or not len(ends[1]):
            continue
        day = metric.startswith("day_") and h is not None
        a, b = (milestone_median(v, h) if day else float(np.median(v)) for v in ends)
        if day and a > h and b > h:
            continue  # never reached at either end: nothing to tell
        label = metric_label(metric, results)
        label = label[0].upper() + label[1:]
        change = f"{amount(metric, a, h, currency)} to {amount(metric, b, h, currency)}"
        _, clear = clear_leader({"lo": ends[0], "hi": ends[1]}, {"lo": a, "hi": b}, lower=False)
        one = " (one run each)" if len(ends[0]) == 1 and len(ends[1]) == 1 else ""
        if clear:
            verb = "goes" if day and max(a, b) > h else "rises" if b > a else "falls"
            return f"{label} {verb} from {change} {rise}{one}"
        quiet = quiet or f"{label}: no clear change {rise} ({change})"
    return quiet


PANELS = 4  # panels of a comparison figure, at most (more metrics: more figures)


def write_sweep_charts(
    results: pd.DataFrame,
    timeseries: pd.DataFrame | None,
    out_dir: Path,
    formats: Iterable[str] = ("png",),
    *,
    design_kind: str | None = None,
    sobol_indices: pd.DataFrame | None = None,
    sobol_samples: int | None = None,
) -> list[Path]:
    """Write the charts of a sweep or comparison: fan, comparison, milestones, heatmap, Sobol.

    Every chart draws one line, row or cell per design point, labelled with the values
    that vary (``seeding.count = 100``, see :func:`point_labels`), or per scenario when a
    comparison's points are scenarios (named by ``scenario_name``, see
    :func:`sim.analysis.scenario_labels`). A design of more than :data:`MAX_POINTS`
    points, or of randomly drawn points (a Sobol, Morris, Latin hypercube or random
    sample), is pooled into one group, labelled and footnoted as such (see
    :func:`group_runs`). Milestone days follow one rule on every chart (see
    :func:`sim.analysis.milestone_median`). ``heatmap`` is drawn when exactly two
    parameters vary over a full grid; ``sobol`` when ``sobol_indices`` are given (the caller
    computes them, e.g. with :func:`sim.experiments.analyze`); they are also written to
    ``sobol_indices.csv``, and a :class:`~sim.errors.FishpondWarning` is issued when the
    sample is too small for them (see :func:`sim.sensitivity.sobol_problems`).

    Args:
        results: One row per run (:func:`sim.store.read_results`).
        timeseries: One row per run and day (:func:`sim.store.read_timeseries`), or ``None``.
        out_dir: Folder to write into; created if missing.
        formats: File formats, as for :func:`~sim.charts.save.save_figure`.
        design_kind: The sweep's ``design.kind`` (``grid``, ``scenarios``, ``sobol``,
            ``morris``, ``lhs``, ``random``), or ``None`` when unknown.
        sobol_indices: Sobol indices of the sweep (one row per output and parameter:
            ``output, parameter, S1, S1_conf, ST, ST_conf``), or ``None``.
        sobol_samples: The Sobol design's number of base samples, named in the warning.

    Returns:
        The paths written, in the order ``members_fan, comparison, comparison_2, ...,
        milestones, heatmap, sobol`` (those drawn; a comparison figure holds at most
        :data:`PANELS` metrics), each in every format, then ``sobol_indices.csv`` if written.

    Raises:
        DataError: no successful runs.

    Example:
        >>> import tempfile, pandas as pd
        >>> runs = pd.DataFrame({"scenario": ["a", "b"], "members": [10, 30], "steps": 30,
        ...                      "day_inflection": [None, 12.0]})
        >>> [p.name for p in write_sweep_charts(runs, None, Path(tempfile.mkdtemp()))]
        ['comparison.png', 'milestones.png']
    """
    out_dir = Path(out_dir)
    formats = tuple(formats)
    ok = ok_runs(results)
    if ok.empty:
        raise DataError("results: no successful runs to chart")
    ok, by, pooled = group_runs(ok, design_kind)
    params = varying_parameters(ok)
    figures: dict[str, Figure] = {}
    if timeseries is not None and len(timeseries):
        figures["members_fan"] = fan_chart(timeseries, ok, by=by, log=_spread(ok, by),
                                           note=pooled)
    shown = [m for m in MAIN_METRICS if m in ok]
    # one numeric parameter swept, point by point: the findings say how the metrics follow it
    param = params[0] if by == "setting" and not pooled and len(params) == 1 else None

    def trend(metrics: list[str]) -> str | None:
        return (parameter_finding(ok, param, metrics) or None) if param else None

    for part in range(0, len(shown), PANELS):  # at most PANELS panels a figure: one slide
        name = "comparison" if part == 0 else f"comparison_{part // PANELS + 1}"
        metrics = shown[part:part + PANELS]
        figures[name] = scenario_comparison(ok, metrics, by=by, note=pooled,
                                            finding=trend(metrics))
    days = [m for m in ("day_inflection", "day_explosion") if m in ok]
    figures["milestones"] = milestone_days(ok, days, by=by, note=pooled,
                                           finding=trend(days[::-1]))
    grid = _grid(ok, params, design_kind)
    if grid:
        figures["heatmap"] = grid_heatmap(ok, *grid, metric="members")
    indices = sobol_indices
    if indices is not None and len(indices):
        figures["sobol"] = sobol_bars(indices, metric="members" if "output" in indices and
                                      (indices["output"] == "members").any() else None)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = save_figures(figures, out_dir, formats)
    if indices is not None and len(indices):
        written.append(_write_sobol(indices, out_dir / "sobol_indices.csv", sobol_samples))
    return written


SOBOL_COLUMNS = ("output", "parameter", "S1", "S1_conf", "ST", "ST_conf", "missing_points")


def _write_sobol(indices: pd.DataFrame, path: Path, samples: int | None) -> Path:
    """Write the indices (95% half-intervals in ``*_conf``) and warn when they are unreliable."""
    problems = sobol_problems(indices)
    table = indices[[c for c in SOBOL_COLUMNS if c in indices.columns]].assign(
        reliable=problems == "", problem=problems)
    write_atomically(path, lambda stream: table.to_csv(stream, index=False, float_format="%.6g"),
                     mode=0o644, text=True)
    bad = table[~table["reliable"]]
    if len(bad):
        first = bad.iloc[0]
        where = f"{first['output']}: " if "output" in bad.columns else ""
        warnings.warn(FishpondWarning(
            f"{path}: the Sobol indices of {len(bad)} of {len(table)} (output, parameter) pairs "
            f"cannot be read as shares of variance (e.g. {where}{first['parameter']}: "
            f"{first['problem']})"
            + (f"; the sample has {samples} base samples" if samples else "")
            + "; raise design.samples (4x the samples halves the intervals)"), stacklevel=3)
    return path


def _spread(results: pd.DataFrame, by: str) -> bool:
    """Log scale when group medians differ more than 20-fold (small fans would be flat)."""
    if "members" not in results.columns:
        return False
    med = results.groupby(by)["members"].median()
    med = med[med > 0]
    return bool(len(med) > 1 and med.max() / med.min() > 20)


def _grid(results: pd.DataFrame, params: list[str], kind: str | None) -> tuple[str, str] | None:
    if kind not in (None, "grid") or len(params) != 2:
        return None
    cells = results[params].drop_duplicates().shape[0]
    full = results[params[0]].nunique() * results[params[1]].nunique()
    return (params[0], params[1]) if cells == full and cells > 1 else None
