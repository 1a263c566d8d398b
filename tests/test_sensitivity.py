"""Tests of sim.sensitivity: design samples, their indices and the Sobol index checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.sensitivity import INDEX_COLUMNS, indices, sample, sample_seed, sobol_problems

BOUNDS = np.array([[0.0, 1.0], [10.0, 20.0], [-1.0, 1.0]])


def test_sample_seed_is_63_bit_and_deterministic():
    seeds = {sample_seed(s) for s in range(20)}
    assert len(seeds) == 20
    assert all(0 <= s < 2**63 for s in seeds)
    assert sample_seed(7) == sample_seed(7)


@pytest.mark.parametrize("kind, samples, rows", [
    ("sobol", 8, 8 * (3 + 2)),  # N (D + 2) without second order
    ("morris", 5, 5 * (3 + 1)),  # N (D + 1) trajectories
    ("lhs", 10, 10),
    ("random", 7, 7),
])
def test_sample_shape_bounds_and_determinism(kind, samples, rows):
    x = sample(kind, BOUNDS, samples, seed=3)
    assert x.shape == (rows, 3) and x.dtype == np.float64
    assert ((x >= BOUNDS[:, 0]) & (x <= BOUNDS[:, 1])).all()
    assert np.array_equal(x, sample(kind, BOUNDS, samples, seed=3))


@pytest.mark.parametrize("kind", ["sobol", "lhs", "random"])
def test_other_seed_other_sample(kind):
    assert not np.array_equal(sample(kind, BOUNDS, 8, seed=1), sample(kind, BOUNDS, 8, seed=2))


def test_sobol_second_order_has_more_points():
    assert sample("sobol", BOUNDS, 8, seed=0, second_order=True).shape == (8 * (2 * 3 + 2), 3)


def test_lhs_has_one_point_per_stratum_in_every_column():
    n = 10
    x = sample("lhs", BOUNDS, n, seed=5)
    unit = (x - BOUNDS[:, 0]) / (BOUNDS[:, 1] - BOUNDS[:, 0])
    for col in unit.T:
        assert sorted(np.floor(col * n).astype(int).tolist()) == list(range(n))


def test_morris_points_lie_on_the_grid():
    x = sample("morris", BOUNDS[:1], 4, seed=0, levels=4)
    assert set(np.round(x[:, 0] * 3, 9).tolist()) <= {0.0, 1.0, 2.0, 3.0}


def test_sobol_indices_of_an_additive_function():
    bounds = np.array([[0.0, 1.0], [0.0, 1.0]])
    x = sample("sobol", bounds, 256, seed=1)
    y = 3.0 * x[:, 0]  # x1 plays no part
    si = indices("sobol", ["a", "b"], bounds, y, seed=0)
    assert set(si) == set(INDEX_COLUMNS["sobol"])
    assert si["S1"][0] == pytest.approx(1.0, abs=0.05)
    assert si["ST"][0] == pytest.approx(1.0, abs=0.05)
    assert abs(si["S1"][1]) < 0.05 and abs(si["ST"][1]) < 0.05


def test_morris_indices_of_a_linear_function():
    bounds = np.array([[0.0, 1.0], [0.0, 1.0]])
    x = sample("morris", bounds, 10, seed=2)
    y = 2.0 * x[:, 0] - 1.0 * x[:, 1]
    si = indices("morris", ["a", "b"], bounds, y, matrix=x, seed=0)
    assert set(si) == set(INDEX_COLUMNS["morris"])
    assert si["mu"] == pytest.approx([2.0, -1.0])
    assert si["mu_star"] == pytest.approx([2.0, 1.0])
    assert si["sigma"] == pytest.approx([0.0, 0.0], abs=1e-9)


@pytest.mark.parametrize("kind", ["lhs", "random"])
def test_indices_of_other_designs_are_refused(kind):
    with pytest.raises(ValueError, match=f"not {kind}"):
        indices(kind, ["a"], BOUNDS[:1], np.zeros(4))


def test_sobol_problems_names_what_is_wrong():
    idx = pd.DataFrame({
        "parameter": ["ok", "wide", "outside", "nan"],
        "S1": [0.5, 0.5, 1.3, np.nan],
        "S1_conf": [0.02, 0.2, 0.05, 0.01],
        "ST": [0.6, 0.6, 0.6, 0.5],
        "ST_conf": [0.03, 0.03, 0.03, 0.01],
    }, index=[10, 11, 12, 13])
    out = sobol_problems(idx)
    assert out.index.tolist() == [10, 11, 12, 13]
    assert out.tolist() == [
        "",
        "S1 = 0.50 [0.30, 0.70]: interval wider than ±0.10",
        "S1 = 1.30 [1.25, 1.35]: outside 0-1",
        "S1 could not be estimated (NaN)",
    ]


def test_sobol_problems_without_intervals_and_own_width():
    idx = pd.DataFrame({"parameter": ["a"], "S1": [-0.01], "ST": [1.0]})
    assert sobol_problems(idx).tolist() == ["S1 = -0.01 [-0.01, -0.01]: outside 0-1"]
    idx = pd.DataFrame({"parameter": ["a"], "S1": [0.5], "S1_conf": [0.2], "ST": [0.5],
                        "ST_conf": [0.2]})
    assert sobol_problems(idx, max_conf=0.25).tolist() == [""]
