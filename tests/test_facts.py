"""The six stylized facts of MODEL.md §7 hold with the shipped defaults (reduced replicates).

The population stays at the 100,000 persons of MODEL.md §7: the milestones of fact 1 are
absolute member counts (1,000 and 10,000), so a smaller population would change what the
facts say, not just their precision. The replicate count is reduced from 20 to 3: in the
full run (`fishpond facts`, recorded in benchmarks/RESULTS.md) every fact holds with its
whole 90% interval on the right side of its threshold, so three replicates decide the
same way. About a minute on two cores.
"""

from __future__ import annotations

import pytest

from sim.facts import FACT_SCENARIOS, evaluate, measure_facts


@pytest.fixture(scope="module")
def report():
    return measure_facts(size=100_000, replicates=3, root_seed=1000, workers=2)


def test_the_runs_cover_every_fact_scenario(report):
    assert sorted(report.runs.scenario.unique()) == sorted(FACT_SCENARIOS)
    assert len(report.runs) == 3 * len(FACT_SCENARIOS)


@pytest.mark.parametrize("number", range(1, 7))
def test_stylized_fact_holds(report, number):
    fact = report.facts[number - 1]
    assert fact.number == number
    assert fact.passed, f"fact {number} fails: {fact.statement}\n{fact.measured}"


def test_the_judge_can_say_fail(report):
    # Swap the fish pond and the no-feed results: fact 2 must then fail.
    runs = report.runs.copy()
    fp, nf = runs.scenario == "fish_pond", runs.scenario == "no_feed"
    runs.loc[fp, "scenario"], runs.loc[nf, "scenario"] = "no_feed", "fish_pond"
    assert not evaluate(runs)[1].passed
