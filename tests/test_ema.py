"""sim.ema: the fish pond as an EMA Workbench model, run on a small design, then PRIM."""

from __future__ import annotations

import math

import numpy as np
import pytest

ema = pytest.importorskip("ema_workbench")  # the 'ema' extra (in the test extra too)

from sim.ema import ema_model  # noqa: E402
from sim.errors import ScenarioError  # noqa: E402
from sim.model import GrowthModel  # noqa: E402
from sim.scenario_io import load_scenario  # noqa: E402

SMALL = {"population.size": 1000, "steps": 25}


@pytest.fixture(scope="module")
def results():
    model = ema_model("fish_pond", {"rules.invite_rate": (0.002, 0.03),
                                    "program.entry_gate.kind": ["none", "review"]},
                      levers={"seeding.count": (10, 100)}, overrides=SMALL,
                      outcomes=("members", "day_inflection", "cost"), series=("members",))
    state = np.random.get_state()  # EMA Workbench samples with numpy's global generator:
    np.random.seed(11)  # the same design on every run of the tests
    try:
        with ema.SequentialEvaluator(model) as evaluator:
            experiments, outcomes = ema.perform_experiments(model, scenarios=6, policies=2,
                                                            evaluator=evaluator)
    finally:
        np.random.set_state(state)
    return model, experiments, outcomes


def test_parameters_are_key_paths_with_their_types():
    model = ema_model("fish_pond", {"rules.invite_rate": (0.01, 0.02),
                                    "seeding.count": (10, 50),
                                    "seeding.strategy": ["degree", "random"]})
    kinds = {u.name: type(u).__name__ for u in model.uncertainties}
    assert kinds == {"rules.invite_rate": "RealParameter", "seeding.count": "IntegerParameter",
                     "seeding.strategy": "CategoricalParameter"}


def test_experiments_and_outcomes_align_with_model_runs(results):
    _, experiments, outcomes = results
    assert len(experiments) == 12 == len(outcomes["members"])
    assert outcomes["members_by_day"].shape == (12, 26)  # days 0..25, floats
    assert outcomes["members_by_day"].dtype == np.float64
    assert np.array_equal(outcomes["members_by_day"][:, -1], outcomes["members"])
    row = experiments.iloc[3]
    again = GrowthModel(load_scenario("fish_pond", [
        "population.size=1000", "steps=25",
        f"rules.invite_rate={float(row['rules.invite_rate'])!r}",
        f"program.entry_gate.kind={row['program.entry_gate.kind']}",
        f"seeding.count={int(row['seeding.count'])}"]))
    again.run()
    assert again.timeseries()["members"].iloc[-1] == outcomes["members"][3]
    day = again.summary()["milestones"]["1000"]
    assert (math.isnan(outcomes["day_inflection"][3]) if day is None
            else outcomes["day_inflection"][3] == day)


def test_prim_finds_the_conditions_of_a_small_pond(results):
    from ema_workbench.analysis import prim

    _, experiments, outcomes = results
    small = outcomes["members"] < np.median(outcomes["members"])
    # as floats: PRIM's pasting writes a non-integer limit into an integer column, which
    # pandas 3 refuses (EMA Workbench issue 448, fixed after its release 2.5.3)
    x = experiments[["rules.invite_rate", "seeding.count"]].astype(float)
    box = prim.Prim(x, small, threshold=0.5, peel_alpha=0.1).find_box()
    limits = box.box_lims[-1]
    assert box.coverage > 0 and box.density >= 0.5
    assert limits["rules.invite_rate"].iloc[1] < 0.03  # a small pond: fewer invitations


def test_bad_inputs_are_one_line():
    with pytest.raises(ScenarioError, match="unknown scenario key 'rules.invite_rte'; did you "
                       "mean 'rules.invite_rate'"):
        ema_model("fish_pond", {"rules.invite_rte": (0.0, 0.1)})
    with pytest.raises(ScenarioError, match=r"not a \(low, high\) range"):
        ema_model("fish_pond", {"rules.invite_rate": (0.1, 0.0)})
    with pytest.raises(ScenarioError, match="the run seed comes from"):
        ema_model("fish_pond", {"seed": (1, 5)})
    with pytest.raises(ScenarioError, match="unknown metric 'membres'"):
        ema_model("fish_pond", outcomes=("membres",))
    with pytest.raises(ScenarioError, match="rules.invite_rate = 3"):
        ema_model("fish_pond", overrides={"rules.invite_rate": 3})
