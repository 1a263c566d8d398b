"""Tests of sim.state: PopulationState.empty, n, arrays and copy."""

from __future__ import annotations

from dataclasses import fields

import numpy as np

from sim.codes import NO_ROLE, NO_SOURCE, NON_USER
from sim.state import PopulationState

DTYPES = {
    "status": np.int8, "role": np.int8, "fit": np.float64, "engagement": np.float64,
    "intimacy": np.float64,
    "influence": np.float64, "source": np.int8, "referrer": np.int64, "exposures": np.int32,
    "paying": np.bool_, "join_day": np.int32, "kol_since": np.int32, "referrals": np.int64,
    "kol_referrals": np.int64, "funnel": np.uint8,
}


def test_empty_is_everybody_a_non_user_with_documented_dtypes():
    fit = [0.1, 0.5, 0.9]
    st = PopulationState.empty(np.array(fit, dtype=np.float32))
    assert st.n == 3
    assert {f.name for f in fields(st)} == set(DTYPES)
    for name, dtype in DTYPES.items():
        a = getattr(st, name)
        assert a.dtype == dtype, name
        assert a.shape == (3,), name
    assert (st.status == NON_USER).all() and (st.role == NO_ROLE).all()
    assert (st.source == NO_SOURCE).all()
    assert (st.referrer == -1).all() and (st.join_day == -1).all() and (st.kol_since == -1).all()
    assert (st.influence == 1.0).all() and (st.intimacy == 0.0).all()
    assert not st.paying.any() and not st.funnel.any() and not st.exposures.any()
    assert st.fit.tolist() == np.array(fit, dtype=np.float32).astype(np.float64).tolist()
    assert st.fit.flags.c_contiguous


def test_empty_of_no_persons():
    st = PopulationState.empty(np.zeros(0))
    assert st.n == 0
    assert all(len(a) == 0 for a in st.arrays().values())


def test_arrays_are_the_fields_themselves_in_order():
    st = PopulationState.empty(np.ones(2))
    arrays = st.arrays()
    assert list(arrays) == [f.name for f in fields(st)]
    assert arrays["status"] is st.status


def test_copy_is_deep():
    st = PopulationState.empty(np.full(4, 0.5))
    st.intimacy[1] = 0.7
    cp = st.copy()
    for name, a in st.arrays().items():
        assert np.array_equal(getattr(cp, name), a)
        assert getattr(cp, name) is not a
    cp.intimacy[1] = 0.0
    cp.status[0] = 1
    assert st.intimacy[1] == 0.7 and st.status[0] == NON_USER


def test_engagement_defaults_to_one_and_takes_given_values():
    st = PopulationState.empty(np.full(3, 0.5))
    assert st.engagement.tolist() == [1.0, 1.0, 1.0]
    st = PopulationState.empty(np.full(3, 0.5), np.array([0.1, 2.0, 5.0], np.float32))
    assert st.engagement.dtype == np.float64 and st.engagement.tolist()[1] == 2.0


def test_byte_words_and_has_byte_agree_with_the_bytes():
    from numba import njit

    from sim.state import byte_words, has_byte

    @njit(cache=False)
    def found(a, value):
        words = byte_words(a)
        return np.array([has_byte(words[w], value) for w in range(len(words))])

    gen = np.random.default_rng(4)
    for n in (0, 7, 8, 9, 64, 1001):
        for pool in ([0, 1, 2], [0, 255, 1, 128, 127], list(range(256))):
            a = gen.choice(np.array(pool, np.uint8), n)
            assert len(byte_words(a)) == n // 8
            for value in (0, 1, 2, 127, 128, 255):
                want = (a[:n // 8 * 8].reshape(-1, 8) == value).any(axis=1)
                assert (found(a, value) == want).all()
                assert (found(a.view(np.int8), value) == want).all()  # statuses are int8
