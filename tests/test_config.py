"""Scenario schema and scenario files: loading, extends, overrides, errors, round trip."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from sim.config import Scenario
from sim.errors import FishpondError, ScenarioError
from sim.scenario_io import (
    SCENARIOS_DIR,
    check_scenario,
    dump_scenario,
    load_scenario,
    resolve_scenario_path,
    scenario_from_dict,
    scenario_to_yaml,
)

SHIPPED = sorted(SCENARIOS_DIR.glob("*.yaml"))


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def error_of(path, overrides=None) -> str:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides)
    msg = str(info.value)
    assert "\n" not in msg and "\r" not in msg, msg
    return msg


def assert_located(msg: str, file: str, line: int | None, *parts: str) -> None:
    """Assert that the message names the file (and line) and contains every part."""
    prefix = f"{file}:{line}: " if line else f"{file}: "
    assert prefix in msg, msg
    for part in parts:
        assert part in msg, (part, msg)


# --- shipped scenarios ---------------------------------------------------------------------


def test_the_shipped_scenarios_are_all_there():
    names = {p.stem for p in SHIPPED}
    assert {"base", "fish_pond", "no_feed", "random_seeds", "mass_pull", "paid_ads",
            "pure_sir", "bass_mean_field"} <= names


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_scenario_loads_and_round_trips(path, tmp_path):
    sc = load_scenario(path)
    assert isinstance(sc, Scenario)
    out = tmp_path / "resolved.yaml"
    dump_scenario(sc, out)
    assert load_scenario(out) == sc
    assert "extends" not in out.read_text(encoding="utf-8")


def test_base_yaml_equals_the_schema_defaults():
    assert load_scenario(SCENARIOS_DIR / "base.yaml") == Scenario()


def test_fish_pond_is_the_base_programme_with_100_degree_kols():
    sc = load_scenario("fish_pond")
    assert sc.seeding.count == 100 and sc.seeding.strategy == "degree" and sc.seeding.role == "kol"
    assert sc.model_copy(update={"name": "base", "description": ""}) == Scenario()


def test_variants_differ_from_the_fish_pond_only_where_they_say():
    pond = load_scenario("fish_pond")
    assert load_scenario("random_seeds").seeding.strategy == "random"
    no_feed = load_scenario("no_feed").program
    assert (no_feed.content_per_week, no_feed.activities_per_month) == (0, 0)
    assert no_feed.self_org_rate == pond.program.self_org_rate
    mass = load_scenario("mass_pull")
    assert (mass.seeding.count, mass.mass_pull.count, mass.mass_pull.intimacy) == (0, 2000, 0.1)
    assert mass.program.common_task.days == 0 and mass.program.recruit.count == 0
    assert mass.rules == pond.rules and mass.population == pond.population


def test_paid_ads_is_ads_only():
    ads = load_scenario("paid_ads")
    assert ads.program.ads.daily_budget > 0 and ads.program.activities_per_month == 0
    assert ads.seeding.count == 0 and ads.program.content_per_week == 0


def test_reductions_switch_everything_off():
    sir = load_scenario("pure_sir")
    assert sir.population.fit.constant == 1 and sir.rules.convert_prob == 1
    assert sir.rules.rejoin_factor == 0 and sir.rules.churn_protect == 0 and sir.rules.decay == 0
    assert sir.program.amplification.enabled is False and sir.steps == 100
    bass = load_scenario("bass_mean_field")
    assert bass.population.graph.kind == "well_mixed"
    q = bass.population.graph.contacts * bass.rules.invite_rate * bass.rules.convert_prob
    assert q == pytest.approx(0.05) and bass.rules.organic_rate == 0.002
    assert bass.rules.churn_base == 0 and bass.seeding.count == 0


# --- resolving names -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["fish_pond", "fish_pond.yaml"])
def test_bare_names_are_looked_up_in_the_scenarios_folder(name):
    assert resolve_scenario_path(name) == SCENARIOS_DIR / "fish_pond.yaml"


def test_missing_scenario_names_it_and_lists_the_shipped_ones(tmp_path):
    msg = error_of(tmp_path / "nope.yaml")
    assert "nope.yaml" in msg and "not found" in msg and "fish_pond" in msg
    assert "fish_pond" in error_of("fishpond")


def test_a_directory_is_not_a_scenario(tmp_path):
    assert "directory" in error_of(tmp_path)


# --- extends -------------------------------------------------------------------------------


def test_extends_chain_deep_merges_and_lists_replace(tmp_path):
    write(tmp_path, "a.yaml", "rules:\n  invite_rate: 0.01\n  decay: 0.2\nmilestones: [5, 50]\n")
    write(tmp_path, "b.yaml", "extends: a.yaml\nrules:\n  decay: 0.3\nmilestones: [7]\n")
    sub = tmp_path / "sub"
    sub.mkdir()
    c = write(sub, "c.yaml", "extends: ../b.yaml\nname: c\nrules: {role_mult: {kol: 2}}\n")
    sc = load_scenario(c)
    assert (sc.name, sc.rules.invite_rate, sc.rules.decay, sc.milestones) == ("c", 0.01, 0.3, [7])
    assert sc.rules.role_mult.kol == 2 and sc.rules.role_mult.lurker == 0.5


def test_reloading_an_edited_file_sees_the_edit(tmp_path):
    # parsed files are kept for reuse; an edit (new size or modification time) is re-read,
    # and what a caller does with its copy does not leak into the next load
    path = write(tmp_path, "s.yaml", "rules:\n  decay: 0.2\n")
    first = load_scenario(path)
    assert load_scenario(path) == first
    path.write_text("rules:\n  decay: 0.25\n", encoding="utf-8")
    assert load_scenario(path).rules.decay == 0.25
    path.write_text("rules:\n  decay: 0.35\n", encoding="utf-8")  # same size, newer file
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    assert load_scenario(path).rules.decay == 0.35
    from sim.yamlio import read_yaml as _read

    data, _ = _read(path)
    data["rules"]["decay"] = 0.9
    assert _read(path)[0]["rules"]["decay"] == 0.35


def test_extends_may_name_a_shipped_scenario_from_anywhere(tmp_path):
    path = write(tmp_path, "mine.yaml", "extends: fish_pond.yaml\nname: mine\n")
    assert load_scenario(path).seeding.count == 100


def test_extends_changing_graph_kind_replaces_the_graph(tmp_path):
    path = write(tmp_path, "wm.yaml",
                 "extends: fish_pond.yaml\npopulation:\n  graph: {kind: well_mixed, contacts: 4}\n")
    assert load_scenario(path).population.graph.contacts == 4


def test_extends_cycle_is_an_error(tmp_path):
    write(tmp_path, "a.yaml", "extends: b.yaml\n")
    b = write(tmp_path, "b.yaml", "name: b\nextends: a.yaml\n")
    msg = error_of(b)
    assert "cycle" in msg and "a.yaml" in msg and "allowed" in msg


def test_extends_missing_file(tmp_path):
    path = write(tmp_path, "a.yaml", "name: a\nextends: gone.yaml\n")
    assert_located(error_of(path), "a.yaml", 2, "extends = 'gone.yaml'", "not found", "allowed")


def test_error_line_is_where_the_key_was_last_set(tmp_path):
    write(tmp_path, "parent.yaml", "name: p\nrules:\n  invite_rate: 5\n  fatigue: 0.1\n")
    child = write(tmp_path, "child.yaml", "extends: parent.yaml\n\n\nrules:\n  fatigue: 7\n")
    msg = error_of(child)  # rules.invite_rate (inherited) is checked before rules.fatigue
    assert_located(msg, "parent.yaml", 3, "rules.invite_rate = 5", "must be <= 1")
    write(tmp_path, "parent.yaml", "name: p\nrules:\n  invite_rate: 0.5\n  fatigue: 0.1\n")
    assert_located(error_of(child), "child.yaml", 5, "rules.fatigue = 7",
                   "allowed: a number in [0, 1]")


# --- overrides ------------------------------------------------------------------------------


def test_overrides_number_mapping_and_list():
    sc = load_scenario("fish_pond", [
        "rules.invite_rate=0.01",
        "population.graph={kind: well_mixed, contacts: 5}",
        "milestones=[10,100]",
        "name=my run",
    ])
    assert sc.rules.invite_rate == 0.01 and sc.milestones == [10, 100] and sc.name == "my run"
    assert sc.population.graph.kind == "well_mixed" and sc.population.graph.contacts == 5


def test_override_graph_kind_then_its_parameters():
    sc = load_scenario("fish_pond",
                       ["population.graph.kind=watts_strogatz", "population.graph.k=4"])
    assert (sc.population.graph.kind, sc.population.graph.k) == ("watts_strogatz", 4)


def test_override_unknown_key_suggests_the_nearest():
    msg = error_of("fish_pond", ["rules.invite_rat=0.1"])
    assert msg == ("--set rules.invite_rat=0.1: rules.invite_rat: unknown key; "
                   "did you mean 'invite_rate'?")
    msg = error_of("fish_pond", ["rules.zzz=1"])
    assert "rules.zzz: unknown key; allowed:" in msg and "invite_rate" in msg
    assert "has no sub-keys" in error_of("fish_pond", ["rules.decay.x=1"])


def test_override_bad_value():
    msg = error_of("fish_pond", ["rules.invite_rate=abc"])
    assert msg == ("--set rules.invite_rate=abc: rules.invite_rate = 'abc': not a number; "
                   "allowed: a number in [0, 1]")


@pytest.mark.parametrize("raw", ["rules.invite_rate", "=3", "name=[oops"])
def test_malformed_overrides(raw):
    assert error_of("fish_pond", [raw]).startswith(f"--set {raw}: ")


# --- error messages from files ------------------------------------------------------------


def test_value_out_of_range(tmp_path):
    path = write(tmp_path, "x.yaml", "name: x\nrules:\n  invite_rate: 1.5\n")
    assert error_of(path) == (f"{path}:3: rules.invite_rate = 1.5: must be <= 1; "
                              "allowed: a number in [0, 1]")


def test_unknown_key_with_suggestion(tmp_path):
    path = write(tmp_path, "x.yaml", "rules:\n  decay: 0.1\n  invite_rat: 0.1\n")
    msg = error_of(path)
    assert msg.endswith("x.yaml:3: rules.invite_rat: unknown key; did you mean 'invite_rate'?")


def test_unknown_key_without_close_match_lists_the_keys(tmp_path):
    path = write(tmp_path, "x.yaml", "program:\n  ads:\n    zebra: 1\n")
    assert_located(error_of(path), "x.yaml", 3, "program.ads.zebra: unknown key",
                   "allowed: daily_budget, cost_per_join")


def test_top_level_typo_of_extends(tmp_path):
    path = write(tmp_path, "x.yaml", "extend: base.yaml\n")
    assert "did you mean 'extends'?" in error_of(path)


def test_unknown_graph_kind(tmp_path):
    text = "name: x\npopulation:\n  size: 100\n  graph: {kind: barabasi, m: 3}\n"
    path = write(tmp_path, "x.yaml", text)
    assert_located(error_of(path), "x.yaml", 4, "population.graph.kind = 'barabasi'",
                   "unknown graph kind", "allowed: barabasi_albert, watts_strogatz")


def test_graph_parameter_error_uses_the_kind_class(tmp_path):
    path = write(tmp_path, "x.yaml", "population:\n  graph:\n    kind: watts_strogatz\n    p: 2\n")
    assert_located(error_of(path), "x.yaml", 4, "population.graph.p = 2",
                   "allowed: a number in [0, 1]")
    path = write(tmp_path, "y.yaml", "population:\n  graph:\n    kind: well_mixed\n    m: 2\n")
    assert_located(error_of(path), "y.yaml", 4, "population.graph.m: unknown key", "contacts")


def test_unknown_seeding_strategy_lists_allowed_values(tmp_path):
    path = write(tmp_path, "x.yaml", "seeding:\n  strategy: loudest\n")
    assert_located(error_of(path), "x.yaml", 2, "seeding.strategy = 'loudest'",
                   "unknown seeding strategy",
                   "allowed: random, degree, fit_degree, pagerank, kcore, betweenness, "
                   "influence_max")


def test_negative_size(tmp_path):
    path = write(tmp_path, "x.yaml", "population:\n  size: -5\n")
    assert_located(error_of(path), "x.yaml", 2, "population.size = -5", "must be >= 2",
                   "allowed: a whole number in [2, ")


@pytest.mark.parametrize("text, line, parts", [
    ("population:\n  fit: {alpha: 0}\n", 2, ["population.fit.alpha = 0", "must be > 0",
                                            "allowed: a number in (0, 1000]"]),
    ("steps: 3.5\n", 1, ["steps = 3.5", "not a whole number",
                         "allowed: a whole number in [1, 100000]"]),
    ("rules:\n  decay: true\n", 2, ["rules.decay = true", "not a number",
                                    "allowed: a number in [0, 1]"]),
    ("rules:\n  decay: .inf\n", 2, ["rules.decay", "allowed: a number in [0, 1]"]),
    ("program:\n  ads: {daily_budget: .inf}\n", 2, ["must be a finite number",
                                                    "allowed: a number in [0, 1000000000000]"]),
    ("program:\n  amplification:\n    enabled: maybe\n", 3,
     ["program.amplification.enabled = 'maybe'", "allowed: true or false"]),
    ("milestones:\n  - 100\n  - lots\n", 3, ["milestones[1] = 'lots'",
                                             "allowed: a whole number in [1, 2000000000]"]),
    ("milestones: 100\n", 1, ["milestones = 100", "not a list", "allowed: a list"]),
    ("rules: 5\n", 1, ["rules = 5", "not a mapping", "allowed: a mapping with keys invite_rate"]),
    ("name: 2024\n", 1, ["name = 2024", "not text", "allowed: non-empty text"]),
    ("population:\n  fit:\n    constant: 2\n", 3, ["population.fit.constant = 2", "or null"]),
    ("population:\n  graph:\n    kind: edgelist\n", 2,
     ["population.graph.path", "required key missing", "allowed: non-empty text"]),
    ("population:\n  graph: {m: 3}\n", 2, ["population.graph.kind", "required key missing"]),
    ("rules:\n  decay: 0.1\n  decay: 0.2\n", 3, ["rules.decay", "duplicate key"]),
])
def test_every_value_error_is_one_located_line(tmp_path, text, line, parts):
    path = write(tmp_path, "x.yaml", text)
    assert_located(error_of(path), "x.yaml", line, "allowed", *parts)


def test_yaml_syntax_error_has_its_line(tmp_path):
    path = write(tmp_path, "x.yaml", "name: x\nrules:\n  invite_rate: 0.1\n   decay: [1\n")
    msg = error_of(path)
    assert re.search(r"x\.yaml:\d+: YAML syntax error", msg), msg
    path = write(tmp_path, "y.yaml", "name: x\nrules: {decay: 0.1\nsteps: 3\n")
    assert re.search(r"y\.yaml:[34]: YAML syntax error", error_of(path))


@pytest.mark.parametrize("text, what", [
    ("", "empty"),
    ("# only a comment\n", "empty"),
    ("- a\n- b\n", "not a mapping"),
    ("just text\n", "not a mapping"),
])
def test_files_that_are_not_mappings(tmp_path, text, what):
    assert what in error_of(write(tmp_path, "x.yaml", text))


def test_non_utf8_file(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_bytes(b"name: caf\xe9\n")
    assert "UTF-8" in error_of(path)


def test_python_tags_are_rejected_and_never_run(tmp_path):
    marker = tmp_path / "ran"
    path = write(tmp_path, "x.yaml",
                 f"name: x\nrules: !!python/object/apply:os.system ['touch {marker}']\n")
    msg = error_of(path)
    assert "x.yaml:2:" in msg and "python/object" in msg and "allowed" in msg
    assert not marker.exists()
    path = write(tmp_path, "y.yaml", "!!python/object:sim.config.Scenario {}\n")
    assert "python/object" in error_of(path)


def test_errors_are_fishpond_errors():
    assert issubclass(ScenarioError, FishpondError)


# --- cross-field rules ----------------------------------------------------------------------


@pytest.mark.parametrize("text, key, words", [
    ("population: {size: 100}\nseeding: {count: 80}\nmass_pull: {count: 30}\n",
     "mass_pull.count = 30", "exceeds population.size = 100"),
    ("population: {size: 100}\nseeding: {count: 101}\n", "seeding.count = 101", "exceeds"),
    ("population: {size: 5, graph: {kind: barabasi_albert, m: 5}}\nseeding: {count: 1}\n",
     "population.graph.m = 5", "must be < population.size"),
    ("population: {size: 50, graph: {kind: powerlaw_cluster, m: 60}}\nseeding: {count: 1}\n",
     "population.graph.m = 60", "must be < population.size"),
    ("population: {size: 100, graph: {kind: watts_strogatz, k: 5}}\nseeding: {count: 1}\n",
     "population.graph.k = 5", "must be even"),
    ("population: {size: 10, graph: {kind: watts_strogatz, k: 10}}\nseeding: {count: 1}\n",
     "population.graph.k = 10", "must be < population.size"),
    ("population: {size: 100, graph: {kind: circles, sizes: [50, 40]}}\nseeding: {count: 1}\n",
     "population.graph.sizes = [50, 40]", "add up to 90"),
    ("population: {size: 100, graph: {kind: circles, count: 101}}\nseeding: {count: 1}\n",
     "population.graph.count = 101", "more circles"),
    ("milestones: [10, 10]\n", "milestones[1] = 10", "greater than the previous"),
    ("rules: {active_threshold: 0.2, hysteresis: 0.3}\n", "rules.hysteresis = 0.3",
     "must be <= rules.active_threshold"),
    ("population: {fit: {circle_corr: 0.5}}\n", "population.fit.circle_corr = 0.5", "circles"),
])
def test_cross_field_rules(tmp_path, text, key, words):
    path = write(tmp_path, "x.yaml", text)
    msg = error_of(path)
    assert "x.yaml:" in msg and key in msg and words in msg and "allowed" in msg, msg


def test_cross_field_rules_accept_valid_combinations(tmp_path):
    path = write(tmp_path, "x.yaml", "population:\n  size: 100\n"
                 "  graph: {kind: circles, sizes: [60, 40]}\n  fit: {circle_corr: 0.3}\n"
                 "seeding: {count: 10}\nmass_pull: {count: 90}\n")
    assert load_scenario(path).population.graph.sizes == [60, 40]


def test_check_scenario_is_callable_on_any_scenario():
    check_scenario(Scenario())
    bad = Scenario().model_copy(update={"milestones": [100, 50]})
    with pytest.raises(ScenarioError, match=r"^milestones\[1\] = 50: must be greater"):
        check_scenario(bad)
    with pytest.raises(ScenarioError, match=r"^run\.yaml: milestones"):
        check_scenario(bad, source="run.yaml")


# --- programmatic use, dumping, edge lists --------------------------------------------------


def test_scenario_from_dict():
    assert scenario_from_dict({}) == Scenario()
    assert scenario_from_dict({"extends": "fish_pond", "steps": 30}).seeding.count == 100
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict({"rules": {"invite_rate": 2}}, source="sweep row 3")
    assert str(info.value) == ("sweep row 3: rules.invite_rate = 2: must be <= 1; "
                               "allowed: a number in [0, 1]")


def test_scenario_to_yaml_is_block_style_in_schema_order():
    text = scenario_to_yaml(load_scenario("fish_pond"))
    keys = [line.split(":")[0] for line in text.splitlines() if re.match(r"^\w", line)]
    assert keys == list(Scenario.model_fields)
    assert "{" not in text and "name: seed-100 fish pond" in text


def test_edgelist_path_is_relative_to_the_file_and_round_trips(tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    (data / "edges.csv").write_text("0,1\n1,2\n", encoding="utf-8")
    write(tmp_path, "parent.yaml", "population:\n  graph: {kind: edgelist, path: data/edges.csv}\n"
          "seeding: {count: 1}\n")
    sub = tmp_path / "sub"
    sub.mkdir()
    child = write(sub, "child.yaml", "extends: ../parent.yaml\nname: child\n")
    monkeypatch.chdir(sub)
    sc = load_scenario(child)
    assert Path(sc.population.graph.path) == (data / "edges.csv").resolve()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    dump_scenario(sc, elsewhere / "resolved.yaml")
    monkeypatch.chdir(elsewhere)
    assert load_scenario("resolved.yaml") == sc


def test_edgelist_missing_file_is_reported_at_its_key(tmp_path):
    text = "population:\n  graph:\n    kind: edgelist\n    path: nope.csv\n"
    path = write(tmp_path, "x.yaml", text)
    assert_located(error_of(path), "x.yaml", 4, "population.graph.path", "not found", "allowed")
