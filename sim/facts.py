"""The six stylized facts of MODEL.md §7, measured over replicates of the shipped scenarios.

The measurement is an experiment like any sweep (:func:`facts_experiment`): a ``scenarios``
design of :data:`FACT_SCENARIOS`, run by the same executors into the same store. Replicate
``r`` of every scenario has the same run seed, drawn from ``SeedSequence(root_seed)`` as in
every experiment, so each replicate runs every scenario on the same population (the graph
and fit depend only on the seed): the scenarios are compared on common random numbers. Each
fact compares medians, and is printed with its 90% intervals (5th–95th percentiles over
replicates).

Example (not run as a doctest: it needs a finished sweep or minutes)::

    from sim.facts import measure_facts
    report = measure_facts(size=2000, replicates=2, steps=30, workers=1)
    print(report.table())
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import store
from .errors import FishpondError
from .experiments import Experiment, experiment_from_dict, run_sweep
from .scenario_io import merge_scenario_data

FACT_SCENARIOS = ("fish_pond", "no_feed", "random_seeds", "mass_pull", "paid_ads")
NEVER = math.inf  # a milestone never reached counts as later than any day


@dataclass
class Fact:
    """One stylized fact: its statement, what was measured and whether it holds."""

    number: int
    statement: str
    measured: str
    passed: bool


@dataclass
class FactsReport:
    """Per-run results (one row per scenario and replicate) and the six facts."""

    runs: pd.DataFrame
    facts: list[Fact] = field(default_factory=list)
    size: int = 0
    replicates: int = 0
    steps: int = 0

    @property
    def all_passed(self) -> bool:
        """Whether every fact holds."""
        return all(f.passed for f in self.facts)

    def table(self) -> str:
        """The facts as printable text, one block per fact."""
        lines = [
            (f"Stylized facts (MODEL.md §7): {self.size:,} persons, {self.replicates} "
             f"replicates, {self.steps} days; medians [90% intervals]")
        ]
        for f in self.facts:
            lines.append(f"{'PASS' if f.passed else 'FAIL'}  {f.number}. {f.statement}")
            lines.extend(f"        {line}" for line in f.measured.splitlines())
        lines.append(f"{sum(f.passed for f in self.facts)} of {len(self.facts)} facts hold")
        return "\n".join(lines)


RUN_COLUMNS = ("members", "day_inflection", "day_explosion", "contributor_share",
               "commitment_share", "top20_referral_share", "cost", "cost_per_retained_member")


def facts_experiment(size: int = 100_000, replicates: int = 20, steps: int | None = None,
                     root_seed: int = 0, **overrides) -> Experiment:
    """The experiment that measures the facts: every fact scenario, ``replicates`` times.

    Args:
        size: Persons per population.
        replicates: Replicates per scenario.
        steps: Horizon override (None: the scenarios' own, 365 days).
        root_seed: Root seed of the replicate seeds (shared by every scenario).
        **overrides: Scenario overrides applied to every scenario (nested mappings).

    Returns:
        The validated Experiment (a ``scenarios`` design).

    Example:
        >>> exp = facts_experiment(size=2000, replicates=2, steps=30)
        >>> exp.design.files == list(FACT_SCENARIOS), exp.replicates, exp.common_seeds
        (True, 2, True)
    """
    over: dict = {"population": {"size": size}}
    if steps is not None:
        over["steps"] = steps
    over = merge_scenario_data(over, overrides)
    return experiment_from_dict(
        {"name": "stylized facts", "replicates": replicates, "seed": root_seed,
         "overrides": over, "design": {"kind": "scenarios", "files": list(FACT_SCENARIOS)}},
        source="fishpond facts")


def fact_runs(results: pd.DataFrame, timeseries: pd.DataFrame) -> pd.DataFrame:
    """The per-run table the facts are judged on, from a facts sweep's results and series.

    Args:
        results: :func:`sim.store.read_results` of the sweep (every run ok).
        timeseries: :func:`sim.store.read_timeseries` of the same sweep.

    Returns:
        One row per run: scenario, seed, members_day1, members_day30 and
        :data:`RUN_COLUMNS`; a milestone never reached is :data:`NEVER`.
    """
    members = timeseries.pivot(index="run_id", columns="day", values="members")
    last = members.columns.max()
    runs = pd.DataFrame({
        "scenario": results["scenario"].to_numpy(),
        "seed": results["seed"].to_numpy(),
        "members_day1": members.loc[results["run_id"], 1].to_numpy(np.int64),
        "members_day30": members.loc[results["run_id"], min(30, last)].to_numpy(np.int64),
    })
    for column in RUN_COLUMNS:
        values = results[column].astype(float).to_numpy()
        runs[column] = np.where(np.isnan(values), NEVER, values) if column.startswith("day_") \
            else results[column].to_numpy()
    return runs


def _fmt(x: float) -> str:
    if x == NEVER:
        return "never"
    if isinstance(x, float) and not float(x).is_integer() and abs(x) < 10:
        return f"{x:.3f}"
    return f"{x:,.0f}"


def _stat(runs: pd.DataFrame, scenario: str, metric: str) -> tuple[float, str]:
    v = runs.loc[runs.scenario == scenario, metric].astype(float).to_numpy()
    v = v[~np.isnan(v)]
    if len(v) == 0:
        return math.nan, "n/a"
    med = float(np.median(v))
    lo, hi = np.percentile(v, [5, 95], method="inverted_cdf")
    return med, f"{_fmt(med)} [{_fmt(float(lo))}, {_fmt(float(hi))}]"


def evaluate(runs: pd.DataFrame) -> list[Fact]:
    """Judge the six facts from per-run results (see :func:`fact_runs` for the columns)."""

    def s(scenario, metric):
        return _stat(runs, scenario, metric)

    fp = runs[runs.scenario == "fish_pond"]
    facts = []
    inflect_all = bool((fp.day_inflection < NEVER).all())
    explode_share = float((fp.day_explosion < NEVER).mean())
    facts.append(Fact(
        1,
        "Fish pond grows through the milestones: reaches 1,000 in every replicate, "
        "10,000 in most",
        f"fish pond day of 1,000: {s('fish_pond', 'day_inflection')[1]}; "
        f"reached in {int((fp.day_inflection < NEVER).sum())}/{len(fp)}\n"
        f"fish pond day of 10,000: {s('fish_pond', 'day_explosion')[1]}; reached in "
        f"{int((fp.day_explosion < NEVER).sum())}/{len(fp)}",
        inflect_all and explode_share > 0.5,
    ))
    a, ta = s("fish_pond", "members")
    b, tb = s("no_feed", "members")
    facts.append(Fact(
        2, "Feeding matters: without content and activities, fewer than half the members",
        f"members at horizon: fish pond {ta}; no feed {tb}; ratio {b / a:.2f}"
        if a else "no members",
        bool(b < 0.5 * a),
    ))
    a, ta = s("fish_pond", "day_inflection")
    b, tb = s("random_seeds", "day_inflection")
    facts.append(Fact(
        3, "KOLs matter: 100 degree-chosen seeds reach 1,000 sooner than 100 random seeds",
        f"day of 1,000: degree seeds {ta}; random seeds {tb}",
        bool(a < b),
    ))
    a, ta = s("fish_pond", "top20_referral_share")
    facts.append(Fact(
        4,
        "The 70/20 pattern: top 20% of members by intimacy credited with 60-80% of "
        "referral joins",
        f"fish pond top-20% referral share: {ta}",
        bool(0.6 <= a <= 0.8),
    ))
    checks = []
    text = []
    for metric, cmp, label in (
        ("members_day1", 1, "members on day 1 (starts bigger)"),
        ("members", -1, "members at horizon (ends smaller)"),
        ("contributor_share", -1, "contributor share (lower)"),
        ("commitment_share", -1, "commitment share (lower)"),
    ):
        a, ta = s("fish_pond", metric)
        b, tb = s("mass_pull", metric)
        checks.append(b > a if cmp > 0 else b < a)
        text.append(f"{label}: mass pull {tb} vs fish pond {ta}")
    facts.append(Fact(
        5,
        "A crowd is not a community: a 2,000-person mass pull starts bigger, ends "
        "smaller, with lower contributor and commitment shares",
        "\n".join(text),
        all(checks),
    ))
    a30, ta30 = s("fish_pond", "members_day30")
    b30, tb30 = s("paid_ads", "members_day30")
    ac, tac = s("fish_pond", "cost_per_retained_member")
    bc, tbc = s("paid_ads", "cost_per_retained_member")
    spa, tspa = s("fish_pond", "cost")
    spb, tspb = s("paid_ads", "cost")
    equal_spend = abs(spb / spa - 1) <= 0.10 if spa else False
    facts.append(Fact(
        6,
        "Ads buy speed, not loyalty: equal spend (within 10%) grows faster in month one, "
        "ends costlier per member",
        f"members on day 30: ads {tb30} vs fish pond {ta30}\n"
        f"cost per retained member: ads {tbc} vs fish pond {tac}\n"
        f"total spend: ads {tspb} vs fish pond {tspa} "
        f"({'equal' if equal_spend else 'NOT equal'} within 10%)",
        bool(b30 > a30 and bc > ac and equal_spend),
    ))
    return facts


def measure_facts(
    size: int = 100_000,
    replicates: int = 20,
    steps: int | None = None,
    root_seed: int = 0,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
    out: str | os.PathLike | None = None,
    **overrides,
) -> FactsReport:
    """Run the fact scenarios ``replicates`` times at ``size`` persons and judge the facts.

    Args:
        size: persons per population (MODEL.md §7 says 100,000).
        replicates: replicates per scenario, seeded from ``SeedSequence(root_seed)``.
        steps: horizon override (None: the scenarios' own, 365 days).
        root_seed: root seed of the replicate seeds.
        workers: processes (results do not depend on it).
        progress: called with the number of finished replicates' worth of runs.
        out: keep the runs in this sweep folder (default: a temporary folder, removed).
        **overrides: scenario overrides applied to every scenario (e.g. for calibration).

    Returns:
        The per-run table and the six facts.

    Raises:
        FishpondError: a bad option or output folder, or a run that failed.

    Example (not run as a doctest: it needs a finished sweep or minutes)::

        report = measure_facts(size=2000, replicates=2, steps=30)
        print(report.table())
    """
    exp = facts_experiment(size, replicates, steps, root_seed, **overrides)
    per = len(FACT_SCENARIOS)

    def report(done: int, total: int, failed: int) -> None:
        if progress is not None:
            progress(done // per)

    with tempfile.TemporaryDirectory(prefix="fishpond-facts-") as tmp:
        folder = Path(out) if out is not None else Path(tmp) / "facts"
        run_sweep(exp, folder, workers=workers, progress=report)
        results, series = store.read_results(folder), store.read_timeseries(folder)
    failed = results[results["status"] != "ok"]
    if len(failed):
        raise FishpondError(f"facts: {len(failed)} of {len(results)} runs failed, e.g. "
                            f"{failed['scenario'].iloc[0]}: {failed['error'].iloc[0]}")
    runs = fact_runs(results, series)
    horizon = steps if steps is not None else 365
    return FactsReport(runs=runs, facts=evaluate(runs), size=size, replicates=replicates,
                       steps=horizon)
