"""Calibration settings: the calibration YAML file, ``--free`` priors, validated at the boundary.

A calibration file (``experiments/*.yaml``) or the ``fishpond calibrate`` options name the
observed CSV, the scenario, fixed overrides and the free parameters with their priors; every
key is checked like a scenario file's, with one-line ``FILE:LINE`` errors, and each free key
path and both of its bounds are checked against the scenario's schema before anything runs.

Example:
    >>> parse_free("rules.convert_prob=0.05:0.5")
    ('rules.convert_prob', [0.05, 0.5])
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from . import scenario_io as sio
from . import yamlio as yio
from .config import Scenario
from .errors import ScenarioError
from .observed import Observed, read_observed
from .yamlio import UNSET, Problem, describe, label, nested


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class CalibrationFile(_Strict):
    """The keys of a calibration YAML file (and of the ``calibrate`` command's options)."""

    name: str = Field("", max_length=200)
    description: str = ""
    observed: str = Field(min_length=1)
    scenario: str = Field("fish_pond", min_length=1)
    overrides: dict[str, Any] = Field(default_factory=dict)
    free: dict[str, Any] = Field(min_length=1)
    period_days: float | None = Field(None, gt=0, le=100_000)
    horizon: int | None = Field(None, ge=1, le=1_000_000)
    seed: int = Field(0, ge=0, le=2**63 - 1)
    particles: int = Field(100, ge=2, le=100_000)
    generations: int = Field(6, ge=1, le=1000)
    min_epsilon: float = Field(0.0, ge=0)
    min_acceptance: float = Field(0.0, ge=0, lt=1)
    max_minutes: float | None = Field(None, gt=0)
    forecast_draws: int = Field(100, ge=2, le=100_000)


@dataclass(frozen=True)
class Prior:
    """One free parameter: key path, bounds, scale (log10 when ``log``), whole number or not."""

    key: str
    path: tuple
    low: float
    high: float
    log: bool = False
    integer: bool = False

    @property
    def lo(self) -> float:
        """Lower bound on the sampling scale."""
        return math.log10(self.low) if self.log else self.low

    @property
    def hi(self) -> float:
        """Upper bound on the sampling scale."""
        return math.log10(self.high) if self.log else self.high

    def value(self, x: float) -> float | int:
        """The parameter's value for a point ``x`` on the sampling scale."""
        v = 10.0 ** x if self.log else float(x)
        v = min(max(v, self.low), self.high)
        return int(round(v)) if self.integer else v

    def scale(self, v: float) -> float:
        """A value on the sampling scale."""
        return math.log10(v) if self.log else float(v)


@dataclass(frozen=True)
class Calibration:
    """A validated calibration: the base scenario, priors, observations and settings."""

    scenario: Scenario
    priors: tuple[Prior, ...]
    observed: Observed
    horizon: int
    seed: int = 0
    particles: int = 100
    generations: int = 6
    min_epsilon: float = 0.0
    min_acceptance: float = 0.0
    max_minutes: float | None = None
    forecast_draws: int = 100
    name: str = "calibration"
    inputs: tuple[str, ...] = field(default=())

    @property
    def keys(self) -> list[str]:
        """The free parameters' key paths."""
        return [p.key for p in self.priors]

    def digest(self) -> str:
        """A hash of everything that decides the posterior (checked by ``resume``)."""
        data = {"scenario": sio.scenario_to_yaml(self.scenario),
                "priors": [(p.key, p.low, p.high, p.log) for p in self.priors],
                "days": self.observed.days.tolist(),
                "observed": {c: [None if math.isnan(x) else x for x in v.tolist()]
                             for c, v in self.observed.values.items()},
                "seed": self.seed, "particles": self.particles}
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def parse_free(text: str) -> tuple[str, Any]:
    """Split one ``--free KEY=LO:HI[:log]`` into the key and its ``[lo, hi(, log)]`` list.

    Raises:
        ScenarioError: not ``KEY=LO:HI`` (one line).

    Example:
        >>> parse_free("rules.invite_rate=0.001:0.02:log")
        ('rules.invite_rate', [0.001, 0.02, 'log'])
    """
    key, sep, rest = text.partition("=")
    parts = rest.split(":")
    numbers = []
    for p in parts[:2]:
        try:
            numbers.append(float(p))
        except ValueError:
            numbers.append(None)
    if not sep or not key.strip() or len(parts) not in (2, 3) or None in numbers:
        raise ScenarioError(f"--free {yio.clip(text)}: expected KEY=LO:HI or KEY=LO:HI:log, "
                            "e.g. rules.invite_rate=0.001:0.02:log")
    return key.strip(), numbers + parts[2:]


def load_calibration(path: str | os.PathLike, *, free: list[str] | None = None,
                     overrides: list[str] | None = None, **options: Any) -> Calibration:
    """Read and validate a calibration YAML file; command-line options replace its keys.

    The file's keys are those of :class:`CalibrationFile`: ``observed`` (a CSV relative to
    the file), ``scenario`` (a shipped name or a YAML relative to the file), ``overrides`` (a
    mapping of scenario keys), ``free`` (key path -> ``[low, high]``, ``[low, high, log]`` or
    ``"low:high:log"``), ``period_days``, ``horizon``, ``seed``, ``particles``,
    ``generations``, ``min_epsilon``, ``min_acceptance``, ``max_minutes``,
    ``forecast_draws``.

    Args:
        path: The YAML file (or a bare name looked up in ``experiments/`` and
            ``experiments/calibration/``).
        free: ``--free KEY=LO:HI[:log]`` strings, added to (or replacing) the file's.
        overrides: ``--set KEY.PATH=VALUE`` strings, applied after the file's overrides.
        **options: other keys of :class:`CalibrationFile` given on the command line (None:
            not given).

    Returns:
        The validated Calibration.

    Raises:
        ScenarioError, DataError: one line naming the file, line, key and value.
    """
    from .experiments import EXPERIMENTS_DIR

    file = Path(path).expanduser()
    if not file.is_file() and len(file.parts) == 1:
        folders = (EXPERIMENTS_DIR, EXPERIMENTS_DIR / "calibration")
        for cand in [d / n for d in folders for n in (file.name, f"{file.name}.yaml")]:
            if cand.is_file():
                file = cand
                break
    data, pos = yio.read_yaml(file, kind="calibration",
                              hint="a mapping with keys observed:, scenario:, free:")
    return calibration_from_data(data, pos, label(file), file.resolve().parent, free=free,
                                 overrides=overrides, **options)


def calibration_from_data(data: dict, pos: dict, source: str, base_dir: Path, *,
                          free: list[str] | None = None, overrides: list[str] | None = None,
                          **options: Any) -> Calibration:
    """Validate calibration settings given as a mapping (see :func:`load_calibration`).

    Example:
        >>> import pathlib
        >>> from sim.observed import COLUMNS
        >>> cal = calibration_from_data(
        ...     {"observed": "tests/data/observed_weekly.csv", "scenario": "fish_pond",
        ...      "free": {"rules.invite_rate": [0.005, 0.05, "log"]}}, {}, "<demo>",
        ...     pathlib.Path("."))
        >>> cal.priors[0].log, cal.observed.period_days
        (True, 7.0)
    """
    data, pos = copy.deepcopy(data), dict(pos)
    for raw in free or []:
        key, value = parse_free(raw)
        data.setdefault("free", {})
        if not isinstance(data["free"], dict):
            data["free"] = {}
        data["free"][key] = value
        pos[("free", key)] = (f"--free {yio.clip(raw)}", None)
    for name, value in options.items():
        if value is not None:
            data[name] = value
            pos[(name,)] = (f"--{name.replace('_', '-')}", None)
    try:
        try:
            spec = CalibrationFile.model_validate(data)
        except ValidationError as e:
            raise _from_pydantic(e) from None
        scenario_file = _scenario_file(spec.scenario, base_dir)
        base, bpos = sio.load_scenario_data(scenario_file)
        over = copy.deepcopy(spec.overrides)
        sio.absolute_edge_path(over, base_dir)
        base, bpos = sio.merge_located(base, over, bpos,
                                       yio.sub_positions(pos, ("overrides",), ()))
    except Problem as p:
        raise p.error(pos, (source, None)) from None
    base, bpos = sio.apply_overrides(base, bpos, overrides)
    scenario = sio.validate_scenario_data(base, bpos, source, check_files=True)
    try:
        priors = tuple(_prior(key, value, base) for key, value in spec.free.items())
    except Problem as p:
        raise p.error(pos, (source, None)) from None
    obs_file = Path(spec.observed).expanduser()
    if not obs_file.is_absolute():
        obs_file = base_dir / obs_file
    observed = read_observed(obs_file, spec.period_days)
    horizon = spec.horizon if spec.horizon is not None else 2 * observed.last_day
    if horizon < observed.last_day:
        raise Problem(("horizon",), horizon, f"before the last observed day {observed.last_day}",
                      f"a day >= {observed.last_day}").error(pos, (source, None))
    name = spec.name or Path(str(obs_file)).stem
    return Calibration(scenario, priors, observed, horizon, seed=spec.seed,
                       particles=spec.particles, generations=spec.generations,
                       min_epsilon=spec.min_epsilon, min_acceptance=spec.min_acceptance,
                       max_minutes=spec.max_minutes, forecast_draws=spec.forecast_draws,
                       name=name, inputs=(str(obs_file), str(scenario_file)))


def _scenario_file(value: str, base_dir: Path) -> Path:
    cand = (base_dir / value).expanduser()
    if cand.is_file():
        return cand
    try:
        return sio.resolve_scenario_path(value)
    except ScenarioError:
        raise Problem(("scenario",), value, "scenario file not found",
                      "a shipped scenario name such as fish_pond, or a YAML file") from None


def _from_pydantic(err: ValidationError) -> Problem:
    path, value, kind, ctx, msg = yio.first_error(err, (), ())
    if kind == "extra_forbidden":
        return yio.unknown_key(path, list(CalibrationFile.model_fields))
    if kind == "missing":
        value = UNSET
    field_ = CalibrationFile.model_fields.get(path[0]) if path else None
    allowed = describe(field_.annotation, field_.metadata) if field_ and len(path) == 1 else None
    what = yio.what(kind, ctx, msg, value)
    if path[:1] == ("free",):
        allowed = "scenario key paths, each with [low, high] or [low, high, log] (--free " \
                  "KEY=LO:HI[:log])"
        what = "no free parameter" if kind == "too_short" else what
    return Problem(path, value, what, allowed)


def _prior(key: str, raw: Any, data: dict) -> Prior:
    """Check one free parameter against the scenario's schema (a Problem at ``free.KEY``)."""
    from .experiments import key_path

    where = ("free", key)
    allowed = "[low, high] or [low, high, log] with low < high (log: low > 0)"
    if isinstance(raw, str):
        raw = parse_free(f"{key}={raw}")[1]
    if key in ("steps",):
        raise Problem(where, UNSET, "the days to simulate come from the observed file",
                      "any other numeric key path")
    path = key_path(key, data, where, numeric=True)
    ok = isinstance(raw, list) and len(raw) in (2, 3) and all(
        isinstance(x, (int, float)) and not isinstance(x, bool) for x in raw[:2]) and (
        len(raw) == 2 or raw[2] in ("log", "linear"))
    if not ok or not (math.isfinite(raw[0]) and math.isfinite(raw[1]) and raw[0] < raw[1]):
        raise Problem(where, raw, "not a prior range", allowed)
    log = len(raw) == 3 and raw[2] == "log"
    if log and raw[0] <= 0:
        raise Problem(where, raw, "a log prior needs low > 0", allowed)
    integer = sio.field_type(path, data) is int
    for bound in raw[:2]:
        v = int(round(bound)) if integer else float(bound)
        try:
            sio.validate_scenario_data(sio.merge_scenario_data(data, nested(path, v)), {}, "")
        except ScenarioError:
            found = sio.schema_at(path, data)
            raise Problem(where, raw, f"{bound:g} is not allowed for {key}",
                          describe(*found) if found else None) from None
    return Prior(key, path, float(raw[0]), float(raw[1]), log, integer)
