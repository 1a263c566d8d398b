"""Tests of sim.rules: the scalar formulas of MODEL.md §3, with values computed by hand."""

from __future__ import annotations

import math

import numba
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import rules
from sim.codes import ACTIVE, KOL, LURKER


@numba.njit(cache=False)
def _hazard_and_bound(cb, intimacy, cp, mp, fit):
    return (rules.churn_hazard(cb, intimacy, cp, mp, fit),
            rules.churn_hazard_bound(cb, intimacy, cp, mp, fit))


def test_clip01_bounds_and_passes_inside():
    assert rules.clip01(-0.5) == 0.0
    assert rules.clip01(1.5) == 1.0
    assert rules.clip01(0.25) == 0.25
    assert rules.clip01(0.0) == 0.0 and rules.clip01(1.0) == 1.0


def test_gain_saturates_towards_one():
    assert rules.gain(0.5, 0.2) == pytest.approx(0.6)
    assert rules.gain(1.0, 0.7) == 1.0
    assert rules.gain(0.3, 0.0) == 0.3


def test_gain_times_is_gain_applied_in_order():
    once = rules.gain(0.1, 0.3)
    assert rules.gain_times(0.1, 0.3, 1) == once
    assert rules.gain_times(0.1, 0.3, 2) == rules.gain(once, 0.3)
    assert rules.gain_times(0.1, 0.3, 0) == 0.1
    # closed form 1 - (1 - I)(1 - g)^k
    assert rules.gain_times(0.1, 0.3, 3) == pytest.approx(1 - 0.9 * 0.7**3)


def test_power_int_by_repeated_multiplication():
    assert rules.power_int(2.0, 0) == 1.0
    assert rules.power_int(2.0, 10) == 1024.0
    assert rules.power_int(0.5, 3) == 0.125
    assert rules.power_int(0.9, 2) == 0.9 * 0.9  # exactly the product, not 0.9 ** 2


@pytest.mark.parametrize("per_period, period", [(3, 7), (1, 30), (10, 7), (0, 7), (7, 7)])
def test_events_on_day_spreads_per_period_events_over_any_period(per_period, period):
    per_day = [rules.events_on_day(d, per_period, period) for d in range(1, 3 * period + 1)]
    for start in range(0, 2 * period + 1):
        assert sum(per_day[start:start + period]) in (math.floor(per_period),
                                                      math.ceil(per_period))
    assert sum(per_day) == 3 * per_period


def test_events_on_day_exact_days():
    # rate 3/7: floor(d*3/7) steps on days 3, 5, 7
    assert [rules.events_on_day(d, 3, 7) for d in range(1, 8)] == [0, 0, 1, 0, 1, 0, 1]
    assert rules.events_on_day(1, 14, 7) == 2


def test_attend_probability_linear_then_clipped():
    assert rules.attend_probability(0.1, 0.4, 0.5, 1.0, 1.0) == pytest.approx(0.3)
    assert rules.attend_probability(0.8, 0.5, 1.0, 1.0, 1.0) == 1.0
    assert rules.attend_probability(-0.2, 0.1, 0.0, 1.0, 1.0) == 0.0


def test_attendance_scales_with_engagement_up_to_one_and_with_capacity():
    assert rules.attend_probability(0.1, 0.4, 0.5, 0.5, 1.0) == pytest.approx(0.15)
    assert rules.attend_probability(0.1, 0.4, 0.5, 7.0, 1.0) == pytest.approx(0.3)  # min(e, 1)
    assert rules.attend_probability(0.1, 0.4, 0.5, 1.0, 0.25) == pytest.approx(0.075)


def test_capacity_scale_fits_the_expected_attendance():
    assert rules.capacity_scale(500.0, 0.0) == 1.0  # 0 = unlimited
    assert rules.capacity_scale(500.0, 1000.0) == 1.0
    assert rules.capacity_scale(4000.0, 1000.0) == 0.25
    assert 4000.0 * rules.capacity_scale(4000.0, 1000.0) == 1000.0


def test_interact_gain_half_at_half():
    assert rules.interact_gain(0.2, 0, 3.0, 1.0) == 0.0
    assert rules.interact_gain(0.2, 3, 3.0, 1.0) == pytest.approx(0.1)
    assert rules.interact_gain(0.2, 9, 3.0, 1.0) == pytest.approx(0.15)


def test_interact_gain_scales_with_engagement_clipped():
    assert rules.interact_gain(0.2, 3, 3.0, 2.0) == pytest.approx(0.2)
    assert rules.interact_gain(0.2, 3, 3.0, 50.0) == 1.0


def test_content_gain_times_fit_and_engagement_clipped():
    assert rules.content_gain(0.04, 0.5, 2.0) == pytest.approx(0.04)
    assert rules.content_gain(0.04, 1.0, 1.0) == 0.04
    assert rules.content_gain(0.04, 1.0, 100.0) == 1.0


def test_role_mult_picks_the_role():
    assert rules.role_mult(KOL, 1.0, 2.0, 3.0) == 3.0
    assert rules.role_mult(ACTIVE, 1.0, 2.0, 3.0) == 2.0
    assert rules.role_mult(LURKER, 1.0, 2.0, 3.0) == 1.0


def test_invite_probability_product_clipped():
    assert rules.invite_probability(0.01, 3.0, 2.0, 0.5, 1.0, 1.0) == pytest.approx(0.03)
    assert rules.invite_probability(0.01, 3.0, 2.0, 0.5, 1.0, 0.5) == pytest.approx(0.015)
    assert rules.invite_probability(0.5, 3.0, 2.0, 1.0, 2.0, 1.0) == 1.0
    assert rules.invite_probability(0.5, 3.0, 2.0, 0.0, 2.0, 1.0) == 0.0


def test_invite_cap_bounds_the_expected_invitations():
    assert rules.capped_invite_probability(0.1, 10, 0.0) == 0.1  # 0 = no cap
    assert rules.capped_invite_probability(0.1, 10, 2.0) == 0.1  # 1 expected: under the cap
    assert rules.capped_invite_probability(0.1, 100, 2.0) == pytest.approx(0.02)
    assert 100 * rules.capped_invite_probability(0.5, 100, 2.4) == pytest.approx(2.4)
    assert rules.capped_invite_probability(0.3, 0, 2.0) == 0.3  # nobody to invite


def test_trough_and_amplified_influence():
    assert [d for d in range(8) if rules.in_trough(d, 2, 3)] == [2, 3, 4, 5]
    assert not rules.in_trough(5, 10, 30)  # (not yet a KOL on day 5)
    assert rules.amplified_influence(2.0, True, True, 3.0) == 6.0
    assert rules.amplified_influence(2.0, True, False, 3.0) == 2.0
    assert rules.amplified_influence(2.0, False, True, 3.0) == 2.0


def test_conversion_probability():
    # c = 0.5 * 0.8 * (1 - 0.5)^1 = 0.2; two invitations: 1 - 0.8^2 = 0.36
    assert rules.conversion_probability(0.5, 0.8, 0.5, 1, 2) == pytest.approx(0.36)
    assert rules.conversion_probability(0.5, 0.8, 0.5, 1, 0) == 0.0
    assert rules.conversion_probability(2.0, 1.0, 0.0, 0, 1) == 1.0  # c clipped to 1


def test_churn_hazard():
    # protect 0 means no protection: factor 1 even at intimacy 1
    assert rules.churn_hazard(0.01, 1.0, 0.0, 0.0, 1.0) == 0.01
    # 0.01 * (1 - 0.75)^2 * (1 + 2 * (1 - 0.5)) = 0.01 * 0.0625 * 2
    assert rules.churn_hazard(0.01, 0.75, 2.0, 2.0, 0.5) == pytest.approx(0.00125)
    assert rules.churn_hazard(0.9, 0.0, 1.0, 10.0, 0.0) == 1.0


_unit = st.floats(0.0, 1.0)
_shape = st.one_of(st.floats(0.0, 1000.0), st.sampled_from([0.0, 1.0, 2.0, 3.0, 1e-300]))


@settings(max_examples=400, deadline=None)
@given(cb=_unit, intimacy=_unit, cp=_shape, mp=_shape, fit=_unit)
def test_churn_hazard_never_exceeds_its_bound_in_python_and_compiled(cb, intimacy, cp, mp, fit):
    """The compiled engine skips the hazard's power for a draw at or above the bound."""
    args = (cb, intimacy, cp, mp, fit)
    assert rules.churn_hazard(*args) <= rules.churn_hazard_bound(*args)
    h, bound = _hazard_and_bound(*args)
    assert h == rules.churn_hazard(*args) and h <= bound


def test_churn_hazard_bound_outside_its_domain_is_above_every_draw():
    assert rules.churn_hazard_bound(0.02, 0.5, 3.0, 1.0, 0.4) == 0.02 * (1.0 + 1.0 * 0.6)
    for args in ((0.02, -0.1, 2.0, 1.0, 0.4), (0.02, 1.5, 2.0, 1.0, 0.4),  # intimacy
                 (-0.02, 0.5, 2.0, 1.0, 0.4), (0.02, 0.5, -1.0, 1.0, 0.4),  # base, exponent
                 (0.02, 0.5, 2.0, -5.0, 0.4), (0.02, 0.5, 2.0, 1.0, math.nan),  # penalty, fit
                 (0.02, math.nan, 2.0, 1.0, 0.4)):
        assert rules.churn_hazard_bound(*args) == 2.0, args
    # intimacy 3 by hand, exponent 2: the hazard (4x the base) is above the in-domain bound
    assert rules.churn_hazard(0.02, 3.0, 2.0, 0.0, 1.0) > 0.02


def test_trough_dropout_probability():
    assert rules.trough_dropout_probability(0.2, False, 4.0) == 0.2
    assert rules.trough_dropout_probability(0.2, True, 4.0) == pytest.approx(0.05)
    assert rules.trough_dropout_probability(3.0, False, 4.0) == 1.0


def test_influence_step_moves_towards_cap():
    assert rules.influence_step(1.0, 0.1, 3.0) == pytest.approx(1.2)
    assert rules.influence_step(3.0, 0.1, 3.0) == 3.0


def test_task_active_days_start_plus_one_to_start_plus_days():
    assert [d for d in range(0, 10) if rules.task_active(d, 2, 3)] == [3, 4, 5]
    assert not any(rules.task_active(d, 2, 0) for d in range(10))


def test_ads_attempts():
    assert rules.ads_attempts(0) == 1000
    assert rules.ads_attempts(4) == 1200


def test_ad_price_rises_as_the_market_is_used_up():
    assert rules.ad_price(20.0, 1000, 1000, 1.0) == 20.0
    assert rules.ad_price(20.0, 1000, 500, 1.0) == pytest.approx(40.0)
    assert rules.ad_price(20.0, 1000, 500, 2.0) == pytest.approx(80.0)
    assert rules.ad_price(20.0, 1000, 10, 0.0) == 20.0  # saturation 0: constant
    assert rules.ad_price(20.0, 1000, 0, 1.0) == math.inf  # nobody left to buy


def test_ads_wanted_spreads_the_budget_at_todays_price():
    assert sum(rules.ads_wanted(d, 50.0, 20.0, 1000) for d in range(1, 11)) == 25
    assert sum(rules.ads_wanted(d, 50.0, 40.0, 1000) for d in range(1, 11)) in (12, 13)
    assert rules.ads_wanted(3, 0.0, 20.0, 1000) == 0
    assert rules.ads_wanted(3, 50.0, math.inf, 1000) == 0


def test_ads_wanted_are_at_most_the_persons_there_are():
    """A budget buying more joins a day than there are persons buys at most everyone.

    Before, 1e-9 a join on a 50-person pond wanted 2e12 joins a day and drew 50 times as
    many candidates (the run never ended); a price near 0 overflowed the count.
    """
    assert [rules.ads_wanted(d, 50.0, 1.0, 60) for d in (1, 2, 3)] == [50, 50, 50]
    assert rules.ads_wanted(2, 1000.0, 1e-9, 50) == 50
    assert rules.ads_wanted(2, 1e12, 1e-300, 50) == 50  # B / price is inf
    assert rules.ads_wanted(7, 60.0, 1.0, 60) == 60
    assert rules.ads_wanted(2, 59.5, 1.0, 60) == 60  # floor(119) - floor(59.5)
    assert rules.ads_wanted(2, 0.5, 1.0, 1) == 1
    assert rules.ads_attempts(rules.ads_wanted(1, 1e12, 1e-9, 100)) == 6000


def test_daily_cost_sums_in_order():
    assert rules.daily_cost(2, 1, 3, 4, 10.0, 100.0, 300.0, 5.0) == pytest.approx(
        20.0 + 100.0 + 30.0 + 20.0)
    assert rules.daily_cost(0, 0, 0, 0, 10.0, 100.0, 300.0, 5.0) == 0.0
