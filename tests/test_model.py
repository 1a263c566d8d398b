"""Whole-model properties: invariants, metric identities, reproducibility, shipped scenarios."""

from __future__ import annotations

import math

import mesa
import numpy as np
import pandas as pd
import pytest

from sim import GrowthModel, ScenarioError, load_scenario
from sim.codes import KOL, MEMBER, NON_USER, REFERRAL
from sim.scenario_io import SCENARIOS_DIR

SMALL = {"population": {"size": 400, "graph": {"kind": "barabasi_albert", "m": 3}}, "steps": 60}


@pytest.fixture(scope="module")
def fish_pond_run():
    m = GrowthModel("fish_pond", rng=11, **SMALL, seeding={"count": 20})
    m.run()
    return m


def test_population_invariant_every_day(fish_pond_run):
    ts = fish_pond_run.timeseries()
    assert len(ts) == 61 and list(ts.day) == list(range(61))
    assert (ts.non_users + ts.members + ts.churned == 400).all()
    assert (ts.kols + ts.actives + ts.lurkers == ts.members).all()


def test_metric_identities(fish_pond_run):
    m = fish_pond_run
    ts = m.timeseries()
    st = m.state
    ever = int((st.status != NON_USER).sum())
    last = ts.iloc[-1]
    assert ts.joins_referral.iloc[-1] == ts.joins_referral.diff().fillna(0).clip(lower=0).sum()
    assert last.k_factor == pytest.approx(last.joins_referral / ever)
    assert int(st.referrals.sum()) == last.joins_referral  # each referral join credited once
    # ever-members: seeds + all later joins (nobody here rejoins twice without being counted)
    joins = (last.joins_seed + last.joins_mass_pull + last.joins_referral + last.joins_organic
             + last.joins_ads)
    assert joins >= ever
    window = ts.iloc[-30:]
    added = ts.joins_referral.diff().iloc[-30:].sum()
    assert last.k_factor_30d == pytest.approx(added / window.members.mean())
    members = st.status == MEMBER
    assert last.referral_share == pytest.approx(
        (members & (st.source == REFERRAL)).sum() / members.sum()
    )
    assert last.contributor_share == pytest.approx((last.kols + last.actives) / last.members)
    assert last.croi == pytest.approx((last.revenue - last.cost) / last.cost)
    assert last.cost_per_retained_member == pytest.approx(last.cost / last.members)
    assert last.kol_referrals == st.kol_referrals.sum()
    funnel = [last[f"funnel_{s}"] for s in ("reached", "invited", "joined", "active", "paying")]
    assert funnel == sorted(funnel, reverse=True) and funnel[2] == ever
    assert (ts.cost.diff().dropna() >= 0).all() and (ts.revenue.diff().dropna() >= 0).all()


def test_summary_matches_the_timeseries(fish_pond_run):
    s = fish_pond_run.summary()
    ts = fish_pond_run.timeseries()
    assert s["members"] == ts.members.iloc[-1]
    assert s["invites_sent"] == ts.invites_sent.sum()
    assert s["day_origin"] == (
        None if ts.members.max() < 100 else int(ts.day[ts.members >= 100].iloc[0])
    )
    assert set(s["milestones"]) == {"100", "1000", "10000"}
    for key in ("k_factor", "k_factor_30d", "referral_share", "contributor_share",
                "self_org_share", "commitment_share", "top20_referral_share", "kol_audience",
                "kol_reach", "kol_referrals", "paying_members", "revenue", "cost", "croi",
                "cost_per_retained_member", "funnel", "day_inflection", "day_explosion"):
        assert key in s
    assert isinstance(s["members"], int)


def test_same_seed_same_run_different_seed_differs():
    a = GrowthModel("fish_pond", rng=5, **SMALL)
    b = GrowthModel("fish_pond", rng=5, **SMALL)
    c = GrowthModel("fish_pond", rng=6, **SMALL)
    for m in (a, b, c):
        m.run()
    pd.testing.assert_frame_equal(a.timeseries(), b.timeseries())
    for k, v in a.state.arrays().items():
        assert np.array_equal(v, b.state.arrays()[k]), k
    assert not a.timeseries().equals(c.timeseries())


def test_rng_overrides_the_scenario_seed():
    m = GrowthModel("fish_pond", rng=9, **SMALL)
    assert m.seed == 9 and m.scenario.seed == 9
    with pytest.raises(ScenarioError):
        GrowthModel("fish_pond", rng=-1, **SMALL)
    with pytest.raises(ScenarioError):
        GrowthModel("fish_pond", engine="warp", **SMALL)


def test_agent_views_and_selection():
    m = GrowthModel("fish_pond", rng=3, **SMALL, seeding={"count": 10})
    assert len(m.kols()) == 10 and len(m.members()) == 10
    assert len(m.non_users()) == 390 and len(m.churned()) == 0
    kol = list(m.kols())[0]  # (Mesa 3.5 deprecates indexing an AgentSet)
    assert kol.is_kol and kol.role == KOL and kol.source_name == "seed"
    kol.intimacy = 0.123
    assert m.state.intimacy[kol.idx] == 0.123  # properties are views on the state arrays
    assert set(m.members().get("idx")) == set(np.flatnonzero(m.state.status == MEMBER))


def test_agent_reporters_are_collected():
    m = GrowthModel("fish_pond", rng=3, **SMALL, agent_reporters={"intimacy": "intimacy"})
    m.step()
    df = m.datacollector.get_agent_vars_dataframe()
    assert len(df) == 2 * 400
    # with agent reporters Mesa's own collect runs: the model table is the same either way
    plain = GrowthModel("fish_pond", rng=3, **SMALL)
    plain.step()
    assert isinstance(plain.datacollector, mesa.DataCollector)
    pd.testing.assert_frame_equal(m.timeseries(), plain.timeseries())
    pd.testing.assert_frame_equal(plain.timeseries(), plain.recorder.timeseries())


SHIPPED = sorted(p.name for p in SCENARIOS_DIR.glob("*.yaml"))


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_scenario_loads_and_runs(name):
    sc = load_scenario(SCENARIOS_DIR / name)
    size = 300 if sc.population.graph.kind != "edgelist" else None
    overrides = {"steps": 3}
    if size:
        overrides["population"] = {"size": size}
        overrides["seeding"] = {"count": min(sc.seeding.count, 30)}
        overrides["mass_pull"] = {"count": min(sc.mass_pull.count, 100)}
    m = GrowthModel(sc, **overrides)
    m.run()
    ts = m.timeseries()
    assert len(ts) == 4
    assert (ts.non_users + ts.members + ts.churned == m.graph.n).all()
    assert not math.isnan(ts.members.iloc[-1])


def test_numba_engine_creates_no_person_objects():
    m = GrowthModel("fish_pond", rng=3, **SMALL)
    assert m.engine == "numba"
    m.run()
    assert len(m._persons) == 0  # no per-person Python objects in the step loop
    kols = m.kols()  # views are created lazily, on request
    assert len(m._persons) == len(kols) == m.today["kols"]
    assert len(m.agents) == m.graph.n  # model.agents: every person (made on this first use)


def test_run_stops_at_the_horizon_and_mesa_counts_steps():
    m = GrowthModel("fish_pond", rng=3, **SMALL)
    m.run()
    assert m.day == 60 and m.steps == 60 and not m.running  # Mesa's own step counter agrees
    m.run()  # nothing left to do
    assert m.day == 60


def test_a_refused_step_leaves_the_model_usable():
    # Mesa 3.5 runs a step as an event of its schedule, which a step that raised would leave
    # stopped (every later step() a silent no-op): a refused day must never reach it
    import dataclasses

    from sim.errors import FishpondError

    m = GrowthModel("fish_pond", rng=3, **{**SMALL, "steps": 5})
    m.step()
    good = m.params
    m.params = dataclasses.replace(good, n=7)
    with pytest.raises(FishpondError, match="model.params.n = 7"):
        m.step()
    m.params = good
    m.step()
    assert m.day == 2 and m.steps == 2  # the refused day is not counted
    m.run()
    assert m.day == 5 and m.steps == 5 and len(m.timeseries()) == 6
    for _ in range(2):  # past the horizon: refused every time, never silently ignored
        with pytest.raises(FishpondError, match="its horizon"):
            m.step()
    assert m.day == m.steps == 5
    same = GrowthModel("fish_pond", rng=3, **{**SMALL, "steps": 5})
    same.run()
    pd.testing.assert_frame_equal(m.timeseries(), same.timeseries())


# --- idle days (no member, no organic or ads channel) ----------------------------------------

DIES_OUT = dict(steps=40, population={"size": 400, "graph": {"kind": "barabasi_albert", "m": 2}},
                seeding={"count": 5, "strategy": "random"},
                rules={"invite_rate": 0.03, "churn_base": 0.5},
                program={"content_per_week": 3, "activities_per_month": 4},
                economics={"cost_per_post": 7.0, "cost_per_activity": 50.0})


@pytest.mark.parametrize("engine", ["numba", "agents"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_skipping_idle_days_changes_no_result(engine, seed):
    runs = {}
    for skip in (True, False):
        m = GrowthModel("pure_sir", rng=seed, engine=engine, skip_idle=skip, **DIES_OUT)
        m.run()
        runs[skip] = (m.timeseries(), m.summary(), m.idle_days)
    (ts, summary, idle), (ts_full, summary_full, idle_full) = runs[True], runs[False]
    assert idle >= 20 and idle_full == 0  # the epidemic died out: idle days happened
    assert ts["cost"].iloc[-1] > ts["cost"].iloc[-20]  # and the operator's costs went on
    pd.testing.assert_frame_equal(ts, ts_full, check_exact=True)
    assert summary == summary_full


def test_step_by_hand_never_skips_a_day_the_caller_may_have_edited():
    m = GrowthModel("pure_sir", rng=4, **DIES_OUT)
    m.run(25)
    assert m.today["members"] == 0 and m.idle_days > 0
    before = m.idle_days
    m.state.status[0] = MEMBER  # an edit between days (a documented use)
    m.state.role[0] = 0
    m.step()  # a step by hand runs in full: it sees the new member
    assert m.idle_days == before and m.today["members"] >= 1
    m = GrowthModel("pure_sir", rng=4, **DIES_OUT)
    m.run(25)
    m.state.status[0] = MEMBER
    m.state.role[0] = 0
    m.run(1)  # so does the first day of run()
    assert m.idle_days == before and m.today["members"] >= 1


def test_an_idle_run_wakes_up_when_a_channel_opens():
    import dataclasses

    runs = []
    for skip in (True, False):
        m = GrowthModel("pure_sir", rng=4, skip_idle=skip, **DIES_OUT)
        m.run(25)
        assert m.today["members"] == 0
        m.params = dataclasses.replace(m.params, organic_rate=0.01)
        m.run()
        runs.append(m.timeseries())
    assert runs[0]["members"].iloc[-1] > 0
    pd.testing.assert_frame_equal(runs[0], runs[1], check_exact=True)


def _full_run(**kw):
    m = GrowthModel("pure_sir", rng=4, skip_idle=False, **DIES_OUT, **kw)
    m.run()
    return m


def test_run_records_the_idle_days_ahead_in_one_call(monkeypatch):
    from sim.metrics import Recorder

    calls = []
    record = Recorder.record_idle_days

    def spy(self, model, first, days):
        calls.append((first, days))
        record(self, model, first, days)

    monkeypatch.setattr(Recorder, "record_idle_days", spy)
    m = GrowthModel("pure_sir", rng=4, **DIES_OUT)
    m.run()
    assert calls == [(41 - m.idle_days, m.idle_days)]  # no idle day recorded on its own
    full = _full_run()
    assert m.idle_days >= 20 and m.day == m.steps == full.steps == 40 and not m.running
    pd.testing.assert_frame_equal(m.timeseries(), full.timeseries(), check_exact=True)
    m2 = GrowthModel("pure_sir", rng=4, **DIES_OUT)  # the same in several calls of run()
    for days in (25, 0, 3, 12):
        m2.run(days)
        assert m2.recorder.n_rows == m2.day + 1 == m2.steps + 1
    pd.testing.assert_frame_equal(m2.timeseries(), full.timeseries(), check_exact=True)


def test_run_advances_the_idle_days_ahead_at_once_where_mesas_step_only_counts(monkeypatch):
    import sim.model as model_module

    full = _full_run()
    calls = []
    step = GrowthModel.step

    def spy(self):
        calls.append(self.day)
        step(self)

    monkeypatch.setattr(GrowthModel, "step", spy)
    m = GrowthModel("pure_sir", rng=4, **DIES_OUT)
    m.run()
    assert m.idle_days >= 20 and m.day == m.steps == 40 and not m.running
    if model_module._MESA_STEP_COUNTS:  # Mesa 3.3: no step() on the idle days ahead
        assert len(calls) <= 40 - m.idle_days + 1
    else:  # Mesa 3.5: every day is an event of Mesa's schedule
        assert len(calls) == 40
    pd.testing.assert_frame_equal(m.timeseries(), full.timeseries(), check_exact=True)


def test_idle_days_ahead_are_recorded_even_when_the_run_is_interrupted():
    m = GrowthModel("pure_sir", rng=4, **DIES_OUT)
    m.run(25)
    assert m.today["members"] == 0
    collect, calls = m.datacollector.collect, []

    def interrupted(model):  # Ctrl-C on the fifth idle day
        calls.append(model.day)
        if len(calls) == 5:
            raise KeyboardInterrupt
        collect(model)

    m.datacollector.collect = interrupted
    with pytest.raises(KeyboardInterrupt):
        m.run()
    assert m.day == 30 and m.recorder.n_rows == 31  # every day advanced has its row
    ts, full = m.timeseries(), _full_run().timeseries()
    # (day 30's row was recorded, its Mesa collection was not)
    pd.testing.assert_frame_equal(ts, full.iloc[:31], check_exact=True)


def test_the_callers_code_between_idle_days_runs_every_day():
    """A progress callback, a reporter or a subclass's step sees each day as it is."""
    import dataclasses

    seen = []

    def progress(day):
        seen.append((day, m.recorder.n_rows, m.today["day"]))
        if day == 30:  # the caller opens a channel between two idle days
            m.params = dataclasses.replace(m.params, organic_rate=0.01)

    m = GrowthModel("pure_sir", rng=4, **DIES_OUT)
    m.run(progress=progress)
    assert seen == [(d, d + 1, d) for d in range(1, 41)]
    full = GrowthModel("pure_sir", rng=4, skip_idle=False, **DIES_OUT)
    full.run(30)
    full.params = dataclasses.replace(full.params, organic_rate=0.01)
    full.run()
    assert full.today["members"] > 0
    pd.testing.assert_frame_equal(m.timeseries(), full.timeseries(), check_exact=True)

    m = GrowthModel("pure_sir", rng=4, model_reporters={"today": lambda m: m.today["day"]},
                    **DIES_OUT)
    m.run()
    assert m.datacollector.get_model_vars_dataframe()["today"].tolist() == list(range(41))

    class Watched(GrowthModel):
        def step(self):
            super().step()
            self.days_seen = getattr(self, "days_seen", []) + [self.today["day"]]

    m = Watched("pure_sir", rng=4, **DIES_OUT)
    m.run()
    assert m.days_seen == list(range(1, 41)) and m.idle_days >= 20


@pytest.mark.skipif(not hasattr(mesa.Model, "schedule_event"),
                    reason="Mesa's event scheduling (Mesa 3.5 and later)")
def test_an_event_on_mesas_clock_between_idle_days_runs_on_its_day():
    m = GrowthModel("pure_sir", rng=4, **DIES_OUT)
    m.run(25)
    assert m.today["members"] == 0
    seen = []

    def event():  # (Mesa keeps a weak reference to it)
        seen.append((m.time, m.day, m.recorder.n_rows))

    m.schedule_event(event, at=32.5)
    m.run()
    assert seen == [(32.5, 32, 33)]
    assert m.steps == m.day == 40 and m.time == 40
    pd.testing.assert_frame_equal(m.timeseries(), _full_run().timeseries(), check_exact=True)


# --- Mesa-native: agents, reporters, key paths --------------------------------------------------


def test_model_agents_is_every_person_after_a_compiled_run():
    m = GrowthModel("fish_pond", rng=2, steps=8, population={"size": 400})
    m.run()
    assert len(m._persons) == 0  # no person object was made while running
    agents = m.agents
    assert len(agents) == 400 and [a.idx for a in agents][:3] == [0, 1, 2]
    members = agents.select(lambda a: a.status == MEMBER)
    assert len(members) == m.today["members"]
    by_role = agents.groupby("role_name").count()
    assert by_role["kol"] == m.today["kols"] and sum(by_role.values()) == 400
    assert agents.agg("intimacy", max) == pytest.approx(float(m.state.intimacy.max()))


def test_model_reporters_at_construction_and_added_later():
    m = GrowthModel("fish_pond", rng=1, steps=5, population={"size": 300},
                    model_reporters={"big": lambda m: m.today["members"] > 120})
    m.run(2)
    m.datacollector._new_model_reporter("late", lambda m: m.day * 2)
    m.datacollector.model_reporters["later"] = "day"  # Mesa's dict, written directly
    m.run()
    ts = m.datacollector.get_model_vars_dataframe()
    assert list(ts["late"].isna()) == [True, True, True, False, False, False]
    assert list(ts["late"].iloc[3:]) == [6, 8, 10] and list(ts["later"].iloc[3:]) == [3, 4, 5]
    assert ts["big"].dtype == bool and len(m.timeseries()) == 6
    with pytest.raises(ScenarioError, match="'members': the name of a metric"):
        GrowthModel("fish_pond", steps=2, model_reporters={"members": lambda m: -1})


def test_agent_reporters_give_names_and_key_path_overrides_work():
    m = GrowthModel("fish_pond", rng=1, steps=2, **{"population.size": 200, "rules.decay": 0.5},
                    agent_reporters={"status": "status", "role": "role", "source": "source"})
    assert m.scenario.population.size == 200 and m.scenario.rules.decay == 0.5
    m.run()
    agents = m.datacollector.get_agent_vars_dataframe()
    assert set(agents["status"]) <= {"non_user", "member", "churned"}
    assert "kol" in set(agents["role"]) and "seed" in set(agents["source"])
