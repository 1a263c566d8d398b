"""Deck-ready charts of sweeps: parameter heatmaps, Sobol bars, and every chart of a sweep.

:func:`write_sweep_charts` draws what a sweep or comparison folder supports (fan chart,
scenario comparison, milestone days, a heatmap for a two-parameter grid, Sobol bars for a
Sobol design) and saves them. Like :mod:`sim.charts_deck`, every chart function takes
DataFrames, draws in the house style and returns the figure; all are re-exported by
:mod:`sim.charts`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure

from sim.analysis import (MAIN_METRICS, metric_label, format_value, horizon_of, metric_values,
                          scenario_labels)
from sim.charts import _BLUE, _GREY, _ORANGE, _axes, _note, _require, _styled, save_figure
from sim.charts_deck import (_axis_format, _ok, fan_chart, milestone_days,
                             scenario_comparison)
from sim.errors import DataError, FishpondError

__all__ = ["grid_heatmap", "sobol_bars", "write_sweep_charts", "varying_parameters"]


# --- heatmap -------------------------------------------------------------------------

def _param(value) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{value:,.0f}" if value.is_integer() and abs(value) >= 1 else f"{value:.3g}"
    return f"{value:,}" if isinstance(value, (int, np.integer)) else str(value)


@_styled
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
    results = _ok(results)
    _require(results, (x, y, metric), "grid_heatmap")
    h = horizon_of(results, horizon)
    data = pd.DataFrame({x: results[x].to_numpy(), y: results[y].to_numpy(),
                         "value": metric_values(results, metric, h)})
    table = data.groupby([y, x])["value"].agg(stat).unstack(x).sort_index().sort_index(axis=1)
    fig, ax = _axes(ax)
    ax.set_title(title or f"{stat.capitalize()} {metric_label(metric, results)} by "
                          f"{x.split('.')[-1]} and {y.split('.')[-1]}")
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.grid(False)
    if table.empty:
        _note(ax, "no runs")
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
    _axis_format(bar.ax.yaxis, metric)
    bar.outline.set_visible(False)
    cells = values.size
    if cells <= 400:
        size = 17 if cells <= 30 else 14 if cells <= 80 else 11 if cells <= 160 else 8
        for (r, c), value in np.ndenumerate(values):
            if np.isnan(value):
                text, colour = "n/a", _GREY
            else:
                red, green, blue = to_rgb(image.cmap(image.norm(value)))
                colour = "black" if 0.299 * red + 0.587 * green + 0.114 * blue > 0.5 else "white"
                text = format_value(metric, value, h)
            ax.text(c, r, text, ha="center", va="center", fontsize=size, color=colour,
                    gid=f"cell-{r}-{c}")
    return fig


# --- Sobol indices -------------------------------------------------------------------

@_styled
def sobol_bars(
    indices: pd.DataFrame,
    *,
    metric: str | None = None,
    title: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Sobol first-order (S1) and total-order (ST) indices per parameter, with confidence whiskers.

    Parameters are sorted by ST, most influential on top. S1 is what a parameter explains
    alone; ST adds its interactions with the others.

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
    _require(indices, ("parameter", "S1", "ST"), "sobol_bars")
    column = "metric" if "metric" in indices.columns else "output" if "output" in indices else None
    if column and len(indices):
        metric = metric if metric is not None else indices[column].iloc[0]
        indices = indices[indices[column] == metric]
    table = indices.sort_values("ST", ascending=False, kind="stable").reset_index(drop=True)
    fig, ax = _axes(ax)
    about = metric_label(metric) if metric else "the outcome"
    ax.set_title(title or f"What drives {about}: Sobol sensitivity")
    ax.set_xlabel("share of the outcome's variance")
    ax.grid(axis="y", visible=False)
    if table.empty:
        _note(ax, "no indices")
        return fig
    y = np.arange(len(table))
    for key, offset, colour, text in (("S1", -0.2, _BLUE, "first order S1 (alone)"),
                                      ("ST", 0.2, _ORANGE, "total order ST (with interactions)")):
        value = table[key].to_numpy(float)
        conf = table[f"{key}_conf"].to_numpy(float) if f"{key}_conf" in table else None
        bars = ax.barh(y + offset, value, height=0.38, color=colour, label=text,
                       xerr=conf, error_kw={"ecolor": "#333333", "capsize": 4, "linewidth": 1.5})
        for bar, name in zip(bars.patches, table["parameter"]):
            bar.set_gid(f"{key}-{name}")
        for yy, v, c in zip(y + offset, value, conf if conf is not None else np.zeros_like(value)):
            ax.annotate(f"{v:.2f}", (max(v, 0) + (c if np.isfinite(c) else 0), yy),
                        xytext=(6, 0), textcoords="offset points", va="center", fontsize=12)
    ax.set_yticks(y, [str(p) for p in table["parameter"]])
    ax.invert_yaxis()
    ax.tick_params(axis="y", length=0)
    ends, starts = [0.0, 1.0], [0.0]
    for key in ("S1", "ST"):
        conf = table[f"{key}_conf"].fillna(0) if f"{key}_conf" in table else 0.0
        ends += (table[key] + conf).dropna().tolist()
        starts += (table[key] - conf).dropna().tolist()
    ax.set_xlim(min(starts) - 0.05 if min(starts) < 0 else 0.0, max(ends) * 1.1)
    ax.axvline(0, color="#444444", linewidth=1.2)
    ax.legend(loc="lower right")
    return fig


# --- sweeps and comparisons ----------------------------------------------------------

def _setting_labels(results: pd.DataFrame, params: list[str]) -> pd.Series:
    return results[params].apply(
        lambda row: "\n".join(f"{p.split('.')[-1]}={_param(v)}" for p, v in row.items()), axis=1)


def varying_parameters(results: pd.DataFrame) -> list[str]:
    """Parameter columns (key paths such as ``rules.invite_rate``) that vary across runs."""
    return [c for c in results.columns if "." in c and results[c].nunique(dropna=True) > 1]


def write_sweep_charts(
    results: pd.DataFrame,
    timeseries: pd.DataFrame | None,
    out_dir: Path,
    formats: Iterable[str] = ("png",),
    experiment=None,
) -> list[Path]:
    """Write the charts of a sweep or comparison: fan, comparison, milestones, heatmap, Sobol.

    Runs are grouped by scenario when there are several (named by ``scenario_name``, see
    :func:`sim.analysis.scenario_labels`); else by parameter setting when there are at most
    8; else pooled. ``heatmap`` is drawn when exactly two parameters vary
    over a full grid; ``sobol`` when ``experiment`` is a Sobol design and
    :func:`sim.experiments.analyze` gives its indices.

    Args:
        results: One row per run (:func:`sim.store.read_results`).
        timeseries: One row per run and day (:func:`sim.store.read_timeseries`), or ``None``.
        out_dir: Folder to write into; created if missing.
        formats: File formats, as for :func:`~sim.charts.save_figure`.
        experiment: The experiment the results came from, or ``None``.

    Returns:
        The paths written, in the order ``members_fan, comparison, milestones, heatmap,
        sobol`` (those drawn), each in every format.

    Raises:
        DataError: no successful runs.
    """
    out_dir = Path(out_dir)
    formats = tuple(formats)
    ok = _ok(results)
    if ok.empty:
        raise DataError("results: no successful runs to chart")
    labels = scenario_labels(ok)
    if labels is not None:
        ok = ok.assign(scenario=labels)
    params = varying_parameters(ok)
    by = "scenario"
    if by not in ok.columns or ok[by].nunique() <= 1:
        if params and 1 < ok[params].drop_duplicates().shape[0] <= 8:
            ok = ok.assign(setting=_setting_labels(ok, params))
            by = "setting"
        elif by not in ok.columns:
            ok = ok.assign(scenario="all runs")
    groups = ok[by].nunique()
    figures: dict[str, Figure] = {}
    if timeseries is not None and len(timeseries):
        figures["members_fan"] = fan_chart(timeseries, ok, by=by, log=_spread(ok, by))
    if groups <= 12:
        figures["comparison"] = scenario_comparison(ok, [m for m in MAIN_METRICS if m in ok],
                                                    by=by)
        figures["milestones"] = milestone_days(ok, [m for m in ("day_inflection", "day_explosion")
                                                    if m in ok], by=by)
    grid = _grid(ok, params, experiment)
    if grid:
        figures["heatmap"] = grid_heatmap(ok, *grid, metric="members")
    indices = _sobol_indices(results, experiment)
    if indices is not None and len(indices):
        figures["sobol"] = sobol_bars(indices, metric="members" if "metric" in indices and
                                      (indices["metric"] == "members").any() else None)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, fig in figures.items():
        try:
            written += save_figure(fig, out_dir / name, formats)
        finally:
            fig.clear()
    return written


def _spread(results: pd.DataFrame, by: str) -> bool:
    """Log scale when group medians differ more than 20-fold (small fans would be flat)."""
    if "members" not in results.columns:
        return False
    med = results.groupby(by)["members"].median()
    med = med[med > 0]
    return bool(len(med) > 1 and med.max() / med.min() > 20)


def _kind(experiment) -> str | None:
    return getattr(getattr(experiment, "design", None), "kind", None)


def _grid(results: pd.DataFrame, params: list[str], experiment) -> tuple[str, str] | None:
    kind = _kind(experiment)
    if kind not in (None, "grid") or len(params) != 2:
        return None
    cells = results[params].drop_duplicates().shape[0]
    full = results[params[0]].nunique() * results[params[1]].nunique()
    return (params[0], params[1]) if cells == full and cells > 1 else None


def _sobol_indices(results: pd.DataFrame, experiment) -> pd.DataFrame | None:
    if _kind(experiment) != "sobol":
        return None
    from sim.experiments import analyze

    try:
        indices = analyze(results, experiment)
    except FishpondError:  # e.g. an output the runs lack: no Sobol chart, the others stand
        return None
    return indices if isinstance(indices, pd.DataFrame) else None
