"""The table of parameters: well formed, and the models, Params and documents derived from it."""

from __future__ import annotations

import dataclasses
import pickle
import subprocess
import sys
import typing

import pytest

import sim.config
import sim.params
from sim import parameters
from sim.config import Scenario
from sim.errors import ScenarioError
from sim.parameters import REQUIRED, Param, Section, allowed, children, find, flat_name
from sim.params import Params
from sim.scenario_io import _allowed, load_scenario

PARAMS = parameters.params()
SECTIONS = parameters.sections()


def model_of(section: Section):
    """The pydantic model of a (non-union) section, found by walking from Scenario."""
    model, key = Scenario, section.key
    for segment in key.split(".") if key else []:
        model = model.model_fields[segment].annotation
    if section.kind is not None:
        model = next(m for m in typing.get_args(model)
                     if m.model_fields["kind"].default == section.kind)
    return model


def data_for(p: Param) -> dict:
    """Scenario data that selects the graph kind of ``p`` (the schema depends on it)."""
    return {"population": {"graph": {"kind": p.kind}}} if p.kind else {}


# --- the table is well formed --------------------------------------------------------------


def test_every_key_is_once_in_the_table():
    keys = [(p.key, p.kind) for p in PARAMS]
    assert len(keys) == len(set(keys))
    models = [s.model for s in SECTIONS if s.model]
    assert len(models) == len(set(models))


def test_every_row_sits_in_a_section_of_the_table():
    places = {(s.key, s.kind) for s in SECTIONS}
    for row in parameters.TABLE:
        assert row.parent is None or row.parent in places, row
    assert SECTIONS[0] == Section("", "Scenario", SECTIONS[0].doc)
    assert sum(len(children(s)) for s in SECTIONS) == len(parameters.TABLE) - 1


def test_the_union_members_are_the_kinds():
    for union in (s for s in SECTIONS if s.model is None):
        kinds = [s.kind for s in children(union) if isinstance(s, Section)]
        assert tuple(kinds) == parameters.choices(f"{union.key}.kind")
        assert find(f"{union.key}.kind").default in kinds


def test_every_row_is_documented_and_typed():
    for row in parameters.TABLE:
        assert row.doc and row.doc == row.doc.strip() and "\n" not in row.doc, row
        assert not row.doc.endswith("."), row  # a phrase: models add the capital and the stop
    for p in PARAMS:
        assert p.type in (float, int, bool, str, list), p
        assert not p.choices or p.type is str, p
        assert not (p.ge is not None and p.gt is not None), p
        assert not (p.le is not None and p.lt is not None), p


def test_defaults_lie_within_their_own_bounds():
    for p in PARAMS:
        values = p.default if p.type is list else [p.default]
        if p.default is REQUIRED or (p.optional and p.default is None):
            continue
        for v in values:
            assert p.ge is None or v >= p.ge, p
            assert p.gt is None or v > p.gt, p
            assert p.le is None or v <= p.le, p
            assert p.lt is None or v < p.lt, p
            assert not p.choices or v in p.choices, p
        assert type(p.default) is (tuple if p.type is list else p.type), p


def test_find_children_and_codes():
    assert find("rules.invite_rate").default == 0.021
    assert find("population.graph.m") is None  # graph keys need their kind
    assert find("population.graph.m", kind="powerlaw_cluster").le == 10_000
    assert [r.name for r in children(find_section("program.ads"))] == ["daily_budget",
                                                                       "cost_per_join",
                                                                       "saturation"]
    assert parameters.code("seeding.role", "kol") == 2
    with pytest.raises(ValueError):
        parameters.code("seeding.role", "boss")


def find_section(key: str) -> Section:
    return next(s for s in SECTIONS if s.key == key and s.kind is None)


# --- the pydantic models are the table ------------------------------------------------------


def test_every_model_field_is_a_row_and_every_row_a_field():
    for section in (s for s in SECTIONS if s.model):
        model = model_of(section)
        assert model.__name__ == section.model
        assert model.__doc__ == section.doc[0].upper() + section.doc[1:] + "."
        names = [r.name for r in children(section)]
        assert list(model.model_fields) == (["kind"] if section.kind else []) + names


def test_fields_carry_the_rows_default_bounds_and_doc():
    for p in PARAMS:
        section = next(s for s in SECTIONS if (s.key, s.kind) == p.parent)
        if section.model is None:  # a union's kind: a fixed field of each member
            for member in (s for s in children(section) if isinstance(s, Section)):
                field = model_of(member).model_fields[p.name]
                assert field.default == member.kind and field.description == p.doc
            continue
        field = model_of(section).model_fields[p.name]
        assert field.description == p.doc
        if p.default is REQUIRED:
            assert field.is_required()
        elif p.type is list:
            assert field.get_default(call_default_factory=True) == (
                None if p.default is None else list(p.default))
        else:
            assert field.default == p.default and type(field.default) is type(p.default)


def test_the_allowed_words_are_those_of_the_error_messages():
    # scenario_io describes a key from its pydantic field; the table says the same words
    for p in PARAMS:
        if p.key == "population.graph.kind":  # the union's tag: scenario_io lists the kinds
            assert allowed(p) == ", ".join(sim.config.GRAPH_KINDS)
            continue
        assert allowed(p) == _allowed(tuple(p.key.split(".")), data_for(p)), p.key


def test_a_bad_value_is_refused_with_the_tables_range(tmp_path):
    path = tmp_path / "x.yaml"
    cases = {"rules.interact_half": "rules: {interact_half: -5}",
             "program.ads.cost_per_join": "program: {ads: {cost_per_join: -5}}",
             "population.graph.k": "population: {graph: {kind: watts_strogatz, k: -5}}"}
    for key, text in cases.items():
        p = find(key) or find(key, kind="watts_strogatz")
        path.write_text(text + "\n", encoding="utf-8")
        with pytest.raises(ScenarioError) as info:
            load_scenario(path)
        assert str(info.value).startswith(f"{path}:1: {key} = -5: must be ")
        assert str(info.value).endswith(f"; allowed: {allowed(p)}")


def test_models_live_in_sim_config_and_pickle():
    for section in (s for s in SECTIONS if s.model):
        model = getattr(sim.config, section.model)
        assert model is model_of(section) and model.__module__ == "sim.config"
        assert section.model in sim.config.__all__
    sc = load_scenario("fish_pond", ["population.graph={kind: circles, count: 4}"])
    assert pickle.loads(pickle.dumps(sc)) == sc
    assert sim.config.GRAPH_KINDS == parameters.choices("population.graph.kind")
    assert sim.config.SEEDING_STRATEGIES == parameters.choices("seeding.strategy")


def test_one_new_row_is_one_new_validated_key(monkeypatch):
    row = Param("rules.invite_cooldown", float, 0.0, "days between a member's invitations",
                ge=0, le=1e6)
    at = parameters.TABLE.index(find("rules.invite_rate")) + 1
    monkeypatch.setattr(parameters, "TABLE", parameters.TABLE[:at] + (row,)
                        + parameters.TABLE[at:])
    rules = sim.config._build()["Rules"]
    assert list(rules.model_fields)[:2] == ["invite_rate", "invite_cooldown"]
    assert rules().invite_cooldown == 0.0 and rules(invite_cooldown=5).invite_cooldown == 5
    with pytest.raises(ValueError, match="less than or equal to 1000000"):
        rules(invite_cooldown=2e6)
    assert row in parameters.kernel_params() and flat_name(row) == "invite_cooldown"
    assert "  invite_cooldown: 0.0" in parameters.render_base_yaml()
    assert "| `rules.invite_cooldown` | `0.0` | a number in [0, 1000000] |" in (
        parameters.render_reference())


# --- Params ----------------------------------------------------------------------------------


def test_params_are_the_run_fields_then_every_kernel_key():
    names = [f.name for f in dataclasses.fields(Params)]
    kernel = [flat_name(p) for p in parameters.kernel_params()]
    assert names == ["seed", "n", "contacts", "weighted", *kernel]
    assert len(set(names)) == len(names) and all(n.isidentifier() for n in names)
    assert {p.key.split(".")[0] for p in parameters.kernel_params()} == {
        "program", "rules", "economics"}
    assert len(kernel) == sum(p.key.split(".")[0] in ("program", "rules", "economics")
                              for p in PARAMS) - 1  # economics.currency: a label, not a rule
    assert "currency" not in names


def test_params_hold_the_scenarios_values():
    sc = load_scenario("fish_pond", ["program.entry_gate.kind=review", "rules.decay=0.02"])
    p = Params.from_scenario(sc, n=500, contacts=4, weighted=True)
    assert (p.seed, p.n, p.contacts, p.weighted) == (sc.seed, 500, 4, True)
    for row in parameters.kernel_params():
        value = sc
        for seg in row.key.split("."):
            value = getattr(value, seg)
        got = getattr(p, flat_name(row))
        assert got == (row.choices.index(value) if row.choices else value), row.key
        assert type(got) is (int if row.choices else type(value)), row.key
    assert p.as_dict()["decay"] == 0.02
    assert (p.role_mult_lurker, p.role_mult_active, p.role_mult_kol) == (0.5, 1.0, 3.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.decay = 0.5


# --- the documents ---------------------------------------------------------------------------


def test_shipped_base_yaml_is_the_tables_rendering():
    assert parameters.BASE_YAML.read_text(encoding="utf-8") == parameters.render_base_yaml(), (
        "scenarios/base.yaml differs from the table: run python -m sim.parameters --write")


def test_parameter_reference_is_the_tables_rendering():
    assert parameters.REFERENCE_MD.read_text(encoding="utf-8") == (
        parameters.render_reference()), (
        "docs/parameters.md differs from the table: run python -m sim.parameters --write")


def test_rendered_base_yaml_loads_to_the_defaults(tmp_path):
    path = tmp_path / "base.yaml"
    path.write_text(parameters.render_base_yaml(), encoding="utf-8")
    assert load_scenario(path) == Scenario()
    text = path.read_text(encoding="utf-8")
    for p in PARAMS:
        if p.kind in (None, "barabasi_albert") and p.default is not REQUIRED:
            assert f"{p.name}: " in text and p.doc[:40] in text.replace("\n", " "), p.key


def test_the_reference_lists_every_key():
    text = parameters.render_reference()
    for p in PARAMS:
        assert f"| `{p.key}` |" in text
    for p in parameters.kernel_params():
        assert f"| `{flat_name(p)}` |" in text


def test_check_and_write(tmp_path, monkeypatch, capsys):
    assert parameters.main(["--check"]) == 0
    base, ref = tmp_path / "scenarios" / "base.yaml", tmp_path / "docs" / "parameters.md"
    base.parent.mkdir()
    base.write_text("name: stale\n", encoding="utf-8")
    monkeypatch.setattr(parameters, "BASE_YAML", base)
    monkeypatch.setattr(parameters, "REFERENCE_MD", ref)
    assert parameters.stale() == [base, ref]
    assert parameters.main(["--check"]) == 1
    assert "out of date; run python -m sim.parameters --write" in capsys.readouterr().err
    assert parameters.main(["--write"]) == 0 and parameters.stale() == []
    assert base.read_text(encoding="utf-8") == parameters.render_base_yaml()
    assert parameters.main(["--check"]) == 0


def test_the_table_loads_no_heavy_library():
    code = ("import sys, sim.parameters; "
            "print(sorted({'pydantic', 'yaml', 'numpy'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    assert out.strip() == "[]"
