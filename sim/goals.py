"""Goal files: what ``fishpond optimize`` looks for, validated like scenarios.

A goal file (shipped ones in ``experiments/goals/``) names a base scenario, the *levers* the
optimiser may move, what to minimise or maximise, the constraints a candidate must meet and
how many replicates judge a candidate:

.. code-block:: yaml

    base: fish_pond                    # a shipped scenario or a YAML file (relative to this file)
    overrides: {population: {size: 2000}, steps: 90}   # applied to every candidate
    levers:
      seeding.count: 20..500           # whole numbers (the key is an integer)
      rules.invite_rate: 0.005..0.03   # real numbers
      program.ads.daily_budget: 0..5000 step 250   # a grid of steps
      program.content_per_week: {low: 0, high: 21, step: 1}
      seeding.strategy: [degree, random]           # choices
    objective: {minimize: cost}        # or maximize; stat: mean (default) or median
    # objectives: [{maximize: members}, {minimize: cost}]   # two: a Pareto front
    constraints:
      - P(day_inflection <= 60) >= 0.8 # in at least 80% of the replicates
      - cost <= 1_000_000              # on the mean over the replicates
    replicates: 10                     # per candidate, on common random numbers
    seed: 0                            # root seed: replicate seeds and the sampler's seed
    trials: 60                         # default of --trials
    check: {replicates: 20, candidates: 3}   # out-of-sample re-evaluation

Metrics are the numeric columns of a run's summary (``members``, ``cost``, ``croi``,
``cost_per_retained_member``, ``commitment_share``, ``day_explosion``, ``day_1000`` ...).
A milestone never reached counts as ``steps + 1`` (so ``P(day_explosion <= 180)`` is the share
of replicates that reached it by day 180). Every replicate of every candidate runs on the same
seeds (:func:`replicate_seeds`); the out-of-sample check runs on fresh ones
(:func:`fresh_seeds`).

Example:
    >>> goal = load_goal("cheapest_inflection")
    >>> [lever.key for lever in goal.lever_list][:1], goal.objective_list[0].direction
    (['seeding.count'], 'minimize')
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from . import scenario_io as sio
from .config import Scenario
from .errors import ScenarioError
from .experiments import EXPERIMENTS_DIR, FileLabelled, key_path, scenario_path
from .rng import spawn_seeds
from .yamlio import UNSET, Problem, describe, first_error, label, nested, read_yaml, sub_positions
from .yamlio import what as what_is_wrong

GOALS_DIR = EXPERIMENTS_DIR / "goals"  # the shipped goal files
#: Numeric metrics of a run's summary that objectives and constraints may name (besides the
#: ``day_<level>`` columns of the base scenario's milestones).
METRICS = (
    "members", "ever_members", "peak_members", "kols", "actives", "lurkers", "churned",
    "non_users", "paying_members", "joins_seed", "joins_mass_pull", "joins_referral",
    "joins_organic", "joins_ads", "invites_sent", "k_factor", "k_factor_30d", "referral_share",
    "contributor_share", "self_org_share", "commitment_share", "lurker_share",
    "top20_referral_share", "seed_referral_share", "nonseed_top20_referral_share",
    "nonseed_referral_share_90d", "kol_reach", "kol_referrals", "posts", "operator_activities",
    "member_activities", "revenue", "cost", "croi", "cost_per_retained_member",
    "retention_30", "retention_90", "retention_120", "day_origin", "day_inflection",
    "day_explosion",
)
DIRECTIONS = ("minimize", "maximize")
STATS = ("mean", "median")
OPERATORS = ("<=", ">=", "<", ">")
LEVER_FORMS = ("LOW..HIGH, LOW..HIGH step S, a list of choices, or a mapping "
               "{low:, high:, step:, log:}")
CONSTRAINT_FORMS = ("'P(METRIC OP VALUE) >= PROBABILITY' (share of replicates) or "
                    "'METRIC OP VALUE' (mean over replicates); OP one of <=, >=, <, >")
_NUMBER = r"[-+]?(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][-+]?\d+)?"
_RANGE = re.compile(rf"^\s*({_NUMBER})\s*\.\.\s*({_NUMBER})\s*(?:step\s+({_NUMBER}))?\s*$")
_PROB = re.compile(rf"^\s*P\(\s*(\w+)\s*(<=|>=|<|>)\s*({_NUMBER})\s*\)\s*>=\s*({_NUMBER})\s*$")
_PLAIN = re.compile(rf"^\s*(\w+)\s*(<=|>=|<|>)\s*({_NUMBER})\s*$")


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class Check(_Strict):
    """The out-of-sample check: ``candidates`` best trials re-run on ``replicates`` fresh seeds."""

    replicates: int | None = Field(None, ge=1, le=10_000)
    candidates: int = Field(3, ge=1, le=100)


class Goal(FileLabelled, _Strict):
    """A validated goal file (see the module docstring); build it with :func:`load_goal`."""

    name: str = Field("", max_length=200)
    description: str = ""
    base: str = Field(min_length=1)
    overrides: dict[str, Any] = Field(default_factory=dict)
    levers: dict[str, Any] = Field(min_length=1, max_length=50)
    objective: dict[str, Any] | None = None
    objectives: list[dict[str, Any]] | None = Field(None, min_length=1, max_length=2)
    constraints: list[str] = Field(default_factory=list, max_length=20)
    replicates: int = Field(10, ge=1, le=10_000)
    seed: int = Field(0, ge=0, le=2**63 - 1)
    trials: int = Field(50, ge=1, le=1_000_000)
    check: Check = Field(default_factory=Check)
    _label: str = PrivateAttr("<goal>")
    STEM_FALLBACK: ClassVar[str] = "goal"
    _base_dir: Path = PrivateAttr(default_factory=Path.cwd)
    _pos: dict = PrivateAttr(default_factory=dict)
    _data: dict = PrivateAttr(default_factory=dict)
    _data_pos: dict = PrivateAttr(default_factory=dict)
    _levers: list = PrivateAttr(default_factory=list)
    _objectives: list = PrivateAttr(default_factory=list)
    _constraints: list = PrivateAttr(default_factory=list)
    _base_scenario: Scenario | None = PrivateAttr(None)


    @property
    def lever_list(self) -> list[Lever]:
        """The levers, in file order."""
        return list(self._levers)

    @property
    def objective_list(self) -> list[Objective]:
        """One objective, or two (a Pareto front)."""
        return list(self._objectives)

    @property
    def constraint_list(self) -> list[Constraint]:
        """The constraints, in file order."""
        return list(self._constraints)

    @property
    def base_scenario(self) -> Scenario:
        """The base scenario with the goal's overrides (the levers at the scenario's values)."""
        assert self._base_scenario is not None
        return self._base_scenario

    @property
    def check_replicates(self) -> int:
        """Replicates of the out-of-sample check (default: as many as in the study)."""
        return self.check.replicates or self.replicates

    @property
    def metrics(self) -> list[str]:
        """Every metric the objectives and constraints name, without repeats."""
        names = [o.metric for o in self._objectives] + [c.metric for c in self._constraints]
        return list(dict.fromkeys(names))


@dataclass(frozen=True)
class Lever:
    """One lever: a scenario key path the optimiser moves.

    ``kind`` is ``int`` or ``float`` (a range ``low..high``, optionally by ``step`` or on a log
    scale) or ``choice`` (one of ``choices``).
    """

    key: str
    path: tuple
    kind: Literal["int", "float", "choice"]
    low: float | None = None
    high: float | None = None
    step: float | None = None
    log: bool = False
    choices: tuple = ()

    def values_to_check(self) -> list:
        """The values validated when the goal is loaded: both ends, or every choice."""
        if self.kind == "choice":
            return list(self.choices)
        cast = int if self.kind == "int" else float
        return [cast(self.low), cast(self.high)]


@dataclass(frozen=True)
class Objective:
    """Minimise or maximise ``stat`` (mean or median over the replicates) of ``metric``."""

    metric: str
    direction: Literal["minimize", "maximize"]
    stat: Literal["mean", "median"] = "mean"


@dataclass(frozen=True)
class Constraint:
    """``P(metric op value) >= probability``, or ``mean(metric) op value`` when no probability.

    :meth:`violation` is <= 0 when the constraint holds (optuna's ``constraints_func``).
    """

    text: str
    metric: str
    op: str
    value: float
    probability: float | None = None

    def holds(self, x: np.ndarray) -> np.ndarray:
        """Elementwise ``x op value``."""
        return {"<=": np.less_equal, ">=": np.greater_equal, "<": np.less,
                ">": np.greater}[self.op](x, self.value)

    def violation(self, values: np.ndarray) -> float:
        """How far a candidate's replicate values are from meeting it (<= 0: it is met).

        Args:
            values: The metric, one value per replicate (a never-reached milestone as
                ``steps + 1``; failed runs left out).

        Returns:
            ``probability - share`` for a probability constraint, else how far the mean is
            on the wrong side of ``value`` (0 when it is met exactly).
        """
        if len(values) == 0:
            return math.inf
        if self.probability is not None:
            return float(self.probability - self.share(values))
        mean = float(np.mean(values))
        gap = mean - self.value if self.op in ("<=", "<") else self.value - mean
        if self.op in ("<", ">") and gap == 0:
            return 1e-12
        return float(gap)

    def share(self, values: np.ndarray) -> float:
        """The share of replicates where ``metric op value`` holds."""
        return float(np.mean(self.holds(np.asarray(values, float)))) if len(values) else 0.0


# --- loading -----------------------------------------------------------------------------


def load_goal(path: str | os.PathLike) -> Goal:
    """Read and validate a goal file, including every lever's range against the scenario.

    Args:
        path: A YAML file, or a bare name (``cheapest_inflection``) looked up in
            ``experiments/goals/``.

    Returns:
        The validated goal.

    Raises:
        ScenarioError: One line ``FILE:LINE: KEY.PATH = VALUE: what is wrong; allowed: ...``.

    Example:
        >>> load_goal("cheapest_inflection").replicates
        8
    """
    file = Path(path).expanduser()
    if not file.is_file() and len(file.parts) == 1:
        for cand in (GOALS_DIR / file.name, GOALS_DIR / f"{file.name}.yaml"):
            if cand.is_file():
                file = cand
                break
    if not file.is_file():
        raise ScenarioError(f"{path}: goal file not found; allowed: a YAML file path or a "
                            f"shipped goal name: {', '.join(shipped_goals())}")
    data, pos = read_yaml(file, kind="goal",
                          hint="a mapping with keys base:, levers:, objective:, constraints:")
    return _build(data, pos, label(file), file.resolve().parent)


def goal_from_dict(data: dict, base_dir: str | os.PathLike | None = None,
                   source: str = "<goal>") -> Goal:
    """Validate a mapping like a goal file (relative paths from ``base_dir``, default cwd).

    Example:
        >>> goal = goal_from_dict({"base": "fish_pond", "levers": {"seeding.count": "10..50"},
        ...                        "objective": {"maximize": "members"}})
        >>> goal.lever_list[0].kind, goal.lever_list[0].high
        ('int', 50)
    """
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}: not a mapping (got {type(data).__name__})")
    return _build(data, {}, source, Path(base_dir or Path.cwd()).resolve())


def shipped_goals() -> list[str]:
    """Names (file stems) of the goal files shipped in ``experiments/goals/``."""
    return sorted(p.stem for p in GOALS_DIR.glob("*.yaml"))


def _build(data: dict, pos: dict, source: str, base_dir: Path) -> Goal:
    try:
        try:
            goal = Goal.model_validate(data)
        except ValidationError as e:
            raise _from_pydantic(e) from None
        goal._label, goal._base_dir, goal._pos = source, base_dir, pos
        _check(goal, data)
    except Problem as p:
        raise p.error(pos, (source, None)) from None
    return goal


def _allowed(path: tuple) -> str | None:
    if path[:1] == ("check",):
        field = Check.model_fields.get(path[1]) if len(path) == 2 else None
        return describe(field.annotation, field.metadata) if field else "replicates:, candidates:"
    if path[:1] == ("levers",):
        return LEVER_FORMS
    if path[:1] in (("objective",), ("objectives",)):
        return "{minimize: METRIC} or {maximize: METRIC}, optionally with stat: mean or median"
    if path[:1] == ("constraints",):
        return CONSTRAINT_FORMS
    if path[:1] == ("overrides",):
        return "a mapping of scenario keys, as in a scenario file"
    field = Goal.model_fields.get(path[0]) if len(path) == 1 else None
    return describe(field.annotation, field.metadata) if field else None


def _from_pydantic(err: ValidationError) -> Problem:
    path, value, kind, ctx, msg = first_error(err, (), ())
    if kind == "extra_forbidden":
        model = Check if path[:1] == ("check",) else Goal
        valid = [k for k in model.model_fields if not k.startswith("_")]
        close = difflib.get_close_matches(str(path[-1]), valid, n=1)
        if close:
            return Problem(path, UNSET, f"unknown key; did you mean '{close[0]}'?")
        return Problem(path, UNSET, "unknown key", ", ".join(valid))
    if kind == "missing":
        value = UNSET
    return Problem(path, value, what_is_wrong(kind, ctx, msg, value), _allowed(path))


def _check(goal: Goal, raw: dict) -> None:
    """Everything that involves the scenario: levers, metrics, constraints."""
    file = scenario_path(goal._base_dir, goal.base, ("base",))
    data, bpos = sio.load_scenario_data(file)
    over = copy.deepcopy(goal.overrides)
    sio.absolute_edge_path(over, goal._base_dir)
    data, bpos = sio.merge_located(data, over, bpos, sub_positions(goal._pos, ("overrides",), ()))
    goal._data, goal._data_pos = data, bpos
    goal._base_scenario = sio.validate_scenario_data(data, bpos, goal._label, check_files=True)
    goal._levers = [_lever(key, value, data) for key, value in goal.levers.items()]
    seen: dict[tuple, str] = {}
    for lever in goal._levers:
        for other, key in seen.items():
            if other[:len(lever.path)] == lever.path or lever.path[:len(other)] == other:
                raise Problem(("levers", lever.key), UNSET, f"overlaps the lever {key}",
                              "each scenario key path once")
        seen[lever.path] = lever.key
        for value in lever.values_to_check():
            try:
                candidate_scenario(goal, {lever.key: value})
            except ScenarioError as e:
                text = str(e).split(": ", 1)[-1] if ": " in str(e) else str(e)
                raise Problem(("levers", lever.key), raw["levers"][lever.key],
                              f"the value {value!r} makes an invalid scenario: {text}"
                              ) from None
    levels = [f"day_{m}" for m in goal._base_scenario.milestones]
    if (goal.objective is None) == (goal.objectives is None):
        raise Problem(("objective",), goal.objective if goal.objective is not None else UNSET,
                      "give either objective: (one) or objectives: (two, a Pareto front)",
                      _allowed(("objective",)))
    if goal.objective is not None:
        goal._objectives = [_objective(goal.objective, ("objective",), levels)]
    else:
        goal._objectives = [_objective(o, ("objectives", i), levels)
                            for i, o in enumerate(goal.objectives)]
        names = [o.metric for o in goal._objectives]
        if len(set(names)) < len(names):
            raise Problem(("objectives",), names, "the same metric twice", "two metrics")
    goal._constraints = [_constraint(text, ("constraints", i), levels)
                         for i, text in enumerate(goal.constraints)]


def _number(text: str) -> float:
    return float(text.replace("_", ""))


def _lever(key: str, raw: Any, data: dict) -> Lever:
    where = ("levers", key)
    if isinstance(raw, list):
        path = key_path(key, data, where, numeric=False)
        if not raw:
            raise Problem(where, raw, "empty list of choices", LEVER_FORMS)
        for i, v in enumerate(raw):
            if v is not None and not isinstance(v, (bool, int, float, str)):
                raise Problem(where + (i,), v, "not a plain value (text, number, true/false)",
                              "choices that are text, numbers or true/false")
        if len({json.dumps(v) for v in raw}) < len(raw):
            raise Problem(where, raw, "the same choice twice", "distinct choices")
        return Lever(key, path, "choice", choices=tuple(raw))
    if isinstance(raw, str):
        found = _RANGE.match(raw)
        if not found:
            raise Problem(where, raw, "not a range", LEVER_FORMS)
        low, high = _number(found.group(1)), _number(found.group(2))
        step = _number(found.group(3)) if found.group(3) else None
        log = False
    elif isinstance(raw, dict):
        extra = set(raw) - {"low", "high", "step", "log"}
        if extra or not {"low", "high"} <= set(raw):
            what = (f"unknown key '{sorted(extra)[0]}'" if extra
                    else "a range needs low: and high:")
            raise Problem(where, raw, what, LEVER_FORMS)
        nums = [raw[k] for k in ("low", "high", "step") if raw.get(k) is not None]
        if any(isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)
               for v in nums) or not isinstance(raw.get("log", False), bool):
            raise Problem(where, raw, "low, high and step must be numbers, log true or false",
                          LEVER_FORMS)
        low, high, step, log = raw["low"], raw["high"], raw.get("step"), raw.get("log", False)
    else:
        raise Problem(where, raw, "not a lever", LEVER_FORMS)
    path = key_path(key, data, where, numeric=True)
    is_int = sio.field_type(path, data) is int
    if not low < high:
        raise Problem(where, raw, "not LOW..HIGH with LOW < HIGH", LEVER_FORMS)
    if step is not None and not 0 < step <= high - low:
        raise Problem(where, raw, "step must be > 0 and at most HIGH - LOW", LEVER_FORMS)
    if log and (low <= 0 or step is not None):
        raise Problem(where, raw, "a log scale needs LOW > 0 and no step", LEVER_FORMS)
    if is_int:
        if not all(float(v).is_integer() for v in (low, high, step or 1)):
            raise Problem(where, raw, f"{key} is a whole number: LOW, HIGH and step must be too",
                          "e.g. 20..500 or 0..5000 step 250")
        return Lever(key, path, "int", int(low), int(high), int(step) if step else None, log)
    return Lever(key, path, "float", float(low), float(high),
                 None if step is None else float(step), log)


def _metric(name: Any, where: tuple, levels: list[str], shown: Any = UNSET) -> str:
    allowed = list(METRICS) + [lv for lv in levels if lv not in METRICS]
    if not isinstance(name, str) or name not in allowed:
        close = difflib.get_close_matches(str(name), allowed, n=1)
        what = (f"unknown metric '{name}'" if shown is not UNSET else "unknown metric") + (
            f"; did you mean '{close[0]}'?" if close else "")
        raise Problem(where, name if shown is UNSET else shown, what,
                      None if close else ", ".join(allowed))
    return name


def _objective(raw: dict, where: tuple, levels: list[str]) -> Objective:
    directions = [k for k in raw if k in DIRECTIONS]
    extra = [k for k in raw if k not in DIRECTIONS + ("stat",)]
    if len(directions) != 1 or extra:
        what = (f"unknown key '{extra[0]}'" if extra
                else "one of minimize: or maximize: is needed (not both)")
        raise Problem(where, raw, what, _allowed(where))
    stat = raw.get("stat", "mean")
    if stat not in STATS:
        raise Problem(where + ("stat",), stat, "unknown statistic", ", ".join(STATS))
    direction = directions[0]
    return Objective(_metric(raw[direction], where + (direction,), levels), direction, stat)


def _constraint(text: str, where: tuple, levels: list[str]) -> Constraint:
    found = _PROB.match(text)
    if found:
        metric, op, value, prob = found.groups()
        p = _number(prob)
        if not 0 < p <= 1:
            raise Problem(where, text, f"probability {prob} is not in (0, 1]", CONSTRAINT_FORMS)
        return Constraint(text.strip(), _metric(metric, where, levels, text), op,
                          _number(value), p)
    found = _PLAIN.match(text)
    if not found:
        raise Problem(where, text, "not a constraint", CONSTRAINT_FORMS)
    metric, op, value = found.groups()
    return Constraint(text.strip(), _metric(metric, where, levels, text), op, _number(value))


# --- candidates and seeds ----------------------------------------------------------------


def candidate_scenario(goal: Goal, params: dict) -> Scenario:
    """The base scenario with the levers set to ``params`` (lever key -> value), validated.

    Args:
        goal: The goal.
        params: Values of some or all levers; the others keep the base scenario's values.

    Returns:
        The scenario (its seed is the base scenario's; runs replace it).

    Raises:
        ScenarioError: the values make an invalid scenario (one line).

    Example:
        >>> goal = load_goal("cheapest_inflection")
        >>> candidate_scenario(goal, {"seeding.count": 42}).seeding.count
        42
    """
    over: dict = {}
    for lever in goal._levers:
        if lever.key in params:
            over = sio.merge_scenario_data(over, nested(lever.path, params[lever.key]))
    data = sio.merge_scenario_data(copy.deepcopy(goal._data), over)
    return sio.validate_scenario_data(data, goal._data_pos, goal._label)


def replicate_seeds(goal: Goal, seed: int | None = None) -> list[int]:
    """The run seeds every candidate is evaluated on (common random numbers).

    They are those of a sweep with the same root seed and replicates
    (:func:`sim.experiments.replicate_seeds`): ``SeedSequence(seed).spawn(replicates)``.

    Args:
        goal: The goal.
        seed: Root seed (default: the goal's ``seed``).

    Example:
        >>> goal = load_goal("cheapest_inflection")
        >>> seeds = replicate_seeds(goal)
        >>> len(seeds) == goal.replicates, seeds == replicate_seeds(goal)
        (True, True)
    """
    root = goal.seed if seed is None else seed
    return spawn_seeds(root, goal.replicates)


def fresh_seeds(goal: Goal, seed: int | None = None) -> list[int]:
    """Seeds of the out-of-sample check: the next children of the same root, never reused.

    Example:
        >>> goal = load_goal("cheapest_inflection")
        >>> set(fresh_seeds(goal)) & set(replicate_seeds(goal))
        set()
    """
    root = goal.seed if seed is None else seed
    return spawn_seeds(root, goal.check_replicates, skip=goal.replicates)


def goal_hash(goal: Goal, seed: int | None = None) -> str:
    """sha256 of what determines a study: the goal, its base scenario and the root seed.

    A study made by another goal (or seed) is refused by ``--resume`` and ``--storage``.
    """
    doc = {"goal": goal.model_dump(mode="json", exclude={"name", "description", "trials",
                                                          "check"}),
           "base": sio.scenario_to_yaml(goal.base_scenario),
           "seed": goal.seed if seed is None else seed}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def goal_inputs(goal: Goal) -> list[Path]:
    """The files a study reads (the goal file and its base scenario's files)."""
    files = [Path(goal.label)] if Path(goal.label).is_file() else []
    try:
        files += sio.scenario_files(scenario_path(goal._base_dir, goal.base, ()))
    except Problem:
        pass
    return files
