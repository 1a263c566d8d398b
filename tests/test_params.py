"""Tests of sim.params: the flat Params derived from a scenario, and DayCounts."""

from __future__ import annotations

import dataclasses

import pytest

from sim import parameters
from sim.config import Scenario
from sim.params import DayCounts, Params


def _scenario(**data) -> Scenario:
    return Scenario.model_validate(data)


def test_fields_are_the_run_then_the_kernel_keys_in_table_order():
    names = [f.name for f in dataclasses.fields(Params)]
    assert names[:4] == ["seed", "n", "contacts", "weighted"]
    assert names[4:] == [parameters.flat_name(p) for p in parameters.kernel_params()]


def test_values_come_from_the_scenario():
    sc = _scenario(seed=11, rules={"invite_rate": 0.02, "role_mult": {"kol": 5.0}},
                   program={"entry_gate": {"kind": "payment"}})
    p = Params.from_scenario(sc, n=50, contacts=3, weighted=True)
    assert (p.seed, p.n, p.contacts, p.weighted) == (11, 50, 3, True)
    assert p.invite_rate == 0.02 and p.role_mult_kol == 5.0
    assert p.entry_gate_kind == 2  # the enumerated word's integer code
    for q in parameters.kernel_params():
        value = sc
        for segment in q.key.split("."):
            value = getattr(value, segment)
        expected = parameters.code(q.key, value) if q.choices else value
        assert getattr(p, parameters.flat_name(q)) == expected, q.key


@pytest.mark.parametrize("kind, code", [("none", 0), ("review", 1), ("payment", 2)])
def test_entry_gate_codes(kind, code):
    sc = _scenario(program={"entry_gate": {"kind": kind}})
    assert Params.from_scenario(sc, n=1, contacts=0, weighted=False).entry_gate_kind == code


def test_frozen_with_slots_and_as_dict():
    p = Params.from_scenario(Scenario(), n=10, contacts=0, weighted=False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.invite_rate = 1.0
    assert not hasattr(p, "__dict__")
    d = p.as_dict()
    assert list(d) == [f.name for f in dataclasses.fields(Params)]
    assert d["n"] == 10 and d["invite_rate"] == p.invite_rate
    assert dataclasses.replace(p, invite_rate=0.5).invite_rate == 0.5
    assert Params.from_scenario(Scenario(), n=10, contacts=0, weighted=False) == p


def test_enumerated_fields_are_ints():
    types = {f.name: f.type for f in dataclasses.fields(Params)}
    for q in parameters.kernel_params():
        if q.choices:
            assert types[parameters.flat_name(q)] is int


def test_day_counts_start_at_zero():
    c = DayCounts()
    assert all(v == 0 for v in dataclasses.asdict(c).values())
    assert isinstance(c.revenue, float) and isinstance(c.cost, float)
    assert [f.name for f in dataclasses.fields(DayCounts)][:2] == ["posts", "operator_activities"]
