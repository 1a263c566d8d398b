"""Mesa's ``batch_run`` for the fish pond: replicates with distinct, reproducible seeds.

``mesa.batch_run(GrowthModel, parameters, iterations=5)`` gives five identical runs: Mesa
passes no seed (3.3) or ``rng=None`` (3.4 and later), and a model without a seed runs the
scenario's own (42). :func:`batch_run` derives one seed per iteration from a root seed
(``numpy.random.SeedSequence``, as sweeps do) and hands them over the way the installed
Mesa expects: its ``rng=`` argument where it has one, else as a swept ``rng`` parameter.

Mesa's rows are the model's daily metrics, as collected. Which days differs between Mesa
versions (``day`` always says which day a row is): Mesa 3.3 reports collections by number,
``0 .. steps - 1`` (so ``data_collection_period=-1``, the default, gives the day before the
last: ``Step = day = steps - 1``); Mesa 3.5 notes the time of each collection and reports
those, ``0 .. steps`` (the default gives the last day; ``Step`` is Mesa's ``model.time``, a
float: ``Step = 12.0, day = 12`` after 12 days).

Parameters are key paths of the scenario (``"population.size": [5000, 20000]``); a nested
mapping (``{"population": {"size": [5000, 20000]}}``) is read as the same key paths,
where Mesa itself would sweep over the mapping's keys.

The recipe with Mesa alone (3.4 and later): ``mesa.batch_run(GrowthModel, {"scenario":
"fish_pond", "population.size": [5000, 20000]}, rng=[1, 2, 3, 4, 5])``.

Example:
    >>> rows = batch_run({"scenario": "fish_pond", "population.size": 300, "steps": 5},
    ...                  iterations=3, seed=1, display_progress=False)
    >>> [r["iteration"] for r in rows], len({r["rng"] for r in rows})
    ([0, 1, 2], 3)
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping
from typing import Any

from .rng import spawn_seeds


def flat_parameters(parameters: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings of parameters as key paths; other values as they are.

    Example:
        >>> flat_parameters({"population": {"size": [1, 2], "graph": {"m": 3}}, "steps": 9})
        {'population.size': [1, 2], 'population.graph.m': 3, 'steps': 9}
    """
    out: dict[str, Any] = {}
    for key, value in parameters.items():
        if isinstance(value, Mapping):
            out.update(flat_parameters(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def batch_run(parameters: Mapping[str, Any | Iterable[Any]], *, iterations: int = 1,
              seed: int = 0, model_cls: type | None = None, number_processes: int | None = 1,
              data_collection_period: int = -1, max_steps: int = 100_000,
              display_progress: bool = True) -> list[dict[str, Any]]:
    """Run ``mesa.batch_run`` over a grid of scenario key paths, ``iterations`` seeds each.

    Args:
        parameters: scenario key paths (or nested mappings of them) to single values or
            lists of values; ``"scenario"`` names the scenario (default: the base).
        iterations: replicates per combination, each with its own seed.
        seed: the root seed the replicates' seeds derive from (same root, same seeds).
        model_cls: the model class (default :class:`sim.model.GrowthModel`).
        number_processes: as Mesa's (None: every core).
        data_collection_period: as Mesa's (-1: the last day only).
        max_steps: as Mesa's (the scenario's ``steps`` ends a run before).
        display_progress: as Mesa's.

    Returns:
        Mesa's rows, each with ``iteration`` (0-based) and ``rng`` (its seed).

    Raises:
        ValueError: ``iterations`` below 1, or ``rng`` given among the parameters.
    """
    import mesa

    if model_cls is None:
        from .model import GrowthModel as model_cls
    if iterations < 1:
        raise ValueError(f"iterations = {iterations}: allowed: a whole number >= 1")
    params = flat_parameters(parameters)
    if "rng" in params or "seed" in params:
        raise ValueError("rng/seed among the parameters: give iterations= and seed= instead")
    seeds = spawn_seeds(seed, iterations)
    common = dict(number_processes=number_processes, max_steps=max_steps,
                  data_collection_period=data_collection_period,
                  display_progress=display_progress)
    if "rng" in inspect.signature(mesa.batch_run).parameters:  # Mesa 3.4 and later
        rows = mesa.batch_run(model_cls, params, rng=seeds, **common)
    else:
        rows = mesa.batch_run(model_cls, {**params, "rng": seeds}, **common)
    index = {s: i for i, s in enumerate(seeds)}
    for row in rows:
        row["iteration"] = index[row["rng"]]
    return rows
