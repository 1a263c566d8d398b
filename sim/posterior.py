"""What a calibration's posterior says: weighted quantiles, forecast bands, milestone odds.

Pure functions of tables and arrays (no model, no pyabc), used by :mod:`sim.calibrate` to
write ``posterior_summary.csv``, ``forecast.csv`` and ``milestones.csv`` and to say in words
what they mean.

- :func:`weighted_quantile`: quantiles of weighted particles (the weights of ABC-SMC).
- :func:`posterior_summary`: ``parameter, median, q05, q95`` per free parameter.
- :func:`forecast_table`: per day, the 5/25/50/75/95% quantiles of each observed column over
  the posterior-predictive runs, and the observed value where there is one.
- :func:`milestone_table`: per member level, the share of runs that reach it by the horizon
  and the 5/50/95% quantiles of the day they do; a run that never does counts as later than
  the horizon, so a quantile beyond the horizon is empty ("after the horizon").
- :func:`identifiability`: which parameters the observed numbers cannot pin down.

Example:
    >>> round(weighted_quantile(np.array([1.0, 2.0, 3.0]), np.array([1.0, 1.0, 2.0]), 0.5), 3)
    2.333
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
QUANTILE_NAMES = ("q05", "q25", "q50", "q75", "q95")
UNIDENTIFIED_SHARE = 0.7  # posterior 90% interval wider than this share of the prior's
OAT_RATIO = 2.0  # one-at-a-time effect below this many times the replicate noise: unidentified


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """The ``q`` quantile of weighted values (midpoint rule on the cumulative weights).

    Args:
        values: shape ``(n,)``.
        weights: shape ``(n,)``, >= 0, not all zero.
        q: in [0, 1].

    Returns:
        The quantile (linear interpolation between the sorted values).

    Example:
        >>> weighted_quantile(np.arange(5.0), np.ones(5), 0.5)
        2.0
    """
    values = np.asarray(values, np.float64)
    weights = np.asarray(weights, np.float64)
    order = np.argsort(values, kind="stable")
    v, w = values[order], weights[order]
    cum = (np.cumsum(w) - 0.5 * w) / w.sum()
    return float(np.interp(q, cum, v))


def posterior_summary(particles: pd.DataFrame, parameters: Sequence[str]) -> pd.DataFrame:
    """Median and 90% interval of each parameter over weighted particles.

    Args:
        particles: One row per particle: the parameters' columns and ``weight``.
        parameters: The parameter columns, in order.

    Returns:
        ``parameter, median, q05, q95``, one row per parameter.

    Example:
        >>> p = pd.DataFrame({"rules.decay": [0.1, 0.2, 0.3], "weight": [1, 1, 1]})
        >>> posterior_summary(p, ["rules.decay"])["median"].tolist()
        [0.2]
    """
    w = particles["weight"].to_numpy(np.float64)
    rows = [{"parameter": name,
             "median": weighted_quantile(particles[name].to_numpy(), w, 0.5),
             "q05": weighted_quantile(particles[name].to_numpy(), w, 0.05),
             "q95": weighted_quantile(particles[name].to_numpy(), w, 0.95)}
            for name in parameters]
    return pd.DataFrame(rows, columns=["parameter", "median", "q05", "q95"])


def forecast_table(runs: Mapping[str, np.ndarray], observed: pd.DataFrame,
                   horizon: int) -> pd.DataFrame:
    """Posterior-predictive quantiles per day, with the observed values beside them.

    Args:
        runs: Observed column -> array ``(draws, horizon + 1)`` of the runs' values on days
            ``0..horizon``.
        observed: ``day`` and the observed columns (NaN where missing).
        horizon: The last day.

    Returns:
        ``day`` and, per column C, ``C_q05, C_q25, C_q50, C_q75, C_q95, C_observed``
        (NaN where not observed), one row per day ``0..horizon``.

    Example:
        >>> runs = {"members": np.array([[1.0, 2.0], [1.0, 4.0]])}
        >>> obs = pd.DataFrame({"day": [1], "members": [3.0]})
        >>> forecast_table(runs, obs, 1)["members_q50"].tolist()
        [1.0, 3.0]
    """
    days = np.arange(horizon + 1)
    out = {"day": days}
    index = observed.set_index("day")
    for column, values in runs.items():
        bands = np.quantile(np.asarray(values, np.float64), QUANTILES, axis=0)
        for name, band in zip(QUANTILE_NAMES, bands):
            out[f"{column}_{name}"] = band
        seen = np.full(horizon + 1, np.nan)
        if column in index.columns:
            at = index.index.to_numpy()
            keep = at <= horizon
            seen[at[keep]] = index[column].to_numpy(np.float64)[keep]
        out[f"{column}_observed"] = seen
    return pd.DataFrame(out)


def first_days(members: np.ndarray, level: int) -> np.ndarray:
    """Per run, the first day its members reach ``level`` (inf if never).

    Args:
        members: shape ``(draws, days)``: members on days ``0..days-1``.
        level: The member level.

    Returns:
        float64 array ``(draws,)``.

    Example:
        >>> first_days(np.array([[1, 5, 9], [1, 2, 3]]), 5).tolist()
        [1.0, inf]
    """
    hit = np.asarray(members) >= level
    return np.where(hit.any(axis=1), hit.argmax(axis=1).astype(np.float64), np.inf)


def milestone_table(members: np.ndarray, levels: Sequence[int], horizon: int) -> pd.DataFrame:
    """Each member level's probability by the horizon and the quantiles of the day it is reached.

    A run that never reaches a level counts as later than the horizon: a quantile that falls
    there is NaN (empty in the CSV, "after day H" in words).

    Args:
        members: shape ``(draws, horizon + 1)``.
        levels: Member levels (the scenario's milestones).
        horizon: The last day.

    Returns:
        ``milestone, probability_by_horizon, day_q05, day_q50, day_q95``.

    Example:
        >>> t = milestone_table(np.array([[0, 10, 20], [0, 0, 10]]), [10], 2)
        >>> t.iloc[0].tolist()
        [10.0, 1.0, 1.05, 1.5, 1.95]
    """
    rows = []
    for level in levels:
        days = first_days(members, level)
        reached = np.isfinite(days)
        qs = [np.quantile(days, q, method="linear") if np.isfinite(
            np.quantile(days, q, method="higher")) else math.nan for q in (0.05, 0.5, 0.95)]
        rows.append({"milestone": int(level), "probability_by_horizon": float(reached.mean()),
                     "day_q05": qs[0], "day_q50": qs[1], "day_q95": qs[2]})
    return pd.DataFrame(rows, columns=["milestone", "probability_by_horizon", "day_q05",
                                       "day_q50", "day_q95"])


def milestone_words(table: pd.DataFrame, horizon: int) -> list[str]:
    r"""One sentence per milestone row, e.g. "10,000 members by day 200: 64% likely; ...".

    Example:
        >>> t = pd.DataFrame({"milestone": [10000], "probability_by_horizon": [0.64],
        ...                   "day_q05": [160.0], "day_q50": [181.0], "day_q95": [float("nan")]})
        >>> print(milestone_words(t, 200)[0].replace("; ", ";\n"))
        10,000 members by day 200: 64% likely;
        median day 181, 90% between day 160 and after day 200
    """
    lines = []
    for row in table.itertuples(index=False):
        head = f"{int(row.milestone):,} members by day {horizon}: " \
               f"{100 * row.probability_by_horizon:.0f}% likely"

        def day(x: float) -> str:
            return f"day {x:.0f}" if np.isfinite(x) else f"after day {horizon}"

        if row.probability_by_horizon == 0:
            lines.append(head + f"; not reached by day {horizon} in any forecast run")
        else:
            lines.append(head + f"; median {day(row.day_q50)}, 90% between {day(row.day_q05)} "
                         f"and {day(row.day_q95)}")
    return lines


def identifiability(posterior: pd.DataFrame, prior_width: Mapping[str, float],
                    oat: pd.DataFrame | None = None) -> pd.DataFrame:
    """Which parameters the observed numbers pin down, by two cheap checks.

    1. One-at-a-time (before the calibration, ``oat``): moving a parameter from a quarter to
       three quarters of its prior range, others at the centre, must change the summary
       statistics by more than :data:`OAT_RATIO` times the replicate noise.
    2. Posterior width: its 90% interval (on the prior's scale: log10 for log priors) must
       be narrower than :data:`UNIDENTIFIED_SHARE` of the prior's 90% interval.

    Args:
        posterior: ``parameter, q05, q95`` on the prior's scale (``posterior_summary``).
        prior_width: parameter -> width of the prior's 90% interval on its scale.
        oat: ``parameter, effect, noise`` from the one-at-a-time runs, or None.

    Returns:
        ``parameter, oat_effect, oat_noise, width_share, identified, note``.

    Example:
        >>> post = pd.DataFrame({"parameter": ["a"], "q05": [0.0], "q95": [0.9]})
        >>> identifiability(post, {"a": 0.9})["identified"].tolist()
        [False]
    """
    rows = []
    effects = {} if oat is None else oat.set_index("parameter").to_dict("index")
    for row in posterior.itertuples(index=False):
        share = (row.q95 - row.q05) / prior_width[row.parameter]
        eff = effects.get(row.parameter, {})
        effect, noise = eff.get("effect", math.nan), eff.get("noise", math.nan)
        flat = bool(np.isfinite(effect) and effect <= OAT_RATIO * noise)
        wide = bool(share > UNIDENTIFIED_SHARE)
        notes = []
        if flat:
            notes.append(f"the observed numbers barely respond to it (effect {effect:.3g}, "
                         f"replicate noise {noise:.3g})")
        if wide:
            notes.append(f"its 90% interval spans {100 * share:.0f}% of the prior's")
        rows.append({"parameter": row.parameter, "oat_effect": effect, "oat_noise": noise,
                     "width_share": share, "identified": not (flat or wide),
                     "note": ("not identified by the data: " + "; ".join(notes)) if notes
                     else "identified"})
    return pd.DataFrame(rows, columns=["parameter", "oat_effect", "oat_noise", "width_share",
                                       "identified", "note"])
