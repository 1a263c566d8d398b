"""sim.batch: Mesa's batch_run with distinct, reproducible seeds and scenario key paths."""

from __future__ import annotations

import mesa
import pandas as pd
import pytest

from sim import GrowthModel
from sim.batch import batch_run, flat_parameters
from sim.rng import spawn_seeds

SMALL = {"scenario": "fish_pond", "population": {"size": 300}, "steps": 12}


def test_iterations_are_distinct_reproducible_and_equal_to_single_runs():
    rows = pd.DataFrame(batch_run(SMALL, iterations=4, seed=3, display_progress=False))
    assert sorted(rows.iteration) == [0, 1, 2, 3]
    assert list(rows.rng) == spawn_seeds(3, 4)
    assert rows.members.nunique() > 1  # the replicates differ
    again = pd.DataFrame(batch_run(SMALL, iterations=4, seed=3, display_progress=False))
    pd.testing.assert_frame_equal(rows, again)
    # Mesa's last row: Mesa 3.3 reports collection number steps - 1 (day 11, the day before
    # the last); Mesa 3.5 notes the time of each collection (_collection_steps) and reports
    # the last one (day 12)
    last = 12 if hasattr(mesa.DataCollector(), "_collection_steps") else 11
    for _, row in rows.iterrows():  # each row is the run of its seed, on day Step
        m = GrowthModel("fish_pond", rng=int(row.rng), population={"size": 300}, steps=12)
        m.run()
        day = m.timeseries().iloc[last]
        assert row.Step == last and row.day == last
        assert row.members == day.members and row.cost == day.cost


def test_key_paths_sweep_and_nested_mappings_read_as_key_paths():
    nested = batch_run({"scenario": "fish_pond", "steps": 5,
                        "population": {"size": [200, 400]}}, iterations=2, display_progress=False)
    flat = batch_run({"scenario": "fish_pond", "steps": 5, "population.size": [200, 400]},
                     iterations=2, display_progress=False)
    assert pd.DataFrame(nested).equals(pd.DataFrame(flat))
    frame = pd.DataFrame(flat)
    assert sorted(frame["population.size"]) == [200, 200, 400, 400]
    persons = frame.members + frame.churned + frame.non_users  # every person, once
    assert (persons == frame["population.size"]).all()


def test_mesa_batch_run_with_key_paths_and_seeds_as_parameters():
    # the recipe with Mesa alone: seeds swept as the rng parameter (any Mesa 3)
    kw = {"rng": [1, 2]} if "rng" not in mesa.batch_run.__code__.co_varnames else {}
    params = {"scenario": "fish_pond", "population.size": 300, "steps": 5, **kw}
    extra = {} if kw else {"rng": [1, 2]}
    rows = mesa.batch_run(GrowthModel, params, display_progress=False, **extra)
    assert len(rows) == 2 and rows[0]["members"] != rows[1]["members"]


def test_bad_batch_arguments_are_refused():
    with pytest.raises(ValueError, match="iterations"):
        batch_run(SMALL, iterations=0)
    with pytest.raises(ValueError, match="rng"):
        batch_run({**SMALL, "rng": [1, 2]})


def test_flat_parameters():
    assert flat_parameters({"a": {"b": {"c": 1}}, "d": [1]}) == {"a.b.c": 1, "d": [1]}
