"""Hostile and impossible inputs: refused quickly, with one line, before anything is built.

Values that should never validate (infinity, NaN, integers the kernels cannot hold), sizes
that cannot fit in memory, YAML bombs and deep nesting, oversized files and designs, binary
edge lists, and misuse of the Python API (issue 9, items 5-11, 13, 18 and 19).
"""

from __future__ import annotations

import math
import time
import types
import typing
from pathlib import Path

import numpy as np
import pytest
from pydantic import BaseModel, ValidationError

from sim import GrowthModel
from sim.cli import main
from sim.config import MAX_DAYS, MAX_PERSONS, Scenario
from sim.errors import DataError, FishpondError, ScenarioError
from sim.experiments import Experiment, experiment_from_dict, load_experiment
from sim.limits import MAX_RUNS, estimate_run, parse_memory
from sim.population import load_edgelist
from sim.scenario_io import MAX_DEPTH, load_scenario, scenario_from_dict


def cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def refused(capsys, *argv) -> str:
    """Run the CLI; assert exit 2 and one line on stderr without a traceback; return it."""
    code, out, err = cli(capsys, *argv)
    assert code == 2, (code, out, err)
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


# --- item 5: every number finite ------------------------------------------------------------


@pytest.mark.parametrize("setting", [
    "economics.price=inf", "economics.cost_per_post=1e999", "program.ads.daily_budget=Infinity",
    "economics.price=-.inf", "rules.interact_half=.inf", "rules.invite_rate=.nan",
])
def test_infinite_and_nan_values_are_refused(capsys, setting):
    err = refused(capsys, "validate", "fish_pond", "--set", setting)
    assert setting.partition("=")[0] in err
    if "nan" in setting:
        assert "NaN is not allowed" in err
    else:
        assert "finite" in err


def test_a_number_that_yaml_reads_as_infinity_is_refused(tmp_path, capsys):
    path = tmp_path / "inf.yaml"
    path.write_text("extends: fish_pond.yaml\neconomics: {price: 1e400}\n")
    err = refused(capsys, "validate", str(path))
    assert "inf.yaml:2: economics.price" in err and "finite" in err


def test_infinity_is_refused_by_the_python_api_too():
    with pytest.raises(ValidationError):
        Scenario.model_validate({"economics": {"price": math.inf}})
    with pytest.raises(ScenarioError, match="NaN is not allowed"):
        scenario_from_dict({"program": {"ads": {"daily_budget": math.nan}}})
    with pytest.raises(ScenarioError, match="finite"):
        GrowthModel("fish_pond", economics={"cost_per_post": math.inf})
    with pytest.raises(ScenarioError, match="finite"):
        experiment_from_dict({"scenario": "fish_pond", "design": {
            "kind": "lhs", "samples": 2, "parameters": {"rules.decay": [0, math.inf]}}})


# --- item 6: every whole number in a range the kernels can hold ------------------------------


def _int_fields(model: type[BaseModel], prefix: str = ""):
    """(key path, bounds) of every whole-number field and list item reachable from ``model``."""
    for name, field in model.model_fields.items():
        key = prefix + name
        yield from _int_types(field.annotation, list(field.metadata), key)


def _int_types(tp, meta, key):
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        inner, *extra = typing.get_args(tp)
        for item in extra:
            meta = meta + (list(item.metadata) if hasattr(item, "metadata") else [item])
        yield from _int_types(inner, meta, key)
    elif origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            yield from _int_types(arg, meta, key)
    elif origin is list:
        yield from _int_types(typing.get_args(tp)[0], [], key + "[]")
    elif isinstance(tp, type) and issubclass(tp, BaseModel):
        yield from _int_fields(tp, key + ".")
    elif tp is int:
        bounds = {k: getattr(m, k) for m in meta for k in ("ge", "gt", "le", "lt")
                  if getattr(m, k, None) is not None}
        yield key, bounds


def test_every_whole_number_has_a_range_the_kernels_can_hold():
    fields = list(_int_fields(Scenario)) + list(_int_fields(Experiment))
    assert len(fields) > 15
    for key, bounds in fields:
        assert "ge" in bounds or "gt" in bounds, f"{key}: no lower bound"
        high = bounds.get("le", bounds.get("lt"))
        assert high is not None, f"{key}: no upper bound"
        assert high <= 2**63 - 1, key
        if key.endswith(("days", "start", "steps")):
            assert high <= MAX_DAYS, key
        elif key not in ("seed", "population.seed"):  # seeds: any 63-bit number
            assert high <= MAX_PERSONS, key


@pytest.mark.parametrize("setting", [
    f"program.common_task.start={2**63}", f"program.common_task.days={2**64}",
    f"program.recruit.every_days={2**63}", f"seeding.count={2**63}", f"mass_pull.count={2**70}",
    f"milestones=[10, {2**63}]", f"program.recruit.count={2**63}",
])
def test_whole_numbers_beyond_the_kernels_are_refused(capsys, setting):
    err = refused(capsys, "validate", "fish_pond", "--set", setting)
    assert "must be <=" in err and "allowed: a whole number in [" in err


# --- item 7: sizes that cannot fit ---------------------------------------------------------


def test_a_population_that_cannot_fit_is_refused_before_anything_is_built():
    start = time.perf_counter()
    with pytest.raises(ScenarioError, match=r"population\.size = 2000000000: .* needs about "
                                            r"[0-9.]+ TB of memory, more than"):
        GrowthModel("fish_pond", population={"size": 2_000_000_000})
    with pytest.raises(ScenarioError, match=r"population\.size = 100000: a complete graph .* GB"):
        GrowthModel("fish_pond", population={"size": 100_000, "graph": {"kind": "complete"}})
    assert time.perf_counter() - start < 5


def test_well_mixed_contacts_beyond_the_population_are_refused(capsys):
    err = refused(capsys, "validate", "fish_pond", "--set",
                  "population.graph={kind: well_mixed, contacts: 1000000}")
    assert "population.graph.contacts = 1000000" in err and "[1, 99999]" in err


def test_max_memory_refuses_a_run_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "out"
    err = refused(capsys, "run", "fish_pond", "--max-memory", "10MB", "--out", str(out))
    assert "population.size = 100000" in err and "MB of memory" in err and "--max-memory" in err
    assert not out.exists()
    err = refused(capsys, "run", "fish_pond", "--max-memory", "plenty")
    assert "--max-memory plenty" in err
    err = refused(capsys, "sweep", "seed_count", "--max-memory", "1MB", "--workers", "1",
                  "--out", str(out))
    assert "seed_count.yaml" in err and "of memory" in err and not out.exists()
    assert parse_memory("2GiB") == 2 * 2**30
    small = estimate_run(Scenario.model_validate({"population": {"size": 1000}}))
    large = estimate_run(Scenario())
    assert small.memory < large.memory and small.seconds < large.seconds


# --- items 8, 9, 13: YAML bombs, deep nesting, oversized files ---------------------------


def _laughs(levels: int = 10, fan: int = 9) -> str:
    lines = ["a0: &a0 [" + ", ".join(["lol"] * fan) + "]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * fan) + "]")
    return "\n".join(lines) + "\n"


def _mapping_bomb(levels: int = 9, fan: int = 9) -> str:
    lines = ["m0: &m0 {" + ", ".join(f"k{j}: lol" for j in range(fan)) + "}"]
    for i in range(1, levels):
        lines.append(f"m{i}: &m{i} {{" + ", ".join(f"k{j}: *m{i - 1}" for j in range(fan)) + "}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("text", [_laughs(), _mapping_bomb()], ids=["laughs", "mappings"])
def test_alias_bombs_are_refused_within_a_second(tmp_path, capsys, text):
    path = tmp_path / "bomb.yaml"
    path.write_text(text)
    assert len(text) < 1500
    start = time.perf_counter()
    err = refused(capsys, "validate", str(path))
    assert time.perf_counter() - start < 1
    assert "bomb.yaml:" in err and "expands to more than" in err
    experiment = tmp_path / "exp.yaml"
    experiment.write_text(text)
    with pytest.raises(ScenarioError, match="expands to more than"):
        load_experiment(experiment)


def test_small_anchors_and_aliases_still_work(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text("extends: fish_pond.yaml\nrules:\n  role_mult: &m {lurker: 1, active: 1, "
                    "kol: 1}\nmilestones: &ms [5, 50]\n")
    assert load_scenario(path).milestones == [5, 50]


@pytest.mark.parametrize("depth", [60, 500, 5000])
def test_deep_nesting_is_one_line(tmp_path, capsys, depth):
    path = tmp_path / "deep.yaml"
    path.write_text("rules: " + "[" * depth + "]" * depth + "\n")
    err = refused(capsys, "validate", str(path))
    assert f"nested deeper than {MAX_DEPTH} levels" in err
    err = refused(capsys, "validate", "fish_pond", "--set", "rules=" + "[" * depth + "]" * depth)
    assert f"nested deeper than {MAX_DEPTH} levels" in err and len(err) < 300


def test_oversized_scenario_files_are_refused_fast(tmp_path, capsys):
    big = tmp_path / "big.yaml"
    big.write_text("name: big\n" + "# padding padding padding\n" * 100_000)  # 2.6 MB
    child = tmp_path / "child.yaml"
    child.write_text("extends: big.yaml\n")
    start = time.perf_counter()
    for target in (big, child):
        err = refused(capsys, "validate", str(target))
        assert "big.yaml: scenario file larger than 1,000,000 bytes" in err
    with pytest.raises(ScenarioError, match="experiment file larger than"):
        load_experiment(big)
    assert time.perf_counter() - start < 2


# --- item 10: designs too large to run ---------------------------------------------------


_BIG_DESIGNS = {
    "grid": ({"kind": "grid", "parameters": {
        f"rules.{k}": [0.1 * i for i in range(1, 11)] for k in (
            "invite_rate", "decay", "fatigue", "churn_base", "convert_prob", "organic_rate",
            "interact_gain", "active_threshold", "trough_dropout", "commit_threshold",
            "rejoin_factor", "interact_gain")}}, 1, "design.parameters"),
    "grid6": ({"kind": "grid", "parameters": {
        f"rules.{k}": [0.1 * i for i in range(1, 11)] for k in (
            "invite_rate", "decay", "fatigue", "churn_base", "convert_prob", "organic_rate")}},
        1, "design.parameters"),
    "sobol": ({"kind": "sobol", "samples": 2**20,
               "parameters": {"rules.decay": [0.0, 0.1]}}, 1, "design.samples"),
    "lhs": ({"kind": "lhs", "samples": 10_000_000,
             "parameters": {"rules.decay": [0.0, 0.1]}}, 1, "design.samples"),
    "replicates": ({"kind": "lhs", "samples": 2,
                    "parameters": {"rules.decay": [0.0, 0.1]}}, 100_000, "replicates"),
    "morris": ({"kind": "morris", "samples": 100_000,
                "parameters": {"rules.decay": [0.0, 0.1]}}, 1, "design.samples"),
}


@pytest.mark.parametrize("name", list(_BIG_DESIGNS))
def test_designs_too_large_are_counted_and_refused_before_expanding(name):
    design, replicates, key = _BIG_DESIGNS[name]
    start = time.perf_counter()
    with pytest.raises(ScenarioError) as info:
        experiment_from_dict({"scenario": "fish_pond", "replicates": replicates,
                              "design": design})
    assert time.perf_counter() - start < 2
    text = str(info.value)
    assert f"{key} = " in text and f"more than the limit of {MAX_RUNS:,}" in text
    assert "of computing" in text and "--max-runs" in text


def test_max_runs_sets_the_limit(tmp_path, capsys):
    exp = {"scenario": "fish_pond", "replicates": 3,
           "design": {"kind": "grid", "parameters": {"seeding.count": [10, 20]}}}
    assert len(experiment_from_dict(exp, max_runs=6).design.parameters) == 1
    with pytest.raises(ScenarioError, match="has 6 runs .* more than the limit of 5"):
        experiment_from_dict(exp, max_runs=5)
    out = tmp_path / "out"
    err = refused(capsys, "sweep", "seed_count", "--max-runs", "10", "--out", str(out))
    assert "more than the limit of 10" in err and not out.exists()
    err = refused(capsys, "compare", "fish_pond", "no_feed", "--replicates", "6",
                  "--max-runs", "10", "--out", str(out))
    assert "12 runs" in err and not out.exists()


# --- item 11: binary and huge edge lists -------------------------------------------------


def test_a_binary_edge_list_is_refused_fast_with_a_short_message(tmp_path):
    path = tmp_path / "zeros.txt"
    path.write_bytes(b"\0" * 5_000_000)
    start = time.perf_counter()
    with pytest.raises(DataError, match="binary file .NUL byte at offset 0") as info:
        load_edgelist(path)
    assert time.perf_counter() - start < 1 and len(str(info.value)) < 300
    late = tmp_path / "late.txt"
    late.write_bytes(b"1 2\n" * 500_000 + b"3\0 4\n")
    with pytest.raises(DataError, match="offset 2000001"):
        load_edgelist(late)


def test_echoed_rows_are_cut_to_about_80_characters(tmp_path):
    path = tmp_path / "long.txt"
    path.write_text("1 2\n" + "x" * 5_000_000 + "\n")
    with pytest.raises(DataError, match=r"long.txt:2: expected 2 columns") as info:
        load_edgelist(path)
    assert len(str(info.value)) < 250 and str(info.value).endswith("...")
    weights = tmp_path / "w.txt"
    weights.write_text("1 2 " + "9" * 10_000 + "\n")
    with pytest.raises(DataError, match="weight must be") as info:
        load_edgelist(weights, weighted=True)
    assert len(str(info.value)) < 300


# --- item 18: messages ---------------------------------------------------------------------


def test_a_set_that_switches_to_edgelist_is_blamed_for_the_missing_path(capsys):
    err = refused(capsys, "validate", "fish_pond", "--set", "population.graph.kind=edgelist")
    assert err.startswith("fishpond: error: --set population.graph.kind=edgelist: ")
    assert "population.graph.path: required key missing" in err and "base.yaml" not in err


def test_non_text_keys_say_what_is_allowed(tmp_path, capsys):
    path = tmp_path / "k.yaml"
    path.write_text("extends: fish_pond.yaml\nrules: {1: 0.5}\n")
    err = refused(capsys, "validate", str(path))
    assert "k.yaml:2: rules.1: key 1 is not text (int)" in err
    assert "allowed: the keys invite_rate, invite_cap, role_mult" in err
    assert "rules[1] = 1" not in err


def test_extends_accepts_shipped_names_without_yaml(tmp_path):
    path = tmp_path / "child.yaml"
    path.write_text("extends: fish_pond\nsteps: 12\n")
    sc = load_scenario(path)
    assert sc.steps == 12 and sc.seeding.count == load_scenario("fish_pond").seeding.count


def test_resume_with_overwrite_on_a_changed_experiment_says_what_to_do(tmp_path):
    from sim.errors import OutputError
    from sim.store import MANIFEST, check_out

    out = tmp_path / "sweep"
    out.mkdir()
    (out / MANIFEST).write_text('{"experiment_hash": "aaaaaaaaaaaaaaaa"}')
    with pytest.raises(OutputError) as info:
        check_out(out, "b" * 64, resume=True, overwrite=True)
    assert "drop --resume" in str(info.value) and "use --overwrite" not in str(info.value)
    with pytest.raises(OutputError, match="use --overwrite to start over"):
        check_out(out, "b" * 64, resume=True, overwrite=False)


# --- item 19: the Python API -------------------------------------------------------------


TINY = {"population": {"size": 30, "graph": {"kind": "complete"}}, "seeding": {"count": 3},
        "steps": 4}


@pytest.mark.parametrize("bad", [123, [1, 2], 1.5, object()])
def test_growth_model_refuses_what_is_not_a_scenario(bad):
    with pytest.raises(ScenarioError, match="not a scenario .* allowed: a sim.config.Scenario"):
        GrowthModel(bad)


def test_growth_model_refuses_what_is_not_a_graph():
    with pytest.raises(ScenarioError, match="not a population graph; allowed"):
        GrowthModel("fish_pond", graph=object())


def test_steps_persons_and_the_horizon_are_checked():
    m = GrowthModel(TINY, engine="agents")
    for steps in (-3, 5, 1.5, True):
        with pytest.raises(FishpondError, match=r"allowed: a whole number in \[0, 4\]"):
            m.run(steps=steps)
    assert m.day == 0
    for i in (-1, 30, 2.0):
        with pytest.raises(FishpondError, match=r"no such person; allowed: .* \[0, 29\]"):
            m.person(i)
    assert m.person(np.int64(29)).unique_id is not None
    m.run(steps=1)
    m.run()
    with pytest.raises(FishpondError, match="horizon"):
        m.step()
    assert m.day == 4 and m.summary()["steps"] == 4 and len(m.timeseries()) == 5
    assert isinstance(Path("x"), Path)


def test_edge_lists_are_streamed_not_read_whole(tmp_path):
    """A 40 MB edge list (mostly comments) loads in well under half its size in memory.

    The file is never held whole, in the fast reader or the careful one (non-integer ids).
    """
    import tracemalloc

    from sim.population import load_edgelist

    comment = "# " + "x" * 98 + "\n"
    for name, edges in (("ints.txt", "1 2\n2 3\n3 1\n"), ("names.txt", "a b\nb c\nc a\n")):
        path = tmp_path / name
        with path.open("w") as f:
            for _ in range(4):
                f.write(comment * 100_000)  # 10 MB each
                f.write(edges)
        tracemalloc.start()
        try:
            g = load_edgelist(path)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert g.n == 3 and g.n_edges == 3
        assert peak < 20 * 2**20, f"{name}: peak {peak / 2**20:.0f} MiB for a 40 MB file"
