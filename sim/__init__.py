"""Fishpond: an agent-based simulator of community-driven growth (the seed-100 fish pond).

Public API:
    GrowthModel: the Mesa model (``GrowthModel("fish_pond", rng=1).run()``).
    Scenario: the validated parameters of a run.
    load_scenario: a Scenario from a YAML file (with ``extends:`` and ``--set`` overrides).
    run: build a model, run it to its horizon and return it.
    sweep: run an experiment file (replicates, grids, sensitivity) and return its results.
"""

from __future__ import annotations

from .config import Scenario
from .errors import DataError, FishpondError, OutputError, ScenarioError
from .experiments import sweep
from .model import GrowthModel
from .scenario_io import load_scenario

__all__ = [
    "DataError",
    "FishpondError",
    "GrowthModel",
    "OutputError",
    "Scenario",
    "ScenarioError",
    "load_scenario",
    "run",
    "sweep",
]


def run(scenario=None, *, rng: int | None = None, engine: str = "numba", **overrides) -> GrowthModel:
    """Build a :class:`GrowthModel` and run it to its horizon.

    Example:
        >>> import sim
        >>> m = sim.run("pure_sir", rng=3, steps=5)
        >>> m.day
        5
    """
    model = GrowthModel(scenario, rng=rng, engine=engine, **overrides)
    model.run()
    return model
