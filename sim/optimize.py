"""Goal-seeking with Optuna: the best levers for a goal file, robust across replicates.

:func:`run_optimize` runs an Optuna study on a goal (:mod:`sim.goals`): each trial is a
candidate (one value per lever), judged on the goal's replicates, every candidate on the same
replicate seeds (common random numbers: differences between candidates are not noise). The
replicates of a candidate run in parallel on :mod:`sim.executors` when ``workers > 1``.

- Sampler: Optuna's TPE (seeded from the goal's root seed), one or two objectives; constraints
  go to its ``constraints_func`` (a trial is feasible when every violation is <= 0).
- Storage: SQLite ``study.db`` in the output folder, or ``storage`` (any Optuna RDB URL) that
  several ``fishpond optimize`` processes on several machines can share; each process stops
  when the study holds ``trials`` complete trials. Killed (even with kill -9), ``resume``
  keeps every finished trial and re-runs the interrupted one with the same levers; a shared
  study's lost trials are re-queued by Optuna's heartbeat (:data:`HEARTBEAT_S`).
- A candidate evaluated before (same levers) is not run again: its runs would be identical.
- After the study, the recommended candidate and the runners-up are re-evaluated on fresh
  seeds (out-of-sample), beside their in-sample figures, so the winner's curse shows.
- Output folder: ``study.db``, ``trials.csv``, ``candidates.csv``, ``best.yaml`` (runnable by
  ``fishpond run``; its seed is the first replicate seed, so it gives replicate 0 of
  ``best_runs.csv``), ``best_runs.csv``, ``report.txt`` (the plain-language paragraph), the
  charts and ``manifest.json``.

With one process and its own storage, the same goal and seed give the same trials (whatever
``workers``). Processes sharing a ``storage`` draw different sampler seeds.

Optuna is imported only when a study runs.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import socket
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import executors, outdir, store
from . import scenario_io as sio
from .analysis import metric_label
from .config import Scenario
from .errors import OutputError, ScenarioError
from .goals import Constraint, Goal, candidate_scenario, fresh_seeds, goal_hash, goal_inputs
from .goals import replicate_seeds as goal_seeds

STUDY_FILE = "study.db"
HEARTBEAT_S = 10  # seconds between a running trial's heartbeats in the storage
GRACE_S = 60  # a trial without a heartbeat for this long is failed and queued again
#: Metrics kept per replicate for every trial (besides the goal's own).
REPORTED = ("members", "cost", "cost_per_retained_member", "day_origin", "day_inflection",
            "day_explosion")
DEFAULT_CURRENCY = "CNY"
_BIG = 1e300  # a violation that JSON can store (no run finished)


@dataclass
class Candidate:
    """One candidate's figures: per-replicate metric values and what they say of the goal."""

    params: dict
    values: dict[str, list[float]]  # metric -> one value per ok replicate (never = steps + 1)
    seeds: list[int]
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def stat(self, metric: str, stat: str = "mean") -> float:
        """Mean or median of a metric over the ok replicates (NaN without any)."""
        x = np.asarray(self.values.get(metric, []), float)
        x = x[~np.isnan(x)]
        if not len(x):
            return math.nan
        return float(np.median(x) if stat == "median" else np.mean(x))

    def violations(self, goal: Goal) -> list[float]:
        """One violation per constraint (<= 0: met)."""
        out = []
        for c in goal.constraint_list:
            x = np.asarray(self.values.get(c.metric, []), float)
            v = c.violation(x[~np.isnan(x)]) if c.probability is None else c.violation(x)
            out.append(min(v, _BIG))
        return out


@dataclass
class Outcome:
    """What :func:`run_optimize` found (also written to the output folder)."""

    out: Path
    feasible: bool
    paragraph: str
    candidates: pd.DataFrame
    trials: pd.DataFrame
    files: list[str]


class _Collect:
    """A sink of :func:`sim.executors.drive` that keeps the results in memory."""

    def __init__(self) -> None:
        self.results: dict[int, dict] = {}

    def add(self, task: Any, result: dict, attempts: int) -> None:
        self.results[task.run_id] = result

    def due(self) -> bool:
        return False

    def flush(self) -> None:
        pass


@dataclass(frozen=True)
class _Task:
    run_id: int
    scenario: Scenario


def evaluate(goal: Goal, params: dict, seeds: list[int], runner: Any) -> Candidate:
    """Run one candidate on ``seeds`` and keep the goal's metrics of every replicate.

    Args:
        goal: The goal.
        params: Lever key -> value.
        seeds: Run seeds (one run each).
        runner: A runner of :func:`sim.executors.make`.

    Returns:
        The candidate's figures (failed runs counted, their errors kept).
    """
    from .experiments import flatten_summary

    scenario = candidate_scenario(goal, params)
    tasks = [_Task(i, scenario.model_copy(update={"seed": s})) for i, s in enumerate(seeds)]
    sink = _Collect()
    executors.drive(runner, tasks, sink, retries=0, total=len(tasks), done=0, progress=False)
    keep = list(dict.fromkeys(list(goal.metrics) + list(REPORTED)))
    values: dict[str, list[float]] = {m: [] for m in keep}
    failed, errors, ok_seeds = 0, [], []
    for i in range(len(tasks)):
        result = sink.results[i]
        if result["status"] != "ok":
            failed += 1
            errors.append(str(result["error"]))
            continue
        flat = flatten_summary(result["summary"])
        ok_seeds.append(seeds[i])
        for m in keep:
            v = flat.get(m, math.nan)
            v = math.nan if v is None else float(v)
            if m.startswith("day_") and math.isnan(v):
                v = float(scenario.steps + 1)
            values[m].append(v)
    return Candidate(dict(params), values, ok_seeds, failed, errors)


# --- the study ---------------------------------------------------------------------------


def _quiet_optuna():
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", category=FutureWarning, module="optuna")
    return optuna


def open_storage(url: str):
    """An Optuna RDB storage with heartbeats (a killed process's trial is re-queued).

    Args:
        url: An SQLAlchemy URL, e.g. ``sqlite:///runs/optimize/x/study.db`` or
            ``postgresql://user@host/db``.

    Raises:
        OutputError: the storage cannot be opened (one line).
    """
    _quiet_optuna()
    from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback

    kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {}
    for attempt in range(6):
        try:
            return RDBStorage(url, engine_kwargs=kwargs, heartbeat_interval=HEARTBEAT_S,
                              grace_period=GRACE_S,
                              heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(3))
        except Exception as e:  # noqa: BLE001 (SQLAlchemy's and Optuna's: a bad URL, no server)
            text = str(e).splitlines()[0] if str(e) else type(e).__name__
            racing = type(e).__name__ in ("OperationalError", "IntegrityError")
            if racing and attempt < 5:  # another process is making the tables right now
                time.sleep(0.2 * (attempt + 1))
                continue
            raise OutputError(f"--storage {url}: cannot open the study storage: {text}") from None
    raise AssertionError("unreachable")  # pragma: no cover


def _suggest(trial: Any, goal: Goal) -> dict:
    params = {}
    for lv in goal.lever_list:
        if lv.kind == "choice":
            params[lv.key] = trial.suggest_categorical(lv.key, list(lv.choices))
        elif lv.kind == "int":
            params[lv.key] = trial.suggest_int(lv.key, lv.low, lv.high, step=lv.step or 1,
                                               log=lv.log)
        else:
            params[lv.key] = trial.suggest_float(lv.key, lv.low, lv.high, step=lv.step,
                                                 log=lv.log)
    return params


def _constraints_of(trial: Any) -> list[float]:
    return list(trial.user_attrs.get("violations", []))


def _sampler(goal: Goal, seed: int, trials: int, shared: bool):
    optuna = _quiet_optuna()
    sampler_seed = int(np.random.SeedSequence([seed, 1]).generate_state(1)[0])
    if shared:  # processes sharing a study must not propose the same candidates
        sampler_seed ^= os.getpid()
    startup = min(10, max(2, trials // 4))
    return optuna.samplers.TPESampler(seed=sampler_seed, n_startup_trials=startup,
                                      constraints_func=_constraints_of if goal.constraint_list
                                      else None)


def _objective(goal: Goal, seeds: list[int], runner: Any, on_trial: Callable[[], None]):
    def objective(trial):
        trial.set_user_attr("process", f"{socket.gethostname()}:{os.getpid()}")
        params = _suggest(trial, goal)
        known = _same_params(trial.study, params)
        if known is not None:
            for key, value in known.user_attrs.items():
                if key != "process":
                    trial.set_user_attr(key, value)
            trial.set_user_attr("reused_from", known.number)
            on_trial()
            return known.values if len(known.values) > 1 else known.values[0]
        try:
            cand = evaluate(goal, params, seeds, runner)
        except ScenarioError as e:  # levers valid one by one, not together
            trial.set_user_attr("error", str(e))
            on_trial()
            raise RuntimeError(str(e)) from None
        trial.set_user_attr("values", cand.values)
        trial.set_user_attr("failed_runs", cand.failed)
        trial.set_user_attr("violations", cand.violations(goal))
        if cand.failed == len(seeds):
            trial.set_user_attr("error", cand.errors[0] if cand.errors else "failed")
            on_trial()
            raise RuntimeError(f"every run of the candidate failed: {cand.errors[0]}")
        on_trial()
        out = [cand.stat(o.metric, o.stat) for o in goal.objective_list]
        return out if len(out) > 1 else out[0]

    return objective


def _same_params(study: Any, params: dict):
    from optuna.trial import TrialState

    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        if t.params == params and "values" in t.user_attrs:
            return t
    return None


def _requeue_interrupted(study: Any) -> int:
    """Fail the trials a killed process left running and queue their levers again."""
    from optuna.storages import RetryHeartbeatStaleTrialCallback
    from optuna.trial import TrialState

    running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    for t in running:
        study._storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
        RetryHeartbeatStaleTrialCallback()(study, study._storage.get_trial(t._trial_id))
    return len(running)


def completed(study: Any) -> int:
    """Complete trials of a study."""
    from optuna.trial import TrialState

    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))


def run_study(goal: Goal, storage_url: str, *, trials: int, workers: int = 1,
              seed: int | None = None, shared: bool = False, resume: bool = False,
              progress: Callable[[int, int], None] | None = None, runner: Any = None) -> Any:
    """Run (or join, or resume) the goal's study until it holds ``trials`` complete trials.

    Args:
        goal: The goal.
        storage_url: Where the study lives (SQLite URL of the output folder, or shared).
        trials: Complete trials wanted in the study (all processes together).
        workers: Processes running a candidate's replicates.
        seed: Root seed (default: the goal's).
        shared: The storage may be shared by other processes (different sampler seeds).
        resume: The storage is this process's own: trials left running by a killed process
            are failed and queued again.
        progress: Called ``(complete, trials)`` after each trial.
        runner: Where the runs execute (default: ``workers`` local processes, closed after).

    Returns:
        The Optuna study.

    Raises:
        OutputError: the storage holds a study of another goal or seed under this name.
    """
    optuna = _quiet_optuna()
    from optuna.trial import TrialState

    root = goal.seed if seed is None else seed
    digest = goal_hash(goal, root)
    storage = open_storage(storage_url)
    directions = [o.direction for o in goal.objective_list]
    study = optuna.create_study(storage=storage, study_name=goal.stem, directions=directions,
                                sampler=_sampler(goal, root, trials, shared), load_if_exists=True)
    have = study.user_attrs.get("goal_hash")
    if have is None:
        study.set_user_attr("goal_hash", digest)
        study.set_user_attr("root_seed", root)
    elif have != digest:
        raise OutputError(f"study '{goal.stem}' in {storage_url} was made by another goal or "
                          "seed; use another --out or --storage, or the same goal and --seed")
    if resume:
        _requeue_interrupted(study)
    seeds = goal_seeds(goal, root)
    own_runner = runner is None
    runner = executors.make(workers) if own_runner else runner
    try:
        def tick() -> None:
            if progress is not None:
                progress(completed(study) + 1, trials)

        todo = trials - completed(study)
        if todo > 0:
            study.optimize(_objective(goal, seeds, runner, tick), n_trials=todo,
                           catch=(RuntimeError,),
                           callbacks=[optuna.study.MaxTrialsCallback(
                               trials, states=(TrialState.COMPLETE,))])
    finally:
        if own_runner:
            runner.close()
    return study


# --- reading a study -----------------------------------------------------------------------


def trials_table(study: Any, goal: Goal) -> pd.DataFrame:
    """One row per finished trial: levers, objective value(s), feasibility, constraint figures.

    Columns: ``trial``, ``state``, one per lever, ``value_<metric>`` per objective (its
    statistic over the replicates), ``feasible``, ``violation`` (sum of the positive
    violations), per constraint ``c<i>`` (share of replicates, or mean), ``failed_runs`` and
    ``reused_from``.
    """
    from optuna.trial import TrialState

    rows = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        row: dict[str, Any] = {"trial": t.number, "state": t.state.name}
        row.update({lv.key: t.params.get(lv.key) for lv in goal.lever_list})
        for o, v in zip(goal.objective_list, t.values):
            row[f"value_{o.metric}"] = v
        viol = t.user_attrs.get("violations", [])
        row["feasible"] = all(v <= 0 for v in viol)
        row["violation"] = float(sum(max(0.0, v) for v in viol))
        cand = Candidate(t.params, t.user_attrs.get("values", {}), [])
        for i, c in enumerate(goal.constraint_list):
            row[f"c{i}"] = _constraint_figure(c, cand)
        row["failed_runs"] = t.user_attrs.get("failed_runs", 0)
        row["reused_from"] = t.user_attrs.get("reused_from")
        rows.append(row)
    return pd.DataFrame(rows)


def _constraint_figure(c: Constraint, cand: Candidate) -> float:
    x = np.asarray(cand.values.get(c.metric, []), float)
    if c.probability is not None:
        return c.share(x)
    return float(np.nanmean(x)) if len(x) else math.nan


def pareto_mask(values: np.ndarray, directions: list[str]) -> np.ndarray:
    """Which rows of ``values`` (n x k) no other row dominates.

    Example:
        >>> pareto_mask(np.array([[1, 5], [2, 2], [3, 3]]), ["minimize", "minimize"]).tolist()
        [True, True, False]
    """
    v = np.asarray(values, float) * np.array([1 if d == "minimize" else -1 for d in directions])
    keep = np.ones(len(v), bool)
    for i in range(len(v)):
        worse_or_equal = np.all(v <= v[i], axis=1) & np.any(v < v[i], axis=1)
        keep[i] = not worse_or_equal.any()
    return keep


def rank_candidates(table: pd.DataFrame, goal: Goal) -> pd.DataFrame:
    """The feasible trials, best first, one per distinct set of levers.

    One objective: by its value. Two: the Pareto front only, nearest first to the ideal point
    (both objectives at their best on the front) once each is scaled to [0, 1]; the first is
    the recommended point.
    """
    if table.empty:
        return table
    feasible = table[table["feasible"]].copy()
    keys = [lv.key for lv in goal.lever_list]
    feasible = feasible.drop_duplicates(subset=keys, keep="first")
    objs = goal.objective_list
    cols = [f"value_{o.metric}" for o in objs]
    feasible = feasible.dropna(subset=cols)
    if len(objs) == 1:
        return feasible.sort_values(cols[0], ascending=objs[0].direction == "minimize",
                                    kind="stable")
    front = feasible[pareto_mask(feasible[cols].to_numpy(), [o.direction for o in objs])]
    if front.empty:
        return front
    v = front[cols].to_numpy(float)
    span = np.where(np.ptp(v, axis=0) > 0, np.ptp(v, axis=0), 1.0)
    best = np.array([v[:, j].min() if o.direction == "minimize" else v[:, j].max()
                     for j, o in enumerate(objs)])
    dist = np.sqrt((((v - best) / span) ** 2).sum(axis=1))
    return front.assign(_d=dist).sort_values(["_d", "trial"], kind="stable").drop(columns="_d")


def infeasible_answer(goal: Goal, table: pd.DataFrame) -> str:
    """The plain answer when no candidate met the constraints, naming the best share reached.

    Example: ``no candidate reached 1,000 members by day 60 in 80% of replicates; the best
    reached it in 35%``.
    """
    if table.empty:
        return "no candidate finished any run; see trials.csv"
    parts = []
    for i, c in enumerate(goal.constraint_list):
        col = table[f"c{i}"].astype(float)
        if c.probability is not None:
            best = col.max()
            if best >= c.probability:
                continue
            parts.append(f"no candidate {_event(c, goal)} in {c.probability:.0%} of replicates; "
                         f"the best {_event(c, goal, short=True)} in {best:.0%}")
        else:
            best = col.min() if c.op in ("<=", "<") else col.max()
            if c.holds(np.array([best]))[0]:
                continue
            parts.append(f"no candidate had {metric_label(c.metric)} {c.op} {c.value:,.10g} "
                         f"on average; the best had {best:,.6g}")
    if not parts:
        parts.append("no single candidate met every constraint at once "
                     f"({'; '.join(goal.constraints)}); see trials.csv")
    return "; ".join(parts)


def _milestone(goal: Goal, metric: str) -> int | None:
    from .analysis import milestone_level

    if not metric.startswith("day_"):
        return None
    cols = pd.DataFrame(columns=[f"day_{m}" for m in goal.base_scenario.milestones])
    return milestone_level(cols, metric)


def _event(c: Constraint, goal: Goal, short: bool = False) -> str:
    """A probability constraint's event in words: "reached 1,000 members by day 60"."""
    if c.metric.startswith("day_") and c.op in ("<=", "<"):
        if short:
            return "reached it"
        day = int(c.value) if c.op == "<=" else int(math.ceil(c.value)) - 1
        level = _milestone(goal, c.metric)
        return f"reached {level:,} members by day {day}"
    if short:
        return "had it"
    return f"had {metric_label(c.metric)} {c.op} {c.value:,.10g}"


# --- the paragraph -----------------------------------------------------------------------


def currency_of(scenario: Scenario) -> str:
    """The scenario's currency (``economics.currency``), else CNY."""
    return getattr(scenario.economics, "currency", None) or DEFAULT_CURRENCY


def _num(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 10 or float(x).is_integer() else f"{x:,.2f}"


def lever_phrases(params: dict, scenario: Scenario) -> list[str]:
    """The levers in words ("180 seeds chosen by fit_degree", "5 posts a week").

    Example:
        >>> from sim.scenario_io import load_scenario
        >>> lever_phrases({"seeding.count": 180, "program.content_per_week": 5.0},
        ...               load_scenario("fish_pond"))
        ['180 seeds chosen by degree', '5 posts a week']
    """
    cur = currency_of(scenario)
    out = []
    for key, v in params.items():
        if key == "seeding.count":
            out.append(f"{v:,} seeds chosen by {scenario.seeding.strategy}")
        elif key == "seeding.strategy":
            if "seeding.count" not in params:
                out.append(f"{scenario.seeding.count:,} seeds chosen by {v}")
        elif key == "program.content_per_week":
            out.append(f"{_num(v)} posts a week")
        elif key == "program.activities_per_month":
            out.append(f"{_num(v)} activities a month")
        elif key == "program.ads.daily_budget":
            out.append(f"an ads budget of {_num(v)} {cur} a day")
        elif key == "program.entry_gate.kind":
            out.append(f"entry gate '{v}'")
        else:
            out.append(f"{key} = {_num(v) if isinstance(v, (int, float)) else v}")
    return out


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def paragraph(goal: Goal, cand: Candidate, scenario: Scenario,
              check: Candidate | None = None) -> str:
    """The recommendation in plain language, with its spread over the replicates.

    Args:
        goal: The goal.
        cand: The recommended candidate's in-sample figures.
        scenario: Its scenario (units, currency, horizon).
        check: Its out-of-sample figures (fresh seeds), if any.

    Returns:
        One paragraph.
    """
    cur = currency_of(scenario)
    n = len(cand.seeds)
    horizon = scenario.steps
    day_metrics = [m for m in goal.metrics if m.startswith("day_")]
    reach = ""
    levels = list(scenario.milestones)
    metric = day_metrics[0] if day_metrics else None
    if metric is None:
        for m in reversed(levels):
            days = np.asarray(cand.values.get(f"day_{m}", []) or [], float)
            if len(days) and (days <= horizon).mean() >= 0.5:
                metric = f"day_{m}"
                break
    if metric is None:
        for name in ("day_explosion", "day_inflection", "day_origin"):
            days = np.asarray(cand.values.get(name, []), float)
            if len(days) and (days <= horizon).mean() >= 0.5:
                metric = name
                break
    if metric is not None:
        level = _milestone(goal, metric)
        days = np.asarray(cand.values.get(metric, []), float)
        hit = days[days <= horizon]
        if len(hit):
            lo, mid, hi = np.percentile(hit, [5, 50, 95])
            reach = (f"you reach {level:,} members by day {mid:.0f} (90%: {lo:.0f}-{hi:.0f}) "
                     f"in {len(hit)} of {n} replicates")
        else:
            reach = f"you do not reach {level:,} members within {horizon} days"
    members = cand.stat("members", "median")
    cost = cand.stat("cost")
    per = cand.stat("cost_per_retained_member")
    text = f"With {_join(lever_phrases(cand.params, scenario))} "
    text += (reach + ", with " if reach else "you have ")
    text += f"{members:,.0f} members on day {horizon} (median of {n} replicates)"
    text += f", at a total cost of {cost:,.0f} {cur}"
    if not math.isnan(per):
        text += f" ({per:,.2f} {cur} per retained member)"
    text += "."
    for o in goal.objective_list:
        if o.metric not in ("cost", "members", metric):
            text += (f" {metric_label(o.metric).capitalize()} ({o.stat}): "
                     f"{_num(cand.stat(o.metric, o.stat))}.")
    if check is not None:
        text += f" On {len(check.seeds)} fresh seeds (out of sample): "
        bits = [f"{metric_label(o.metric)} {_num(check.stat(o.metric, o.stat))} "
                f"(in sample {_num(cand.stat(o.metric, o.stat))})" for o in goal.objective_list]
        for c in goal.constraint_list:
            x = np.asarray(check.values.get(c.metric, []), float)
            if c.probability is not None:
                verdict = "met" if c.share(x) >= c.probability else "NOT met"
                bits.append(f"{_event(c, goal)} in {c.share(x):.0%} of replicates (wanted: "
                            f"{c.probability:.0%}, {verdict})")
            else:
                ok = c.violation(x) <= 0
                bits.append(f"{c.text}: mean {_num(float(np.mean(x)))} "
                            f"({'met' if ok else 'NOT met'})")
        text += "; ".join(bits) + "."
    return text


# --- the whole command ----------------------------------------------------------------------


def default_out(goal: Goal) -> Path:
    """``runs/optimize/<goal stem>/`` (relative to the working directory)."""
    return Path("runs") / "optimize" / goal.stem


def _write_text(path: Path, text: str) -> None:
    from .charts.save import write_atomically

    write_atomically(path, lambda f: f.write(text), text=True)


def _write_csv(path: Path, frame: pd.DataFrame) -> None:
    buf = io.StringIO()
    frame.to_csv(buf, index=False)
    _write_text(path, buf.getvalue())


def run_optimize(goal: Goal, out: str | os.PathLike | None = None, *, trials: int | None = None,
                 workers: int = 1, storage: str | None = None, resume: bool = False,
                 seed: int | None = None, progress: bool | Callable[[int, int], None] = True,
                 formats: tuple[str, ...] = ("png",)) -> Outcome:
    """Run a goal's study, check its best candidates out of sample and write the folder.

    Args:
        goal: The goal (:func:`sim.goals.load_goal`).
        out: Output folder (default ``runs/optimize/<goal stem>/``).
        trials: Complete trials wanted in the study (default: the goal's ``trials``).
        workers: Processes running a candidate's replicates (1: this process).
        storage: A shared Optuna storage URL (default: ``sqlite:///<out>/study.db``).
        resume: Continue the study of ``out`` (nothing finished is lost).
        seed: Root seed (default: the goal's ``seed``).
        progress: True for a progress bar of trials, or a callable ``(done, total)``.
        formats: Chart formats.

    Returns:
        The outcome (also written under ``out``).

    Raises:
        ScenarioError, OutputError: bad options or output folder (nothing run).
        KeyboardInterrupt: after the finished trials are stored (resume with ``resume``).
    """
    from .progress import progress_bar

    trials = goal.trials if trials is None else trials
    root = goal.seed if seed is None else seed
    for name, value, low in (("trials", trials, 1), ("workers", workers, 1), ("seed", root, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ScenarioError(f"{name} = {value!r}: allowed: a whole number >= {low}")
    out = Path(out) if out is not None else default_out(goal)
    outdir.recover(out)
    own = storage is None
    if outdir.has_content(out) and not resume:
        raise OutputError(f"--out {out}: folder exists and is not empty; use --resume to "
                          "continue its study or choose another --out")
    if resume and own and not (out / STUDY_FILE).is_file():
        raise OutputError(f"--out {out}: no study to resume ({STUDY_FILE} not found); run "
                          "without --resume")
    outdir.check(out, resume=resume, inputs=goal_inputs(goal))
    out.mkdir(parents=True, exist_ok=True)
    url = storage or f"sqlite:///{(out / STUDY_FILE).resolve()}"
    with outdir.locked(out):
        manifest = {"kind": "optimize", "goal_file": goal.label, "goal": goal.model_dump(
            mode="json"), "goal_hash": goal_hash(goal, root), "root_seed": root,
            "replicate_seeds": goal_seeds(goal, root), "check_seeds": fresh_seeds(goal, root),
            "storage": url if not own else STUDY_FILE, "study": goal.stem, "trials": trials,
            "status": "running", "versions": store.package_versions(),
            "git_revision": store.git_revision()}
        store.write_json(out / store.MANIFEST, manifest)
        bar = progress_bar(trials, "optimize", unit="trial", enabled=progress is True)
        report = progress if callable(progress) else None

        def tick(done: int, total: int) -> None:
            bar.update(max(0, min(done, total) - bar.n))
            if report is not None:
                report(done, total)

        runner = executors.make(workers)
        try:
            try:
                study = run_study(goal, url, trials=trials, workers=workers, seed=root,
                                  shared=not own, resume=resume and own, progress=tick,
                                  runner=runner)
            except KeyboardInterrupt:
                manifest["status"] = "interrupted"
                store.write_json(out / store.MANIFEST, manifest)
                raise
            finally:
                bar.close()
            outcome = _report(goal, study, out, root, runner, formats)
        finally:
            runner.close()
        manifest.update(status="complete", feasible=outcome.feasible,
                        trials_complete=len(outcome.trials), files=outcome.files)
        store.write_json(out / store.MANIFEST, manifest)
    return outcome


def _report(goal: Goal, study: Any, out: Path, root: int, runner: Any,
            formats: tuple[str, ...]) -> Outcome:
    from .charts.optimize import write_optimize_charts

    table = trials_table(study, goal)
    ranked = rank_candidates(table, goal)
    files = [STUDY_FILE] if (out / STUDY_FILE).is_file() else []
    _write_csv(out / "trials.csv", table)
    files.append("trials.csv")
    feasible = not ranked.empty
    cand_rows: list[dict] = []
    text = ""
    recommended = None
    if feasible:
        fresh = fresh_seeds(goal, root)
        seeds = goal_seeds(goal, root)
        checked = []
        for _, row in ranked.head(goal.check.candidates).iterrows():
            t = study.trials[int(row["trial"])]
            inside = Candidate(dict(t.params), t.user_attrs["values"], seeds)
            outside = evaluate(goal, dict(t.params), fresh, runner)
            checked.append((t.number, inside, outside))
        for rank, (number, inside, outside) in enumerate(checked):
            row = {"rank": rank + 1, "trial": number, **inside.params}
            for o in goal.objective_list:
                row[f"{o.metric}_in_sample"] = inside.stat(o.metric, o.stat)
                row[f"{o.metric}_out_of_sample"] = outside.stat(o.metric, o.stat)
            for i, c in enumerate(goal.constraint_list):
                row[f"c{i}_in_sample"] = _constraint_figure(c, inside)
                row[f"c{i}_out_of_sample"] = _constraint_figure(c, outside)
            row["feasible_out_of_sample"] = all(v <= 0 for v in outside.violations(goal))
            row["failed_runs_out_of_sample"] = outside.failed
            cand_rows.append(row)
        number, inside, outside = checked[0]
        recommended = number
        best = candidate_scenario(goal, inside.params)
        best = best.model_copy(update={"seed": seeds[0], "name": f"{best.name} (optimised: "
                                       f"{goal.stem}, trial {number})"})
        _write_text(out / "best.yaml", f"# fishpond optimize {goal.label}: the recommended "
                    f"candidate (trial {number}); its seed is replicate 0 of best_runs.csv\n"
                    + sio.scenario_to_yaml(best))
        runs = pd.DataFrame({"replicate": range(len(seeds)), "seed": seeds,
                             **{m: v for m, v in inside.values.items()
                                if len(v) == len(seeds)}})
        _write_csv(out / "best_runs.csv", runs)
        files += ["best.yaml", "best_runs.csv"]
        text = paragraph(goal, inside, best, outside)
    else:
        text = ("No candidate met the constraints: " + infeasible_answer(goal, table) + ".")
    candidates = pd.DataFrame(cand_rows)
    if feasible:
        _write_csv(out / "candidates.csv", candidates)
        files.append("candidates.csv")
    importances = lever_importances(study, goal, root)
    charts = write_optimize_charts(table, importances, out, goal_objectives(goal),
                                   recommended, formats,
                                   currency=currency_of(goal.base_scenario))
    files += [p.name for p in charts]
    lines = [f"Goal      {goal.label} ({goal.description or goal.name or goal.stem})",
             f"Trials    {len(table)} complete, {int(table['feasible'].sum()) if len(table) else 0}"
             f" feasible; {goal.replicates} replicates each on common seeds (root seed {root})",
             "", text, ""]
    if feasible:
        lines += ["Best candidates, in sample and on fresh seeds (candidates.csv):",
                  candidates.to_string(index=False), ""]
    if importances is not None:
        lines += ["Lever importance (fANOVA): " + ", ".join(
            f"{k} {v:.2f}" for k, v in importances.items())]
    _write_text(out / "report.txt", "\n".join(lines) + "\n")
    files.append("report.txt")
    return Outcome(out, feasible, text, candidates, table, files)


def goal_objectives(goal: Goal) -> list[tuple[str, str]]:
    """``(value column, direction)`` per objective, for the charts."""
    return [(f"value_{o.metric}", o.direction) for o in goal.objective_list]


def lever_importances(study: Any, goal: Goal, seed: int) -> pd.Series | None:
    """Importance (fANOVA) of each lever for the first objective (None: too few trials)."""
    optuna = _quiet_optuna()
    keys = [lv.key for lv in goal.lever_list]
    if completed(study) < 4:
        return None
    if len(keys) == 1:
        return pd.Series({keys[0]: 1.0})
    evaluator = optuna.importance.FanovaImportanceEvaluator(seed=seed % 2**32)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            found = optuna.importance.get_param_importances(
                study, evaluator=evaluator, target=lambda t: t.values[0])
    except (RuntimeError, ValueError):
        return None
    return pd.Series(found).reindex(keys).fillna(0.0)


def trials_json(table: pd.DataFrame) -> str:
    """The trials table as JSON records (for comparing two studies)."""
    return json.dumps(json.loads(table.to_json(orient="records")), sort_keys=True)
