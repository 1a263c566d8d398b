"""Sensitivity designs: SALib / scipy samples of parameter ranges, and their analysis.

``sobol`` and ``morris`` designs are sampled with SALib (``SALib.sample.sobol.sample``,
``SALib.sample.morris.sample``) and analysed with ``SALib.analyze.sobol.analyze`` /
``SALib.analyze.morris.analyze``; ``lhs`` uses ``scipy.stats.qmc.LatinHypercube`` and
``random`` independent uniforms. Samples are seeded from the experiment's root seed.

Example:
    >>> from sim.experiments import load_experiment, analyze
    >>> from sim.store import read_results
    >>> exp = load_experiment("sensitivity")
    >>> analyze(read_results("runs/sweeps/sensitivity"), exp)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .errors import ScenarioError

if TYPE_CHECKING:  # pragma: no cover
    from .experiments import Experiment


def sample(exp: Experiment, bounds: np.ndarray) -> np.ndarray:
    """The design's raw sample matrix (points × parameters), deterministic in the root seed."""
    d, names = exp.design, list(exp.design.parameters)
    seed = int(np.random.SeedSequence([exp.seed, 0x5A4D]).generate_state(1)[0] >> 1)
    problem = {"num_vars": len(names), "names": names, "bounds": bounds.tolist()}
    if d.kind == "sobol":
        from SALib.sample import sobol
        return sobol.sample(problem, d.samples, calc_second_order=d.second_order, seed=seed)
    if d.kind == "morris":
        from SALib.sample import morris
        return morris.sample(problem, d.samples, num_levels=d.levels, seed=seed)
    rng = np.random.default_rng(seed)
    if d.kind == "lhs":
        from scipy.stats import qmc
        try:
            unit = qmc.LatinHypercube(d=len(names), rng=rng).random(d.samples)
        except TypeError:  # scipy < 1.15
            unit = qmc.LatinHypercube(d=len(names), seed=rng).random(d.samples)
    else:
        unit = rng.random((d.samples, len(names)))
    return bounds[:, 0] + unit * (bounds[:, 1] - bounds[:, 0])


def analyze(results: pd.DataFrame, exp: Experiment, outputs: list[str] | None = None) -> pd.DataFrame:
    """Sensitivity indices of a sobol or morris sweep, one row per output and parameter.

    Replicates are averaged per design point (failed runs left out); a milestone never reached
    counts as ``horizon + 1``. Sobol gives S1, S1_conf, ST, ST_conf; Morris gives mu,
    mu_star, mu_star_conf, sigma. ``missing_points`` counts points without any ok run (their
    indices are NaN).

    Example:
        >>> from sim.experiments import load_experiment
        >>> from sim.store import read_results
        >>> exp = load_experiment("sensitivity")
        >>> analyze(read_results("runs/sweeps/sensitivity"), exp)  # doctest: +SKIP
    """
    d = exp.design
    if d.kind not in ("sobol", "morris"):
        raise ScenarioError(f"{exp.label}: analyze needs a sobol or morris design, not {d.kind}")
    from .experiments import _design_points

    points = _design_points(exp)
    names = list(d.parameters)
    problem = {"num_vars": len(names), "names": names,
               "bounds": [list(d.parameters[k]) for k in names]}
    ok = results[results["status"] == "ok"]
    rows = []
    for metric in outputs or exp.outputs:
        if metric not in ok.columns:
            raise ScenarioError(f"analyze: output {metric!r} is not a column of the results")
        y = pd.to_numeric(ok[metric], errors="coerce").astype(float)
        if metric.startswith("day_"):
            horizon = ok["point"].map({p.index: p.scenario.steps + 1 for p in points})
            y = y.fillna(horizon)
        Y = y.groupby(ok["point"]).mean().reindex(range(len(points))).to_numpy(float)
        missing = int(np.isnan(Y).sum())
        with np.errstate(all="ignore"):
            if d.kind == "sobol":
                from SALib.analyze import sobol
                si = sobol.analyze(problem, Y, calc_second_order=d.second_order, seed=exp.seed)
                keys = ("S1", "S1_conf", "ST", "ST_conf")
            else:
                from SALib.analyze import morris
                si = morris.analyze(problem, exp._matrix, Y, num_levels=d.levels, seed=exp.seed)
                keys = ("mu", "mu_star", "mu_star_conf", "sigma")
        for j, name in enumerate(names):
            rows.append({"output": metric, "parameter": name,
                         **{k: float(np.asarray(si[k])[j]) for k in keys},
                         "missing_points": missing})
    return pd.DataFrame(rows)


SOBOL_MAX_CONF = 0.1  # widest 95% half-interval (share of variance) still worth reading


def sobol_problems(indices: pd.DataFrame, max_conf: float = SOBOL_MAX_CONF) -> pd.Series:
    """Why each row of Sobol indices cannot be read as shares of variance ('' when it can).

    An index is a share of the output's variance, between 0 and 1. A row is flagged when,
    for S1 or ST, the index or its interval is missing (NaN); its 95% confidence half-width
    (``S1_conf``, ``ST_conf``, as SALib reports them) is wider than ``max_conf``; or the
    index lies outside [0, 1] by more than that half-width. All three mean the sample is too
    small: the half-widths shrink as 1/sqrt(samples), so 4x the samples halves them.

    Args:
        indices: Rows with ``parameter``, ``S1``, ``ST`` and optionally ``S1_conf``,
            ``ST_conf`` and ``output`` (as :func:`analyze` returns them).
        max_conf: The widest half-width accepted.

    Returns:
        One text per row, aligned with ``indices``: empty, or what is wrong
        (``S1 = 1.12 [0.27, 1.97]: outside 0-1; interval wider than ±0.10``).

    Example:
        >>> import pandas as pd
        >>> idx = pd.DataFrame({"parameter": ["a", "b"], "S1": [0.5, 1.12],
        ...                     "S1_conf": [0.02, 0.85], "ST": [0.6, 0.9], "ST_conf": [0.03, 0.2]})
        >>> sobol_problems(idx).tolist()[0]
        ''
    """
    out = []
    for row in indices.to_dict("records"):
        wrong = []
        for key in ("S1", "ST"):
            value = float(row.get(key, np.nan))
            conf = float(row.get(f"{key}_conf", np.nan)) if f"{key}_conf" in row else 0.0
            if np.isnan(value) or np.isnan(conf):
                wrong.append(f"{key} could not be estimated (NaN)")
                continue
            why = []
            if value < -conf or value > 1 + conf:
                why.append("outside 0-1")
            if conf > max_conf:
                why.append(f"interval wider than ±{max_conf:.2f}")
            if why:
                wrong.append(f"{key} = {value:.2f} [{value - conf:.2f}, {value + conf:.2f}]: "
                             + "; ".join(why))
        out.append(", ".join(wrong))
    return pd.Series(out, index=indices.index, dtype=object)
