"""The app's logic without a browser: levers -> scenario, A/B in words, the network sample."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.errors import OutputError, ScenarioError
from sim.explore import (
    LEVERS,
    Exploration,
    Levers,
    ab_words,
    levers_scenario,
    network_sample,
    sample_frame,
    save_scenario,
)
from sim.model import GrowthModel
from sim.population import build_graph
from sim.scenario_io import load_scenario

SMALL = ["population.size=2000", "steps=30"]


@pytest.fixture(scope="module")
def base():
    return load_scenario("fish_pond", SMALL)


def test_every_lever_sets_its_key_path(base):
    levers = Levers.of(base)
    changed = levers.replace(population_size=3000, steps=40, seed_count=50,
                             seeding_strategy="random", content_per_week=2.0,
                             activities_per_month=5.0, common_task_days=0, recruit_count=0,
                             entry_gate="review", ads_daily_budget=300.0, seed=7)
    sc = levers_scenario(base, changed)
    assert (sc.population.size, sc.steps, sc.seeding.count, sc.seeding.strategy) == (
        3000, 40, 50, "random")
    assert (sc.program.content_per_week, sc.program.activities_per_month) == (2.0, 5.0)
    assert (sc.program.common_task.days, sc.program.recruit.count) == (0, 0)
    assert (sc.program.entry_gate.kind, sc.program.ads.daily_budget, sc.seed) == (
        "review", 300.0, 7)
    assert sc.rules == base.rules  # the other keys are the base's
    assert {lever.name for lever in LEVERS} | {"seed"} == set(vars(changed))


def test_levers_of_a_scenario_round_trip(base):
    assert levers_scenario(base, Levers.of(base)) == base


def test_levers_are_clamped_into_the_controls_range():
    big = load_scenario("fish_pond", ["population.size=1000000"])
    assert Levers.of(big).population_size == 100_000


def test_bad_combination_is_one_line(base):
    pulled = load_scenario("mass_pull", SMALL + ["mass_pull.count=1900"])  # 1,900 pulled in
    with pytest.raises(ScenarioError, match=r"^app: mass_pull.count = 1900: seeding.count \+ "
                       r"mass_pull.count = 1900 exceeds population.size = 1000; allowed"):
        levers_scenario(pulled, Levers.of(pulled).replace(population_size=1000))
    with pytest.raises(ScenarioError, match="unknown lever 'invite'"):
        Levers.of(base).replace(invite=1)


def test_changed_names_the_levers_in_words(base):
    a = Levers.of(base)
    assert a.changed(a) == []
    assert a.replace(seed_count=110, seed=3).changed(a) == [
        "Seed members (fry) 110 (was 100)", "seed 3 (was 42)"]


def test_saved_scenario_runs_to_the_same_numbers(base, tmp_path):
    levers = Levers.of(base).replace(content_per_week=3.0, seed_count=60)
    sc = levers_scenario(base, levers)
    path = save_scenario(sc, tmp_path / "out", stem="mine")
    again = save_scenario(sc, tmp_path / "out", stem="mine")
    assert (path.name, again.name) == ("mine.yaml", "mine-2.yaml")  # never overwritten
    assert load_scenario(path) == sc
    shown = Exploration(sc)
    for _ in range(15):
        shown.step()
    run = GrowthModel(load_scenario(path))
    run.run(15)
    pd.testing.assert_frame_equal(run.timeseries(), shown.a.timeseries())
    assert not list((tmp_path / "out").glob(".*tmp"))


def test_save_into_a_file_is_refused(base, tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(OutputError, match="cannot save the scenario there"):
        save_scenario(base, tmp_path / "f")


def test_a_and_b_step_together_on_the_same_seed(base):
    b = load_scenario("no_feed")  # its own size and seed are replaced by A's
    model = Exploration(base, b, label_b="B (no_feed)")
    assert model.b.scenario.population.size == 2000 and model.b.seed == base.seed
    for _ in range(10):
        model.step()
    assert model.day == model.b.day == 10
    alone = GrowthModel(load_scenario("no_feed", SMALL))
    alone.run(10)
    assert int(alone.timeseries().members.iloc[-1]) == int(model.b.timeseries().members.iloc[-1])
    words = model.words()
    assert words.startswith("Day 10: A has") and "B (no_feed)" in words


def test_exploration_stops_at_the_horizon():
    sc = load_scenario("fish_pond", ["population.size=1000", "steps=3"])
    model = Exploration(sc)
    for _ in range(5):
        model.step()
    assert model.day == 3 and not model.running


def test_ab_words_say_who_leads_and_by_how_much():
    a = pd.DataFrame({"day": [0, 1, 2], "members": [100, 900, 1200], "cost": [0.0, 10.0, 20.0]})
    b = pd.DataFrame({"day": [0, 1, 2], "members": [100, 500, 1500], "cost": [0.0, 5.0, 9.0]})
    text = ab_words(a, b, [1000], "A", "B", "EUR")
    assert "B is ahead by 300 members (+25%)" in text
    assert "Both reached 1,000 members on day 2." in text
    assert "A spent 20 EUR" in text and "B 9 EUR" in text
    level = ab_words(a, a, [100], "A", "B")
    assert "they are level" in level and "Both reached 100 members on day 0" in level
    assert ab_words(a.iloc[:0], None, [100]) == "No day simulated yet."
    assert "1,000 members on not yet" in ab_words(a.iloc[:2], None, [1000])
    late = b.assign(members=[100, 500, 900])
    assert "A reached 1,000 members on day 2; B: not yet." in ab_words(a, late, [1000])
    early = b.assign(members=[100, 1000, 1500])
    assert "B reached 1,000 members 1 days before A (day 1 against 2)." in ab_words(
        a, early, [1000])


def test_network_sample_is_bounded_and_holds_the_seeds():
    sc = load_scenario("fish_pond", ["population.size=20000"])
    graph = build_graph(sc.population, 1)
    seeds = np.argsort(-np.diff(graph.indptr))[:100]
    nodes, edges = network_sample(graph, seeds, 300)
    assert len(nodes) == 300 == len(set(nodes.tolist()))
    assert set(seeds[:100].tolist()) <= set(nodes.tolist())
    assert edges.shape[1] == 2 and len(edges) > 0 and (edges[:, 0] < edges[:, 1]).all()
    for k, j in edges[:50].tolist():  # every tie is a tie of the graph
        i = nodes[k]
        assert nodes[j] in graph.indices[graph.indptr[i]:graph.indptr[i + 1]]
    again = network_sample(graph, seeds, 300)
    assert (again[0] == nodes).all() and (again[1] == edges).all()


def test_network_sample_of_tiny_graphs():
    from sim.population import from_edges

    g = from_edges(4, np.array([0]), np.array([1]))  # persons 2 and 3 are alone
    nodes, edges = network_sample(g, np.array([0]), size=10)
    assert sorted(nodes.tolist()) == [0, 1, 2, 3] and edges.tolist() == [[0, 1]]


def test_sample_frame_groups():
    frame = sample_frame(np.zeros((4, 2)), np.array([1, 1, 2, 0]), np.array([2, 0, -1, -1]))
    assert frame.group.tolist() == ["KOL", "lurker", "churned", "not a member"]
