"""Metric helpers against obviously-correct versions."""

from __future__ import annotations

import math

import numpy as np

from sim.codes import CHURNED, MEMBER, NON_USER
from sim.metrics import milestone_days, referral_curve, top_share
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
