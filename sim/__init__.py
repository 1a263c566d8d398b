"""Fishpond: an agent-based simulator of community-driven growth (the seed-100 fish pond).

Public API:
    GrowthModel: the Mesa model (``GrowthModel("fish_pond", rng=1).run()``).
    Scenario: the validated parameters of a run.
    load_scenario: a Scenario from a YAML file (with ``extends:`` and ``--set`` overrides).
    run: build a model, run it to its horizon and return it.
    sweep: run an experiment file (replicates, grids, sensitivity) and return its results.
    batch_run: Mesa's batch_run over scenario key paths, with distinct seeds per iteration.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from .errors import DataError, FishpondError, OutputError, ScenarioError

if TYPE_CHECKING:  # pragma: no cover
    from .batch import batch_run
    from .config import Scenario
    from .experiments import sweep
    from .model import GrowthModel
    from .scenario_io import load_scenario

# Imported on first use (PEP 562), so that ``import sim`` and the command line start fast:
# the model pulls in Numba, Mesa and pandas; experiments pull in Dask and SALib.
_LAZY = {
    "GrowthModel": "model",
    "Scenario": "config",
    "load_scenario": "scenario_io",
    "sweep": "experiments",
    "batch_run": "batch",
}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "DataError",
    "FishpondError",
    "GrowthModel",
    "OutputError",
    "Scenario",
    "ScenarioError",
    "batch_run",
    "load_scenario",
    "run",
    "sweep",
]


def run(scenario=None, *, rng: int | None = None, engine: str = "numba",
        **overrides) -> GrowthModel:
    """Build a :class:`GrowthModel` and run it to its horizon.

    Example:
        >>> import sim
        >>> m = sim.run("pure_sir", rng=3, steps=5)
        >>> m.day
        5
    """
    from .model import GrowthModel

    model = GrowthModel(scenario, rng=rng, engine=engine, **overrides)
    model.run()
    return model
