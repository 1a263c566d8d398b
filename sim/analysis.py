"""Comparison statistics over replicate runs: medians, 90% intervals and paired tests.

Pure functions of the per-run results table (one row per run, as written by
:mod:`sim.store`: a grouping column such as ``scenario``, the run ``seed`` and the run-summary
metrics of MODEL.md §6). Nothing here runs a simulation.

A milestone never reached (``day_inflection`` is missing) counts as day ``horizon + 1``: later
than any day of the run. Medians and intervals are computed on that scale and shown as
"never" when they fall past the horizon; the tests use it too, so "never" ranks after every
real day.

Example:
    >>> import pandas as pd
    >>> runs = pd.DataFrame({"scenario": ["a"] * 3 + ["b"] * 3, "seed": [0, 1, 2] * 2,
    ...                      "members": [100, 120, 110, 300, 310, 290]})
    >>> summarize_by_scenario(runs, ["members"])[["scenario", "median"]].to_dict("list")
    {'scenario': ['a', 'b'], 'median': [110.0, 300.0]}
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .errors import DataError

__all__ = ["ALPHA", "MAIN_METRICS", "METRIC_LABELS", "MILESTONE_METRICS", "compare_scenarios",
           "comparison_frame", "comparison_table", "format_value", "holm", "horizon_of",
           "metric_label", "metric_values", "milestone_level", "milestone_median", "never_rule",
           "scenario_labels", "summarize_by_scenario"]

MAIN_METRICS = ("members", "day_inflection", "day_explosion", "cost_per_retained_member",
                "croi", "referral_share", "contributor_share", "commitment_share")
MILESTONE_METRICS = ("day_origin", "day_inflection", "day_explosion")
METRIC_LABELS = {
    "members": "members at horizon",
    "day_origin": "day of origin (100)",
    "day_inflection": "day of inflection (1,000)",
    "day_explosion": "day of explosion (10,000)",
    "cost_per_retained_member": "cost per retained member",
    "croi": "CROI",
    "referral_share": "referral share",
    "contributor_share": "contributor share",
    "commitment_share": "commitment share",
    "top20_referral_share": "top-20% referral share",
    "k_factor": "K-factor",
    "revenue": "revenue",
    "cost": "cost",
    "churned": "churned",
    "kols": "KOLs",
}
PERCENT_METRICS = {"croi", "referral_share", "contributor_share", "commitment_share",
                   "top20_referral_share", "self_org_share"}
ALPHA = 0.05
LEVEL = 0.90  # interval: 5th to 95th percentile of the replicates


def horizon_of(results: pd.DataFrame, horizon: int | None = None) -> int | None:
    """The run horizon in days: ``horizon`` if given, else the ``steps`` column's maximum."""
    if horizon is not None:
        return int(horizon)
    for column in ("steps", "horizon"):
        if column in results.columns and results[column].notna().any():
            return int(pd.to_numeric(results[column]).max())
    return None


def metric_values(results: pd.DataFrame, metric: str, horizon: int | None = None) -> np.ndarray:
    """The metric as floats, one per row; a never-reached milestone becomes ``horizon + 1``.

    Raises:
        DataError: the metric is missing, or milestones were never reached and no horizon
            is known (pass ``horizon`` or a ``steps`` column).
    """
    if metric not in results.columns:
        raise DataError(f"results: no column {metric!r}; metrics available: "
                        f"{[c for c in results.columns if results[c].dtype.kind in 'fiu']}")
    values = pd.to_numeric(results[metric], errors="coerce").to_numpy(float)
    if metric in MILESTONE_METRICS or metric.startswith("day_"):
        never = np.isnan(values)
        if never.any():
            h = horizon_of(results, horizon)
            if h is None:
                raise DataError(f"{metric}: some runs never reached the milestone and the horizon "
                                "is unknown; pass horizon=... (days) or a 'steps' column")
            values = np.where(never, h + 1, values)
    return values


def milestone_level(results: pd.DataFrame | None, metric: str) -> int | None:
    """The member level of a milestone column, or None for other metrics.

    ``day_1000`` is 1,000; ``day_origin``, ``day_inflection`` and ``day_explosion`` are the
    first three levels of the runs' milestones (read from their ``day_<level>`` columns; 100,
    1,000 and 10,000 by default, MODEL.md §6).

    Example:
        >>> import pandas as pd
        >>> runs = pd.DataFrame(columns=["day_50", "day_300", "day_900"])
        >>> milestone_level(runs, "day_inflection")
        300
    """
    found = re.fullmatch(r"day_(\d+)", metric)
    if found:
        return int(found.group(1))
    if metric not in MILESTONE_METRICS:
        return None
    i = MILESTONE_METRICS.index(metric)
    columns = [] if results is None else results.columns
    levels = sorted(int(m.group(1)) for c in columns if (m := re.fullmatch(r"day_(\d+)", str(c))))
    return levels[i] if len(levels) > i else (100, 1_000, 10_000)[i]


def metric_label(metric: str, results: pd.DataFrame | None = None) -> str:
    """How a metric is named in tables and charts ("day of inflection (1,000)")."""
    level = milestone_level(results, metric)
    if level is not None:
        name = metric[4:] if metric in MILESTONE_METRICS else None
        return f"day of {name} ({level:,})" if name else f"day of {level:,} members"
    return METRIC_LABELS.get(metric, metric.replace("_", " "))


def scenario_labels(results: pd.DataFrame) -> pd.Series | None:
    """A readable scenario label per run: its ``scenario_name`` where that names one scenario.

    Sweep results carry the scenario file as given (``scenario``, e.g. ``fish_pond``) and the
    name inside it (``scenario_name``, e.g. ``seed-100 fish pond``). The names are used when
    they match the files one to one, else the files; ``None`` when there is neither column.
    """
    entry = results["scenario"] if "scenario" in results.columns else None
    name = results["scenario_name"] if "scenario_name" in results.columns else None
    if entry is None or name is None:
        return name if entry is None else entry
    pairs = results[["scenario", "scenario_name"]].drop_duplicates()
    one_to_one = pairs["scenario"].is_unique and pairs["scenario_name"].is_unique
    return name.rename("scenario") if one_to_one and name.notna().all() else entry


def milestone_median(days: Sequence[float] | np.ndarray, horizon: int) -> float:
    """The median day of a milestone over all runs, "never" counted as ``horizon + 1``.

    The one rule every chart and table of a folder uses: each run counts, a run that never
    reached the level ranks after every real day, and when half the runs or more never got
    there the median is ``horizon + 1`` (shown as "never"). NaN (not yet converted) counts
    as never too.

    Example:
        >>> milestone_median([40, 50, None, None], 90), milestone_median([40, 50, 60, None], 90)
        (91.0, 55.0)
    """
    v = np.asarray(pd.to_numeric(pd.Series(days, dtype=object), errors="coerce"), float)
    if not len(v):
        return math.nan
    v = np.where(np.isnan(v) | (v > horizon), horizon + 1, v)
    if np.quantile(v, 0.5, method="higher") > horizon:
        return float(horizon + 1)  # half the runs or more never got there
    return float(np.median(v))


def never_rule(horizon: int | None) -> str:
    """How every chart and table states the "never reached" rule of :func:`milestone_median`."""
    last = f"day {int(horizon)}" if horizon is not None else "the last day"
    return (f"Milestone days are over all runs: a run that never reached a level counts as "
            f"later than {last}; a median shown as 'never' means half the runs or more never "
            "got there.")


def _is_milestone(metric: str) -> bool:
    return metric in MILESTONE_METRICS or metric.startswith("day_")


def _groups(results: pd.DataFrame, by: str) -> list:
    if by not in results.columns:
        raise DataError(f"results: no column {by!r} to group runs by; got {list(results.columns)}")
    return list(dict.fromkeys(results[by].tolist()))  # order of first appearance


def _ok(results: pd.DataFrame) -> pd.DataFrame:
    if "status" in results.columns:
        return results[results["status"].fillna("ok") == "ok"]
    return results


def summarize_by_scenario(
    results: pd.DataFrame,
    metrics: Sequence[str] = MAIN_METRICS,
    *,
    by: str = "scenario",
    horizon: int | None = None,
) -> pd.DataFrame:
    """Median and 90% interval (5th–95th percentile) of each metric, per scenario.

    Runs whose ``status`` is not ``ok`` are left out; missing values of a non-milestone metric
    (e.g. a share with no members) are dropped; a never-reached milestone counts as
    ``horizon + 1`` (see the module docstring) and is counted in ``never``.

    Args:
        results: One row per run with the column ``by`` and the metric columns.
        metrics: Metric columns to summarise.
        by: Column that names the group of a run (``scenario``, or ``point`` for sweeps).
        horizon: Run length in days; defaults to the ``steps`` column.

    Returns:
        One row per group and metric, groups in order of first appearance, with columns
        ``scenario`` (named after ``by``), ``metric``, ``runs``, ``median``, ``low``, ``high``,
        ``never`` (runs that never reached a milestone; 0 for other metrics), ``horizon``.
    """
    results = _ok(results)
    h = horizon_of(results, horizon)
    rows = []
    for group in _groups(results, by):
        sub = results[results[by] == group]
        for metric in metrics:
            v = metric_values(sub, metric, h)
            never = int((v > h).sum()) if _is_milestone(metric) and h is not None else 0
            v = v[~np.isnan(v)]
            if len(v):
                med = (milestone_median(v, h) if _is_milestone(metric) and h is not None
                       else float(np.median(v)))
                low, high = np.quantile(v, [(1 - LEVEL) / 2, (1 + LEVEL) / 2],
                                        method="inverted_cdf")
            else:
                med = low = high = math.nan
            rows.append({by: group, "metric": metric, "runs": len(v), "median": med,
                         "low": float(low), "high": float(high), "never": never,
                         "horizon": h})
    out = pd.DataFrame(rows, columns=[by, "metric", "runs", "median", "low", "high", "never",
                                      "horizon"])
    out.attrs["labels"] = {m: metric_label(m, results) for m in metrics}
    return out


def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm–Bonferroni adjusted p-values (step-down), in the input order; NaN stays NaN.

    Example:
        >>> holm([0.01, 0.04, 0.03]).round(2).tolist()
        [0.03, 0.06, 0.06]
    """
    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    m = len(valid)
    running = 0.0
    for rank, i in enumerate(valid[np.argsort(p[valid], kind="stable")]):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


def min_replicates(metrics: int, alpha: float = ALPHA, paired: bool = True) -> int:
    """The fewest replicates with which a difference can be significant after Holm.

    The smallest two-sided p of the exact Wilcoxon signed-rank test on n pairs is
    ``2 / 2**n``, of the Mann-Whitney U test on two groups of n runs ``2 / C(2n, n)``;
    Holm multiplies the smallest p by the number of metrics.

    Example:
        >>> min_replicates(6), min_replicates(6, paired=False), min_replicates(1)
        (8, 5, 6)
    """
    n = 1
    while True:
        smallest = 2.0 / (2.0 ** n if paired else math.comb(2 * n, n))
        if metrics * smallest < alpha:
            return n
        n += 1


def _test(x: np.ndarray, y: np.ndarray, paired: bool) -> tuple[float, float]:
    """(statistic, two-sided p) of Wilcoxon signed-rank (paired) or Mann–Whitney U."""
    from scipy import stats  # (a second to import: only the comparisons need it)

    if paired:
        d = y - x
        if len(d) == 0:
            return math.nan, math.nan
        if np.all(d == 0):
            return 0.0, 1.0
        res = stats.wilcoxon(y, x, zero_method="wilcox", alternative="two-sided")
    else:
        if len(x) == 0 or len(y) == 0:
            return math.nan, math.nan
        if np.all(x == x[0]) and np.all(y == x[0]):
            return len(x) * len(y) / 2, 1.0
        res = stats.mannwhitneyu(y, x, alternative="two-sided")
    return float(res.statistic), float(res.pvalue)


def compare_scenarios(
    results: pd.DataFrame,
    baseline: str,
    metrics: Sequence[str] = MAIN_METRICS,
    *,
    by: str = "scenario",
    pair_on: str = "seed",
    horizon: int | None = None,
    alpha: float = ALPHA,
) -> pd.DataFrame:
    """Test each scenario against ``baseline``, metric by metric, Holm-corrected.

    When every run of both scenarios has its own ``pair_on`` value (common random numbers:
    the same seeds for every scenario) the runs are paired by it and compared with the
    Wilcoxon signed-rank test on the paired differences; otherwise with the Mann–Whitney U
    test. Within each scenario the p-values of the metrics are adjusted with Holm's method;
    ``significant`` means adjusted p < ``alpha``. A never-reached milestone counts as
    ``horizon + 1``.

    Args:
        results: One row per run (see :func:`summarize_by_scenario`).
        baseline: The value of ``by`` that the others are compared with.
        metrics: Metric columns to test.
        by: Column that names the group of a run.
        pair_on: Column that pairs runs across groups (the seed).
        horizon: Run length in days; defaults to the ``steps`` column.
        alpha: Family-wise significance level per scenario.

    Returns:
        One row per other scenario and metric with columns ``scenario`` (named after ``by``),
        ``baseline``, ``metric``, ``test`` (``wilcoxon`` or ``mann-whitney``), ``n`` (pairs, or
        runs of the scenario), ``baseline_median``, ``median``, ``difference`` (median of the
        paired differences, or difference of the medians; scenario minus baseline),
        ``statistic``, ``p_value``, ``p_holm``, ``significant``, and for milestones
        ``baseline_never`` and ``never`` (runs that never got there; 0 for other metrics).

    Example:
        >>> import pandas as pd
        >>> runs = pd.DataFrame({"scenario": ["a"] * 8 + ["b"] * 8, "seed": list(range(8)) * 2,
        ...                      "members": list(range(100, 108)) + list(range(200, 208))})
        >>> row = compare_scenarios(runs, "a", ["members"]).iloc[0]
        >>> row.test, float(row.difference), bool(row.significant)
        ('wilcoxon', 100.0, True)
    """
    results = _ok(results)
    groups = _groups(results, by)
    if baseline not in groups:
        raise DataError(f"baseline {baseline!r}: no runs; allowed: {groups}")
    h = horizon_of(results, horizon)
    base = results[results[by] == baseline]
    rows = []
    for group in groups:
        if group == baseline:
            continue
        other = results[results[by] == group]
        paired = (pair_on in results.columns and base[pair_on].is_unique
                  and other[pair_on].is_unique
                  and bool(set(base[pair_on]) & set(other[pair_on])))
        block = []
        for metric in metrics:
            x_all = pd.Series(metric_values(base, metric, h), index=base.index)
            y_all = pd.Series(metric_values(other, metric, h), index=other.index)
            if paired:
                x_s = pd.Series(x_all.to_numpy(), index=base[pair_on].to_numpy())
                y_s = pd.Series(y_all.to_numpy(), index=other[pair_on].to_numpy())
                both = pd.concat([x_s, y_s], axis=1, join="inner").dropna()
                x, y = both.iloc[:, 0].to_numpy(), both.iloc[:, 1].to_numpy()
                diff = float(np.median(y - x)) if len(x) else math.nan
                n = len(x)
            else:
                x, y = x_all.dropna().to_numpy(), y_all.dropna().to_numpy()
                diff = float(np.median(y) - np.median(x)) if len(x) and len(y) else math.nan
                n = len(y)
            statistic, p = _test(x, y, paired)
            late = _is_milestone(metric) and h is not None
            block.append({by: group, "baseline": baseline, "metric": metric,
                          "test": "wilcoxon" if paired else "mann-whitney", "n": n,
                          "baseline_median": float(np.median(x)) if len(x) else math.nan,
                          "median": float(np.median(y)) if len(y) else math.nan,
                          "difference": diff, "statistic": statistic, "p_value": p,
                          "baseline_never": int((x > h).sum()) if late else 0,
                          "never": int((y > h).sum()) if late else 0})
        adjusted = holm([r["p_value"] for r in block])
        for r, p_adj in zip(block, adjusted):
            r["p_holm"] = float(p_adj)
            r["significant"] = bool(p_adj < alpha) if not math.isnan(p_adj) else False
        rows.extend(block)
    columns = [by, "baseline", "metric", "test", "n", "baseline_median", "median", "difference",
               "statistic", "p_value", "p_holm", "significant", "baseline_never", "never"]
    return pd.DataFrame(rows, columns=columns)


def format_value(metric: str, value: float, horizon: int | None = None, *,
                 signed: bool = False) -> str:
    """A metric value as printed: counts with separators, shares in %, 'never' past the horizon."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    sign = "+" if signed else ""
    if _is_milestone(metric):
        if not signed and horizon is not None and value > horizon:
            return "never"
        return f"{value:{sign},.0f}"
    if metric in PERCENT_METRICS:
        return f"{100 * value:{sign}.1f}%" if not signed else f"{100 * value:+.1f} pt"
    if abs(value) >= 10 or float(value).is_integer():
        return f"{value:{sign},.0f}"
    return f"{value:{sign},.2f}"


def _width(text: str) -> int:
    """Terminal columns of ``text`` (East Asian wide characters take two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def comparison_table(summary: pd.DataFrame, comparison: pd.DataFrame, *,
                     by: str = "scenario", alpha: float = ALPHA, width: int = 120) -> str:
    """The printed comparison: medians [90% intervals] per scenario, and the tests.

    One column per scenario when that fits in ``width`` characters, else one block per
    metric with a line per scenario.

    Args:
        summary: From :func:`summarize_by_scenario`.
        comparison: From :func:`compare_scenarios` on the same results.
        by: The grouping column used for both.
        alpha: Significance level used for the marks.
        width: Widest line wanted.

    Returns:
        Text; ``*`` marks a difference whose Holm-adjusted p is below ``alpha``.
    """
    groups = list(dict.fromkeys(summary[by].tolist()))
    metrics = list(dict.fromkeys(summary["metric"].tolist()))
    h = summary["horizon"].dropna().iloc[0] if summary["horizon"].notna().any() else None
    cells: dict[tuple, str] = {}
    for rd in summary.to_dict("records"):
        g, m = rd[by], rd["metric"]
        if rd["never"] and rd["never"] == rd["runs"]:
            cells[(g, m)] = f"never ({rd['never']}/{rd['runs']})"
            continue
        cells[(g, m)] = (f"{format_value(m, rd['median'], h)} [{format_value(m, rd['low'], h)}, "
                         f"{format_value(m, rd['high'], h)}]")
        if rd["never"]:
            cells[(g, m)] += f" never {rd['never']}/{rd['runs']}"
    diffs: dict[tuple, str] = {}
    for r in comparison.to_dict("records"):
        p = "n/a" if math.isnan(r["p_holm"]) else f"{r['p_holm']:.2g}"
        d = format_value(r["metric"], r["difference"], h, signed=True)
        if r["never"] and not r["baseline_never"] and r["difference"] > 0:
            d = ">= " + d  # "never" counts as horizon + 1: the true gap is at least this
        elif r["baseline_never"] and not r["never"] and r["difference"] < 0:
            d = "<= " + d
        diffs[(r[by], r["metric"])] = f"{d} p={p}{' *' if r['significant'] else ''}"

    named = summary.attrs.get("labels", {})
    labels = {m: named.get(m) or metric_label(m) for m in metrics}
    label_w = max(_width(v) for v in labels.values())
    baseline = comparison["baseline"].iloc[0] if len(comparison) else groups[0]
    columns = []
    for g in groups:
        cell_w = max(_width(cells.get((g, m), "n/a")) for m in metrics)
        columns.append([str(g)] + [_pad(cells.get((g, m), "n/a"), cell_w)
                                   + (f"  ({diffs[(g, m)]})" if (g, m) in diffs else "")
                                   for m in metrics])
    col_w = [max(_width(c) for c in col) for col in columns]
    lines = []
    if label_w + sum(w + 2 for w in col_w) <= width:
        for i, label in enumerate([""] + [labels[m] for m in metrics]):
            row = [_pad(label, label_w)] + [_pad(c[i], w) for c, w in zip(columns, col_w)]
            lines.append("  ".join(row).rstrip())
    else:
        name_w = max(_width(str(g)) for g in groups)
        for m in metrics:
            lines.append(labels[m])
            cell_w = max(_width(cells.get((g, m), "n/a")) for g in groups)
            for g in groups:
                extra = f"  {diffs[(g, m)]}" if (g, m) in diffs else ""
                lines.append(f"  {_pad(str(g), name_w)}  {_pad(cells.get((g, m), 'n/a'), cell_w)}"
                             f"{extra}".rstrip())
    notes = ["Median [90% interval: 5th-95th percentile] over the runs of each scenario."]
    if len(comparison):
        test = ("paired Wilcoxon signed-rank test on the common seeds"
                if (comparison["test"] == "wilcoxon").all() else
                "Mann-Whitney U test" if (comparison["test"] == "mann-whitney").all() else
                "Wilcoxon signed-rank (paired) or Mann-Whitney U test")
        notes.append(f"Differences vs {baseline}: scenario minus baseline; {test}; p Holm-adjusted "
                     f"across the {len(metrics)} metrics; * p < {alpha:g}.")
        paired = bool((comparison["test"] == "wilcoxon").all())
        n = int(comparison["n"].max())
        if n < min_replicates(len(metrics), alpha, paired):
            notes.append(f"With {n} replicates no difference can be significant at "
                         f"{100 * alpha:g}% after the correction across {len(metrics)} metrics; "
                         f"use >= {min_replicates(len(metrics), alpha, paired)} (20 is the "
                         "default).")
    if any(_is_milestone(m) for m in metrics) and h is not None:
        notes.append(f"A milestone never reached counts as day {int(h) + 1} (horizon + 1) in the "
                     "medians, intervals and tests, and shows as 'never'; so a difference to "
                     "'never' is a bound (>= or <=).")
    return "\n".join(lines + [""] + notes)


def comparison_frame(summary: pd.DataFrame, comparison: pd.DataFrame, *,
                     by: str = "scenario") -> pd.DataFrame:
    """Summary and tests in one table (``comparison.csv``): one row per group and metric."""
    tests = comparison.drop(columns=["baseline_median", "median", "never"], errors="ignore")
    out = summary.merge(tests, on=[by, "metric"], how="left")
    if "baseline" in out.columns and len(comparison):
        out["baseline"] = out["baseline"].fillna(comparison["baseline"].iloc[0])
    return out

