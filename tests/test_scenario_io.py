"""Tests of sim.scenario_io: the scenario schema's helpers, merging, overrides, inputs.

Loading, ``extends`` and the one-line messages of whole files are tested in test_config.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sim import scenario_io as sio
from sim.config import Scenario
from sim.errors import ScenarioError


def test_schema_helpers_follow_the_graph_kind():
    assert sio.field_type(("rules", "invite_rate"), {}) is float
    assert sio.field_type(("seeding", "count"), {}) is int
    assert sio.field_type(("rules", "nope"), {}) is None
    assert sio.schema_at(("nope",), {}) is None
    ws = {"population": {"graph": {"kind": "watts_strogatz"}}}
    assert sio.field_type(("population", "graph", "k"), ws) is int
    assert "k" in sio.scenario_keys(("population", "graph"), ws)
    assert "k" not in sio.scenario_keys(("population", "graph"), {})  # barabasi_albert
    assert sio.scenario_keys(("steps",), {}) == []
    assert {"rules", "population", "seed"} <= set(sio.scenario_keys((), {}))


def test_absolute_edge_path_only_touches_a_relative_text_path(tmp_path):
    data = {"population": {"graph": {"kind": "edgelist", "path": "e.csv"}}}
    sio.absolute_edge_path(data, tmp_path)
    assert data["population"]["graph"]["path"] == str(tmp_path / "e.csv")
    sio.absolute_edge_path(data, Path("/elsewhere"))  # already absolute: kept
    assert data["population"]["graph"]["path"] == str(tmp_path / "e.csv")
    for untouched in ({}, {"population": 3}, {"population": {"graph": {"path": ""}}},
                      {"population": {"graph": {"path": 5}}}):
        before = repr(untouched)
        sio.absolute_edge_path(untouched, tmp_path)
        assert repr(untouched) == before


def test_merge_replaces_the_graph_on_a_new_kind_and_keeps_it_otherwise():
    base = {"population": {"size": 50, "graph": {"kind": "barabasi_albert", "m": 3}}}
    same = sio.merge_scenario_data(base, {"population": {"graph": {"m": 4}}})
    assert same == {"population": {"size": 50, "graph": {"kind": "barabasi_albert", "m": 4}}}
    other = sio.merge_scenario_data(base, {"population": {"graph": {"kind": "complete"}}})
    assert other == {"population": {"size": 50, "graph": {"kind": "complete"}}}
    assert base["population"]["graph"]["m"] == 3  # inputs are not changed
    assert sio.merge_scenario_data({"milestones": [1, 2]}, {"milestones": [5]}) == {
        "milestones": [5]}


def test_merge_located_keeps_the_positions_of_the_winner():
    base = {"rules": {"decay": 0.1, "fatigue": 0.2}}
    base_pos = {("rules",): ("b.yaml", 1), ("rules", "decay"): ("b.yaml", 2),
                ("rules", "fatigue"): ("b.yaml", 3)}
    over_pos = {("rules",): ("o.yaml", 1), ("rules", "decay"): ("o.yaml", 5)}
    data, pos = sio.merge_located(base, {"rules": {"decay": 0.3}}, base_pos, over_pos)
    assert data == {"rules": {"decay": 0.3, "fatigue": 0.2}}
    assert pos[("rules", "decay")] == ("o.yaml", 5)
    assert pos[("rules", "fatigue")] == ("b.yaml", 3)


def test_settings_data_graph_kind_replaces():
    assert sio.settings_data(["population.graph.kind=complete", "steps=3"]) == {
        "population": {"graph": {"kind": "complete"}}, "steps": 3}


def test_apply_overrides_checks_keys_and_makes_edge_paths_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data, pos = sio.apply_overrides({}, {}, ["population.graph.kind=edgelist",
                                             "population.graph.path=e.csv"])
    assert data["population"]["graph"]["path"] == str(tmp_path / "e.csv")
    data, _ = sio.apply_overrides({"steps": 5}, {}, None)
    assert data == {"steps": 5}
    with pytest.raises(ScenarioError) as err:
        sio.apply_overrides({}, {}, ["rules.invite_rat=0.1"])
    assert "\n" not in str(err.value) and "rules.invite_rat" in str(err.value)
    assert "invite_rate" in str(err.value)


def test_validate_scenario_data_places_the_error_by_position():
    pos = {("rules", "decay"): ("my.yaml", 7)}
    with pytest.raises(ScenarioError) as err:
        sio.validate_scenario_data({"rules": {"decay": 2}}, pos, "fallback.yaml")
    assert str(err.value).startswith("my.yaml:7: rules.decay = 2: must be <= 1")
    with pytest.raises(ScenarioError, match=r"^fallback\.yaml: steps = true: not a number"):
        sio.validate_scenario_data({"steps": True}, {}, "fallback.yaml")
    with pytest.raises(ScenarioError, match=r"rules\.decay = nan: NaN is not allowed"):
        sio.validate_scenario_data({"rules": {"decay": float("nan")}}, {}, "x")
    assert sio.validate_scenario_data({"steps": 9}, {}, "x").steps == 9


def test_validate_checks_the_edge_list_only_when_asked(tmp_path):
    data = {"population": {"graph": {"kind": "edgelist", "path": str(tmp_path / "no.csv")}}}
    assert sio.validate_scenario_data(data, {}, "x").population.graph.kind == "edgelist"
    with pytest.raises(ScenarioError, match="edge list file not found"):
        sio.validate_scenario_data(data, {}, "x", check_files=True)


@pytest.mark.parametrize("data, key", [
    ({"population": {"size": 10}, "seeding": {"count": 11}}, "seeding.count = 11"),
    ({"population": {"size": 10}, "seeding": {"count": 5}, "mass_pull": {"count": 6}},
     "mass_pull.count = 6"),
    ({"population": {"size": 10, "graph": {"kind": "watts_strogatz", "k": 3}},
      "seeding": {"count": 1}}, "population.graph.k = 3: must be even"),
    ({"population": {"size": 10, "graph": {"kind": "well_mixed", "contacts": 10}},
      "seeding": {"count": 1}}, "population.graph.contacts = 10"),
    ({"population": {"size": 10, "graph": {"kind": "circles", "sizes": [4, 4]}},
      "seeding": {"count": 1}}, "sizes add up to 8, not population.size = 10"),
])
def test_cross_field_rules_name_the_key(data, key):
    data.setdefault("mass_pull", {"count": 0})
    with pytest.raises(ScenarioError) as err:
        sio.validate_scenario_data(data, {}, "x.yaml")
    assert key in str(err.value) and "allowed:" in str(err.value)
    assert "\n" not in str(err.value)


def test_scenario_files_and_inputs(tmp_path):
    edges = tmp_path / "e.csv"
    edges.write_text("0 1\n")
    child = tmp_path / "child.yaml"
    child.write_text(f"extends: fish_pond\npopulation:\n  size: 2\n  graph:\n"
                     f"    kind: edgelist\n    path: {edges.name}\n"
                     "seeding: {count: 1}\nmass_pull: {count: 0}\n")
    names = [p.name for p in sio.scenario_files(child)]
    assert names == ["child.yaml", "fish_pond.yaml", "base.yaml"]
    sc = sio.load_scenario(child)
    assert sc.population.graph.path == str(edges)
    assert [p.name for p in sio.scenario_inputs(child, sc)] == names + ["e.csv"]
    shipped = sio.resolve_scenario_path("fish_pond")
    assert [p.name for p in sio.scenario_inputs(shipped, Scenario())] == [
        "fish_pond.yaml", "base.yaml"]


def test_load_scenario_data_merges_without_validating(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text("extends: base\nrules:\n  decay: 5\n")
    data, pos = sio.load_scenario_data(f)
    assert data["rules"]["decay"] == 5 and "extends" not in data
    assert pos[("rules", "decay")][1] == 3
    assert "seeding" in data  # from base.yaml


def test_resolve_scenario_path(tmp_path):
    assert sio.resolve_scenario_path("no_feed.yaml") == sio.SCENARIOS_DIR / "no_feed.yaml"
    with pytest.raises(ScenarioError, match="scenario file not found; allowed: .*fish_pond"):
        sio.resolve_scenario_path(str(tmp_path / "sub" / "fish_pond"))  # not a bare name


def test_dump_and_load_round_trip(tmp_path):
    sc = sio.load_scenario("fish_pond", ["steps=12", "rules.decay=0.05"])
    path = tmp_path / "out.yaml"
    sio.dump_scenario(sc, path)
    assert sio.load_scenario(path) == sc
    assert sio.scenario_to_yaml(sc) == path.read_text(encoding="utf-8")


def test_load_scenario_once_reads_again_when_a_file_changes(tmp_path):
    import os

    from sim.scenario_io import load_scenario_once

    base = tmp_path / "b.yaml"
    top = tmp_path / "t.yaml"
    base.write_text("extends: fish_pond\nsteps: 20\n")
    top.write_text("extends: b.yaml\nname: mine\n")
    a = load_scenario_once(top)
    assert load_scenario_once(top) is a and a.steps == 20
    base.write_text("extends: fish_pond\nsteps: 30\n")  # what it extends changed
    st = base.stat()
    os.utime(base, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    b = load_scenario_once(top)
    assert b.steps == 30 and b.name == "mine"
