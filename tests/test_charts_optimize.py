"""Charts of an optimisation study: objective by trial, Pareto front, lever importance."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.charts.optimize import (
    lever_importance,
    objective_history,
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
