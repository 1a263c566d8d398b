"""The six stylized facts of MODEL.md §7, measured over replicates of the shipped scenarios.

Each replicate ``r`` runs every scenario of :data:`FACT_SCENARIOS` with run seed
``root_seed + r`` on the same population (the graph and fit depend only on the seed, so the
scenarios are compared on common random numbers). Each fact compares medians, and is
printed with its 90% intervals (5th–95th percentiles over replicates).

Example:
    >>> from sim.facts import measure_facts
    >>> report = measure_facts(size=2000, replicates=2, steps=30, workers=1)  # doctest: +SKIP
    >>> print(report.table())  # doctest: +SKIP
"""

from __future__ import annotations

import math
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .threads import single_threaded

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
        return all(f.passed for f in self.facts)

    def table(self) -> str:
        """The facts as printable text, one block per fact."""
        lines = [
            f"Stylized facts (MODEL.md §7): {self.size:,} persons, {self.replicates} replicates, "
            f"{self.steps} days; medians [90% intervals]"
        ]
        for f in self.facts:
            lines.append(f"{'PASS' if f.passed else 'FAIL'}  {f.number}. {f.statement}")
            lines.extend(f"        {line}" for line in f.measured.splitlines())
        lines.append(f"{sum(f.passed for f in self.facts)} of {len(self.facts)} facts hold")
        return "\n".join(lines)


def _one_replicate(job: tuple[int, int, int | None, dict]) -> list[dict]:
    """Run every fact scenario for one seed on one shared population; rows of results."""
    from .model import GrowthModel

    seed, size, steps, extra = job
    rows, graph = [], None
    for name in FACT_SCENARIOS:
        over = {"population": {"size": size}, **extra}
        if steps is not None:
            over["steps"] = steps
        model = GrowthModel(name, rng=seed, graph=graph, **over)
        if graph is None:
            graph = model.graph
        model.run()
        ts = model.timeseries()
        s = model.summary()
        day30 = min(30, len(ts) - 1)
        rows.append(
            {
                "scenario": name,
                "seed": seed,
                "members_day1": int(ts.members.iloc[1]),
                "members_day30": int(ts.members.iloc[day30]),
                "members": s["members"],
                "day_inflection": NEVER if s["day_inflection"] is None else s["day_inflection"],
                "day_explosion": NEVER if s["day_explosion"] is None else s["day_explosion"],
                "contributor_share": s["contributor_share"],
                "commitment_share": s["commitment_share"],
                "top20_referral_share": s["top20_referral_share"],
                "cost": s["cost"],
                "cost_per_retained_member": s["cost_per_retained_member"],
            }
        )
    return rows


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
    """Judge the six facts from per-run results (see :func:`_one_replicate` columns)."""

    def s(scenario, metric):
        return _stat(runs, scenario, metric)

    fp = runs[runs.scenario == "fish_pond"]
    facts = []
    inflect_all = bool((fp.day_inflection < NEVER).all())
    explode_share = float((fp.day_explosion < NEVER).mean())
    facts.append(Fact(
        1, "Fish pond grows through the milestones: reaches 1,000 in every replicate, 10,000 in most",
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
        f"members at horizon: fish pond {ta}; no feed {tb}; ratio {b / a:.2f}" if a else "no members",
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
        4, "The 70/20 pattern: top 20% of members by intimacy credited with 60-80% of referral joins",
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
    facts.append(Fact(5, "A crowd is not a community: a 2,000-person mass pull starts bigger, ends "
                         "smaller, with lower contributor and commitment shares", "\n".join(text), all(checks)))
    a30, ta30 = s("fish_pond", "members_day30")
    b30, tb30 = s("paid_ads", "members_day30")
    ac, tac = s("fish_pond", "cost_per_retained_member")
    bc, tbc = s("paid_ads", "cost_per_retained_member")
    spa, tspa = s("fish_pond", "cost")
    spb, tspb = s("paid_ads", "cost")
    equal_spend = abs(spb / spa - 1) <= 0.10 if spa else False
    facts.append(Fact(
        6, "Ads buy speed, not loyalty: equal spend (within 10%) grows faster in month one, ends costlier per member",
        f"members on day 30: ads {tb30} vs fish pond {ta30}\n"
        f"cost per retained member: ads {tbc} vs fish pond {tac}\n"
        f"total spend: ads {tspb} vs fish pond {tspa} ({'equal' if equal_spend else 'NOT equal'} within 10%)",
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
    **overrides,
) -> FactsReport:
    """Run the fact scenarios ``replicates`` times at ``size`` persons and judge the facts.

    Args:
        size: persons per population (MODEL.md §7 says 100,000).
        replicates: seeds ``root_seed .. root_seed + replicates - 1``.
        steps: horizon override (None: the scenarios' own, 365 days).
        workers: processes (results do not depend on it).
        progress: called with the number of finished replicates.
        **overrides: scenario overrides applied to every scenario (e.g. for calibration).
    """
    jobs = [(root_seed + r, size, steps, overrides) for r in range(replicates)]
    rows: list[dict] = []
    if workers <= 1:
        for done, job in enumerate(jobs, 1):
            rows.extend(_one_replicate(job))
            if progress:
                progress(done)
    else:
        with ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=single_threaded,  # one Numba thread per worker process
        ) as pool:
            for done, result in enumerate(pool.map(_one_replicate, jobs), 1):
                rows.extend(result)
                if progress:
                    progress(done)
    runs = pd.DataFrame(rows)
    horizon = steps if steps is not None else 365
    return FactsReport(runs=runs, facts=evaluate(runs), size=size, replicates=replicates, steps=horizon)
