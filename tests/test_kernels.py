"""Tests of sim.kernels: count slots, kernel parameters and the Work buffers."""

from __future__ import annotations

from dataclasses import fields, replace

import numpy as np
import pytest

from sim import GrowthModel, kernels
from sim.codes import MEMBER
from sim.params import DayCounts, Params

TINY = dict(rng=3, steps=4, population={"size": 200, "graph": {"kind": "barabasi_albert",
                                                               "m": 3}},
            seeding={"count": 10}, rules={"invite_rate": 0.3, "organic_rate": 0.01,
                                          "churn_base": 0.05})


@pytest.fixture(scope="module")
def model() -> GrowthModel:
    m = GrowthModel(None, engine="numba", **TINY)
    m.run()
    return m


def test_slots_name_the_day_counts_then_the_kol_count():
    counted = [f.name for f in fields(DayCounts) if f.name not in ("revenue", "cost")]
    assert list(kernels.COUNT_FIELDS) == counted + ["n_kols"]
    assert kernels.SLOT._fields == kernels.COUNT_FIELDS
    assert list(kernels.SLOT) == list(range(len(kernels.COUNT_FIELDS)))
    assert kernels.SLOT.posts == 0 and kernels.SLOT.n_kols == len(kernels.COUNT_FIELDS) - 1


def test_state_arrays_are_the_state_itself(model):
    st = kernels.state_arrays(model.state)
    assert st._fields == tuple(model.state.arrays())
    assert all(a is b for a, b in zip(st, model.state.arrays().values()))


def test_kparams_are_the_params_by_name():
    p = Params.from_scenario(GrowthModel(None, engine="numba", **TINY).scenario, n=200,
                             contacts=0, weighted=False)
    kp = kernels.kparams(p)
    assert kp._fields == tuple(f.name for f in fields(Params))
    assert kp._asdict() == p.as_dict()
    assert kp.invite_rate == 0.3 and kp.n == 200


def test_work_derives_kparams_again_only_for_new_params(model):
    work = model.work
    first = work.kparams(model.params)
    assert work.kparams(model.params) is first
    other = replace(model.params, invite_rate=0.1)
    again = work.kparams(other)
    assert again is not first and again.invite_rate == 0.1


def test_work_buffers_sized_for_the_graph(model):
    wk = model.work.arrays
    n = model.state.n
    assert isinstance(model.work, kernels.Work) and wk._fields == kernels.WorkArrays._fields
    for name in ("members", "inbox_count", "inbox_key", "inbox_from", "touched", "attended",
                 "joining", "joiners", "was_member", "member_nbrs"):
        assert len(getattr(wk, name)) == n, name
    assert wk.counts.shape == (len(kernels.COUNT_FIELDS),) and wk.money.shape == (2,)
    assert wk.inbox_from.dtype == model.graph.indices.dtype
    degree = int(np.diff(model.graph.indptr).max())
    assert len(wk.hits) == degree
    assert model.work.graph.indptr is model.graph.indptr


def test_work_buffers_returned_clean_after_days(model):
    wk = model.work.arrays
    assert model.day == 4 and (model.state.status == MEMBER).sum() > 10  # days did happen
    assert not wk.inbox_count.any()
    assert (wk.inbox_from == -1).all()
    assert not wk.attended.any()
    assert not wk.joining.any()


def test_well_mixed_work_keeps_no_neighbour_bookkeeping():
    m = GrowthModel(None, engine="numba", rng=1, steps=2, seeding={"count": 5},
                    population={"size": 50, "graph": {"kind": "well_mixed", "contacts": 4}})
    wk = m.work.arrays
    assert len(wk.was_member) == 0 and len(wk.member_nbrs) == 0
    assert len(wk.contacts) == 4
    m.run()
    assert not wk.inbox_count.any() and not wk.joining.any()


def test_run_day_counts_as_python_numbers():
    m = GrowthModel(None, engine="numba", **TINY)
    m.day = 1
    counts = kernels.run_day(m)
    assert isinstance(counts, DayCounts)
    assert all(type(getattr(counts, f)) is int for f in kernels.COUNT_FIELDS[:-1])
    assert type(counts.revenue) is float and type(counts.cost) is float
    assert counts.joins_referral > 0
    assert kernels.cache_present()  # compiled (and cached) by the runs above
