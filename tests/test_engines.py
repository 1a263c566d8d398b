"""The compiled engine is a twin of the readable one: identical trajectories, bit for bit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

from sim import GrowthModel, load_scenario
from sim.scenario_io import SCENARIOS_DIR
from tests.helpers import merge


def assert_identical(a: GrowthModel, b: GrowthModel) -> None:
    pd.testing.assert_frame_equal(a.timeseries(), b.timeseries(), check_exact=True)
    for name, arr in a.state.arrays().items():
        other = b.state.arrays()[name]
        assert arr.dtype == other.dtype, name
        assert np.array_equal(arr, other), f"{name} differs at {np.flatnonzero(arr != other)[:5]}"


def twins(scenario, **overrides) -> tuple[GrowthModel, GrowthModel]:
    a = GrowthModel(scenario, engine="agents", **overrides)
    b = GrowthModel(scenario, engine="numba", **overrides)
    a.run()
    b.run()
    return a, b


SMALL = {"population": {"size": 300}, "steps": 40}
SHIPPED = sorted(p.stem for p in SCENARIOS_DIR.glob("*.yaml"))


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_scenario_is_identical_on_both_engines(name):
    sc = load_scenario(SCENARIOS_DIR / f"{name}.yaml")
    over = {"steps": 40}
    if sc.population.graph.kind != "edgelist":
        over["population"] = {"size": 300}
        over["seeding"] = {"count": min(sc.seeding.count, 20)}
        over["mass_pull"] = {"count": min(sc.mass_pull.count, 60)}
    if sc.program.ads.daily_budget > 0:
        over["program"] = {"ads": {"daily_budget": 60.0}}
    assert_identical(*twins(sc, rng=4, **over))


@pytest.mark.parametrize("cost_per_join", [1e-9, 1e-300])
def test_a_budget_buying_more_than_everyone_ends_and_is_identical(cost_per_join):
    """Ads wanted beyond the population are capped at it (they drew candidates without end)."""
    a, b = twins("paid_ads", rng=2, population={"size": 50}, steps=12,
                 program={"ads": {"daily_budget": 1000.0, "cost_per_join": cost_per_join}})
    assert_identical(a, b)
    ts = b.timeseries()
    assert ts["joins_ads"].iloc[-1] > 0
    assert (ts["members"] + ts["churned"] <= 50).all()


GRAPHS = [
    {"kind": "barabasi_albert", "m": 2},
    {"kind": "watts_strogatz", "k": 6, "p": 0.2},
    {"kind": "powerlaw_cluster", "m": 3, "p": 0.3},
    {"kind": "circles", "count": 4, "p_in": 0.05, "p_out": 0.002},
    {"kind": "complete"},
    {"kind": "well_mixed", "contacts": 6},
]


@pytest.mark.parametrize("graph", GRAPHS, ids=[g["kind"] for g in GRAPHS])
def test_graph_kinds_are_identical_on_both_engines(graph):
    size = 60 if graph["kind"] == "complete" else 250
    assert_identical(*twins("fish_pond", rng=8, population={"size": size, "graph": graph},
                            seeding={"count": 10}, steps=40,
                            rules={"organic_rate": 0.001, "invite_rate": 0.02}))


def test_every_mechanism_at_once_is_identical():
    over = {
        "population": {"size": 300, "graph": {"kind": "barabasi_albert", "m": 3},
                       "engagement": {"median": 1.2, "sigma": 1.5}},
        "seeding": {"count": 15, "strategy": "fit_degree"},
        "mass_pull": {"count": 30},
        "steps": 60,
        "program": {
            "recruit": {"every_days": 7, "count": 5, "min_intimacy": 0.5},
            "entry_gate": {"kind": "payment", "pass_prob": 0.7, "intimacy_bonus": 0.3},
            "ads": {"daily_budget": 50.0, "cost_per_join": 20.0, "saturation": 2.0},
            "self_org_rate": 0.2,
            "activity_capacity": 3.0,
            "amplification": {"enabled": True, "factor": 4.0},
        },
        "rules": {"organic_rate": 0.01, "rejoin_factor": 0.5, "churn_base": 0.05,
                  "invite_rate": 0.03, "trough_dropout": 0.1, "invite_cap": 0.7},
        "economics": {"pay_rate": 0.05},
    }
    a, b = twins("fish_pond", rng=21, **over)
    assert_identical(a, b)
    ts = a.timeseries()
    for col in ("joins_referral", "joins_organic", "joins_ads", "churned", "paying_members",
                "member_activities"):
        assert ts[col].sum() > 0, col  # each mechanism really ran


def test_review_gate_and_weighted_edge_list_are_identical(tmp_path):
    rows = [f"{i} {(i * 7 + 3) % 120} {0.2 + (i % 5) / 6:.3f}" for i in range(120)]
    rows += [f"{i} {(i + 1) % 120} 1.0" for i in range(120)]
    (tmp_path / "net.txt").write_text("\n".join(rows) + "\n")
    sc = {"name": "w",
          "population": {"graph": {"kind": "edgelist", "path": str(tmp_path / "net.txt"),
                                   "weighted": True}},
          "seeding": {"count": 5}, "steps": 40,
          "program": {"entry_gate": {"kind": "review", "min_fit": 0.3}},
          "rules": {"invite_rate": 0.05}}
    a, b = twins(sc, rng=2)
    assert_identical(a, b)
    assert a.timeseries().joins_referral.iloc[-1] > 0


small_scenarios = hs.fixed_dictionaries({
    "size": hs.integers(20, 120),
    "m": hs.integers(1, 4),
    "seeds": hs.integers(0, 10),
    "mass": hs.integers(0, 10),
    "invite_rate": hs.floats(0, 0.2),
    "convert_prob": hs.floats(0, 1),
    "fatigue": hs.floats(0, 1),
    "churn_base": hs.floats(0, 0.2),
    "decay": hs.floats(0, 0.1),
    "organic_rate": hs.floats(0, 0.01),
    "content_per_week": hs.floats(0, 20),
    "activities_per_month": hs.floats(0, 40),
    "self_org_rate": hs.floats(0, 0.5),
    "gate": hs.sampled_from(["none", "review", "payment"]),
    "ads": hs.floats(0, 100),
    "steps": hs.integers(1, 25),
    "seed": hs.integers(0, 2**63 - 1),
    "well_mixed": hs.booleans(),
    "sigma": hs.sampled_from([0.0, 0.5, 1.1, 2.5]),
    "invite_cap": hs.sampled_from([0.0, 0.3, 2.0]),
    "capacity": hs.sampled_from([0.0, 1.0, 10.0]),
    "saturation": hs.sampled_from([0.0, 1.0, 3.0]),
})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_scenarios)
def test_random_small_scenarios_are_identical(x):
    graph = ({"kind": "well_mixed", "contacts": x["m"] + 1} if x["well_mixed"]
             else {"kind": "barabasi_albert", "m": x["m"]})
    sc = merge({}, {
        "seed": x["seed"], "steps": x["steps"],
        "population": {"size": x["size"], "graph": graph,
                       "engagement": {"sigma": x["sigma"]}},
        "seeding": {"count": x["seeds"]}, "mass_pull": {"count": x["mass"]},
        "program": {"content_per_week": x["content_per_week"],
                    "activities_per_month": x["activities_per_month"],
                    "activity_capacity": x["capacity"],
                    "self_org_rate": x["self_org_rate"], "entry_gate": {"kind": x["gate"]},
                    "ads": {"daily_budget": x["ads"], "saturation": x["saturation"]}},
        "rules": {"invite_rate": x["invite_rate"], "invite_cap": x["invite_cap"],
                  "convert_prob": x["convert_prob"],
                  "fatigue": x["fatigue"], "churn_base": x["churn_base"], "decay": x["decay"],
                  "organic_rate": x["organic_rate"]},
    })
    assert_identical(*twins(sc))


def test_threaded_kernels_equal_the_serial_ones(monkeypatch):
    import numba

    from sim import threads

    over = {"population": {"size": 3000}, "steps": 60, "rules": {"organic_rate": 0.001}}
    serial = GrowthModel("fish_pond", rng=5, engine="numba", **over)
    serial.run()
    assert not serial.work.threads
    monkeypatch.setattr(threads, "PARALLEL_MIN", 0)  # threads even for a small population
    assert threads.use_threads(3000) == (numba.get_num_threads() > 1)
    threaded = GrowthModel("fish_pond", rng=5, engine="numba", **over)
    assert threaded.work.threads == (numba.get_num_threads() > 1)
    threaded.run()
    assert_identical(serial, threaded)
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = GrowthModel("fish_pond", rng=5, engine="numba", **over)
        one.run()
    finally:
        numba.set_num_threads(threads)
    assert_identical(serial, one)


@pytest.mark.parametrize("rate,sorted_lists", [(0.02, True), (0.3, False)])
def test_the_days_lists_sorted_or_scanned_are_identical(rate, sorted_lists):
    """The invited and the newcomers listed by a sort, or by a pass when many: the same day.

    The compiled day lists them in index order by sorting them, or, when they are over 1/32
    of everyone, by a pass over everyone; both give the readable engine's trajectory.
    """
    n = 20_000
    a, b = twins("pure_sir", rng=5, steps=12, population={"size": n},
                 seeding={"count": 20, "strategy": "random"},
                 rules={"invite_rate": rate, "churn_base": 1.0})
    assert_identical(a, b)
    ts = b.timeseries()
    joins = ts["joins_referral"].diff().iloc[1:]
    many = (ts["invites_sent"].iloc[1:] * 32 > n) & (joins * 32 > n)
    assert ts["invites_sent"].sum() > 0
    assert (not many.any()) if sorted_lists else many.sum() >= 2


def test_newcomers_are_listed_by_a_scan_only_when_it_finds_exactly_them():
    from sim.codes import MEMBER
    from sim.kernels import _list_joined

    status = np.zeros(10, np.int8)
    join_day = np.full(10, -1, np.int32)
    status[[2, 5, 7]] = MEMBER
    join_day[[2, 5, 7]] = 4
    buf, out = np.empty(10, np.int64), np.array([7, 2, 5])
    assert _list_joined(4, status, join_day, buf, 3, out) and out.tolist() == [2, 5, 7]
    join_day[0], status[0] = 4, MEMBER  # a join day edited by hand: one too many
    out = np.array([7, 2, 5])
    assert not _list_joined(4, status, join_day, buf, 3, out) and out.tolist() == [7, 2, 5]


def test_members_are_synced_alike_word_by_word_and_person_by_person():
    """_sync_members skips words of eight persons while members are few: the same outcome."""
    from sim.kernels import _sync_members
    from sim.population import from_edges

    gen = np.random.default_rng(6)
    for n, share in ((1000, 0.01), (1003, 0.2), (77, 0.5), (5, 0.5)):
        graph = from_edges(n, gen.integers(0, n, 2 * n), gen.integers(0, n, 2 * n))
        g = (graph.indptr, graph.indices)
        status = gen.choice(np.array([0, 1, 2], np.int8), n, p=[1 - share, share / 2, share / 2])
        was = gen.random(n) < share / 2
        outs = []
        for synced in (0, n):  # the word-by-word pass, then the plain one
            st, fresh, w = status.copy(), np.zeros(n, np.bool_), was.copy()
            members, changed = np.full(n, -1, np.int64), np.full(n, -1, np.int64)
            nbrs = np.zeros(n, np.int32)
            kept = np.array([synced], np.int64)
            nm = _sync_members(g[0], g[1], st, members, changed, w, nbrs, kept, fresh, True)
            assert nm == kept[0] == (status == 1).sum()
            outs.append((members[:nm].tolist(), w.tolist(), fresh.tolist(), nbrs.tolist()))
        assert outs[0] == outs[1]
        assert outs[0][0] == np.flatnonzero(status == 1).tolist()
        assert outs[0][1] == (status == 1).tolist()
        assert outs[0][2] == ((status == 1) & ~was).tolist()  # the new members
        for i in range(n):  # each person's member neighbours, from the changes
            members_now = status[g[1][g[0][i]:g[0][i + 1]]] == 1
            members_then = was[g[1][g[0][i]:g[0][i + 1]]]
            assert outs[0][3][i] == members_now.sum() - members_then.sum(), i


def test_engines_stay_identical_when_the_user_edits_the_state_between_days():
    """Edits to ``model.state`` between days reach the compiled engine's bookkeeping.

    The compiled engine keeps per-day bookkeeping (member-neighbour counts, reached marks);
    edits to ``model.state`` between days must reach it as they reach the readable engine.
    """
    from sim.codes import CHURNED, LURKER, MEMBER

    over = dict(rng=9, population={"size": 400}, steps=30, seeding={"count": 10})
    a = GrowthModel("fish_pond", engine="agents", **over)
    b = GrowthModel("fish_pond", engine="numba", **over)
    for m in (a, b):
        m.run(10)
        st = m.state
        members = np.flatnonzero(st.status == MEMBER)
        st.status[members[::3]] = CHURNED  # a third of the members leave
        newcomers = np.flatnonzero(st.status == 0)[:40]  # and forty persons arrive
        st.status[newcomers] = MEMBER
        st.role[newcomers] = LURKER
        st.intimacy[newcomers] = 0.5
        st.join_day[newcomers] = m.day
        m.run()
    assert_identical(a, b)


# --- the engines' structure ----------------------------------------------------------------

ENGINE_DEPENDENCIES = {"codes", "state", "rules", "rng", "params", "jit", "threads"}


def _sim_imports(module: str) -> set[str]:
    """The sim modules that ``sim/<module>.py`` imports at run time (not for type checking)."""
    import ast
    from pathlib import Path

    import sim

    tree = ast.parse((Path(sim.__file__).parent / f"{module}.py").read_text())
    found: set[str] = set()

    def visit(node, typing_only=False):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            typing_only = True
        if not typing_only and isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module:
                found.add(node.module.split(".")[0])
            elif node.level == 1:
                found.update(alias.name for alias in node.names)
            elif node.module and node.module.startswith("sim."):
                found.add(node.module.split(".")[1])
        if not typing_only and isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("sim."))
        for child in ast.iter_child_nodes(node):
            visit(child, typing_only)

    visit(tree)
    return found


@pytest.mark.parametrize("engine", ["agents", "kernels"])
def test_engines_depend_only_on_the_shared_modules(engine):
    imports = _sim_imports(engine)
    assert imports <= ENGINE_DEPENDENCIES, imports - ENGINE_DEPENDENCIES
    assert {"rules", "rng", "codes", "params"} <= imports


def test_metrics_do_not_import_an_engine():
    assert not _sim_imports("metrics") & {"agents", "kernels", "model"}


def test_count_slots_follow_count_fields_and_day_counts():
    from dataclasses import fields

    from sim.kernels import COUNT_FIELDS, SLOT, Work, buffers
    from sim.params import DayCounts

    assert SLOT._fields == COUNT_FIELDS and tuple(SLOT) == tuple(range(len(COUNT_FIELDS)))
    ints = [f.name for f in fields(DayCounts) if f.type in (int, "int")]
    assert set(COUNT_FIELDS) == set(ints) | {"n_kols"}
    m = GrowthModel("fish_pond", rng=1, population={"size": 300}, steps=1)
    assert isinstance(m.work, Work) and len(m.work.arrays.counts) == len(COUNT_FIELDS)
    assert buffers(m).arrays.counts.shape == m.work.arrays.counts.shape


def test_the_kernels_write_counts_only_at_named_slots():
    import ast
    from pathlib import Path

    import sim

    tree = ast.parse((Path(sim.__file__).parent / "kernels.py").read_text())
    bare = [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name)
            and node.value.id == "counts" and isinstance(node.slice, ast.Constant)]
    assert bare == []
    named = {node.slice.attr for node in ast.walk(tree)
             if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name)
             and node.value.id == "counts" and isinstance(node.slice, ast.Attribute)}
    from sim.kernels import COUNT_FIELDS

    assert named == set(COUNT_FIELDS)  # every count is written by the kernels


def test_state_arrays_are_the_population_state_fields():
    from sim.kernels import StateArrays, state_arrays

    m = GrowthModel("fish_pond", rng=1, population={"size": 300}, steps=1)
    assert StateArrays._fields == tuple(m.state.arrays())
    st = state_arrays(m.state)
    assert all(a is b for a, b in zip(st, m.state.arrays().values()))


def test_the_model_owns_the_engine_buffers_for_the_whole_run():
    a = GrowthModel("fish_pond", rng=3, engine="agents", population={"size": 200}, steps=5)
    b = GrowthModel("fish_pond", rng=3, engine="numba", population={"size": 200}, steps=5)
    assert a.work is None  # the readable engine keeps nothing between days
    work, arrays = b.work, b.work.arrays
    b.run()
    assert b.work is work and b.work.arrays is arrays
    assert "_work" not in vars(b) and "_kparams" not in vars(b)
    assert b.work._direct is not None  # the serial kernel is called without Numba's dispatch


def test_a_state_array_replaced_between_days_reaches_the_compiled_kernel():
    """A new state array goes through Numba's dispatch again.

    The direct call of the day kernel holds only while the state arrays are the same
    objects.
    """
    over = {"rng": 6, "population": {"size": 300}, "steps": 20, "seeding": {"count": 10}}
    a = GrowthModel("fish_pond", engine="agents", **over)
    b = GrowthModel("fish_pond", engine="numba", **over)
    for m in (a, b):
        m.run(5)
        m.state.intimacy = m.state.intimacy * 0.5  # a new array, halved
        m.run()
    # resolved again for the new array: the day kernel's and the recorder's direct calls
    for m, direct in ((b, b.work._direct), (b, b.recorder._direct), (a, a.recorder._direct)):
        assert any(x is m.state.intimacy for x in direct._same)
    assert_identical(a, b)


def test_kept_fatigue_factors_follow_exposure_edits_and_a_new_fatigue():
    """The compiled engine carries each person's fatigue factor on from day to day.

    Exposures edited down, up or below zero by hand, and a fatigue replaced mid-run, must
    give the readable engine's conversions (which take every factor from the start).
    """
    import dataclasses

    over = {"rng": 5, "population": {"size": 300}, "steps": 60, "seeding": {"count": 30},
            "rules": {"fatigue": 0.25, "convert_prob": 0.3, "churn_base": 0.01}}
    runs = {}
    for engine in ("agents", "numba"):
        m = GrowthModel("fish_pond", engine=engine, **over)
        m.run(15)
        exposed = np.flatnonzero(m.state.exposures > 2)
        assert len(exposed) > 30  # enough to tell
        m.state.exposures[exposed[::3]] = 0  # down (a factor of 1 instead of 0.75^e)
        m.state.exposures[exposed[1::3]] += 4  # up
        m.state.exposures[exposed[2::3]] = -3  # below zero
        m.run(15)
        m.params = dataclasses.replace(m.params, fatigue=0.2)
        m.run(15)
        m.params = dataclasses.replace(m.params, fatigue=0.0)  # 1 - fatigue = 1: not kept
        m.run(5)
        m.params = dataclasses.replace(m.params, fatigue=0.03)
        m.run()
        runs[engine] = m
    assert_identical(runs["agents"], runs["numba"])
    assert runs["numba"].work.arrays.faded_at.max() > 0  # factors were kept and carried on


def test_replacing_the_params_changes_the_next_days_on_both_engines_alike():
    """Both engines read ``model.params`` every day: a replacement takes effect the next day."""
    import dataclasses

    over = {"rng": 12, "population": {"size": 400}, "steps": 30, "seeding": {"count": 10},
            "rules": {"invite_rate": 0.05, "organic_rate": 0.002}}
    runs = {}
    for engine in ("agents", "numba"):
        m = GrowthModel("fish_pond", engine=engine, **over)
        m.run(10)
        m.params = dataclasses.replace(m.params, invite_rate=0.0, organic_rate=0.0)
        m.run(10)
        m.params = dataclasses.replace(m.params, invite_rate=0.08)
        m.run()
        runs[engine] = m
    assert_identical(runs["agents"], runs["numba"])
    ts = runs["numba"].timeseries()
    assert ts.invites_sent.iloc[1:11].sum() > 0
    assert ts.invites_sent.iloc[11:21].sum() == 0 and ts.joins_organic.diff().iloc[11:21].sum() == 0
    assert ts.invites_sent.iloc[21:].sum() > 0
    unchanged = GrowthModel("fish_pond", engine="numba", **over)
    unchanged.run()
    assert not unchanged.timeseries().equals(ts)


def test_replaced_params_must_keep_the_model_fixed_fields():
    import dataclasses

    from sim import FishpondError

    for engine in ("agents", "numba"):
        m = GrowthModel("fish_pond", rng=1, engine=engine, population={"size": 300}, steps=5)
        m.run(1)
        good = m.params
        for change in ({"seed": 2}, {"n": 301}, {"contacts": 3}, {"weighted": True}):
            m.params = dataclasses.replace(good, **change)
            name, value = next(iter(change.items()))
            with pytest.raises(FishpondError, match=f"params.{name} = {value!r}"):
                m.step()
        m.params = {"invite_rate": 0.1}
        with pytest.raises(FishpondError, match="not the model's parameters"):
            m.step()
        m.params = good
        m.step()
        assert m.day == 2


@pytest.mark.parametrize("change, words", [
    # each of these crashed or hung a day (found by fuzzing the replaced params)
    ({"recruit_every_days": 0}, "recruit_every_days = 0: allowed: a whole number in [1, "),
    ({"amplification_factor": 0.0}, "amplification_factor = 0.0: allowed: a number in [1, "),
    ({"rejoin_factor": 1e12}, "rejoin_factor = 1000000000000.0: allowed: a number in [0, 1]"),
    ({"invite_rate": float("nan")}, "invite_rate = nan: not a number"),
    ({"decay": float("inf")}, "decay = inf: allowed"),
    ({"trough_days": 2.5}, "trough_days = 2.5: not a whole number"),
    ({"entry_gate_kind": 7}, "entry_gate_kind = 7: not the code of a choice; allowed: 0 (none)"),
    ({"amplification_enabled": 1}, "amplification_enabled = 1: allowed: true or false"),
    ({"churn_base": "0.1"}, "churn_base = '0.1': not a number"),
])
def test_replaced_rules_outside_their_bounds_are_refused_in_one_line(change, words):
    """The rules set by hand between days get the bounds of their scenario keys."""
    import dataclasses

    from sim import FishpondError

    for engine in ("agents", "numba"):
        m = GrowthModel("fish_pond", rng=1, engine=engine, population={"size": 300}, steps=5)
        m.run(1)
        good = m.params
        m.params = dataclasses.replace(good, **change)
        with pytest.raises(FishpondError) as info:
            m.step()
        assert words in str(info.value) and "\n" not in str(info.value)
        assert str(info.value).startswith(f"model.params.{next(iter(change))} = ")
        assert m.day == 1  # the day was not taken, and the model stays usable
        m.params = dataclasses.replace(good, invite_rate=0.03)  # within bounds: taken
        m.step()
        assert m.day == 2


def test_a_whole_number_set_by_hand_for_a_number_rule_compiles_nothing_new():
    """``ads_daily_budget=1000`` (an int) runs as 1000.0: same rows, no new compilation.

    Before, the int reached the compiled kernels as a new type: every kernel compiled again
    (tens of seconds, and a new entry in the shared cache).
    """
    import dataclasses

    from sim import kernels

    def run(budget):
        m = GrowthModel("paid_ads", rng=3, population={"size": 300}, steps=8)
        m.run(2)
        m.params = dataclasses.replace(m.params, ads_daily_budget=budget, cost_per_post=2)
        m.run()
        return m

    as_float = run(1000.0)
    compiled = len(kernels.day_kernel.overloads)
    as_int = run(1000)
    assert len(kernels.day_kernel.overloads) == compiled
    assert as_int.timeseries()["joins_ads"].iloc[-1] > 0
    pd.testing.assert_frame_equal(as_int.timeseries(), as_float.timeseries(), check_exact=True)
