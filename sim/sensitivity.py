"""Sensitivity designs on arrays: SALib / scipy samples of parameter ranges, and their indices.

``sobol`` and ``morris`` designs are sampled with SALib (``SALib.sample.sobol.sample``,
``SALib.sample.morris.sample``) and analysed with ``SALib.analyze.sobol.analyze`` /
``SALib.analyze.morris.analyze``; ``lhs`` uses ``scipy.stats.qmc.LatinHypercube`` and
``random`` independent uniforms. This module knows nothing of experiments or results tables:
:func:`sim.experiments.analyze` turns a sweep's results into the outputs analysed here.

Example:
    >>> import numpy as np
    >>> bounds = np.array([[0.0, 1.0], [10.0, 20.0]])
    >>> x = sample("random", bounds, 4, seed=1)
    >>> x.shape, bool(((x >= bounds[:, 0]) & (x <= bounds[:, 1])).all())
    ((4, 2), True)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

KINDS = ("sobol", "morris", "lhs", "random")
ANALYSED = ("sobol", "morris")
INDEX_COLUMNS = {"sobol": ("S1", "S1_conf", "ST", "ST_conf"),
                 "morris": ("mu", "mu_star", "mu_star_conf", "sigma")}


def sample_seed(root_seed: int) -> int:
    """The sampling seed derived from an experiment's root seed (63-bit).

    Example:
        >>> sample_seed(0) == sample_seed(0) != sample_seed(1)
        True
    """
    return int(np.random.SeedSequence([root_seed, 0x5A4D]).generate_state(1)[0] >> 1)


def _problem(bounds: np.ndarray, names: list[str] | None = None) -> dict:
    names = names or [f"x{i}" for i in range(len(bounds))]
    return {"num_vars": len(names), "names": names, "bounds": np.asarray(bounds).tolist()}


def sample(kind: str, bounds: np.ndarray, samples: int, seed: int, *,
           second_order: bool = False, levels: int = 4) -> np.ndarray:
    """A design's raw sample matrix (points x parameters), deterministic in ``seed``.

    Args:
        kind: ``sobol``, ``morris``, ``lhs`` or ``random``.
        bounds: ``[low, high]`` of each parameter, shape (parameters, 2).
        samples: SALib's base sample size (sobol, morris) or the number of points.
        seed: The sampling seed (see :func:`sample_seed`).
        second_order: Sobol' second-order indices (more points).
        levels: Morris grid levels.

    Returns:
        float64 array of shape (points, parameters).
    """
    bounds = np.asarray(bounds, dtype=float)
    problem = _problem(bounds)
    if kind == "sobol":
        from SALib.sample import sobol
        return sobol.sample(problem, samples, calc_second_order=second_order, seed=seed)
    if kind == "morris":
        from SALib.sample import morris
        return morris.sample(problem, samples, num_levels=levels, seed=seed)
    rng = np.random.default_rng(seed)
    if kind == "lhs":
        from scipy.stats import qmc
        try:
            unit = qmc.LatinHypercube(d=len(bounds), rng=rng).random(samples)
        except TypeError:  # scipy < 1.15
            unit = qmc.LatinHypercube(d=len(bounds), seed=rng).random(samples)
    else:
        unit = rng.random((samples, len(bounds)))
    return bounds[:, 0] + unit * (bounds[:, 1] - bounds[:, 0])


def indices(kind: str, names: list[str], bounds: np.ndarray, y: np.ndarray, *,
            matrix: np.ndarray | None = None, seed: int = 0, second_order: bool = False,
            levels: int = 4) -> dict[str, np.ndarray]:
    """Sensitivity indices of one output over a sobol or morris sample.

    Args:
        kind: ``sobol`` or ``morris``.
        names: Parameter names, in the sample's column order.
        bounds: ``[low, high]`` of each parameter, shape (parameters, 2).
        y: The output at each sample point, shape (points,); NaN where missing.
        matrix: The sample matrix (needed by morris).
        seed: Seed of SALib's bootstrap confidence intervals.
        second_order: As sampled (sobol).
        levels: As sampled (morris).

    Returns:
        ``{index name: array of one value per parameter}`` with :data:`INDEX_COLUMNS`.

    Raises:
        ValueError: ``kind`` is not sobol or morris.
    """
    problem = _problem(bounds, list(names))
    with np.errstate(all="ignore"):
        if kind == "sobol":
            from SALib.analyze import sobol
            si = sobol.analyze(problem, y, calc_second_order=second_order, seed=seed)
        elif kind == "morris":
            from SALib.analyze import morris
            si = morris.analyze(problem, matrix, y, num_levels=levels, seed=seed)
        else:
            raise ValueError(f"indices of a sobol or morris sample, not {kind}")
    return {k: np.asarray(si[k], dtype=float) for k in INDEX_COLUMNS[kind]}


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
