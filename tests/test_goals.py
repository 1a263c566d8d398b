"""Goal files: levers, objectives and constraints, validated with file:line errors."""

from __future__ import annotations

import math
import textwrap

import numpy as np
import pytest

from sim.cli import main
from sim.errors import ScenarioError
from sim.experiments import experiment_from_dict
from sim.experiments import replicate_seeds as sweep_seeds
from sim.goals import (
    Constraint,
    candidate_scenario,
    fresh_seeds,
    goal_from_dict,
    goal_hash,
    load_goal,
    replicate_seeds,
    shipped_goals,
)

BASE = {"base": "fish_pond", "overrides": {"population": {"size": 2000}, "steps": 30},
        "objective": {"minimize": "cost"}}


def goal(**over):
    return goal_from_dict({**BASE, "levers": {"seeding.count": "10..50"}, **over})


def test_the_shipped_goal_loads_and_every_lever_value_is_a_valid_scenario():
    assert shipped_goals() == ["cheapest_inflection"]
    g = load_goal("cheapest_inflection")
    assert [lv.key for lv in g.lever_list] == ["seeding.count", "seeding.strategy",
                                               "program.content_per_week",
                                               "program.activities_per_month"]
    assert g.base_scenario.population.size == 10_000 and g.base_scenario.steps == 90
    for lever in g.lever_list:
        for value in lever.values_to_check():
            sc = candidate_scenario(g, {lever.key: value})
            assert sc.model_dump()[lever.path[0]][lever.path[1]] == value


def test_lever_forms_become_int_float_step_log_and_choice_levers():
    g = goal(levers={"seeding.count": "20..500", "rules.invite_rate": "0.005..0.03",
                     "program.ads.daily_budget": "0..5000 step 250",
                     "program.content_per_week": {"low": 0.5, "high": 21, "log": True},
                     "seeding.strategy": ["degree", "random"]})
    kinds = {lv.key: (lv.kind, lv.low, lv.high, lv.step, lv.log, lv.choices)
             for lv in g.lever_list}
    assert kinds == {
        "seeding.count": ("int", 20, 500, None, False, ()),
        "rules.invite_rate": ("float", 0.005, 0.03, None, False, ()),
        "program.ads.daily_budget": ("float", 0.0, 5000.0, 250.0, False, ()),
        "program.content_per_week": ("float", 0.5, 21.0, None, True, ()),
        "seeding.strategy": ("choice", None, None, None, False, ("degree", "random")),
    }


def test_objectives_and_constraints_are_parsed():
    g = goal(objective=None, objectives=[{"maximize": "members"}, {"minimize": "cost"}],
             constraints=["P(day_explosion <= 180) >= 0.8", "cost <= 1_000_000",
                          "P(day_1000 < 60) >= 0.5"])
    assert [(o.metric, o.direction, o.stat) for o in g.objective_list] == [
        ("members", "maximize", "mean"), ("cost", "minimize", "mean")]
    c = g.constraint_list
    assert (c[0].metric, c[0].op, c[0].value, c[0].probability) == ("day_explosion", "<=",
                                                                     180.0, 0.8)
    assert (c[1].metric, c[1].op, c[1].value, c[1].probability) == ("cost", "<=", 1e6, None)
    assert (c[2].metric, c[2].op, c[2].value) == ("day_1000", "<", 60.0)
    assert g.metrics == ["members", "cost", "day_explosion", "day_1000"]


def test_constraint_violations_are_negative_when_met():
    p = Constraint("P(day_explosion <= 180) >= 0.8", "day_explosion", "<=", 180.0, 0.8)
    assert p.share(np.array([100, 170, 181, 200.0])) == 0.5
    assert p.violation(np.array([100, 170, 181, 200.0])) == pytest.approx(0.3)
    assert p.violation(np.array([100, 170, 175, 200.0])) == pytest.approx(0.05)
    assert p.violation(np.array([100, 170, 175, 180.0])) == pytest.approx(-0.2)
    m = Constraint("cost <= 1000", "cost", "<=", 1000.0)
    assert m.violation(np.array([900, 1300.0])) == 100.0
    assert m.violation(np.array([900, 1000.0])) < 0
    g = Constraint("members > 10", "members", ">", 10.0)
    assert g.violation(np.array([10.0])) > 0 and g.violation(np.array([11.0])) == -1.0
    assert math.isinf(p.violation(np.array([])))


def test_seeds_are_a_sweeps_common_seeds_and_the_check_seeds_are_fresh():
    g = goal(replicates=5, seed=7, check={"replicates": 4})
    exp = experiment_from_dict({"scenario": "fish_pond", "replicates": 5, "seed": 7,
                                "design": {"kind": "grid",
                                           "parameters": {"seeding.count": [10]}}})
    assert replicate_seeds(g) == sweep_seeds(exp, 1)[0]
    assert len(fresh_seeds(g)) == 4 and not set(fresh_seeds(g)) & set(replicate_seeds(g))
    assert replicate_seeds(g, seed=8) != replicate_seeds(g)
    assert goal_hash(g) == goal_hash(goal(replicates=5, seed=7, check={"replicates": 4}))
    assert goal_hash(g) != goal_hash(g, seed=8)


def test_candidate_scenario_sets_the_levers_and_keeps_the_rest():
    g = goal(levers={"seeding.count": "10..50", "program.ads.daily_budget": "0..100"})
    sc = candidate_scenario(g, {"seeding.count": 33, "program.ads.daily_budget": 7.5})
    assert sc.seeding.count == 33 and sc.program.ads.daily_budget == 7.5
    assert sc.population.size == 2000 and sc.steps == 30
    assert sc.program.ads.cost_per_join == g.base_scenario.program.ads.cost_per_join


BAD = [
    ("levers:\n  seeding.count: 10..oops", 6, "levers.seeding.count = '10..oops': not a range"),
    ("levers:\n  seeding.cont: 10..50", 6,
     "levers.seeding.cont: unknown scenario key 'seeding.cont'; did you mean 'seeding.count'?"),
    ("levers:\n  seeding.count: 10..5000", 6,
     "levers.seeding.count = '10..5000': the value 5000 makes an invalid scenario"),
    ("levers:\n  seeding.strategy: 1..5", 6, "seeding.strategy is not a number"),
    ("levers:\n  seeding.strategy: [degree, bogus]", 6,
     "the value 'bogus' makes an invalid scenario: seeding.strategy = 'bogus'"),
    ("levers:\n  seeding.count: 10.5..50", 6, "seeding.count is a whole number"),
    ("levers:\n  seeding.count: 50..10", 6, "not LOW..HIGH with LOW < HIGH"),
    ("levers:\n  seeding.count: []", 6, "empty list of choices"),
    ("levers:\n  rules.invite_rate: {low: 0.1}", 6, "a range needs low: and high:"),
    ("levers:\n  seeding: [{count: 1}]", 6, "not a plain value"),
    ("levers:\n  seeding.count: 10..50\n  seeding: [a]", 7, "overlaps the lever seeding.count"),
    ("levers:\n  seed: 1..5", 6, "the run seed comes from"),
    ("levers: {seeding.count: 1..9}\nconstraints: ['P(day_explosoin <= 5) >= 0.8']", 6,
     "unknown metric 'day_explosoin'; did you mean 'day_explosion'?"),
    ("levers: {seeding.count: 1..9}\nconstraints: ['cost is small']", 6, "not a constraint"),
    ("levers: {seeding.count: 1..9}\nconstraints: ['P(cost < 5) >= 1.5']", 6,
     "probability 1.5 is not in (0, 1]"),
    ("levers: {seeding.count: 1..9}\nreplicat: 3", 6, "replicat: unknown key; did you mean "
     "'replicates'?"),
    ("levers: {seeding.count: 1..9}\nreplicates: 0", 6, "replicates = 0:"),
    ("levers: {seeding.count: 1..9}\nobjectives: [{maximize: members}]", 4,
     "give either objective: (one) or objectives: (two"),
]


@pytest.mark.parametrize("tail, line, text", BAD)
def test_a_bad_goal_is_one_line_with_file_line_key_and_value(tmp_path, capsys, monkeypatch,
                                                              tail, line, text):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.yaml").write_text(textwrap.dedent("""\
        base: fish_pond
        overrides:
          population: {size: 2000}
        objective: {minimize: cost}
        """) + tail + "\n")
    with pytest.raises(ScenarioError) as err:
        load_goal(tmp_path / "g.yaml")
    assert str(err.value).startswith(f"g.yaml:{line}: "), str(err.value)
    assert text in str(err.value)
    assert main(["optimize", "g.yaml", "--quiet"]) == 2
    out, errors = capsys.readouterr()
    assert out == "" and len(errors.strip().splitlines()) == 1 and "Traceback" not in errors
    assert text in errors
    assert not (tmp_path / "runs").exists()


def test_unknown_objective_metric_and_missing_goal(tmp_path, capsys):
    with pytest.raises(ScenarioError, match=r"objective.minimize = 'cots': unknown metric; "
                                            r"did you mean 'cost'\?"):
        goal(objective={"minimize": "cots"})
    with pytest.raises(ScenarioError, match="one of minimize: or maximize:"):
        goal(objective={"minimize": "cost", "maximize": "members"})
    with pytest.raises(ScenarioError, match="stat = 'mode': unknown statistic"):
        goal(objective={"minimize": "cost", "stat": "mode"})
    assert main(["optimize", str(tmp_path / "nope.yaml")]) == 2
    err = capsys.readouterr().err
    assert "nope.yaml: goal file not found" in err and "cheapest_inflection" in err
