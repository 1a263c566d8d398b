"""The stylized facts of MODEL.md §7 (1-11), measured over replicates of the shipped scenarios.

The measurement runs in two stages. First an experiment like any sweep
(:func:`facts_experiment`): a ``scenarios`` design of :data:`SWEEP_SCENARIOS`, run by the same
executors into the same store. Replicate ``r`` of every scenario has the same run seed, drawn
from ``SeedSequence(root_seed)`` as in every experiment, so each replicate runs every scenario
on the same population (the graph and fit depend only on the seed): the scenarios are compared
on common random numbers. Then fact 6's ads scenario (:data:`ADS_SCENARIO`) runs once per
replicate on that replicate's seed, with ``program.ads.daily_budget`` set to the total cost of
the fish-pond run of the same replicate divided by its days (:func:`ads_runs`), so the two
spend the same money by construction. Each fact compares medians, and is printed with its 90%
intervals (5th-95th percentiles over replicates). Fact 11 says which facts must hold at the
population size measured (:func:`required_facts`).

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
from .experiments import (
    Experiment,
    RunRecorder,
    RunSpec,
    expand,
    experiment_from_dict,
    experiment_hash,
    run_sweep,
)
from .scenario_io import merge_scenario_data

SWEEP_SCENARIOS = ("fish_pond", "no_feed", "random_seeds", "mass_pull")  # the first stage
ADS_SCENARIO = "paid_ads"  # the second stage: its budget comes from the fish pond's cost
FACT_SCENARIOS = SWEEP_SCENARIOS + (ADS_SCENARIO,)
NEVER = math.inf  # a milestone never reached counts as later than any day
ALL_FACTS = tuple(range(1, 11))  # facts 1-10; fact 11 is the rule on which must hold
SMALL_SIZE = 50_000  # below it (the 20,000 of MODEL.md §7 fact 11) only SMALL_FACTS must hold
SMALL_FACTS = (2, 3, 4, 5, 6, 7, 9)


def required_facts(size: int) -> tuple[int, ...]:
    """The facts that must hold at ``size`` persons (MODEL.md §7 fact 11).

    Args:
        size: persons per population.

    Returns:
        Facts 1-10 at 50,000 persons and above (MODEL.md names 100,000 and 1,000,000); facts
        2-7 and 9 below (MODEL.md names 20,000: 100 seeds are a large part of any community).

    Example:
        >>> required_facts(100_000), required_facts(20_000)
        ((1, 2, 3, 4, 5, 6, 7, 8, 9, 10), (2, 3, 4, 5, 6, 7, 9))
    """
    return SMALL_FACTS if size < SMALL_SIZE else ALL_FACTS


def _span(numbers: tuple[int, ...]) -> str:
    """``(1, 2, 3, 5)`` -> ``'1-3, 5'``."""
    parts: list[str] = []
    for n in numbers:
        if parts and parts[-1][1] == n - 1:
            parts[-1] = (parts[-1][0], n)
        else:
            parts.append((n, n))
    return ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in parts)


@dataclass
class Fact:
    """One stylized fact: its statement, what was measured and whether it holds."""

    number: int
    statement: str
    measured: str
    passed: bool


@dataclass
class FactsReport:
    """Per-run results (one row per scenario and replicate) and facts 1-11."""

    runs: pd.DataFrame
    facts: list[Fact] = field(default_factory=list)
    size: int = 0
    replicates: int = 0
    steps: int = 0

    @property
    def required(self) -> tuple[int, ...]:
        """The facts that must hold at this size (:func:`required_facts`)."""
        return required_facts(self.size)

    @property
    def all_passed(self) -> bool:
        """Whether every fact required at this size holds (fact 11)."""
        return all(f.passed for f in self.facts if f.number in self.required)

    def table(self) -> str:
        """The facts as printable text, one block per fact."""
        lines = [
            (f"Stylized facts (MODEL.md §7): {self.size:,} persons, {self.replicates} "
             f"replicates, {self.steps} days; medians [90% intervals]")
        ]
        for f in self.facts:
            lines.append(f"{'PASS' if f.passed else 'FAIL'}  {f.number}. {f.statement}")
            lines.extend(f"        {line}" for line in f.measured.splitlines())
        lines.append(f"{sum(f.passed for f in self.facts)} of {len(self.facts)} facts hold; "
                     f"required at {self.size:,} persons: facts {_span(self.required)}")
        return "\n".join(lines)


RUN_COLUMNS = ("members", "kols", "day_inflection", "day_explosion", "contributor_share",
               "commitment_share", "lurker_share", "top20_referral_share",
               "nonseed_top20_referral_share", "seed_referral_share",
               "nonseed_referral_share_90d", "retention_120", "retention_by_source_ads_120",
               "busiest_joins_30d_start", "bass_p", "bass_q", "steps", "cost",
               "cost_per_retained_member")


def facts_experiment(size: int = 100_000, replicates: int = 20, steps: int | None = None,
                     root_seed: int = 0, **overrides) -> Experiment:
    """The first stage of the facts: each of :data:`SWEEP_SCENARIOS`, ``replicates`` times.

    The ads scenario runs afterwards, on budgets read from this stage (:func:`ads_runs`).

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
        >>> exp.design.files == list(SWEEP_SCENARIOS), exp.replicates, exp.common_seeds
        (True, 2, True)
    """
    over: dict = {"population": {"size": size}}
    if steps is not None:
        over["steps"] = steps
    over = merge_scenario_data(over, overrides)
    return experiment_from_dict(
        {"name": "stylized facts", "replicates": replicates, "seed": root_seed,
         "overrides": over, "design": {"kind": "scenarios", "files": list(SWEEP_SCENARIOS)}},
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
        if column not in results:  # e.g. retention_by_source_ads_120 in a run shorter than 120
            runs[column] = math.nan
            continue
        values = results[column].astype(float).to_numpy()
        runs[column] = np.where(np.isnan(values), NEVER, values) if column.startswith("day_") \
            else results[column].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        members = runs["members"].astype(float).to_numpy()
        runs["kol_share"] = np.where(members > 0, runs["kols"].astype(float) / members, math.nan)
        p, q = runs["bass_p"].astype(float).to_numpy(), runs["bass_q"].astype(float).to_numpy()
        runs["bass_qp"] = np.where(p > 0, q / p, math.nan)
    return runs


def ads_runs(exp: Experiment, results: pd.DataFrame) -> list[RunSpec]:
    """The second stage of the facts: the ads scenario once per replicate of ``exp``.

    Replicate ``r`` runs :data:`ADS_SCENARIO` (with ``exp``'s overrides) on the run seed of
    replicate ``r`` of the first stage, with ``program.ads.daily_budget`` = the total cost
    of that replicate's fish-pond run / its days: both spend the same money (MODEL.md §7,
    fact 6).

    Args:
        exp: the first stage (:func:`facts_experiment`).
        results: its results (every fish-pond run ok), with ``replicate``, ``seed``,
            ``cost`` and ``steps``.

    Returns:
        One run per replicate, ``run_id`` following the first stage's, design point
        ``len(SWEEP_SCENARIOS)``; ``params`` name the scenario and the budget.
    """
    fp = results[results["scenario"] == "fish_pond"].sort_values("replicate")
    budgets = [float(c) / float(d) for c, d in zip(fp["cost"], fp["steps"])]
    ads = experiment_from_dict(
        {"name": "stylized facts: ads on the fish pond's spend", "replicates": 1,
         "seed": exp.seed, "overrides": exp.overrides, "scenario": ADS_SCENARIO,
         "design": {"kind": "grid", "parameters": {"program.ads.daily_budget": budgets}}},
        source="fishpond facts")
    first = len(expand(exp))
    specs = []
    for r, (point, seed, budget) in enumerate(zip(expand(ads), fp["seed"], budgets)):
        seed = int(seed)
        specs.append(RunSpec(first + r, len(SWEEP_SCENARIOS), int(fp["replicate"].iloc[r]), seed,
                             point.scenario.model_copy(update={"seed": seed}),
                             {"scenario": ADS_SCENARIO, "program.ads.daily_budget": budget},
                             point.scenario_hash))
    return specs


def run_ads(specs: list[RunSpec], folder: Path, digest: str, workers: int = 1,
            progress: Callable[[int, int, int], None] | None = None) -> Path:
    """Run the second stage (:func:`ads_runs`) into the sweep folder ``folder``.

    Args:
        specs: the runs.
        folder: a new folder (results/, timeseries/ and manifest.json, as a sweep's).
        digest: the first stage's experiment hash (a column of every row).
        workers: processes (results do not depend on it).
        progress: called with ``(done, total, failed)``.

    Returns:
        ``folder``.
    """
    from . import executors

    info = {"kind": "facts: ads stage", "experiment": digest, "runs": len(specs),
            "scenario": ADS_SCENARIO, "seeds": [s.seed for s in specs],
            "daily_budgets": [s.params["program.ads.daily_budget"] for s in specs],
            "note": "program.ads.daily_budget = the fish-pond run's total cost / its days, "
                    "per replicate, on the same seed"}
    runner = executors.make(workers)
    try:
        store.prepare(folder, info, resume=False)
        writer = store.BatchWriter(folder, max(10, len(specs)))
        status = "interrupted"
        try:
            executors.drive(runner, specs, RunRecorder(writer, digest), retries=1,
                            total=len(specs), done=0, progress=progress or False)
            status = "complete"
        finally:
            store.finish(folder, status)
    finally:
        runner.close()
    return folder


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


def evaluate(runs: pd.DataFrame, size: int = 100_000) -> list[Fact]:
    """Judge facts 1-11 from per-run results (see :func:`fact_runs` for the columns).

    Args:
        runs: one row per scenario and replicate.
        size: the population size measured (fact 11: which facts must hold).

    Returns:
        Facts 1 to 11, in order.
    """

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
    a, ta = s("fish_pond", "nonseed_top20_referral_share")
    facts.append(Fact(
        4,
        "The 70/20 pattern among ordinary members: the top 20% of non-seed members by "
        "intimacy credited with 60-80% of the non-seeds' referral joins",
        f"fish pond non-seed top-20% referral share: {ta}\n"
        f"beside it: seeds' share of all referral joins "
        f"{s('fish_pond', 'seed_referral_share')[1]}; top-20% share of all members "
        f"{s('fish_pond', 'top20_referral_share')[1]}",
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
    b30, tb30 = s(ADS_SCENARIO, "members_day30")
    ac, tac = s("fish_pond", "cost_per_retained_member")
    bc, tbc = s(ADS_SCENARIO, "cost_per_retained_member")
    spa, tspa = s("fish_pond", "cost")
    spb, tspb = s(ADS_SCENARIO, "cost")
    facts.append(Fact(
        6,
        "Ads buy speed, not loyalty: the fish pond's money spent on ads instead grows "
        "faster in month one, ends costlier per retained member",
        f"members on day 30: ads {tb30} vs fish pond {ta30}\n"
        f"cost per retained member: ads {tbc} vs fish pond {tac}\n"
        f"total spend: ads {tspb} vs fish pond {tspa}; ratio "
        f"{_fmt(spb / spa) if spa else 'n/a'} (budget = the fish pond's cost / days)",
        bool(b30 > a30 and bc > ac),
    ))
    a, ta = s("fish_pond", "seed_referral_share")
    b, tb = s("fish_pond", "nonseed_referral_share_90d")
    facts.append(Fact(
        7,
        "The fish attract fish: seeds credited with at most 40% of the year's referral "
        "joins, non-seeds with at least 60% of the last 90 days'",
        f"seeds' share of all referral joins: {ta}\n"
        f"non-seeds' share of the last 90 days' referral joins: {tb}",
        bool(a <= 0.40 and b >= 0.60),
    ))
    lurk, tlurk = s("fish_pond", "lurker_share")
    kol, tkol = s("fish_pond", "kol_share")
    com, tcom = s("fish_pond", "commitment_share")
    facts.append(Fact(
        8,
        "Most members lurk: at the horizon lurkers 70-95% of members, KOLs at most 3%, "
        "commitment share 5-35%",
        f"lurker share {tlurk}; KOLs / members {tkol}; commitment share {tcom}",
        bool(0.70 <= lurk <= 0.95 and kol <= 0.03 and 0.05 <= com <= 0.35),
    ))
    a, ta = s("fish_pond", "retention_120")
    b, tb = s(ADS_SCENARIO, "retention_by_source_ads_120")
    facts.append(Fact(
        9,
        "Most newcomers drift away: 20-60% of the fish pond's referral joiners of days "
        "1-30 still members on day 120; under 20% of the ads scenario's ad joiners",
        f"fish pond referral cohort on day 120: {ta}\n"
        f"ads scenario's ad cohort on day 120: {tb}",
        bool(0.20 <= a <= 0.60 and b < 0.20),
    ))
    a, ta = s("fish_pond", "busiest_joins_30d_start")
    b, tb = s("fish_pond", "day_inflection")
    qp, tqp = s("fish_pond", "bass_qp")
    after = int((fp.busiest_joins_30d_start.astype(float) > fp.day_inflection.astype(float))
                .sum())
    facts.append(Fact(
        10,
        "Growth is S-shaped: the busiest 30 days of joins begin after the inflection day; "
        "a Bass fit has q/p >= 3",
        f"busiest 30 days begin on day {ta}; inflection day {tb}; after it in "
        f"{after}/{len(fp)} replicates\n"
        f"Bass q/p: {tqp} (p {s('fish_pond', 'bass_p')[1]}, q {s('fish_pond', 'bass_q')[1]} "
        f"per year)",
        bool(a > b and qp >= 3),
    ))
    required = required_facts(size)
    failing = [f.number for f in facts if f.number in required and not f.passed]
    facts.append(Fact(
        11,
        "Not tuned to one size: facts 1-10 hold at 100,000 and 1,000,000 persons; "
        "facts 2-7 and 9 at 20,000",
        f"required at {size:,} persons: facts {_span(required)}; "
        + (f"failing: {', '.join(map(str, failing))}" if failing else "all hold"),
        not failing,
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
    """Run the fact scenarios ``replicates`` times at ``size`` persons and judge facts 1-11.

    Two stages: the sweep of :data:`SWEEP_SCENARIOS`, then the ads scenario once per
    replicate on the fish pond's spend (:func:`ads_runs`).

    Args:
        size: persons per population (MODEL.md §7 says 100,000).
        replicates: replicates per scenario, seeded from ``SeedSequence(root_seed)``.
        steps: horizon override (None: the scenarios' own, 365 days).
        root_seed: root seed of the replicate seeds.
        workers: processes (results do not depend on it).
        progress: called with the number of finished replicates' worth of runs.
        out: keep the runs in this sweep folder (default: a temporary folder, removed): the
            first stage's sweep, with the ads stage's runs in ``out/paid_ads/`` (a sweep
            folder of its own).
        **overrides: scenario overrides applied to every scenario (e.g. for calibration).

    Returns:
        The per-run table and facts 1-11.

    Raises:
        FishpondError: a bad option or output folder, or a run that failed.

    Example (not run as a doctest: it needs a finished sweep or minutes)::

        report = measure_facts(size=2000, replicates=2, steps=30)
        print(report.table())
    """
    exp = facts_experiment(size, replicates, steps, root_seed, **overrides)
    per = len(FACT_SCENARIOS)
    first = len(SWEEP_SCENARIOS) * replicates

    def report(done: int, total: int, failed: int) -> None:
        if progress is not None:
            progress(done // per)

    def report_ads(done: int, total: int, failed: int) -> None:
        report(first + done, first + total, failed)

    with tempfile.TemporaryDirectory(prefix="fishpond-facts-") as tmp:
        folder = Path(out) if out is not None else Path(tmp) / "facts"
        run_sweep(exp, folder, workers=workers, progress=report)
        results = store.read_results(folder)
        _check_ok(results)
        ads = run_ads(ads_runs(exp, results), folder / ADS_SCENARIO, experiment_hash(exp),
                      workers=workers, progress=report_ads)
        ads_results = store.read_results(ads)
        _check_ok(ads_results)
        results = pd.concat([results, ads_results], ignore_index=True)
        series = pd.concat([store.read_timeseries(folder), store.read_timeseries(ads)],
                           ignore_index=True)
    runs = fact_runs(results, series)
    horizon = steps if steps is not None else 365
    return FactsReport(runs=runs, facts=evaluate(runs, size), size=size,
                       replicates=replicates, steps=horizon)


def _check_ok(results: pd.DataFrame) -> None:
    failed = results[results["status"] != "ok"]
    if len(failed):
        raise FishpondError(f"facts: {len(failed)} of {len(results)} runs failed, e.g. "
                            f"{failed['scenario'].iloc[0]}: {failed['error'].iloc[0]}")
