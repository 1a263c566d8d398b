"""The census kept from the persons a day changed (sim.metrics._census_delta).

Inside ``run()``, from its second day on, while a day changes few persons, the recorder
brings the last row's census up to date from them instead of counting everyone. Every
row must be the full census's, bit for bit: each run here is compared with the same run
under ``skip_idle=False``, which counts everyone every day.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from sim.codes import CHURNED, LURKER, MEMBER, NON_USER
from sim.model import GrowthModel

SPARSE = dict(steps=60, population={"size": 4000, "graph": {"kind": "barabasi_albert", "m": 3}},
              seeding={"count": 8, "strategy": "random"})
LURKERS = {"count": 8, "strategy": "random", "role": "lurker"}
POND = {"invite_rate": 0.15}

CASES = {
    "cascade": ("pure_sir", dict(rules={"invite_rate": 0.08, "churn_base": 0.3})),
    "rejoin": ("pure_sir", dict(rules={"invite_rate": 0.06, "churn_base": 0.2,
                                       "rejoin_factor": 0.5})),
    "organic": ("pure_sir", dict(rules={"invite_rate": 0.05, "churn_base": 0.2,
                                        "organic_rate": 0.0005})),
    # roles, intimacy, payments, retention cohorts frozen on day 30, fatigue
    "pond": ("fish_pond", dict(seeding=LURKERS, rules=POND, economics={"pay_rate": 0.05})),
    "ads": ("pure_sir", dict(rules={"invite_rate": 0.05, "churn_base": 0.1},
                             program={"ads": {"daily_budget": 40.0, "cost_per_join": 20.0}})),
    "review_gate": ("fish_pond", dict(seeding=LURKERS, rules=POND, program={
        "entry_gate": {"kind": "review", "min_fit": 0.3}})),
    "payment_gate": ("fish_pond", dict(seeding=LURKERS, rules=POND, program={
        "entry_gate": {"kind": "payment", "pass_prob": 0.5}})),
    # KOLs recruited on days 10, 20, ...: the census is counted in full from then on
    "recruits": ("fish_pond", dict(seeding=LURKERS, rules=POND, program={
        "recruit": {"every_days": 10, "count": 2, "min_intimacy": 0.0}})),
    "well_mixed": ("pure_sir", dict(
        population={"size": 4000, "graph": {"kind": "well_mixed", "contacts": 4}},
        rules={"invite_rate": 0.12, "churn_base": 0.3})),
}


def _pair(scenario, kw, seed=3):
    """The run with the census kept where it may be, and the same run counted in full."""
    kw = {**SPARSE, **kw}
    kept = GrowthModel(scenario, rng=seed, **kw)
    kept.run()
    full = GrowthModel(scenario, rng=seed, skip_idle=False, **kw)
    full.run()
    return kept, full


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_kept_census_is_the_full_census(case):
    scenario, kw = CASES[case]
    kept, full = _pair(scenario, kw)
    assert full.recorder.kept_days == 0
    if case == "well_mixed":  # today's contacts are not kept: every census in full
        assert kept.recorder.kept_days == 0
    else:
        assert kept.recorder.kept_days >= 5, "the case should keep the census on some days"
    ts = kept.timeseries()
    assert ts["members"].max() > 20  # something happened
    pd.testing.assert_frame_equal(ts, full.timeseries(), check_exact=True)
    assert kept.summary() == full.summary()
    if case == "recruits":  # KOLs came, and the census was counted in full from then on
        assert ts["kols"].iloc[-1] > 0
        assert kept.recorder.kept_days < int((ts["kols"] == 0).sum())


def test_the_kept_census_on_threads(monkeypatch):
    """The threaded engine and census (forced for a small population) keep it the same way."""
    from sim import threads

    monkeypatch.setattr(threads, "PARALLEL_MIN", 0)
    scenario, kw = CASES["organic"]
    kept, full = _pair(scenario, kw)
    assert kept.work.threads == threads.use_threads(4000)
    assert kept.recorder.kept_days >= 5
    pd.testing.assert_frame_equal(kept.timeseries(), full.timeseries(), check_exact=True)


def test_a_dense_day_counts_everyone_and_a_sparse_one_keeps_the_census():
    """A cascade that swells past 1/8 of everyone and dies down again."""
    kw = dict(population={"size": 3000, "graph": {"kind": "barabasi_albert", "m": 4}},
              rules={"invite_rate": 0.3, "churn_base": 1.0})
    kept, full = _pair("pure_sir", kw)
    ts = kept.timeseries()
    assert ts["members"].max() > 3000 / 8 and kept.recorder.kept_days >= 2
    pd.testing.assert_frame_equal(ts, full.timeseries(), check_exact=True)


@pytest.mark.parametrize("seed", range(6))
def test_kept_census_on_random_rules(seed):
    """Random rule values (a small hypothesis of our own, seeded)."""
    rng = np.random.default_rng(seed)
    rules = {"invite_rate": float(rng.uniform(0.02, 0.15)),
             "churn_base": float(rng.uniform(0.0, 0.5)),
             "rejoin_factor": float(rng.choice([0.0, 0.7])),
             "organic_rate": float(rng.choice([0.0, 0.0003])),
             "fatigue": float(rng.uniform(0.0, 0.5))}
    economics = {"pay_rate": float(rng.uniform(0.0, 0.1))}
    kept, full = _pair("fish_pond", dict(seeding=LURKERS, rules=rules, economics=economics),
                       seed=seed)
    pd.testing.assert_frame_equal(kept.timeseries(), full.timeseries(), check_exact=True)


def test_edits_and_new_rules_between_calls_of_run_are_counted():
    """Between two calls of run(), the caller may edit the state and replace the rules."""
    scenario, kw = CASES["pond"]
    kw = {**SPARSE, **kw}
    runs = []
    for skip in (True, False):
        m = GrowthModel(scenario, rng=5, skip_idle=skip, **kw)
        m.run(20)
        st = m.state
        st.status[:40] = MEMBER  # new members by hand,
        st.role[:40] = LURKER
        st.join_day[:40] = m.day
        joined = np.flatnonzero(st.status == CHURNED)[:5]
        st.status[joined] = NON_USER  # former members forgotten,
        st.funnel[np.flatnonzero(st.status == NON_USER)[:30]] |= 1  # persons marked reached
        m.params = dataclasses.replace(m.params, commit_threshold=0.2)  # new rules
        m.run(15)
        m.params = dataclasses.replace(m.params, commit_threshold=0.6)
        m.run()
        runs.append(m)
    kept, full = runs
    assert kept.recorder.kept_days >= 10 and full.recorder.kept_days == 0
    pd.testing.assert_frame_equal(kept.timeseries(), full.timeseries(), check_exact=True)


def test_a_former_kols_referrals_started_again_on_recruitment_are_counted():
    """Recruiting a KOL sets its KOL referrals to 0: no census is kept on that day."""
    kw = {**SPARSE, "seeding": LURKERS, "rules": POND,
          "program": {"recruit": {"every_days": 30, "count": 3, "min_intimacy": 0.0}}}
    runs = []
    for skip in (True, False):
        m = GrowthModel("fish_pond", rng=3, skip_idle=skip, **kw)
        m.run(25)
        former = m.state.status == MEMBER  # as if they had been KOLs once
        m.state.kol_referrals[former] = 5
        m.run()
        runs.append(m)
    kept, full = runs
    ts = kept.timeseries()
    assert ts["kols"].iloc[29] == 0 and ts["kols"].iloc[30] > 0  # recruited on day 30
    assert ts["kol_referrals"].iloc[30] < ts["kol_referrals"].iloc[29]
    assert kept.recorder.kept_days >= 5
    pd.testing.assert_frame_equal(ts, full.timeseries(), check_exact=True)


def test_no_census_is_kept_where_the_callers_code_runs_between_days():
    """A progress callback, a subclass's step or a step by hand: every census in full."""
    scenario, kw = CASES["cascade"]
    kw = {**SPARSE, **kw}
    m = GrowthModel(scenario, rng=3, **kw)
    m.run(progress=lambda day: None)
    assert m.recorder.kept_days == 0

    class Edits(GrowthModel):
        def step(self):
            if self.day == 10:  # an edit the engine does not know of
                st = self.state
                new = np.flatnonzero(st.status == NON_USER)[:50]
                st.status[new] = MEMBER
                st.role[new] = LURKER
            super().step()

    m = Edits(scenario, rng=3, **kw)
    m.run()
    assert m.recorder.kept_days == 0
    m = GrowthModel(scenario, rng=3, **kw)
    for _ in range(20):
        m.step()
    assert m.recorder.kept_days == 0
