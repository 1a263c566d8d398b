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
    require_columns,
    styled,
    whole_ticks,
)

__all__ = ["forecast_fan", "posterior_pairs", "write_calibration_charts"]


def _edges(low: float, high: float, log: bool, bins: int = 20) -> np.ndarray:
    return np.geomspace(low, high, bins + 1) if log else np.linspace(low, high, bins + 1)


@styled
def posterior_pairs(particles: pd.DataFrame, parameters: Sequence[str],
                    priors: Mapping[str, tuple[float, float, bool]] | None = None,
                    title: str | None = None) -> Figure:
    """The posterior of each free parameter (diagonal) and of each pair (below it).

    Weighted histograms on the diagonal, weighted scatter plots (dot area by weight) below
    it; the axes span the prior ranges (log axes for log priors) when ``priors`` is given.

    Args:
        particles: One row per particle: the parameters' columns and ``weight``.
        parameters: The columns to draw, in order.
        priors: parameter -> ``(low, high, log)``.
        title: Slide title.

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
                    ax.set_ylabel(yname, fontsize=10)
            if xlog:
                ax.set_xscale("log")
                ax.xaxis.set_minor_formatter(NullFormatter())  # decades only: no overlaps
            if xlow is not None:
                ax.set_xlim(xlow, xhigh)
            if i == k - 1:
                ax.set_xlabel(xname, fontsize=10)
            ax.tick_params(which="both", labelsize=9)
    fig.suptitle(title or "Posterior of the free parameters (axes span the priors)")
    footnote(fig, True, f"{len(particles)} weighted particles of the last ABC-SMC generation; "
             "dot area by weight.")
    return fig


@styled
def forecast_fan(forecast: pd.DataFrame, columns: Sequence[str], *,
                 last_observed: int | None = None, title: str | None = None) -> Figure:
    """The posterior-predictive forecast: median, 50% and 90% bands, observed points.

    One panel per observed column; a dotted vertical line marks the last observed day.

    Args:
        forecast: ``day`` and, per column C, ``C_q05 ... C_q95`` and ``C_observed``
            (``forecast.csv``).
        columns: The columns to draw.
        last_observed: The last observed day (the start of the forecast proper).
        title: Slide title.

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
    return fig


def write_calibration_charts(particles: pd.DataFrame, forecast: pd.DataFrame,
                             priors: Mapping[str, tuple[float, float, bool]],
                             columns: Sequence[str], last_observed: int, out_dir: Path,
                             formats: Iterable[str] = ("png",)) -> list[Path]:
    """Draw and save a calibration folder's charts: ``posterior_pairs`` and ``forecast``.

    Args:
        particles: ``posterior.parquet``'s table.
        forecast: ``forecast.csv``'s table.
        priors: parameter -> ``(low, high, log)``, in the order to draw.
        columns: The observed columns.
        last_observed: The last observed day.
        out_dir: The calibration folder.
        formats: File formats.

    Returns:
        The paths written.
    """
    figures = {"posterior_pairs": posterior_pairs(particles, list(priors), priors),
               "forecast": forecast_fan(forecast, columns, last_observed=last_observed)}
    return save_figures(figures, Path(out_dir), formats)
