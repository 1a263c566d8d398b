"""Metric helpers against obviously-correct versions."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from sim.codes import ADS, CHURNED, KOL, LURKER, MEMBER, NON_USER, ORGANIC, REFERRAL, SEED
from sim.metrics import (
    TIMESERIES_COLUMNS,
    Recorder,
    _top_shares_nb,
    busiest_window_start,
    fit_bass,
    milestone_days,
    referral_curve,
    summarize,
    top_share,
)
from sim.params import DayCounts
from sim.state import PopulationState


def naive_top_share(status, intimacy, referrals, top=0.2):
    ever = [i for i in range(len(status)) if status[i] != NON_USER]
    ever.sort(key=lambda i: (-intimacy[i], i))
    k = math.ceil(top * len(ever))
    return sum(referrals[i] for i in ever[:k]) / referrals.sum()


def test_top_share_equals_the_naive_ranking_including_ties():
    gen = np.random.default_rng(1)
    for trial in range(60):
        n = int(gen.integers(5, 300)) if trial < 40 else int(gen.integers(2000, 20000))
        st = PopulationState.empty(np.ones(n))
        st.status[:] = gen.choice([NON_USER, MEMBER, CHURNED], n)
        # odd trials: many ties
        st.intimacy[:] = gen.choice([0.1, 0.3, 0.5, 0.9], n) if trial % 2 else gen.random(n)
        # every third trial: the ends of [0, 1], and values either side of the selection's
        # bin edges
        if trial % 3 == 0:
            edges = gen.integers(0, 4097, n) / 4096.0
            st.intimacy[:] = np.clip(edges + gen.choice([-1e-17, 0.0, 1e-17, -1e-12], n), 0.0, 1.0)
        st.referrals[:] = gen.integers(0, 5, n)
        st.referrals[st.status == NON_USER] = 0
        if st.referrals.sum() == 0:
            assert math.isnan(top_share(st))
            continue
        assert top_share(st) == naive_top_share(st.status, st.intimacy, st.referrals)


def test_top_share_of_intimacies_outside_zero_one_edited_by_hand():
    """Values below 0, above 1 and NaN stay inside the histogram (no write out of bounds)."""
    gen = np.random.default_rng(7)
    for n in (50, 3000, 9000):  # 64 bins, 4,096 bins, and the bins in between
        st = PopulationState.empty(np.ones(n))
        st.status[:] = MEMBER
        st.intimacy[:] = gen.choice([-1e30, -3.0, -0.0, 0.4, 1.0, 2.5, 1e300], n) + gen.random(n)
        st.referrals[:] = gen.integers(0, 5, n)
        assert top_share(st) == naive_top_share(st.status, st.intimacy, st.referrals)
        st.intimacy[::7] = np.nan
        total = int(st.referrals.sum())
        both = _top_shares_nb(np.arange(n), st.intimacy, st.referrals, np.zeros(n, bool), 0.2)
        assert 0 <= both[0] <= total and both[0] == both[1]


def test_referral_curve_and_milestones():
    st = PopulationState.empty(np.ones(6))
    st.status[:] = [MEMBER, MEMBER, MEMBER, CHURNED, NON_USER, MEMBER]
    st.intimacy[:] = [0.9, 0.1, 0.5, 0.7, 1.0, 0.2]
    st.referrals[:] = [6, 0, 2, 2, 0, 0]
    curve = referral_curve(st)
    assert list(curve.member_share) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert list(curve.referral_share) == [0, 0.6, 0.8, 1.0, 1.0, 1.0]
    assert milestone_days([0, 50, 120, 90, 1500], [0, 1, 2, 3, 4], [100, 1000, 10000]) == {
        "100": 2, "1000": 4, "10000": None}


# --- MODEL.md §6 revision 2 ----------------------------------------------------------------


def naive_nonseed_top_share(status, intimacy, referrals, seeds, top=0.2):
    ever = [i for i in range(len(status)) if status[i] != NON_USER and i not in seeds]
    ever.sort(key=lambda i: (-intimacy[i], i))
    k = math.ceil(top * len(ever))
    total = sum(referrals[i] for i in ever)
    return sum(referrals[i] for i in ever[:k]) / total


def _random_ever_members(gen, n: int, intimacy, seeds: int):
    """A random population for the top shares: (state, seed set, seed mask).

    ``n`` persons with random statuses, ``intimacy(st)`` for intimacy, 0-4 referrals for
    ever-members, and ``seeds`` persons drawn as seeds.
    """
    st = PopulationState.empty(np.ones(n))
    st.status[:] = gen.choice([NON_USER, MEMBER, CHURNED], n)
    st.intimacy[:] = intimacy(st)
    st.referrals[:] = gen.integers(0, 5, n)
    st.referrals[st.status == NON_USER] = 0
    chosen = set(gen.choice(n, min(n, seeds), replace=False).tolist())
    mask = np.zeros(n, bool)
    mask[list(chosen)] = True
    return st, chosen, mask


def test_top_share_leaves_out_the_excluded_persons_including_ties():
    gen = np.random.default_rng(2)
    for trial in range(40):
        n = int(gen.integers(5, 400))
        st, seeds, mask = _random_ever_members(
            gen, n, lambda st: gen.choice([0.2, 0.6, 0.9], n) if trial % 2 else gen.random(n), 3)
        if st.referrals[~mask].sum() == 0:
            assert math.isnan(top_share(st, exclude=mask))
            continue
        assert top_share(st, exclude=mask) == naive_nonseed_top_share(
            st.status, st.intimacy, st.referrals, seeds)
        # an empty mask is the plain top share, bit for bit
        assert top_share(st, exclude=np.zeros(n, bool)) == top_share(st)
        # one pass gives both selections: all ever-members, and those not masked
        both = _top_shares_nb(np.flatnonzero(st.status != NON_USER), st.intimacy, st.referrals,
                              mask, 0.2)
        total = int(st.referrals.sum())
        assert both[0] == round(naive_top_share(st.status, st.intimacy, st.referrals) * total)
        assert both[1] / (total - st.referrals[mask].sum()) == top_share(st, exclude=mask)


def test_top_shares_when_every_ever_member_has_the_same_intimacy():
    """A cascade or an epidemic: one intimacy for all (ranked by index), or one but a few."""
    gen = np.random.default_rng(3)
    for trial in range(40):
        n = int(gen.integers(5, 3000))

        def tied(st):
            values = np.full(n, (0.0, 0.25, 1.0)[trial % 3])
            if trial % 4 == 3:  # ... but for one ever-member, anywhere in the list
                ever = np.flatnonzero(st.status != NON_USER)
                values[ever[int(gen.integers(0, len(ever)))]] = 0.5
            return values

        st, seeds, mask = _random_ever_members(gen, n, tied, 4)
        total = int(st.referrals.sum())
        if total == 0 or st.referrals[~mask].sum() == 0:
            continue
        both = _top_shares_nb(np.flatnonzero(st.status != NON_USER), st.intimacy, st.referrals,
                              mask, 0.2)
        assert both[0] == round(naive_top_share(st.status, st.intimacy, st.referrals) * total)
        nonseed_total = total - int(st.referrals[mask].sum())
        assert both[1] == round(naive_nonseed_top_share(st.status, st.intimacy, st.referrals,
                                                        seeds) * nonseed_total)


def _fake_model(st: PopulationState, day: int = 0) -> SimpleNamespace:
    n = st.n
    return SimpleNamespace(state=st, day=day,
                           graph=SimpleNamespace(indptr=np.zeros(n + 1, np.int64),
                                                 indices=np.zeros(0, np.int32), contacts=0),
                           params=SimpleNamespace(n=n, commit_threshold=0.7))


def _join(st, i, source, day, role=LURKER, intimacy=0.3):
    st.status[i], st.source[i], st.join_day[i] = MEMBER, source, day
    st.role[i], st.intimacy[i] = role, intimacy


def test_seeds_are_credited_and_stay_seeds_after_churning_and_rejoining():
    st = PopulationState.empty(np.ones(12))
    for i in (0, 1):
        _join(st, i, SEED, 0, role=KOL, intimacy=0.9)
    model = _fake_model(st)
    rec = Recorder(model)
    row = rec.record(model, None)
    assert row["seed_referrals"] == 0 and math.isnan(row["seed_referral_share"])
    assert math.isnan(row["nonseed_top20_referral_share"]) and row["lurker_share"] == 0.0
    # day 1: seed 0 recruits 2 and 3, 2 recruits 4 (2 has the highest intimacy of non-seeds)
    model.day = 1
    _join(st, 2, REFERRAL, 1, intimacy=0.8)
    _join(st, 3, REFERRAL, 1, intimacy=0.3)
    _join(st, 4, REFERRAL, 1, intimacy=0.1)
    _join(st, 5, ORGANIC, 1, intimacy=0.2)
    _join(st, 6, ADS, 1, intimacy=0.05)
    st.referrals[[0, 2]] = [2, 1]
    row = rec.record(model, DayCounts(joins_referral=3, joins_organic=1, joins_ads=1))
    assert row["lurker_share"] == 5 / 7
    assert row["seed_referrals"] == 2 and row["seed_referral_share"] == 2 / 3
    # non-seed ever-members 2..6: the top 20% is person 2, credited with all the non-seeds' 1
    assert row["nonseed_top20_referral_share"] == 1.0
    # seed 0 churns, rejoins by referral, and recruits again: still a seed
    model.day = 2
    st.status[0], st.source[0], st.join_day[0] = MEMBER, REFERRAL, 2
    st.referrals[[0, 3]] += 1
    row = rec.record(model, DayCounts(joins_referral=2))
    assert row["seed_referrals"] == 3 and row["seed_referral_share"] == 3 / 5
    # non-seeds 2 and 3 hold 1 each; the top 20% (ceil(0.2 * 5) = 1) is person 2
    assert row["nonseed_top20_referral_share"] == 0.5
    ts = rec.timeseries()
    assert list(ts.columns) == list(TIMESERIES_COLUMNS)


def test_retention_cohorts_by_source_are_frozen_at_day_30():
    st = PopulationState.empty(np.ones(20))
    _join(st, 0, SEED, 0, role=KOL, intimacy=0.9)
    model = _fake_model(st)
    rec = Recorder(model)
    row = rec.record(model, None)
    assert all(math.isnan(row[f"retention_{s}"]) for s in ("referral", "organic", "ads"))
    model.day = 1
    _join(st, 1, REFERRAL, 1)
    _join(st, 2, REFERRAL, 1)
    _join(st, 3, ORGANIC, 1)
    row = rec.record(model, None)
    assert row["retention_referral"] == 1.0 and row["retention_organic"] == 1.0
    assert math.isnan(row["retention_ads"])
    model.day = 10  # before day 30 the cohort grows; a churned joiner stays in it
    _join(st, 4, REFERRAL, 10)
    _join(st, 5, ADS, 10)
    st.status[1] = CHURNED
    row = rec.record(model, None)
    assert row["retention_referral"] == 2 / 3 and row["retention_ads"] == 1.0
    model.day = 30
    _join(st, 6, REFERRAL, 30)
    row = rec.record(model, None)
    assert row["retention_referral"] == 3 / 4
    # after day 30 the cohort is frozen: a later join, and a (made-up) re-dated join of a
    # non-member into days 1-30, do not enter it
    model.day = 31
    _join(st, 7, REFERRAL, 31)
    st.source[8], st.join_day[8], st.status[8] = REFERRAL, 12, CHURNED
    st.status[3] = CHURNED
    st.status[5] = CHURNED
    row = rec.record(model, None)
    assert row["retention_referral"] == 3 / 4
    assert row["retention_organic"] == 0.0 and row["retention_ads"] == 0.0
    # a cohort member who rejoins by another source counts for the cohort it was frozen in
    st.status[1], st.source[1], st.join_day[1] = MEMBER, ORGANIC, 31
    row = rec.record(model, None)
    assert row["retention_referral"] == 1.0 and row["retention_organic"] == 0.0


def test_lurker_share_is_nan_without_members():
    st = PopulationState.empty(np.ones(5))
    model = _fake_model(st)
    row = Recorder(model).record(model, None)
    assert math.isnan(row["lurker_share"]) and row["members"] == 0


def _series(days: int, **columns) -> pd.DataFrame:
    ts = pd.DataFrame({c: np.zeros(days + 1) for c in TIMESERIES_COLUMNS})
    ts["day"] = np.arange(days + 1)
    for name, values in columns.items():
        ts[name] = values
    return ts


def test_summary_retention_cost_to_milestone_and_the_non_seed_share_of_90_days():
    days = np.arange(151)
    ret = np.where(days >= 1, 1.0 - days / 300, math.nan)
    ts = _series(150, members=100 + 10 * days, cost=1000.0 * days, non_users=5000 - 10 * days,
                 joins_referral=4 * days, seed_referrals=np.minimum(days, 100),
                 retention_referral=ret, retention_organic=ret / 2,
                 retention_ads=np.full(151, math.nan))
    s = summarize(ts, {"population": 5100}, [100, 1000, 10000])
    assert s["cost_to_milestone"] == {"100": 0.0, "1000": 90_000.0, "10000": None}
    assert s["retention_30"] == 0.9 and s["retention_90"] == 0.7
    assert s["retention_120"] == pytest.approx(0.6)
    assert s["retention_by_source"]["organic"]["90"] == 0.35
    assert s["retention_by_source"]["ads"] == {"30": None, "90": None, "120": None}
    # days 60..150: 360 referral joins, of which the seeds got 100 - 60 = 40
    assert s["nonseed_referral_share_90d"] == pytest.approx(1 - 40 / 360)
    assert s["bass_p"] > 0 and s["bass_q"] >= 0
    assert json.loads(json.dumps(s)) == s  # JSON-ready
    # a 60-day run: no day 90 or 120, and the 90-day share covers the whole run
    short = summarize(ts.iloc[:61], {"population": 5100}, [100, 1000])
    assert short["retention_90"] is None and short["retention_120"] is None
    assert short["retention_30"] == 0.9
    assert short["nonseed_referral_share_90d"] == pytest.approx(1 - 60 / 240)
    # no referral joins at all: None
    none = summarize(_series(20, non_users=10), {"population": 10}, [100])
    assert none["nonseed_referral_share_90d"] is None and none["bass_p"] is None


def test_busiest_window_starts_at_the_first_day_of_the_most_joins():
    days = np.arange(101)
    daily = np.where((days >= 40) & (days < 70), 5, 1)
    daily[0] = 100  # seeding is not a day of joins
    ts = _series(100, joins_seed=np.full(101, 100), joins_referral=np.cumsum(daily) - 100)
    assert busiest_window_start(ts, 30) == 40
    assert busiest_window_start(ts.iloc[:10], 30) == 1
    assert busiest_window_start(ts.iloc[:1], 30) is None


def _discrete_bass(p_year, q_year, days, n):
    p, q = p_year / 365, q_year / 365
    f = [0.0]
    for _ in range(days):
        f.append(f[-1] + (1 - f[-1]) * (1 - (1 - p) * math.exp(-q * f[-1])))
    return n * np.array(f)


@pytest.mark.parametrize(("p", "q", "days"), [(0.03, 0.38, 3650), (0.3, 3.0, 1095),
                                              (0.1, 2.0, 730)])
def test_fit_bass_recovers_p_and_q_of_the_discrete_recursion(p, q, days):
    curve = _discrete_bass(p, q, days, 100_000)
    fit = fit_bass(np.arange(days + 1), curve, 100_000)
    assert fit is not None
    assert fit[0] == pytest.approx(p, rel=0.03) and fit[1] == pytest.approx(q, rel=0.03)
    assert fit[2] <= 100_000


def test_fit_bass_sees_pure_innovation_and_refuses_too_little_data():
    curve = _discrete_bass(2.0, 0.05, 365, 10_000)  # concave: broadcasting, no imitation
    p, q, _ = fit_bass(np.arange(366), curve, 10_000)
    assert q / p < 0.1
    assert fit_bass(np.arange(5), curve[:5], 10_000) is None
    assert fit_bass(np.arange(50), np.zeros(50), 10_000) is None
    stopped = np.minimum(np.arange(50), 9) * 3.0  # grew on 9 days, then never again
    assert fit_bass(np.arange(50), stopped, 10_000) is None
    assert fit_bass(np.arange(50), np.minimum(np.arange(50), 10) * 3.0, 10_000) is not None
    # a market smaller than what was adopted is not a reason to raise
    assert fit_bass(np.arange(366), curve, 10) is not None


def test_the_engines_counts_start_with_the_recorders_flows():
    # the numba engine hands its counts array to the recorder as is (sim.kernels.run_day_flows)
    from sim.kernels import COUNT_FIELDS
    from sim.metrics import FLOWS

    assert COUNT_FIELDS[:len(FLOWS)] == FLOWS


def test_a_recorder_without_a_horizon_grows_its_table():
    st = PopulationState.empty(np.ones(4))
    model = _fake_model(st)
    rec = Recorder(model)
    for day in range(70):
        model.day = day
        row = rec.record(model, DayCounts(posts=day))
    assert rec.n_rows == 70 and row["posts"] == 69 and isinstance(row["posts"], int)
    ts = rec.timeseries()
    assert ts["posts"].tolist() == list(range(70)) and ts["posts"].dtype == np.int64
