"""The sim.charts package as a whole: public names, data in, imports downhill.

Its functions take data (never an experiment or a model) and its modules import downhill
(the examples of its docstrings run with every module's: ``--doctest-modules``).

The charts themselves are tested module by module: tests/test_charts_style.py,
test_charts_save.py, test_charts_run.py, test_charts_deck.py and test_charts_sweep.py.
"""

from __future__ import annotations

import ast
import collections.abc
import inspect
import subprocess
import sys
import types
import typing
from pathlib import Path

import matplotlib.axes
import matplotlib.axis
import matplotlib.figure
import numpy as np
import pandas as pd
import pytest

import sim.charts
from sim.charts import calibration, deck, live, optimize, run, save, style, sweep

# Bottom to top: a module imports only those before it.
MODULES = (style, save, run, deck, sweep, calibration, optimize, live)
PACKAGE = Path(sim.charts.__file__).parent
# What the charts may import from the rest of sim: tables' vocabulary and errors, no runs.
ALLOWED_OUTSIDE = {"sim.analysis", "sim.errors", "sim.sensitivity"}

# Every type a chart function's parameter may be annotated with: tables, plain values,
# matplotlib objects, paths and callables. An Experiment, a Scenario or a model is none of them.
DATA_TYPES = {pd.DataFrame, pd.Series, np.ndarray, str, int, float, bool, type(None), list,
              tuple, dict, Path,
              matplotlib.axes.Axes, matplotlib.axis.Axis, matplotlib.figure.Figure, typing.IO,
              collections.abc.Mapping, collections.abc.Sequence, collections.abc.Iterable,
              collections.abc.Callable, collections.abc.Hashable}


def public_functions():
    for module in MODULES:
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isfunction(inspect.unwrap(obj)):
                yield f"{module.__name__}.{name}", obj


def leaf_types(hint) -> list:
    """The classes a type hint is built of (``str | None`` -> [str, NoneType])."""
    if hint is None:  # as in Callable[..., None]
        return [type(None)]
    if isinstance(hint, list):  # the argument list of Callable[[...], ...]
        return [t for h in hint for t in leaf_types(h)]
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return [t for h in typing.get_args(hint) for t in leaf_types(h)]
    if origin is not None:
        return [origin] + [t for h in typing.get_args(hint) if h is not Ellipsis
                           for t in leaf_types(h)]
    return [hint]


def test_the_package_exports_its_charts_without_a_module_getattr():
    for name in sim.charts.__all__:
        assert getattr(sim.charts, name) is not None, name
    for module in (sim.charts, *MODULES):
        assert "__getattr__" not in vars(module), module.__name__
        assert len(module.__all__) == len(set(module.__all__)), module.__name__
    charts_of = {"members_by_role", "funnel", "referral_concentration", "fan_chart",
                 "scenario_comparison", "milestone_days", "grid_heatmap", "sobol_bars"}
    assert charts_of <= set(sim.charts.__all__)
    assert {"write_run_charts", "write_sweep_charts", "save_figure"} <= set(sim.charts.__all__)


@pytest.mark.parametrize(("name", "func"), list(public_functions()),
                         ids=[n for n, _ in public_functions()])
def test_functions_take_data_never_an_experiment_or_a_model(name, func):
    target = inspect.unwrap(func)
    hints = typing.get_type_hints(target)
    for param in inspect.signature(target).parameters.values():
        assert param.name not in ("experiment", "exp", "model"), f"{name}({param.name})"
        assert param.name in hints, f"{name}: parameter {param.name!r} has no type"
        odd = [t for t in leaf_types(hints[param.name]) if t not in DATA_TYPES]
        assert not odd, f"{name}({param.name}): {odd} is not a table, plain value or figure"


def test_the_type_check_would_catch_an_experiment():
    from sim.experiments import Experiment  # only here: the charts never import it

    def chart(results: pd.DataFrame, experiment: Experiment | None = None):
        """A chart written the old way."""

    hints = typing.get_type_hints(chart, localns={"Experiment": Experiment})
    assert [t for t in leaf_types(hints["experiment"]) if t not in DATA_TYPES] == [Experiment]
    assert leaf_types(hints["results"]) == [pd.DataFrame]


def imports_of(path: Path) -> list[tuple[str, list[str]]]:
    """``(module, names)`` for every import in ``path``, at any depth, made absolute."""
    package = "sim.charts"
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(p for p in (base, node.module) if p)
            found.append((module, [alias.name for alias in node.names]))
    return found


def test_imports_run_downhill_and_reach_nothing_private():
    order = [m.__name__ for m in MODULES]
    files = {m.__name__: Path(m.__file__) for m in MODULES}
    assert sorted(p.name for p in PACKAGE.glob("*.py")) == sorted(
        ["__init__.py"] + [f"{n.rsplit('.', 1)[1]}.py" for n in order])
    for module, path in files.items():
        for imported, names in imports_of(path):
            if imported.startswith("sim.charts"):
                assert imported in order[:order.index(module)], f"{module} imports {imported}"
            elif imported == "sim" or imported.startswith("sim."):
                assert imported in ALLOWED_OUTSIDE, f"{module} imports {imported}"
            if imported.startswith("sim"):
                private = [n for n in names if n.startswith("_")]
                assert not private, f"{module} imports {private} from {imported}"


def test_importing_the_charts_loads_no_simulation_or_experiment_code():
    probe = ("import sys, sim.charts\n"
             "print(','.join(m for m in ('sim.experiments', 'sim.model', 'sim.kernels', "
             "'sim.store', 'numba', 'mesa', 'SALib', 'dask') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=120, check=False, cwd=PACKAGE.parents[1])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""
