"""sim.compare: a comparison is a scenarios design on common seeds, run like any sweep."""

from __future__ import annotations

import pandas as pd
import pytest

from sim.compare import (
    COMPARISON_FILE,
    check_scenarios,
    comparison_experiment,
    default_out,
    judge,
)
from sim.errors import FishpondError, ScenarioError
from sim.experiments import expand, replicate_seeds, run_sweep
from sim.yamlio import settings_data

TINY = ["population.size=300", "steps=15", "seeding.count=20"]


def test_check_scenarios_returns_files_and_the_overrides_as_one_mapping():
    paths, overrides = check_scenarios(["fish_pond", "no_feed"], TINY + ["steps=12"])
    assert [p.name for p in paths] == ["fish_pond.yaml", "no_feed.yaml"]
    assert overrides == {"population": {"size": 300}, "steps": 12, "seeding": {"count": 20}}
    assert overrides == settings_data(TINY + ["steps=12"])  # one parser of --set
    assert default_out(paths).as_posix() == "runs/compare-fish_pond-no_feed"


@pytest.mark.parametrize("scenarios,overrides,needle", [
    (["fish_pond"], [], "compare fish_pond: one scenario; allowed: two or more"),
    (["fish_pond", "fish_pond.yaml"], [], "fish_pond.yaml is given twice (fish_pond)"),
    (["fish_pond", "no_feed"], ["seed=3"], "--set seed=3: compare sets the run seeds"),
    (["fish_pond", "no_feed"], ["rules.invite_rate=2"], "rules.invite_rate = 2: must be <= 1"),
    (["fish_pond", "no_feed"], ["novalue"], "--set novalue: expected KEY.PATH=VALUE"),
])
def test_check_scenarios_refuses_bad_input_before_anything_runs(scenarios, overrides, needle):
    with pytest.raises((FishpondError, ScenarioError)) as err:
        check_scenarios(scenarios, overrides)
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_the_comparison_is_an_experiment_with_the_seeds_of_every_experiment():
    paths, overrides = check_scenarios(["fish_pond", "random_seeds", "no_feed"], TINY)
    exp = comparison_experiment(["fish_pond", "random_seeds", "no_feed"], paths, overrides,
                                replicates=4, seed=7)
    runs = expand(exp)
    assert len(runs) == 12 and exp.design.kind == "scenarios"
    seeds = replicate_seeds(exp, 3)
    assert seeds[0] == seeds[1] == seeds[2] and len(set(seeds[0])) == 4  # common random numbers
    assert [r.seed for r in runs[:4]] == seeds[0]
    assert {r.scenario.population.size for r in runs} == {300}
    with pytest.raises(ScenarioError, match="runs"):
        comparison_experiment(["fish_pond", "no_feed"], paths[:2], overrides, replicates=4,
                              max_runs=5)


def test_judge_writes_the_comparison_table(tmp_path):
    names = ["fish_pond", "no_feed"]
    paths, overrides = check_scenarios(names, TINY)
    out = run_sweep(comparison_experiment(names, paths, overrides, replicates=3, seed=1),
                    tmp_path / "cmp", workers=1, progress=False)
    found = judge(out)
    assert found.baseline == "seed-100 fish pond" and len(found.failed) == 0
    table = pd.read_csv(out / COMPARISON_FILE)
    assert set(table["scenario"]) == {"seed-100 fish pond", "fish pond without feeding"}
    assert set(found.results["scenario"]) == set(table["scenario"])
    assert not list(out.glob(".*.tmp"))
