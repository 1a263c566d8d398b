"""Deck-ready charts of an optimisation study: objective by trial, Pareto front, lever importance.

Like every chart of :mod:`sim.charts`, these take tables (the trials table of
:func:`sim.optimize.trials_table`: one row per trial with ``trial``, ``feasible`` and the
``value_<metric>`` columns) and plain values, draw in the house style and return the figure.
:func:`write_optimize_charts` draws and saves those the study supports.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.analysis import metric_label
from sim.charts.save import save_figures
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
    require_columns,
    styled,
    whole_ticks,
)

__all__ = ["history_finding", "importance_finding", "lever_importance", "objective_history",
           "pareto_finding", "pareto_front", "write_optimize_charts"]


def _metric(column: str) -> str:
    return column[len("value_"):] if column.startswith("value_") else column


def _front(values: np.ndarray, directions: Sequence[str]) -> np.ndarray:
    v = values * np.array([1 if d == "minimize" else -1 for d in directions])
    keep = np.ones(len(v), bool)
    for i in range(len(v)):
        keep[i] = not (np.all(v <= v[i], axis=1) & np.any(v < v[i], axis=1)).any()
    return keep


def _trials(n: int) -> str:
    return f"{n:,} trial{'s' if n != 1 else ''}"


def history_finding(trials: pd.DataFrame, column: str, direction: str = "minimize",
                    currency: str | None = None) -> str:
    """What the objective-by-trial chart shows: the best feasible value, how many were feasible.

    Args:
        trials: One row per trial with ``trial``, ``feasible`` and ``column``.
        column: The objective column, e.g. ``value_cost``.
        direction: ``minimize`` or ``maximize``.
        currency: The label of amounts of money; default the trials' ``currency`` column, else
            CNY.

    Returns:
        "Best feasible cost: 151,008 CNY (trial 12) after 40 trials; 8 of 40 met the
        constraints", or, with none feasible, "No feasible trial in 40: every one missed a
        constraint"; "" without trials.

    Example:
        >>> t = pd.DataFrame({"trial": [0, 1, 2], "feasible": [True, False, True],
        ...                   "value_cost": [5.0, 3.0, 4.0]})
        >>> history_finding(t, "value_cost")
        'Best feasible cost: 4.00 CNY (trial 2) after 3 trials; 2 of 3 met the constraints'
    """
    if trials.empty:
        return ""
    metric = _metric(column)
    currency = currency or currency_of(trials)
    ok = trials["feasible"].astype(bool).to_numpy()
    values = trials[column].to_numpy(float)
    n, k = len(trials), int(ok.sum())
    usable = ok & np.isfinite(values)
    if not usable.any():
        return f"No feasible trial in {_trials(n)}: every one missed a constraint"
    pick = np.where(usable, values, np.inf if direction == "minimize" else -np.inf)
    i = int(np.argmin(pick) if direction == "minimize" else np.argmax(pick))
    met = "all met the constraints" if k == n else f"{k:,} of {n:,} met the constraints"
    return (f"Best feasible {metric_label(metric)}: {amount(metric, values[i], None, currency)} "
            f"(trial {int(trials['trial'].iloc[i])}) after {_trials(n)}; {met}")


@styled
def objective_history(trials: pd.DataFrame, column: str, direction: str = "minimize", *,
                      title: str | None = None, ax: Axes | None = None,
                      currency: str | None = None, finding: str | None = None) -> Figure:
    """Each trial's objective value, feasible or not, and the best feasible value so far.

    Args:
        trials: One row per trial with ``trial``, ``feasible`` and ``column``.
        column: The objective column, e.g. ``value_cost``.
        direction: ``minimize`` or ``maximize`` (for the best-so-far line).
        title: The descriptive title (shown as the subtitle under the finding).
        ax: Axes to draw into; a new 16:9 figure when ``None``.
        currency: The label of amounts of money (default: the trials' ``currency``, else CNY).
        finding: The headline above the title; default :func:`history_finding`; "" for none.

    Returns:
        The figure.

    Example:
        >>> t = pd.DataFrame({"trial": [0, 1, 2], "feasible": [True, False, True],
        ...                   "value_cost": [5.0, 3.0, 4.0]})
        >>> objective_history(t, "value_cost").axes[0].get_xlabel()
        'trial'
    """
    require_columns(trials, ("trial", "feasible", column), "objective_history")
    metric = _metric(column)
    own = ax is None
    fig, ax = new_axes(ax)
    ax.set_title(title or f"{metric_label(metric).capitalize()} by trial")
    ax.set_xlabel("trial")
    ax.set_ylabel(metric_label(metric))
    if trials.empty:
        axes_note(ax, "no trials")
        return fig
    t = trials.sort_values("trial")
    ok = t["feasible"].astype(bool).to_numpy()
    x, y = t["trial"].to_numpy(float), t[column].to_numpy(float)
    ax.scatter(x[~ok], y[~ok], s=40, color=GREY, alpha=0.6, label="infeasible", zorder=2)
    ax.scatter(x[ok], y[ok], s=50, color=BLUE, label="feasible", zorder=3)
    if ok.any():
        best = np.where(ok, y, np.inf if direction == "minimize" else -np.inf)
        run = (np.minimum if direction == "minimize" else np.maximum).accumulate(best)
        run[~np.isfinite(run)] = np.nan
        ax.step(x, run, where="post", color=ORANGE, linewidth=2.5, label="best feasible so far",
                zorder=4)
    ax.xaxis.set_major_locator(whole_ticks())
    format_axis(ax.yaxis, metric)
    ax.legend(loc="best", frameon=False)
    footnote(fig, own, "Each point: one candidate, its statistic over the replicates (common "
             "seeds). Grey: it missed a constraint.")
    headline(ax, history_finding(trials, column, direction, currency) if finding is None
             else finding)
    return fig


def pareto_finding(trials: pd.DataFrame, x: str, y: str, directions: Sequence[str],
                   recommended: int | None = None, currency: str | None = None) -> str:
    r"""What the Pareto chart shows: how many trade-offs the front offers, and the recommended one.

    Args:
        trials: One row per trial with ``trial``, ``feasible``, ``x`` and ``y``.
        x: The first objective's column.
        y: The second objective's column.
        directions: ``minimize``/``maximize`` of ``x`` and ``y``.
        recommended: The recommended trial, or None.
        currency: The label of amounts of money (default: the trials' ``currency``, else CNY).

    Returns:
        "3 feasible trade-offs on the front; recommended (trial 2): members at horizon 60,
        cost 4.00 CNY"; "No feasible trial in 5 trials: ..." when none met the constraints;
        "" without trials.

    Example:
        >>> t = pd.DataFrame({"trial": [0, 1], "feasible": [True, True],
        ...                   "value_cost": [1.0, 2.0], "value_members": [5.0, 9.0]})
        >>> text = pareto_finding(t, "value_cost", "value_members", ["minimize", "maximize"], 1)
        >>> print(text.replace("; ", ";\n"))
        2 feasible trade-offs on the front;
        recommended (trial 1): members at horizon 9, cost 2.00 CNY
    """
    if trials.empty:
        return ""
    currency = currency or currency_of(trials)
    ok = trials["feasible"].astype(bool).to_numpy()
    if not ok.any():
        return f"No feasible trial in {_trials(len(trials))}: no front to choose from"
    v = trials[[x, y]].to_numpy(float)[ok]
    front = int(_front(v, directions).sum())
    text = (f"{front} feasible trade-off{'s' if front != 1 else ''} on the front" if front > 1
            else "One feasible trial beats all others on both objectives")
    rows = trials[trials["trial"] == recommended] if recommended is not None else trials.iloc[:0]
    if len(rows):
        r = rows.iloc[0]
        mx, my = _metric(x), _metric(y)
        text += (f"; recommended (trial {recommended}): {metric_label(my)} "
                 f"{amount(my, float(r[y]), None, currency)}, {metric_label(mx)} "
                 f"{amount(mx, float(r[x]), None, currency)}")
    return text


@styled
def pareto_front(trials: pd.DataFrame, x: str, y: str, directions: Sequence[str],
                 recommended: int | None = None, *, title: str | None = None,
                 ax: Axes | None = None, currency: str | None = None,
                 finding: str | None = None) -> Figure:
    """Two objectives: every trial, the feasible Pareto front, and the recommended point.

    Args:
        trials: One row per trial with ``trial``, ``feasible``, ``x`` and ``y``.
        x: The first objective's column (horizontal axis).
        y: The second objective's column.
        directions: ``minimize``/``maximize`` of ``x`` and ``y``.
        recommended: The trial number to mark (None: no mark).
        title: The descriptive title (shown as the subtitle under the finding).
        ax: Axes to draw into; a new 16:9 figure when ``None``.
        currency: The label of amounts of money (default: the trials' ``currency``, else CNY).
        finding: The headline above the title; default :func:`pareto_finding`; "" for none.

    Returns:
        The figure.

    Example:
        >>> t = pd.DataFrame({"trial": [0, 1, 2], "feasible": [True, True, True],
        ...                   "value_cost": [1.0, 2.0, 3.0], "value_members": [5.0, 9.0, 8.0]})
        >>> fig = pareto_front(t, "value_cost", "value_members", ["minimize", "maximize"], 1)
    """
    require_columns(trials, ("trial", "feasible", x, y), "pareto_front")
    mx, my = _metric(x), _metric(y)
    own = ax is None
    fig, ax = new_axes(ax)
    ax.set_title(title or f"{metric_label(my).capitalize()} against {metric_label(mx)}: "
                          "the Pareto front")
    ax.set_xlabel(metric_label(mx))
    ax.set_ylabel(metric_label(my))
    if trials.empty:
        axes_note(ax, "no trials")
        return fig
    ok = trials["feasible"].astype(bool).to_numpy()
    v = trials[[x, y]].to_numpy(float)
    ax.scatter(v[~ok, 0], v[~ok, 1], s=40, color=GREY, alpha=0.5, label="infeasible", zorder=2)
    ax.scatter(v[ok, 0], v[ok, 1], s=45, color=BLUE, alpha=0.6, label="feasible", zorder=3)
    if ok.any():
        feas = v[ok]
        front = feas[_front(feas, directions)]
        front = front[np.argsort(front[:, 0])]
        ax.plot(front[:, 0], front[:, 1], "-o", color=ORANGE, linewidth=2.5, markersize=8,
                label="Pareto front", zorder=4)
    if recommended is not None and (trials["trial"] == recommended).any():
        r = trials.loc[trials["trial"] == recommended, [x, y]].iloc[0].to_numpy(float)
        ax.scatter([r[0]], [r[1]], s=320, marker="*", color=VERMILLION, zorder=5,
                   label=f"recommended (trial {recommended})")
    format_axis(ax.xaxis, mx)
    format_axis(ax.yaxis, my)
    ax.legend(loc="best", frameon=False)
    footnote(fig, own, "Each point: one candidate (mean or median over its replicates). The "
             "recommended point is the front's nearest to the best of both, each scaled to 0-1.")
    headline(ax, pareto_finding(trials, x, y, directions, recommended, currency)
             if finding is None else finding)
    return fig


def importance_finding(importances: pd.Series | None, metric: str | None = None) -> str:
    """What the lever importance chart shows: the lever that matters most, if one does.

    Args:
        importances: Lever key path -> importance (they sum to 1), or None.
        metric: The objective's metric, to name it.

    Returns:
        "seeding.count explains 70% of the variance in cost"; "a and b matter about equally
        (...)" when the top two are within 10 points; "" without importances.

    Example:
        >>> importance_finding(pd.Series({"seeding.count": 0.7, "rules.invite_rate": 0.3}),
        ...                    "cost")
        'seeding.count explains 70% of the variance in cost'
    """
    if importances is None or len(importances) == 0:
        return ""
    s = importances.astype(float).sort_values(ascending=False)
    about = metric_label(metric) if metric else "the objective"
    if len(s) > 1 and s.iloc[0] - s.iloc[1] < 0.10:
        return (f"{s.index[0]} and {s.index[1]} matter about equally for {about} "
                f"({s.iloc[0]:.0%} and {s.iloc[1]:.0%})")
    return f"{s.index[0]} explains {s.iloc[0]:.0%} of the variance in {about}"


@styled
def lever_importance(importances: pd.Series, *, title: str | None = None,
                     ax: Axes | None = None, metric: str | None = None,
                     finding: str | None = None) -> Figure:
    """Horizontal bars: the share of the objective's variance each lever explains (fANOVA).

    Args:
        importances: Lever key path -> importance (they sum to 1).
        title: The descriptive title (shown as the subtitle under the finding).
        ax: Axes to draw into; a new 16:9 figure when ``None``.
        metric: The objective's metric (``cost``, or ``value_cost``), named in the finding.
        finding: The headline above the title; default :func:`importance_finding`; "" for
            none.

    Returns:
        The figure.

    Example:
        >>> fig = lever_importance(pd.Series({"seeding.count": 0.7, "rules.invite_rate": 0.3}))
    """
    own = ax is None
    fig, ax = new_axes(ax)
    ax.set_title(title or "Which levers matter: importance for the objective")
    ax.set_xlabel("importance (share of the objective's variance)")
    if importances is None or len(importances) == 0:
        axes_note(ax, "too few trials")
        return fig
    s = importances.astype(float).sort_values()
    ax.barh(np.arange(len(s)), s.to_numpy(), color=BLUE)
    ax.set_yticks(np.arange(len(s)), [str(k) for k in s.index])
    for i, v in enumerate(s.to_numpy()):
        ax.text(v, i, f" {v:.0%}", va="center", fontsize=14)
    ax.set_xlim(0, max(1.0, float(s.max()) * 1.15))
    format_axis(ax.xaxis, "commitment_share")  # a share: percent ticks
    ax.grid(axis="y", visible=False)
    footnote(fig, own, "fANOVA (Optuna's FanovaImportanceEvaluator) over the complete trials "
             "of the first objective.")
    headline(ax, importance_finding(importances, metric and _metric(metric)) if finding is None
             else finding)
    return fig


def write_optimize_charts(trials: pd.DataFrame, importances: pd.Series | None, out_dir: Path,
                          objectives: Sequence[tuple[str, str]], recommended: int | None = None,
                          formats: Sequence[str] = ("png",), *,
                          currency: str | None = None) -> list[Path]:
    """Draw and save the study's charts, those its objectives and trials support.

    ``objective_history`` (one per objective), ``pareto_front`` (two objectives) and
    ``lever_importance`` (when importances are known).

    Args:
        trials: The trials table.
        importances: Lever -> importance, or None.
        out_dir: An existing folder.
        objectives: ``(value column, direction)`` per objective.
        recommended: The recommended trial (marked on the Pareto front).
        formats: File formats.
        currency: The label of amounts of money (``economics.currency``; default: the
            trials' ``currency`` column, else CNY).

    Returns:
        The paths written.
    """
    figures: dict[str, Figure] = {}
    for i, (column, direction) in enumerate(objectives):
        name = "objective_history" if i == 0 else f"objective_history_{i + 1}"
        figures[name] = objective_history(trials, column, direction, currency=currency)
    if len(objectives) == 2:
        (x, dx), (y, dy) = objectives
        figures["pareto_front"] = pareto_front(trials, x, y, [dx, dy], recommended,
                                               currency=currency)
    if importances is not None:
        figures["lever_importance"] = lever_importance(
            importances, metric=objectives[0][0] if objectives else None)
    return save_figures(figures, Path(out_dir), formats)
