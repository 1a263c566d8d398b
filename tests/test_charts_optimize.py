"""Charts of an optimisation study: objective by trial, Pareto front, lever importance."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.charts.optimize import (
    history_finding,
    importance_finding,
    lever_importance,
    objective_history,
    pareto_finding,
    pareto_front,
    write_optimize_charts,
)

TRIALS = pd.DataFrame({"trial": [0, 1, 2, 3, 4], "feasible": [True, False, True, True, False],
                       "value_cost": [5.0, 1.0, 4.0, 6.0, 2.0],
                       "value_members": [50.0, 90.0, 60.0, 40.0, 10.0]})


def test_objective_history_plots_every_trial_and_the_best_feasible_so_far():
    fig = objective_history(TRIALS, "value_cost", "minimize")
    ax = fig.axes[0]
    assert ax.get_title() == "Cost by trial" and ax.get_ylabel() == "cost"
    grey, blue = (c.get_offsets() for c in ax.collections)
    assert len(grey) == 2 and len(blue) == 3
    (line,) = ax.get_lines()
    run = line.get_ydata()
    assert list(run) == [5.0, 5.0, 4.0, 4.0, 4.0]  # infeasible 1.0 and 2.0 never count
    fig = objective_history(TRIALS, "value_members", "maximize")
    assert list(fig.axes[0].get_lines()[0].get_ydata()) == [50.0, 50.0, 60.0, 60.0, 60.0]


def test_pareto_front_joins_the_non_dominated_feasible_trials_and_marks_the_recommended():
    fig = pareto_front(TRIALS, "value_cost", "value_members", ["minimize", "maximize"], 2)
    ax = fig.axes[0]
    (front,) = ax.get_lines()
    # feasible: (5, 50), (4, 60), (6, 40): only (4, 60) is on the front
    assert np.allclose(front.get_xdata(), [4.0]) and np.allclose(front.get_ydata(), [60.0])
    star = ax.collections[-1].get_offsets()
    assert np.allclose(star, [[4.0, 60.0]])
    assert "recommended (trial 2)" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_lever_importance_sorts_the_bars_and_says_when_too_few_trials():
    fig = lever_importance(pd.Series({"seeding.count": 0.7, "rules.invite_rate": 0.3}))
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["rules.invite_rate",
                                                            "seeding.count"]
    assert [round(p.get_width(), 2) for p in ax.patches] == [0.3, 0.7]
    empty = lever_importance(pd.Series(dtype=float)).axes[0]
    assert [t.get_text() for t in empty.texts] == ["too few trials"]


def test_write_optimize_charts_writes_what_the_study_supports(tmp_path):
    one = write_optimize_charts(TRIALS, None, tmp_path, [("value_cost", "minimize")])
    assert [p.name for p in one] == ["objective_history.png"]
    two = write_optimize_charts(TRIALS, pd.Series({"a": 1.0}), tmp_path,
                                [("value_members", "maximize"), ("value_cost", "minimize")], 0,
                                formats=("png", "svg"))
    assert [p.name for p in two] == [
        "objective_history.png", "objective_history.svg", "objective_history_2.png",
        "objective_history_2.svg", "pareto_front.png", "pareto_front.svg",
        "lever_importance.png", "lever_importance.svg"]
    assert all(p.stat().st_size > 0 for p in two)


def _finding(fig) -> str:
    found = [a for a in fig.findobj() if a.get_gid() == "finding"]
    assert len(found) == 1
    return found[0].get_text().replace("\n", " ").strip()


def test_history_finding_gives_the_best_feasible_value_with_its_currency():
    assert history_finding(TRIALS, "value_cost", "minimize") == (
        "Best feasible cost: 4.00 CNY (trial 2) after 5 trials; 3 of 5 met the constraints")
    assert history_finding(TRIALS, "value_members", "maximize") == (
        "Best feasible members at horizon: 60 (trial 2) after 5 trials; 3 of 5 met the "
        "constraints")
    big = TRIALS.assign(value_cost=TRIALS["value_cost"] * 37_752.1, currency="EUR")
    assert history_finding(big, "value_cost") == (
        "Best feasible cost: 151,008 EUR (trial 2) after 5 trials; 3 of 5 met the constraints")
    assert history_finding(big, "value_cost", currency="USD").startswith(
        "Best feasible cost: 151,008 USD")
    every = TRIALS.assign(feasible=True)
    assert history_finding(every, "value_cost").endswith("after 5 trials; all met the constraints")
    none = TRIALS.assign(feasible=False)
    assert history_finding(none, "value_cost") == (
        "No feasible trial in 5 trials: every one missed a constraint")
    assert history_finding(TRIALS.iloc[:0], "value_cost") == ""
    fig = objective_history(big, "value_cost", "minimize")
    assert _finding(fig).startswith("Best feasible cost: 151,008 EUR")
    assert fig.axes[0].get_title() == "Cost by trial"  # the descriptive title, as subtitle


def test_pareto_and_importance_findings():
    assert pareto_finding(TRIALS, "value_cost", "value_members", ["minimize", "maximize"], 2) == (
        "One feasible trial beats all others on both objectives; recommended (trial 2): "
        "members at horizon 60, cost 4.00 CNY")
    two = TRIALS.assign(value_members=[70.0, 90.0, 60.0, 40.0, 10.0])
    assert pareto_finding(two, "value_cost", "value_members", ["minimize", "maximize"]) == (
        "2 feasible trade-offs on the front")
    assert pareto_finding(TRIALS.assign(feasible=False), "value_cost", "value_members",
                          ["minimize", "maximize"]).startswith("No feasible trial in 5 trials")
    fig = pareto_front(two, "value_cost", "value_members", ["minimize", "maximize"], 0)
    assert _finding(fig).startswith("2 feasible trade-offs on the front; recommended (trial 0)")
    lead = pd.Series({"seeding.count": 0.7, "rules.invite_rate": 0.3})
    assert importance_finding(lead, "cost") == "seeding.count explains 70% of the variance in cost"
    even = pd.Series({"seeding.count": 0.48, "rules.invite_rate": 0.52})
    assert importance_finding(even) == ("rules.invite_rate and seeding.count matter about "
                                        "equally for the objective (52% and 48%)")
    assert importance_finding(pd.Series(dtype=float)) == ""
    assert _finding(lever_importance(lead, metric="value_cost")) == (
        "seeding.count explains 70% of the variance in cost")
