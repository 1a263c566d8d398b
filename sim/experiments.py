"""Experiments as data: replicates, parameter grids, scenario comparisons, sensitivity analyses.

An experiment file (``experiments/*.yaml``) names a base scenario, a number of replicates, a
root seed, optional overrides applied to every run, and a *design*: which scenarios to run.

- ``grid``: key path → value or list; lists expand to their Cartesian product, scalars stay
  constant (Agents.jl ``paramscan``). Wrap a list-valued key in a list to keep it constant:
  ``milestones: [[10, 100]]``.
- ``scenarios``: scenario files to compare (names in ``scenarios/`` or relative paths).
- ``sobol`` / ``morris``: SALib samples of key path → ``[low, high]``; :func:`analyze` turns
  the results into sensitivity indices. ``lhs`` / ``random``: Latin hypercube or uniform.

Every design point is validated like a scenario file (file:line, key path, bad value, what is
allowed) when the experiment is loaded, before any run starts. Run ``run_id`` is design point
``run_id // replicates``, replicate ``run_id % replicates``; replicate seeds come from
``numpy.random.SeedSequence(seed).spawn(replicates)`` and are shared by every design point
(common random numbers) unless ``common_seeds: false``.

Example:
    >>> from sim.experiments import load_experiment, expand
    >>> exp = load_experiment("seed_count")
    >>> runs = expand(exp)
    >>> len(runs) == 15 * exp.replicates, runs[0].scenario.seeding.count
    (True, 10)
"""

from __future__ import annotations

import contextlib
import copy
import difflib
import hashlib
import itertools
import json
import math
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from . import executors, outdir, sensitivity, shipped, store
from . import scenario_io as sio
from .config import Scenario
from .errors import FishpondError, ScenarioError
from .limits import MAX_RUNS, check_run, design_limit_error, estimate_run
from .metrics import TIMESERIES_COLUMNS
from .rng import spawn_seeds
from .yamlio import UNSET, Problem, describe, first_error, label, nested, read_yaml, sub_positions
from .yamlio import what as what_is_wrong

EXPERIMENTS_DIR = shipped.folder("experiments")  # the package's data, or the checkout's folder
DESIGN_KINDS = ("grid", "scenarios", "sobol", "morris", "lhs", "random")
DEFAULT_OUTPUTS = ("members", "day_inflection", "cost_per_retained_member", "top20_referral_share")
OUTPUTS = tuple(c for c in TIMESERIES_COLUMNS if c != "day") + (
    "day_origin", "day_inflection", "day_explosion", "peak_members", "ever_members")


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


Bounds = tuple[float, float]


class GridDesign(_Strict):
    """Cartesian product of the list values; scalar values stay constant."""

    kind: Literal["grid"]
    parameters: dict[str, Any] = Field(min_length=1)


class ScenariosDesign(_Strict):
    """One design point per scenario file."""

    kind: Literal["scenarios"]
    files: list[Annotated[str, Field(min_length=1)]] = Field(min_length=1)


class SobolDesign(_Strict):
    """Saltelli/Sobol' sample: ``samples * (D + 2)`` points (``(2D + 2)`` with second order)."""

    kind: Literal["sobol"]
    samples: int = Field(ge=2, le=2**20)
    second_order: bool = False
    parameters: dict[str, Bounds] = Field(min_length=1)


class MorrisDesign(_Strict):
    """Morris elementary effects: ``samples`` trajectories of ``D + 1`` points each."""

    kind: Literal["morris"]
    samples: int = Field(ge=2, le=100_000)
    levels: int = Field(4, ge=2, le=1000)
    parameters: dict[str, Bounds] = Field(min_length=1)


class SampledDesign(_Strict):
    """``samples`` points: Latin hypercube (``lhs``) or independent uniform (``random``)."""

    kind: Literal["lhs", "random"]
    samples: int = Field(ge=1, le=10_000_000)
    parameters: dict[str, Bounds] = Field(min_length=1)


Design = Annotated[Union[GridDesign, ScenariosDesign, SobolDesign, MorrisDesign, SampledDesign],  # noqa: UP007
                   Field(discriminator="kind")]
_DESIGNS = {"grid": GridDesign, "scenarios": ScenariosDesign, "sobol": SobolDesign,
            "morris": MorrisDesign, "lhs": SampledDesign, "random": SampledDesign}


class FileLabelled:
    """``label`` and ``stem`` of a file model with a ``name`` and a private ``_label``.

    Serves experiment and goal files; ``STEM_FALLBACK`` names an unnamed one read from no file.
    """

    STEM_FALLBACK = "experiment"

    @property
    def label(self) -> str:
        """The file the model was read from (as shown in messages)."""
        return self._label

    @property
    def stem(self) -> str:
        """Short name for output folders: the file's stem, else ``name``, else the fallback."""
        if self._label.endswith((".yaml", ".yml")):
            return Path(self._label).stem
        return self.name or self.STEM_FALLBACK


class Experiment(FileLabelled, _Strict):
    """A validated experiment file (see the module docstring).

    Build it with :func:`load_experiment` or :func:`experiment_from_dict`.
    """

    name: str = Field("", max_length=200)
    description: str = ""
    scenario: str | None = Field(None, min_length=1)
    replicates: int = Field(1, ge=1, le=100_000)
    seed: int = Field(0, ge=0, le=2**63 - 1)
    common_seeds: bool = True
    overrides: dict[str, Any] = Field(default_factory=dict)
    outputs: list[str] = Field(default_factory=lambda: list(DEFAULT_OUTPUTS), min_length=1)
    design: Design
    _label: str = PrivateAttr("<experiment>")
    _base_dir: Path = PrivateAttr(default_factory=Path.cwd)
    _pos: dict = PrivateAttr(default_factory=dict)
    _points: list | None = PrivateAttr(None)
    _matrix: np.ndarray | None = PrivateAttr(None)
    _texts: dict = PrivateAttr(default_factory=dict)



@dataclass(frozen=True)
class Point:
    """One design point: its parameter values (columns) and validated scenario."""

    index: int
    params: dict
    scenario: Scenario
    scenario_hash: str


@dataclass(frozen=True)
class RunSpec:
    """One run of a sweep: a pure function of ``scenario`` (whose seed is ``seed``)."""

    run_id: int
    point: int
    replicate: int
    seed: int
    scenario: Scenario
    params: dict
    scenario_hash: str


# --- loading ---------------------------------------------------------------------------


def load_experiment(path: str | os.PathLike, max_runs: int = MAX_RUNS) -> Experiment:
    """Read and validate an experiment file, including every design point's scenario.

    Args:
        path: A YAML file, or a bare name (``seed_count``) looked up in ``experiments/``.
        max_runs: refuse a design of more runs (points x replicates), counted before the
            design is expanded (``--max-runs``).

    Raises:
        ScenarioError: One line ``FILE:LINE: KEY.PATH = VALUE: what is wrong; allowed: ...``.

    Example:
        >>> load_experiment("compare_strategies").design.kind
        'scenarios'
    """
    file = Path(path).expanduser()
    if not file.is_file() and len(file.parts) == 1:
        for cand in (EXPERIMENTS_DIR / file.name, EXPERIMENTS_DIR / f"{file.name}.yaml"):
            if cand.is_file():
                file = cand
                break
    if not file.exists():
        raise ScenarioError(f"{path}: experiment file not found; allowed: a YAML file path or a "
                            f"shipped experiment name: {', '.join(shipped.names('experiments'))}")
    data, pos = read_yaml(file, kind="experiment",
                          hint="a mapping with keys scenario:, replicates:, seed:, design:")
    return _build(data, pos, label(file), file.resolve().parent, max_runs)


def experiment_from_dict(data: dict, base_dir: str | os.PathLike | None = None,
                         source: str = "<experiment>", max_runs: int = MAX_RUNS) -> Experiment:
    """Validate a mapping like an experiment file (relative paths from ``base_dir``, default cwd).

    ``max_runs`` is as in :func:`load_experiment`.

    Example:
        >>> exp = experiment_from_dict({"scenario": "fish_pond", "replicates": 2,
        ...     "design": {"kind": "grid", "parameters": {"seeding.count": [10, 20]}}})
        >>> len(expand(exp))
        4
    """
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}: not a mapping (got {type(data).__name__})")
    return _build(data, {}, source, Path(base_dir or Path.cwd()).resolve(), max_runs)


def _build(data: dict, pos: dict, label: str, base_dir: Path,
           max_runs: int = MAX_RUNS) -> Experiment:
    try:
        try:
            exp = Experiment.model_validate(data)
        except ValidationError as e:
            raise _from_pydantic(e, data) from None
        exp._label, exp._base_dir, exp._pos = label, base_dir, pos
        _check_run_count(exp, max_runs)
    except Problem as p:
        raise p.error(pos, (label, None)) from None
    _points(exp, data)
    return exp


def count_points(exp: Experiment) -> int:
    """Design points of an experiment, counted without expanding the design.

    Example:
        >>> count_points(load_experiment("feeding_grid"))
        20
    """
    d = exp.design
    if d.kind == "grid":
        return math.prod(len(v) if isinstance(v, list) else 1 for v in d.parameters.values())
    if d.kind == "scenarios":
        return len(d.files)
    k = len(d.parameters)
    if d.kind == "sobol":
        return d.samples * (2 * k + 2 if d.second_order else k + 2)
    if d.kind == "morris":
        return d.samples * (k + 1)
    return d.samples


def _seconds_per_run(exp: Experiment) -> float | None:
    """Rough time of one run of the base scenario (None if it cannot be read as it is)."""
    try:
        file = scenario_path(exp._base_dir, exp.scenario or exp.design.files[0], ())
        data, pos = sio.load_scenario_data(file)
        data = sio.merge_scenario_data(data, copy.deepcopy(exp.overrides))
        return estimate_run(sio.validate_scenario_data(data, pos, "")).seconds
    except (ScenarioError, Problem, OSError):
        return None


def _check_run_count(exp: Experiment, max_runs: int) -> None:
    """Refuse, before expanding it, a design of more than ``max_runs`` runs."""
    points = count_points(exp)
    runs = points * exp.replicates
    if runs <= max_runs:
        return
    d = exp.design
    if d.kind == "grid":
        key = ("design", "parameters")
        value = " x ".join(str(len(v)) for v in d.parameters.values() if isinstance(v, list))
    elif d.kind == "scenarios":
        key, value = ("design", "files"), f"{points} files"
    else:
        key, value = ("design", "samples"), d.samples
    if points <= max_runs:  # the replicates make it too large
        key, value = ("replicates",), exp.replicates
    per_run = _seconds_per_run(exp)
    what = design_limit_error(runs, points, exp.replicates, max_runs,
                              None if per_run is None else per_run * runs)
    raise Problem(key, value, what, f"at most {max_runs:,} runs: a smaller design or fewer "
                   "replicates, or a higher limit with --max-runs (max_runs=...)")


def _allowed(path: tuple, data: dict) -> str | None:
    if path[:1] == ("design",):
        design = data.get("design")
        model = _DESIGNS.get(design.get("kind")) if isinstance(design, dict) else None
        if len(path) == 1 or model is None:
            return "a mapping with kind: " + ", ".join(DESIGN_KINDS)
        if path[1] == "parameters":
            if model is GridDesign:
                return "scenario key paths, each with a value or a list of values"
            return "scenario key paths, each with [low, high] (two numbers, low < high)"
        field = model.model_fields.get(path[1]) if len(path) == 2 else None
        return describe(field.annotation, field.metadata) if field else None
    if path[:1] == ("overrides",):
        return "a mapping of scenario keys, as in a scenario file"
    field = Experiment.model_fields.get(path[0]) if len(path) == 1 else None
    return describe(field.annotation, field.metadata) if field else None


def _from_pydantic(err: ValidationError, data: dict) -> Problem:
    path, value, kind, ctx, msg = first_error(err, ("design",), DESIGN_KINDS)
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        value = value.get("kind", UNSET) if isinstance(value, dict) else UNSET
        what = "unknown design kind" if kind == "union_tag_invalid" else "required key missing"
        return Problem(path + ("kind",), value, what, ", ".join(DESIGN_KINDS))
    if path[:2] == ("design", "parameters") and "[key]" in path:
        return Problem(path[:3], UNSET, "not a key path (text)", _allowed(path[:2], data))
    if path[:2] == ("design", "parameters") and len(path) > 2:
        key = path[:3]
        cur = data["design"]["parameters"].get(path[2], UNSET)
        what = (what_is_wrong(kind, ctx, msg, value) if kind == "finite_number"
                else "not a [low, high] pair of numbers")
        return Problem(key, cur, what, _allowed(key, data))
    if kind == "extra_forbidden":
        design = data.get("design") if path[:1] == ("design",) else None
        model = _DESIGNS.get(design.get("kind")) if isinstance(design, dict) else Experiment
        valid = list(model.model_fields) if model else []
        valid = [k for k in valid if not k.startswith("_")]
        close = difflib.get_close_matches(str(path[-1]), valid, n=1)
        if close:
            return Problem(path, UNSET, f"unknown key; did you mean '{close[0]}'?")
        return Problem(path, UNSET, "unknown key", ", ".join(valid))
    if kind == "missing":
        value = UNSET
    if kind == "literal_error":
        what = "not allowed here"
    else:
        what = what_is_wrong(kind, ctx, msg, value)
    return Problem(path, value, what, _allowed(path, data))


def _check(exp: Experiment, data: dict) -> None:
    """Rules that involve more than one key (base scenario, outputs, bounds)."""
    d = exp.design
    if d.kind == "scenarios" and exp.scenario is not None:
        raise Problem(("scenario",), exp.scenario, "not used with design kind scenarios",
                       "omit it and list the scenario files in design.files")
    if d.kind != "scenarios" and exp.scenario is None:
        raise Problem(("scenario",), UNSET, "required key missing",
                       "a shipped scenario name such as fish_pond, or a YAML file relative to "
                       "the experiment file")
    for i, name in enumerate(exp.outputs):
        if name not in OUTPUTS:
            close = difflib.get_close_matches(name, OUTPUTS, n=1)
            what = "unknown output metric" + (f"; did you mean '{close[0]}'?" if close else "")
            raise Problem(("outputs", i), name, what, None if close else ", ".join(OUTPUTS))
    if d.kind == "sobol" and d.samples & (d.samples - 1):
        raise Problem(("design", "samples"), d.samples, "must be a power of 2 (Sobol' sequence)",
                       "2, 4, 8, ..., e.g. 256")
    for key, value in d.parameters.items() if d.kind == "grid" else ():
        if value == []:
            raise Problem(("design", "parameters", key), value, "empty list: no design points",
                           "a value, or a non-empty list of values")
    for key, value in d.parameters.items() if d.kind not in ("grid", "scenarios") else ():
        raw = data["design"]["parameters"][key]
        if any(isinstance(x, bool) for x in raw) or not value[0] < value[1]:
            raise Problem(("design", "parameters", key), raw, "not [low, high] with low < high",
                           _allowed(("design", "parameters"), data))


# --- design points -----------------------------------------------------------------------


def scenario_path(base_dir: Path, value: str, where: tuple) -> Path:
    """The scenario file ``value`` names: relative to ``base_dir``, else a shipped name.

    Raises:
        Problem: at key path ``where``: no such file.
    """
    cand = (base_dir / value).expanduser()
    if cand.is_file():
        return cand
    if len(Path(value).parts) == 1:
        for cand in (sio.SCENARIOS_DIR / value, sio.SCENARIOS_DIR / f"{value}.yaml"):
            if cand.is_file():
                return cand
    raise Problem(where, value, "scenario file not found",
                   "a YAML file relative to the experiment file, or a shipped name: "
                   + ", ".join(shipped.names("scenarios")))


def key_path(key: str, data: dict, where: tuple, numeric: bool) -> tuple:
    """Check that ``key`` (dotted) is a scenario key path; return it as a tuple.

    Args:
        key: A dotted key such as ``rules.invite_rate``.
        data: The scenario data it applies to (for the keys of kinded sections).
        where: The key path of the file naming it (where a Problem is placed).
        numeric: Whether the key must be a number (sampled designs, ranges).

    Raises:
        Problem: not a scenario key path (with the closest key), or not a number.
    """
    path = tuple(key.split("."))
    if not all(path) or path[0] in ("seed", "name", "extends"):
        what = ("the run seed comes from the experiment's seed and replicates" if path[0] == "seed"
                else "not a sweepable scenario key path")
        raise Problem(where, UNSET, what, "dotted scenario keys such as rules.invite_rate")
    for i in range(len(path)):
        valid = sio.scenario_keys(path[:i], data)
        if path[i] not in valid:
            close = difflib.get_close_matches(path[i], valid, n=1)
            what = f"unknown scenario key '{'.'.join(path[:i + 1])}'" + (
                f"; did you mean '{'.'.join(path[:i] + (close[0],))}'?" if close else
                "" if valid else f"; {'.'.join(path[:i])} has no sub-keys")
            raise Problem(where, UNSET, what, None if close or not valid else ", ".join(valid))
    if numeric and sio.field_type(path, data) not in (int, float):
        raise Problem(where, UNSET, f"{key} is not a number, cannot be sampled",
                      "numeric key paths such as rules.invite_rate or seeding.count")
    return path




def _cell(value: Any) -> Any:
    """A parameter value as a table cell: scalars as they are, lists and mappings as JSON."""
    return json.dumps(value, sort_keys=True) if isinstance(value, (list, dict)) else value


def design_points(exp: Experiment) -> list[Point]:
    """Every design point, validated (errors name the experiment file's line); cached.

    Example:
        >>> [p.params for p in design_points(load_experiment("compare_strategies"))][:1]
        [{'scenario': 'fish_pond'}]
    """
    return _points(exp)


def _points(exp: Experiment, data: dict | None = None) -> list[Point]:
    if exp._points is None:
        try:
            exp._points = _make_points(exp, exp.model_dump() if data is None else data)
        except Problem as p:
            raise p.error(exp._pos, (exp._label, None)) from None
    return exp._points


def _make_points(exp: Experiment, raw: dict) -> list[Point]:
    _check(exp, raw)
    pos, d = exp._pos, exp.design
    over_pos = sub_positions(pos, ("overrides",), ())
    bases: dict[Path, tuple[dict, dict]] = {}

    def base(file: Path) -> tuple[dict, dict]:
        if file not in bases:
            data, bpos = sio.load_scenario_data(file)
            over = copy.deepcopy(exp.overrides)
            sio.absolute_edge_path(over, exp._base_dir)
            bases[file] = sio.merge_located(data, over, bpos, over_pos)
        return bases[file]

    jobs: list[tuple[dict, Path, dict, dict]] = []  # (params, base file, overrides, positions)
    if d.kind == "scenarios":
        for i, entry in enumerate(d.files):
            file = scenario_path(exp._base_dir, entry, ("design", "files", i))
            jobs.append(({"scenario": entry}, file, {}, {}))
    else:
        file = scenario_path(exp._base_dir, exp.scenario, ("scenario",))
        data = base(file)[0]
        paths = {k: key_path(k, data, ("design", "parameters", k), d.kind != "grid")
                 for k in d.parameters}
        if d.kind == "grid":
            axes = [[(i, v) for i, v in enumerate(val)] if isinstance(val, list) else [(None, val)]
                    for val in d.parameters.values()]
            for combo in itertools.product(*axes):
                params, over, ppos = {}, {}, {}
                for (key, path), (i, v) in zip(paths.items(), combo):
                    params[key] = _cell(v)
                    over = sio.merge_scenario_data(over, nested(path, copy.deepcopy(v)))
                    at = ("design", "parameters", key) + (() if i is None else (i,))
                    ppos |= {path: pos[at]} if at in pos else {}
                    ppos |= sub_positions(pos, at, path)
                jobs.append((params, file, over, ppos))
        else:
            bounds = np.array([d.parameters[k] for k in paths], dtype=float)
            exp._matrix = sensitivity.sample(
                d.kind, bounds, d.samples, sensitivity.sample_seed(exp.seed),
                second_order=getattr(d, "second_order", False), levels=getattr(d, "levels", 4))
            ints = [sio.field_type(p, data) is int for p in paths.values()]
            for row in exp._matrix:
                params, over, ppos = {}, {}, {}
                for (key, path), x, is_int in zip(paths.items(), row, ints):
                    v = int(np.rint(x)) if is_int else float(x)
                    params[key] = v
                    over = sio.merge_scenario_data(over, nested(path, v))
                    at = ("design", "parameters", key)
                    ppos |= {path: pos[at]} if at in pos else {}
                jobs.append((params, file, over, ppos))
    points = []
    for index, (params, file, over, ppos) in enumerate(jobs):
        sio.absolute_edge_path(over, exp._base_dir)
        data, bpos = base(file)
        merged, mpos = sio.merge_located(data, over, bpos, ppos)
        sc = sio.validate_scenario_data(merged, mpos, exp._label, check_files=True)
        text = sio.scenario_to_yaml(sc)
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        points.append(Point(index, params, sc, digest))
    for file, (data, bpos) in bases.items():  # for the manifest: each base, resolved
        try:
            text = sio.scenario_to_yaml(sio.validate_scenario_data(data, bpos, ""))
        except ScenarioError:  # valid only with the design's values
            text = None
        exp._texts[label(file)] = text
    return points


def replicate_seeds(exp: Experiment, n_points: int) -> list[list[int]]:
    """Run seeds ``[point][replicate]`` from ``SeedSequence(exp.seed)`` (63-bit integers).

    Example:
        >>> exp = load_experiment("seed_count")
        >>> seeds = replicate_seeds(exp, 2)
        >>> seeds[0] == seeds[1] and len(set(seeds[0])) == exp.replicates
        True
    """
    if exp.common_seeds:
        return [spawn_seeds(exp.seed, exp.replicates)] * n_points
    return [spawn_seeds(child, exp.replicates)
            for child in np.random.SeedSequence(exp.seed).spawn(n_points)]


def expand(exp: Experiment) -> list[RunSpec]:
    """All runs of the experiment in ``run_id`` order (point-major, then replicate).

    Example:
        >>> runs = expand(load_experiment("feeding_grid"))
        >>> runs[0].run_id, runs[0].point, runs[0].replicate, runs[0].scenario.seed == runs[0].seed
        (0, 0, 0, True)
    """
    points = _points(exp)
    seeds = replicate_seeds(exp, len(points))
    return [RunSpec(p.index * exp.replicates + r, p.index, r, seeds[p.index][r],
                    p.scenario.model_copy(update={"seed": seeds[p.index][r]}), p.params,
                    p.scenario_hash)
            for p in points for r in range(exp.replicates)]


def experiment_hash(exp: Experiment) -> str:
    """sha256 of what determines the runs: the design, the points' scenarios and the seeds.

    Example:
        >>> len(experiment_hash(load_experiment("seed_count")))
        64
    """
    points = _points(exp)
    doc = {"experiment": exp.model_dump(mode="json", exclude={"name", "description", "outputs"}),
           "points": [p.scenario_hash for p in points],
           "seeds": replicate_seeds(exp, len(points))}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def design_table(exp: Experiment) -> pd.DataFrame:
    """One row per design point: ``point``, ``scenario_hash`` and the parameter columns.

    Example:
        >>> design_table(load_experiment("feeding_grid")).shape
        (20, 4)
    """
    return pd.DataFrame([{"point": p.index, "scenario_hash": p.scenario_hash, **p.params}
                         for p in _points(exp)])


def scenario_texts(exp: Experiment) -> dict[str, str]:
    """Resolved YAML of the base scenario(s) (with the experiment's overrides), by file."""
    _points(exp)
    return dict(exp._texts)


def analyze(
    results: pd.DataFrame, exp: Experiment, outputs: list[str] | None = None
) -> pd.DataFrame:
    """Sensitivity indices of a sobol or morris sweep, one row per output and parameter.

    Replicates are averaged per design point (failed runs left out); a milestone never reached
    counts as ``horizon + 1``. Sobol gives S1, S1_conf, ST, ST_conf; Morris gives mu,
    mu_star, mu_star_conf, sigma. ``missing_points`` counts points without any ok run (their
    indices are NaN).

    Args:
        results: The sweep's results (:func:`sim.store.read_results`).
        exp: The experiment it ran.
        outputs: The metrics to analyse (default: the experiment's ``outputs``).

    Returns:
        One row per output and parameter.

    Raises:
        ScenarioError: not a sobol or morris design, or an output that is not a column.

    Example (not run as a doctest: it needs a finished sweep or minutes)::

        from sim.store import read_results
        exp = load_experiment("sensitivity")
        analyze(read_results("runs/sweeps/sensitivity"), exp)
    """
    d = exp.design
    if d.kind not in sensitivity.ANALYSED:
        raise ScenarioError(f"{exp.label}: analyze needs a sobol or morris design, not {d.kind}")
    points = _points(exp)
    names = list(d.parameters)
    bounds = np.array([list(d.parameters[k]) for k in names], dtype=float)
    ok = results[results["status"] == "ok"]
    rows = []
    for metric in outputs or exp.outputs:
        if metric not in ok.columns:
            raise ScenarioError(f"analyze: output {metric!r} is not a column of the results")
        y = pd.to_numeric(ok[metric], errors="coerce").astype(float)
        if metric.startswith("day_"):
            horizon = ok["point"].map({p.index: p.scenario.steps + 1 for p in points})
            y = y.fillna(horizon)
        means = y.groupby(ok["point"]).mean().reindex(range(len(points))).to_numpy(float)
        missing = int(np.isnan(means).sum())
        found = sensitivity.indices(d.kind, names, bounds, means, matrix=exp._matrix,
                                    seed=exp.seed, second_order=getattr(d, "second_order", False),
                                    levels=getattr(d, "levels", 4))
        for j, name in enumerate(names):
            rows.append({"output": metric, "parameter": name,
                         **{k: float(v[j]) for k, v in found.items()},
                         "missing_points": missing})
    return pd.DataFrame(rows)


def sweep_manifest(exp: Experiment, digest: str, runs: int) -> dict:
    """The manifest of a sweep: provenance, the resolved experiment and its design points.

    Args:
        exp: The experiment.
        digest: Its :func:`experiment_hash`.
        runs: The number of runs.

    Returns:
        The mapping written to ``manifest.json`` (see :mod:`sim.store`).
    """
    points = design_table(exp)
    return {
        "experiment_hash": digest,
        "experiment_file": exp.label,
        "experiment_dir": str(exp._base_dir),  # relative scenario paths start here
        "root_seed": exp.seed,
        "runs": runs,
        "points": len(points),
        "replicates": exp.replicates,
        "replicate_seeds": replicate_seeds(exp, 1)[0] if exp.common_seeds else None,
        "versions": store.package_versions(),
        "git_revision": store.git_revision(),
        "experiment": exp.model_dump(mode="json"),
        "scenarios": scenario_texts(exp),
        "design_points": json.loads(points.to_json(orient="records")),
    }


def flatten_summary(summary: dict) -> dict:
    """A run summary as flat table columns (milestones -> day_<level>, funnel -> funnel_*).

    Any other mapping becomes one column per leaf, its keys joined by ``_``:
    ``retention_by_source.ads.120`` -> ``retention_by_source_ads_120``,
    ``cost_to_milestone.1000`` -> ``cost_to_milestone_1000``.
    """
    s = dict(summary)
    s.pop("seed", None)
    s["scenario_name"] = s.pop("scenario", None)
    for level, day in (s.pop("milestones", None) or {}).items():
        s[f"day_{level}"] = day
    for stage, count in (s.pop("funnel", None) or {}).items():
        s.setdefault(f"funnel_{stage}", count)
    while any(isinstance(v, dict) for v in s.values()):
        for key in [k for k, v in s.items() if isinstance(v, dict)]:
            for sub, v in s.pop(key).items():
                s.setdefault(f"{key}_{sub}", v)
    return {k: math.nan if v is None else v for k, v in s.items()}


def result_row(spec: RunSpec, result: dict, attempts: int, digest: str) -> dict:
    """One row of the results table for a finished (ok or failed) run.

    Args:
        spec: The run.
        result: What :func:`sim.executors.execute` returned for it.
        attempts: How many times it ran.
        digest: The experiment's hash.

    Returns:
        The row: run, point, parameters, replicate, seed, status and the run's summary.
    """
    row = {"run_id": spec.run_id, "experiment": digest,
           "scenario_hash": spec.scenario_hash, "point": spec.point, **spec.params,
           "replicate": spec.replicate, "seed": spec.seed, "status": result["status"],
           "error": result["error"], "attempts": attempts, "duration": float(result["duration"]),
           "scenario_name": spec.scenario.name}
    if result["summary"] is not None:
        row.update(flatten_summary(result["summary"]))
    return row


def series_frame(spec: RunSpec, result: dict) -> pd.DataFrame | None:
    """The daily series of a finished run as timeseries rows (None for a failed run)."""
    if result["series"] is None:
        return None
    frame = pd.DataFrame(result["series"])
    frame.insert(0, "run_id", np.int64(spec.run_id))
    return frame


class RunRecorder:
    """Hands finished runs to a :class:`sim.store.BatchWriter` as result and series rows.

    Args:
        writer: The batch writer of the sweep folder.
        digest: The experiment's hash (a column of every row).
    """

    def __init__(self, writer: store.BatchWriter, digest: str) -> None:
        """Record into ``writer``, tagging rows with ``digest``."""
        self.writer, self.digest = writer, digest

    def add(self, spec: RunSpec, result: dict, attempts: int) -> None:
        """Queue one finished run."""
        self.writer.add(result_row(spec, result, attempts, self.digest), series_frame(spec, result))

    def due(self) -> bool:
        """Whether a batch should be written now."""
        return self.writer.due()

    def flush(self) -> None:
        """Write the queued runs."""
        self.writer.flush()


# --- running -------------------------------------------------------------------------------


def experiment_inputs(exp: Experiment) -> list[Path]:
    """Every file a sweep reads: the experiment file, its scenarios and edge lists.

    The scenario files come with the files they extend; ``--overwrite`` never deletes a
    folder holding one of them.
    """
    files = [Path(exp.label)] if Path(exp.label).is_file() else []
    names = exp.design.files if exp.design.kind == "scenarios" else [exp.scenario]
    for name in names:
        if not name:
            continue
        try:
            files += sio.scenario_files(scenario_path(exp._base_dir, name, ()))
        except Problem:
            continue
    for point in _points(exp):
        graph = point.scenario.population.graph
        if graph.kind == "edgelist" and graph.path:
            files.append(Path(graph.path))
    return list(dict.fromkeys(files))


def default_out(exp: Experiment) -> Path:
    """``runs/sweeps/<experiment stem>/`` (relative to the working directory)."""
    return Path("runs") / "sweeps" / exp.stem


def run_sweep(
    experiment: Experiment | str | os.PathLike,
    out: str | os.PathLike | None = None,
    *,
    workers: int | None = None,
    cluster: Any = None,
    cluster_timeout: float = 10.0,
    resume: bool = False,
    overwrite: bool = False,
    retries: int = 1,
    batch_size: int | None = None,
    progress: bool | Callable[[int, int, int], None] = True,
    repair: bool = False,
    max_runs: int = MAX_RUNS,
    max_memory: int | None = None,
    on_start: Callable[[], None] | None = None,
) -> Path:
    """Run every missing run of an experiment and store the results under ``out``.

    Results stream to ``out/results/`` and ``out/timeseries/`` (Parquet, one file per
    finished batch, written atomically) with ``out/manifest.json``; see :mod:`sim.store`.

    Args:
        experiment: an :class:`Experiment`, or an experiment file / shipped name.
        out: output folder (default ``runs/sweeps/<stem>/``).
        workers: local processes (default: one per core; 1 runs in this process).
        cluster: a Dask scheduler address (``tcp://host:port``) or a ``distributed.Client``;
            then ``workers`` is ignored.
        cluster_timeout: seconds allowed to reach the ``cluster`` address and to see a Dask
            scheduler answer there; a silent port or another kind of server is refused.
        resume: finish the runs missing from an interrupted sweep in ``out``.
        overwrite: replace a non-empty ``out`` instead of refusing.
        retries: how many times a failed run is retried before it is recorded as failed.
        batch_size: runs per batch file (default: 1% of the runs, 10 to 200); a batch is
            also written when its oldest run finished a minute ago.
        progress: True for a tqdm bar, or a callable ``(done, total, failed)``.
        repair: with ``resume``, move damaged batch files to ``out/damaged/`` and run their
            runs again (else a damaged file is an error naming it).
        max_runs: refuse a larger design (used when ``experiment`` is a file or name).
        max_memory: refuse design points whose runs, ``workers`` at a time, need more
            memory (bytes; default: the memory available; see :mod:`sim.limits`).
        on_start: called once every check has passed, before the first run starts (the
            command line tells the user here that the kernels are about to be compiled).

    Returns:
        The output folder.

    Raises:
        ScenarioError, OutputError: bad experiment or output folder (nothing written).
        KeyboardInterrupt: after saving every finished run (resume with ``resume=True``).

    Example (not run as a doctest: it needs a finished sweep or minutes)::

        run_sweep("seed_count", "runs/sweeps/seed_count", workers=8)
    """
    exp = (experiment if isinstance(experiment, Experiment)
           else load_experiment(experiment, max_runs=max_runs))
    specs = expand(exp)
    out = Path(out) if out is not None else default_out(exp)
    workers = (os.cpu_count() or 1) if workers is None else workers
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ScenarioError(f"workers = {workers!r}: allowed: a whole number >= 1")
    at_once = 1 if cluster is not None else max(1, min(workers, len(specs)))
    largest = max(_points(exp), key=lambda p: estimate_run(p.scenario).memory)
    check_run(largest.scenario, max_memory=max_memory, source=exp.label, runs_at_once=at_once)
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ScenarioError(f"retries = {retries!r}: allowed: a whole number >= 0")
    if (isinstance(cluster_timeout, bool) or not isinstance(cluster_timeout, (int, float))
            or not 0 < cluster_timeout < math.inf):
        raise ScenarioError(f"cluster_timeout = {cluster_timeout!r}: allowed: seconds > 0")
    digest = experiment_hash(exp)
    outdir.recover(out)
    inputs = experiment_inputs(exp)
    need = store.estimate_bytes(specs)
    if resume and (out / store.MANIFEST).is_file():
        with contextlib.suppress(FishpondError, TypeError, ValueError):
            need = int(need * (1 - store.read_manifest(out).get("runs_done", 0) / len(specs)))
    store.check_out(out, digest, resume=resume, overwrite=overwrite, inputs=inputs,
                    need_bytes=need)
    info = sweep_manifest(exp, digest, len(specs))
    if on_start is not None:
        on_start()
    # connects to a cluster before writing anything
    runner = executors.make(workers, cluster, cluster_timeout)
    # --overwrite of a finished folder: the new sweep is written beside it and replaces it
    # only when complete; stopped or failed, it is removed and the old folder stays.
    replacing = overwrite and not resume and outdir.has_content(out)
    created = not os.path.lexists(out)
    writer = None
    try:
        out.mkdir(parents=True, exist_ok=True)
        with outdir.locked(out):
            target = outdir.staging(out) if replacing else out
            try:
                done = store.prepare(target, info, resume=resume, repair=repair)
                todo = [s for s in specs if s.run_id not in done]
                size = batch_size or max(10, min(200, len(specs) // 100))
                writer = store.BatchWriter(target, size)
                status = "interrupted"
                try:
                    executors.drive(runner, todo, RunRecorder(writer, digest), retries=retries,
                                    total=len(specs), done=len(done), progress=progress)
                    status = "complete"
                finally:
                    store.finish(target, status)
                if replacing:
                    outdir.install(target, out, overwrite=True, inputs=inputs)
            except BaseException:
                if replacing:
                    shutil.rmtree(target, ignore_errors=True)
                raise
    except OSError as e:
        saved = writer.written if writer is not None else 0
        if replacing:
            raise outdir.write_error(out, e, f"{out} is unchanged") from None
        if not resume and not saved:  # nothing worth keeping: leave nothing half-written
            if created:
                shutil.rmtree(out, ignore_errors=True)
            else:
                for name in (store.MANIFEST, store.RESULTS, store.TIMESERIES):
                    shutil.rmtree(out / name, ignore_errors=True)
                    with contextlib.suppress(OSError):
                        (out / name).unlink()
            raise outdir.write_error(out, e) from None
        raise outdir.write_error(out, e, "the finished runs are kept; free some space and "
                                 "resume with --resume") from None
    except FishpondError:
        if created and not outdir.has_content(out):
            shutil.rmtree(out, ignore_errors=True)
        raise
    finally:
        runner.close()
    return out


def sweep(experiment: Experiment | str | os.PathLike, out: str | os.PathLike | None = None,
          **options: Any) -> pd.DataFrame:
    """Run (or finish) a sweep and return its results, one row per run in ``run_id`` order.

    Same options as :func:`run_sweep`.

    Example (not run as a doctest: it needs a finished sweep or minutes)::

        import sim
        df = sim.sweep("seed_count", "runs/sweeps/seed_count")
    """
    return store.read_results(run_sweep(experiment, out, **options))
