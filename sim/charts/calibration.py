"""Charts of a calibration: the posterior's pairs plot and the forecast fan chart.

Both take the tables ``fishpond calibrate`` writes (``posterior.parquet`` and
``forecast.csv``), draw in the house style and return the figure.

Example:
    >>> import pandas as pd
    >>> post = pd.DataFrame({"rules.decay": [0.1, 0.2, 0.3], "weight": [0.2, 0.5, 0.3]})
    >>> fig = posterior_pairs(post, ["rules.decay"])
    >>> len(fig.axes)
    1
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from sim.charts.save import save_figures
from sim.charts.style import (
    BLUE,
    GREY,
    VERMILLION,
    footnote,
    format_axis,
    headline,
    require_columns,
    styled,
    whole_ticks,
)

__all__ = ["forecast_fan", "forecast_finding", "pairs_finding", "posterior_pairs",
           "write_calibration_charts"]


def _axis_label(name: str, log: bool) -> str:
    return f"{name} (log scale)" if log else name


def _short(key: str) -> str:
    return str(key).split(".")[-1]


def _weighted_interval(x: np.ndarray, w: np.ndarray, level: float = 0.90) -> tuple[float, float]:
    """The central ``level`` interval of ``x`` weighted by ``w``."""
    keep = w > 0  # a particle of no weight is no part of the posterior
    order = np.argsort(x[keep])
    x, w = x[keep][order], w[keep][order]
    cum = (np.cumsum(w) - 0.5 * w) / w.sum()
    return tuple(float(v) for v in np.interp([(1 - level) / 2, (1 + level) / 2], cum, x))


def pairs_finding(particles: pd.DataFrame, parameters: Sequence[str],
                  priors: Mapping[str, tuple[float, float, bool]] | None = None) -> str:
    """What the pairs plot shows: which parameter the data pin down, and which they do not.

    Each parameter's weighted 90% posterior interval is compared with its prior range (in
    log10 for log priors): below half the range it is "pinned", above 80% it "stays as
    wide as its prior".

    Args:
        particles: The parameters' columns and ``weight``.
        parameters: The parameters drawn.
        priors: parameter -> ``(low, high, log)``; without it, the first parameter's interval.

    Returns:
        The sentence; "" without particles or parameters.

    Example:
        >>> post = pd.DataFrame({"rules.a": np.linspace(0.4, 0.5, 11),
        ...                      "rules.b": np.linspace(0, 1, 11), "weight": 1.0})
        >>> pairs_finding(post, ["rules.a", "rules.b"], {"rules.a": (0, 1, False),
        ...                                             "rules.b": (0, 1, False)})
        'The data pin a to 0.401-0.499 (90%); b stays as wide as its prior'
    """
    if particles.empty or not parameters:
        return ""
    w = particles["weight"].to_numpy(np.float64)
    if not np.isfinite(w).all() or w.sum() <= 0:
        w = np.ones(len(particles))
    spans, shares = {}, {}
    for name in parameters:
        x = particles[name].to_numpy(np.float64)
        lo, hi = _weighted_interval(x, w)
        spans[name] = (lo, hi)
        if priors and name in priors:
            low, high, log = priors[name]
            scale = np.log10 if log and low > 0 and lo > 0 else (lambda v: v)
            width = scale(high) - scale(low)
            if width > 0:
                shares[name] = (scale(hi) - scale(lo)) / width
    if not shares:
        name = parameters[0]
        lo, hi = spans[name]
        return f"{_short(name)}: 90% of the posterior between {lo:.3g} and {hi:.3g}"
    narrow = min(shares, key=shares.get)
    wide = [n for n in shares if shares[n] >= 0.8]
    if shares[narrow] >= 0.5:
        return (f"The data barely narrow the priors: every 90% interval spans "
                f"{min(shares.values()):.0%} or more of its prior range")
    lo, hi = spans[narrow]
    text = f"The data pin {_short(narrow)} to {lo:.3g}-{hi:.3g} (90%)"
    if len(wide) == 1:
        text += f"; {_short(wide[0])} stays as wide as its prior"
    elif wide:
        text += f"; {len(wide)} others stay as wide as their priors"
    return text


def forecast_finding(forecast: pd.DataFrame, columns: Sequence[str],
                     milestones: pd.DataFrame | None = None) -> str:
    """What the forecast shows: how likely the highest reachable milestone is, and when.

    Args:
        forecast: ``forecast.csv``'s table (``day`` and the ``C_q05 ... C_q95`` columns).
        columns: The columns drawn.
        milestones: ``milestones.csv``'s table (``milestone, probability_by_horizon,
            day_q50``), or None: then the first column's median and 90% band on the last day.

    Returns:
        "10,000 members by day 200: 64% likely (median day 181)"; "No forecast run reaches
        1,000 members by day 140 (100: in every run)"; "" for an empty table.

    Example:
        >>> ms = pd.DataFrame({"milestone": [1000, 10000], "probability_by_horizon": [1.0, 0.64],
        ...                    "day_q50": [90.0, 181.0]})
        >>> forecast_finding(pd.DataFrame({"day": [0, 200]}), ["members"], ms)
        '10,000 members by day 200: 64% likely (median day 181)'
    """
    if forecast.empty or not len(columns):
        return ""
    h = int(forecast["day"].max())
    if milestones is not None and len(milestones):
        table = milestones.sort_values("milestone")
        hit = table[table["probability_by_horizon"] > 0]
        if hit.empty:
            return (f"No forecast run reaches {int(table['milestone'].iloc[0]):,} members by "
                    f"day {h:,}")
        row = hit.iloc[-1]
        p, level = float(row["probability_by_horizon"]), int(row["milestone"])
        median = float(row["day_q50"]) if "day_q50" in row else np.nan
        when = f" (median day {median:,.0f})" if np.isfinite(median) else ""
        above = table[table["milestone"] > level]
        if p >= 1 and len(above):  # the certain level says little: the next one is the news
            return (f"No forecast run reaches {int(above['milestone'].iloc[0]):,} members by "
                    f"day {h:,} ({level:,}: in every run)")
        if p >= 1:
            return f"{level:,} members by day {h:,} in every forecast run{when}"
        return f"{level:,} members by day {h:,}: {p:.0%} likely{when}"
    c = columns[0]
    last = forecast.iloc[-1]
    return (f"Median forecast: {last[f'{c}_q50']:,.0f} {c.replace('_', ' ')} on day {h:,} "
            f"(90% band {last[f'{c}_q05']:,.0f}-{last[f'{c}_q95']:,.0f})")


def _edges(low: float, high: float, log: bool, bins: int = 20) -> np.ndarray:
    return np.geomspace(low, high, bins + 1) if log else np.linspace(low, high, bins + 1)


@styled
def posterior_pairs(particles: pd.DataFrame, parameters: Sequence[str],
                    priors: Mapping[str, tuple[float, float, bool]] | None = None,
                    title: str | None = None, *, finding: str | None = None) -> Figure:
    """The posterior of each free parameter (diagonal) and of each pair (below it).

    Weighted histograms on the diagonal, weighted scatter plots (dot area by weight) below
    it; the axes span the prior ranges (log axes for log priors, labelled "(log scale)")
    when ``priors`` is given. The headline states the finding (:func:`pairs_finding`).

    Args:
        particles: One row per particle: the parameters' columns and ``weight``.
        parameters: The columns to draw, in order.
        priors: parameter -> ``(low, high, log)``.
        title: The descriptive title (shown as the subtitle under the finding).
        finding: The headline above the title; default :func:`pairs_finding`; "" for none.

    Returns:
        The figure (``len(parameters)**2`` panels, the upper triangle hidden).
    """
    require_columns(particles, list(parameters) + ["weight"], "posterior_pairs")
    k = len(parameters)
    fig = Figure()
    axes = fig.subplots(k, k, squeeze=False)
    w = particles["weight"].to_numpy(np.float64)
    size = 400 * w / w.max() if len(w) and w.max() > 0 else w
    for i, yname in enumerate(parameters):
        for j, xname in enumerate(parameters):
            ax = axes[i][j]
            if j > i:
                ax.set_visible(False)
                continue
            xlow, xhigh, xlog = (priors or {}).get(xname, (None, None, False))
            x = particles[xname].to_numpy(np.float64)
            if i == j:
                edges = _edges(xlow, xhigh, xlog) if xlow is not None else 20
                ax.hist(x, bins=edges, weights=w, color=BLUE, alpha=0.8)
                ax.set_yticks([])
            else:
                y = particles[yname].to_numpy(np.float64)
                ax.scatter(x, y, s=size, color=BLUE, alpha=0.4, linewidths=0)
                ylow, yhigh, ylog = (priors or {}).get(yname, (None, None, False))
                if ylog:
                    ax.set_yscale("log")
                    ax.yaxis.set_minor_formatter(NullFormatter())
                if ylow is not None:
                    ax.set_ylim(ylow, yhigh)
                if j == 0:
                    ax.set_ylabel(_axis_label(yname, ylog), fontsize=10)
            if xlog:
                ax.set_xscale("log")
                ax.xaxis.set_minor_formatter(NullFormatter())  # decades only: no overlaps
            if xlow is not None:
                ax.set_xlim(xlow, xhigh)
            if i == k - 1:
                ax.set_xlabel(_axis_label(xname, xlog), fontsize=10)
            ax.tick_params(which="both", labelsize=9)
    fig.suptitle(title or "Posterior of the free parameters (axes span the priors)")
    footnote(fig, True, f"{len(particles)} weighted particles of the last ABC-SMC generation; "
             "dot area by weight.")
    headline(fig, pairs_finding(particles, parameters, priors) if finding is None else finding)
    return fig


@styled
def forecast_fan(forecast: pd.DataFrame, columns: Sequence[str], *,
                 last_observed: int | None = None, title: str | None = None,
                 milestones: pd.DataFrame | None = None, finding: str | None = None) -> Figure:
    """The posterior-predictive forecast: median, 50% and 90% bands, observed points.

    One panel per observed column; a dotted vertical line marks the last observed day.

    Args:
        forecast: ``day`` and, per column C, ``C_q05 ... C_q95`` and ``C_observed``
            (``forecast.csv``).
        columns: The columns to draw.
        last_observed: The last observed day (the start of the forecast proper).
        title: The descriptive title (shown as the subtitle under the finding).
        milestones: ``milestones.csv``'s table, for the finding (:func:`forecast_finding`).
        finding: The headline above the title; default :func:`forecast_finding`; "" for none.

    Returns:
        The figure.

    Example:
        >>> t = pd.DataFrame({"day": [0, 1], "members_q05": [1, 2], "members_q25": [1, 2],
        ...     "members_q50": [1, 3], "members_q75": [1, 4], "members_q95": [1, 5],
        ...     "members_observed": [1, float("nan")]})
        >>> forecast_fan(t, ["members"]).axes[0].get_ylabel()
        'members'
    """
    need = ["day"] + [f"{c}_{q}" for c in columns
                      for q in ("q05", "q25", "q50", "q75", "q95", "observed")]
    require_columns(forecast, need, "forecast_fan")
    fig = Figure()
    axes = fig.subplots(1, len(columns), squeeze=False)[0]
    day = forecast["day"].to_numpy(np.float64)
    for ax, c in zip(axes, columns):
        ax.fill_between(day, forecast[f"{c}_q05"], forecast[f"{c}_q95"], color=BLUE, alpha=0.18,
                        linewidth=0, label="90% band")
        ax.fill_between(day, forecast[f"{c}_q25"], forecast[f"{c}_q75"], color=BLUE, alpha=0.35,
                        linewidth=0, label="50% band")
        ax.plot(day, forecast[f"{c}_q50"], color=BLUE, label="median")
        seen = forecast[f"{c}_observed"].notna()
        ax.plot(day[seen], forecast.loc[seen, f"{c}_observed"], "o", color=VERMILLION,
                label="observed", zorder=5)
        if last_observed is not None:
            ax.axvline(last_observed, color=GREY, linestyle=":", linewidth=1.5)
        ax.set_xlabel("day")
        ax.set_ylabel(c.replace("_", " "))
        ax.xaxis.set_major_locator(whole_ticks())
        format_axis(ax.yaxis, c)
    axes[0].legend(loc="upper left")
    fig.suptitle(title or "Forecast from the calibrated posterior: median, 50% and 90% bands")
    footnote(fig, True, "Posterior-predictive runs (one per posterior draw, each with its own "
             "seed); the dotted line is the last observed day.")
    headline(fig, forecast_finding(forecast, columns, milestones) if finding is None
             else finding)
    return fig


def write_calibration_charts(particles: pd.DataFrame, forecast: pd.DataFrame,
                             priors: Mapping[str, tuple[float, float, bool]],
                             columns: Sequence[str], last_observed: int, out_dir: Path,
                             formats: Iterable[str] = ("png",),
                             milestones: pd.DataFrame | None = None) -> list[Path]:
    """Draw and save a calibration folder's charts: ``posterior_pairs`` and ``forecast``.

    Args:
        particles: ``posterior.parquet``'s table.
        forecast: ``forecast.csv``'s table.
        priors: parameter -> ``(low, high, log)``, in the order to draw.
        columns: The observed columns.
        last_observed: The last observed day.
        out_dir: The calibration folder.
        formats: File formats.
        milestones: ``milestones.csv``'s table, for the forecast's finding (None: the
            forecast's own median and band).

    Returns:
        The paths written.
    """
    figures = {"posterior_pairs": posterior_pairs(particles, list(priors), priors),
               "forecast": forecast_fan(forecast, columns, last_observed=last_observed,
                                        milestones=milestones)}
    return save_figures(figures, Path(out_dir), formats)
