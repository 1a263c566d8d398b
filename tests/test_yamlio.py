"""sim.yamlio: located YAML (positions, extends, --set, one-line errors) for any schema."""

from __future__ import annotations

from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, Field

from sim import yamlio
from sim.errors import ScenarioError
from sim.yamlio import (
    UNSET,
    Problem,
    apply_settings,
    describe,
    extends_chain,
    load_extending,
    merge,
    parse_set,
    read_yaml,
    settings_data,
)


def write(folder, name, text):
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


class Inner(BaseModel):
    """A small schema, not a scenario: the module knows no scenario."""

    rate: Annotated[float, Field(ge=0, le=1)] = 0.5
    mode: Literal["a", "b"] = "a"


class Doc(BaseModel):
    inner: Inner = Inner()
    names: list[str] = []


def keys(path, data):
    return yamlio.keys_at(Doc, path, data)


def test_read_yaml_records_the_line_of_every_key_and_list_item(tmp_path):
    path = write(tmp_path, "d.yaml", "inner:\n  rate: 0.2\nnames:\n  - x\n  - y\n")
    data, pos = read_yaml(path, kind="doc")
    assert data == {"inner": {"rate": 0.2}, "names": ["x", "y"]}
    assert pos[("inner",)][1] == 1 and pos[("inner", "rate")][1] == 2
    assert pos[("names", 1)][1] == 5
    data["inner"]["rate"] = 9  # callers get copies: the cache is not changed
    assert read_yaml(path, kind="doc")[0]["inner"]["rate"] == 0.2


@pytest.mark.parametrize("text,needle", [
    ("a: 1\na: 2\n", "d.yaml:2: a: duplicate key"),
    ("- 1\n- 2\n", "d.yaml:1: the top level is a list, not a mapping; allowed: HINT"),
    ("", "d.yaml: empty doc file; allowed: HINT"),
    ("a: [1\n", "d.yaml:2: YAML syntax error"),
    ("a: !!python/object:os.system x\n", "cannot load"),
])
def test_read_yaml_errors_are_one_line_with_file_and_line(tmp_path, text, needle):
    path = write(tmp_path, "d.yaml", text)
    with pytest.raises(ScenarioError) as err:
        read_yaml(path, kind="doc", hint="HINT")
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_read_yaml_refuses_a_missing_file_and_a_folder(tmp_path):
    with pytest.raises(ScenarioError, match="doc file not found"):
        read_yaml(tmp_path / "none.yaml", kind="doc")
    with pytest.raises(ScenarioError, match="is a directory, not a doc file"):
        read_yaml(tmp_path, kind="doc")


def test_parse_set_reads_yaml_values_and_refuses_malformed_settings():
    assert parse_set("inner.rate=0.3").path == ("inner", "rate")
    assert parse_set(" names = [a, b] ").value == ["a", "b"]
    assert parse_set("inner.rate=").value is None
    with pytest.raises(ScenarioError, match=r"^--set novalue: expected KEY.PATH=VALUE"):
        parse_set("novalue")
    with pytest.raises(ScenarioError, match=r"^--set a..b=1: expected KEY.PATH=VALUE"):
        parse_set("a..b=1")
    with pytest.raises(ScenarioError, match="value is not valid YAML"):
        parse_set("a=[1")


def test_settings_data_merges_several_settings_in_order():
    assert settings_data(["inner.rate=0.1", "inner.mode=b", "inner.rate=0.2"]) == {
        "inner": {"rate": 0.2, "mode": "b"}}


def test_apply_settings_checks_keys_and_places_values_at_their_setting():
    data, pos = {"inner": {"rate": 0.5}}, {("inner",): ("d.yaml", 1)}
    data, pos = apply_settings(data, pos, ["inner.mode=b"], keys=keys)
    assert data == {"inner": {"rate": 0.5, "mode": "b"}}
    assert pos[("inner", "mode")] == ("--set inner.mode=b", None)
    with pytest.raises(ScenarioError) as err:
        apply_settings(data, pos, ["inner.rat=0.1"], keys=keys)
    assert str(err.value) == "--set inner.rat=0.1: inner.rat: unknown key; did you mean 'rate'?"
    with pytest.raises(ScenarioError,
                       match="inner.rate.x: unknown key; inner.rate has no sub-keys"):
        apply_settings(data, pos, ["inner.rate.x=1"], keys=keys)


def test_merge_replaces_a_kinded_mapping_whole_and_drops_its_positions():
    base = {"g": {"kind": "a", "m": 2}, "x": 1}
    base_pos = {("g",): ("b.yaml", 1), ("g", "m"): ("b.yaml", 3)}
    merged, pos = merge(base, {"g": {"kind": "b"}}, base_pos, {("g", "kind"): ("o.yaml", 2)},
                        kinded=[("g",)])
    assert merged == {"g": {"kind": "b"}, "x": 1}
    assert ("g", "m") not in pos and pos[("g",)] == ("o.yaml", 2)
    same, _ = merge(base, {"g": {"kind": "a", "m": 5}}, kinded=[("g",)])
    assert same["g"] == {"kind": "a", "m": 5}  # the same kind merges key by key
    assert merge(base, {"g": {"kind": "b"}})[0]["g"] == {"kind": "b", "m": 2}  # not kinded


def test_load_extending_follows_files_and_refuses_cycles_and_missing_parents(tmp_path):
    write(tmp_path, "base.yaml", "inner:\n  rate: 0.1\n  mode: b\n")
    child = write(tmp_path, "child.yaml", "extends: base.yaml\ninner:\n  rate: 0.7\n")
    data, pos = load_extending(child)
    assert data == {"inner": {"rate": 0.7, "mode": "b"}}
    assert pos[("inner", "rate")] == (yamlio.label(child), 3)
    assert pos[("inner", "mode")][1] == 3 and "base.yaml" in pos[("inner", "mode")][0]
    assert [p.name for p in extends_chain(child)] == ["child.yaml", "base.yaml"]
    loop = write(tmp_path, "loop.yaml", "extends: loop2.yaml\n")
    write(tmp_path, "loop2.yaml", "extends: loop.yaml\n")
    with pytest.raises(ScenarioError, match="extends cycle: loop.yaml -> loop2.yaml -> loop.yaml"):
        load_extending(loop)
    orphan = write(tmp_path, "orphan.yaml", "name: x\nextends: nowhere.yaml\n")
    with pytest.raises(ScenarioError) as err:
        load_extending(orphan, search_hint="or a shipped one")
    assert str(err.value).startswith(f"{yamlio.label(orphan)}:2: extends = 'nowhere.yaml': "
                                     "file not found")
    assert str(err.value).endswith("allowed: a YAML file name, relative to orphan.yaml, or a "
                                   "shipped one")


def test_load_extending_looks_names_up_in_the_search_folder(tmp_path):
    shelf = tmp_path / "shelf"
    shelf.mkdir()
    write(shelf, "stock.yaml", "inner:\n  mode: b\n")
    mine = write(tmp_path, "mine.yaml", "extends: stock\n")
    assert load_extending(mine, search=shelf)[0] == {"inner": {"mode": "b"}}


def test_problem_is_placed_at_the_longest_known_prefix_of_its_key_path():
    pos = {("inner",): ("d.yaml", 4), ("inner", "rate"): ("d.yaml", 5)}
    err = Problem(("inner", "rate"), 2, "must be <= 1", "a number in [0, 1]").error(
        pos, ("d", None)
    )
    assert str(err) == "d.yaml:5: inner.rate = 2: must be <= 1; allowed: a number in [0, 1]"
    err = Problem(("inner", "mode"), UNSET, "required key missing").error(pos, ("d", None))
    assert str(err) == "d.yaml:4: inner.mode: required key missing"
    assert str(Problem(("x",), "a\nb", "bad").error({}, ("d", None))) == "d: x = 'a\\nb': bad"


def test_describe_says_what_a_field_accepts_from_its_schema():
    assert describe(*yamlio.schema_at(Doc, ("inner", "rate"), {})) == "a number in [0, 1]"
    assert describe(*yamlio.schema_at(Doc, ("inner", "mode"), {})) == "a, b"
    assert describe(*yamlio.schema_at(Doc, ("names",), {})) == "a list, each text"
    assert yamlio.schema_at(Doc, ("inner", "nope"), {}) is None
    assert keys((), {}) == ["inner", "names"] and keys(("names",), {}) == []
