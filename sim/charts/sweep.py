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
from sim.charts.deck import fan_chart, milestone_days, scenario_comparison
from sim.charts.save import save_figures, write_atomically
from sim.charts.style import (
    BLUE,
    GREY,
    ORANGE,
    VERMILLION,
    axes_note,
    footnote,
    format_axis,
    new_axes,
    ok_runs,
    require_columns,
    styled,
)
from sim.errors import DataError, FishpondWarning
from sim.sensitivity import sobol_problems

__all__ = ["MAX_POINTS", "SAMPLED", "SOBOL_COLUMNS", "grid_heatmap", "group_runs",
           "point_labels", "sobol_bars", "varying_parameters", "write_sweep_charts"]


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
        title: Slide title.
        ax: Axes to draw into; a new 16:9 figure when ``None``.

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
    return fig


# --- Sobol indices -------------------------------------------------------------------

@styled
def sobol_bars(
    indices: pd.DataFrame,
    *,
    metric: str | None = None,
    title: str | None = None,
    ax: Axes | None = None,
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
        title: Slide title.
        ax: Axes to draw into; a new 16:9 figure when ``None``.

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
    return fig


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
    for part in range(0, len(shown), PANELS):  # at most PANELS panels a figure: one slide
        name = "comparison" if part == 0 else f"comparison_{part // PANELS + 1}"
        figures[name] = scenario_comparison(ok, shown[part:part + PANELS], by=by, note=pooled)
    figures["milestones"] = milestone_days(ok, [m for m in ("day_inflection", "day_explosion")
                                                if m in ok], by=by, note=pooled)
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
