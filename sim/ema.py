"""The fish pond as an EMA Workbench model: exploratory modelling and scenario discovery.

`EMA Workbench <https://emaworkbench.readthedocs.io>`_ (the optional extra ``ema``:
``pip install fishpond[ema]``) runs a model over a design of uncertainties and policy
levers and returns experiments and outcomes aligned row by row; its ``prim`` finds the
conditions under which an outcome of interest happens. :func:`ema_model` makes such a
model of a scenario: its uncertainties and levers are scenario key paths (the words of
``--set`` and of sweeps), its outcomes the run summary's metrics (floats, NaN for a
milestone never reached) and daily series (one float a day, day 0 included).

Every experiment runs with the same seed (common random numbers: two experiments differ
by their parameters only), the scenario's unless ``seed=`` says otherwise.

PRIM on an integer uncertainty or lever (``seeding.count``): hand it the experiments'
columns as floats (``experiments[names].astype(float)``). With pandas 3, EMA Workbench
2.5.3's PRIM fails while pasting a non-integer limit into an integer column (its issue 448,
fixed after that release).

Example:
    >>> from ema_workbench import SequentialEvaluator, perform_experiments
    >>> model = ema_model("fish_pond", {"rules.invite_rate": (0.01, 0.03)},
    ...                   levers={"seeding.count": (20, 100)},
    ...                   overrides={"population.size": 1000, "steps": 15},
    ...                   outcomes=("members", "day_inflection"))
    >>> [u.name for u in model.uncertainties], [o.name for o in model.outcomes]
    (['rules.invite_rate'], ['members', 'day_inflection', 'members_by_day'])
    >>> with SequentialEvaluator(model) as evaluator:  # doctest: +SKIP
    ...     experiments, outcomes = perform_experiments(model, 4, 2, evaluator=evaluator)
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

from . import scenario_io as sio
from .config import Scenario
from .errors import FishpondError, ScenarioError
from .metrics import TIMESERIES_COLUMNS
from .yamlio import Problem

__all__ = ["DEFAULT_OUTCOMES", "DEFAULT_SERIES", "ema_model", "run_experiment"]

#: Summary metrics returned by default (floats; NaN for a milestone never reached).
DEFAULT_OUTCOMES = ("members", "day_inflection", "day_explosion", "cost",
                    "cost_per_retained_member", "k_factor", "lurker_share")
#: Daily series returned by default, each as the outcome ``<column>_by_day``.
DEFAULT_SERIES = ("members",)
_SOURCE = ("ema_model", None)


def _workbench():
    try:
        import ema_workbench
    except ImportError:
        raise FishpondError("sim.ema needs EMA Workbench: pip install 'fishpond[ema]' "
                            "(or pip install ema_workbench)") from None
    return ema_workbench


def _parameter(ema, key: str, spec: Any, data: dict, kind: str):
    """One EMA parameter for the key path ``key``: a range -> Real/Integer, a list -> choices."""
    from .experiments import key_path

    where = (kind, key)
    categorical = isinstance(spec, list)
    try:
        path = key_path(key, data, where, numeric=not categorical)
        if categorical:
            if len(spec) < 2:
                raise Problem(where, spec, "fewer than two choices", "a list of two or more "
                              "values, or a (low, high) range of numbers")
            return ema.CategoricalParameter(key, list(spec))
        if (not isinstance(spec, tuple) or len(spec) != 2
                or any(isinstance(x, bool) or not isinstance(x, (int, float)) for x in spec)
                or not spec[0] < spec[1]):
            raise Problem(where, spec, "not a (low, high) range with low < high",
                          "a (low, high) tuple of numbers, or a list of choices")
    except Problem as p:
        raise p.error({}, _SOURCE) from None
    if sio.field_type(path, data) is int:
        if not all(float(x).is_integer() for x in spec):
            raise ScenarioError(f"ema_model: {kind}.{key} = {spec!r}: not whole numbers; allowed:"
                                f" a (low, high) range of whole numbers")
        return ema.IntegerParameter(key, int(spec[0]), int(spec[1]))
    return ema.RealParameter(key, float(spec[0]), float(spec[1]))


def _check_outcomes(outcomes: Sequence[str], series: Sequence[str]) -> None:
    from .experiments import OUTPUTS

    for name in outcomes:
        if name not in OUTPUTS:
            raise ScenarioError(f"ema_model: outcomes: unknown metric {name!r}; allowed: "
                                f"{', '.join(OUTPUTS)}")
    for name in series:
        if name not in TIMESERIES_COLUMNS or name == "day":
            raise ScenarioError(f"ema_model: series: unknown column {name!r}; allowed: "
                                f"{', '.join(c for c in TIMESERIES_COLUMNS if c != 'day')}")


def ema_model(scenario: Scenario | str | os.PathLike = "fish_pond",
              uncertainties: Mapping[str, tuple | list] | None = None,
              levers: Mapping[str, tuple | list] | None = None, *,
              overrides: Mapping[str, Any] | None = None,
              outcomes: Sequence[str] = DEFAULT_OUTCOMES,
              series: Sequence[str] = DEFAULT_SERIES,
              seed: int | None = None, name: str = "fishpond"):
    """An EMA Workbench ``Model`` of a scenario.

    Args:
        scenario: A Scenario, a scenario file or a shipped name.
        uncertainties: Key path -> ``(low, high)`` (a real or, for whole-number keys, an
            integer parameter) or a list of choices (a categorical parameter).
        levers: The policy levers, given as ``uncertainties`` are.
        overrides: Key path -> value applied to every experiment (e.g. a small
            ``population.size`` to explore quickly).
        outcomes: Summary metrics (:data:`sim.experiments.OUTPUTS`), each a float outcome.
        series: Time series columns, each an array outcome ``<column>_by_day``.
        seed: The run seed of every experiment (default: the scenario's).
        name: The model's name in EMA's results.

    Returns:
        An ``ema_workbench.Model``; ``perform_experiments`` runs it.

    Raises:
        ScenarioError: an unknown key path, a bad range or an unknown outcome (one line).
        FishpondError: EMA Workbench is not installed.
    """
    ema = _workbench()
    base = scenario if isinstance(scenario, Scenario) else sio.load_scenario(scenario)
    if overrides:
        sets = [f"{key}={_yaml(value)}" for key, value in overrides.items()]
        data, _ = sio.apply_overrides(base.model_dump(mode="python"), {}, sets)
        base = sio.scenario_from_dict(data, source="ema_model(overrides)")
    if seed is not None:
        base = base.model_copy(update={"seed": int(seed)})
    _check_outcomes(outcomes, series)
    data = base.model_dump(mode="python")
    model = ema.Model(name, function=functools.partial(
        run_experiment, base, tuple(outcomes), tuple(series)))
    model.uncertainties = [_parameter(ema, k, v, data, "uncertainties")
                           for k, v in (uncertainties or {}).items()]
    model.levers = [_parameter(ema, k, v, data, "levers") for k, v in (levers or {}).items()]
    model.outcomes = ([ema.ScalarOutcome(o) for o in outcomes]
                      + [ema.ArrayOutcome(f"{c}_by_day") for c in series])
    return model


def _yaml(value: Any) -> str:
    import json

    return json.dumps(value)  # JSON is YAML: numbers, text, lists and mappings read back


def run_experiment(base: Scenario, outcomes: tuple[str, ...], series: tuple[str, ...],
                   **params: Any) -> dict:
    """Run one experiment: ``base`` with ``params`` (key path -> value), to its horizon.

    This is the function of the EMA model (a module-level function, so that EMA's
    multiprocessing evaluator can send it to its workers).

    Returns:
        Outcome name -> float (NaN for "never") or float array (one value a day).
    """
    import numpy as np

    from .experiments import flatten_summary
    from .model import GrowthModel

    nested: dict = {}
    for key, value in params.items():
        *head, last = key.split(".")
        node = nested
        for part in head:
            node = node.setdefault(part, {})
        node[last] = value.item() if hasattr(value, "item") else value
    model = GrowthModel(base, **nested)
    model.run()
    flat = flatten_summary(model.summary())
    out: dict[str, Any] = {}
    for o in outcomes:
        value = flat.get(o, math.nan)
        out[o] = math.nan if value is None else float(value)
    ts = model.timeseries()
    for c in series:
        out[f"{c}_by_day"] = ts[c].to_numpy(np.float64)
    return out
