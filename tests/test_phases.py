"""Each phase of MODEL.md §3 on tiny hand-made graphs with known outcomes."""

from __future__ import annotations

import numpy as np
import pytest

from sim import rules
from sim.codes import ACTIVE, ADS, CHURNED, KOL, LURKER, MEMBER, NON_USER, ORGANIC, REFERRAL
from tests.helpers import PATH3, STAR5, TRIANGLE, tiny_model


def test_star_hub_invites_every_leaf_and_gets_the_credit():
    m = tiny_model(STAR5, members=[0], rules={"invite_rate": 1.0})
    m.step()
    st = m.state
    assert list(st.status) == [MEMBER] * 5
    assert list(st.source[1:]) == [REFERRAL] * 4
    assert list(st.referrer[1:]) == [0] * 4
    assert st.referrals[0] == 4 and st.kol_referrals[0] == 4
    assert m.today["joins_referral"] == 4 and m.today["invites_sent"] == 4
    assert np.all(st.intimacy[1:] == 0.3) and np.all(st.join_day[1:] == 1)
    assert np.all(st.role[1:] == LURKER)


def test_newcomers_take_part_from_the_next_day():
    m = tiny_model(
        PATH3, members=[0], rules={"invite_rate": 1.0, "join_intimacy": {"referral": 1.0}}
    )
    m.step()
    assert list(m.state.status) == [MEMBER, MEMBER, NON_USER]  # 1 joined today, does not invite
    m.step()
    assert list(m.state.status) == [MEMBER, MEMBER, MEMBER]
    assert m.state.referrer[2] == 1


def test_churn_happens_after_inviting_and_not_on_the_join_day():
    m = tiny_model(
        PATH3, members=[0],
        rules={"invite_rate": 1.0, "churn_base": 1.0, "join_intimacy": {"referral": 1.0}},
    )
    m.step()
    assert list(m.state.status) == [CHURNED, MEMBER, NON_USER]
    m.step()  # 1 invites 2 first, then churns; 0 is churned and rejoin_factor = 0
    assert list(m.state.status) == [CHURNED, CHURNED, MEMBER]
    assert m.state.role[0] == -1


def test_churned_neighbours_are_invited_at_rejoin_factor():
    m = tiny_model(PATH3, members=[1], rules={"invite_rate": 1.0, "rejoin_factor": 1.0})
    m.state.status[[0, 2]] = CHURNED
    m.step()
    assert list(m.state.status) == [MEMBER, MEMBER, MEMBER]
    m2 = tiny_model(PATH3, members=[1], rules={"invite_rate": 1.0, "rejoin_factor": 0.0})
    m2.state.status[[0, 2]] = CHURNED
    m2.step()
    assert m2.today["invites_sent"] == 0


def test_invitation_probability_formula():
    m = tiny_model(STAR5, members=[0], role="active", intimacy=0.5,
                   rules={"invite_rate": 0.1, "role_mult": {"active": 2.0}})
    m.state.influence[0] = 3.0
    assert m.person(0).invitation_probability(1) == pytest.approx(0.1 * 2.0 * 3.0 * 0.5)


def test_common_task_boosts_kol_invitations_and_intimacy_only_during_the_task():
    m = tiny_model(STAR5, members=[0], intimacy=0.5,
                   rules={"invite_rate": 0.1},
                   program={"common_task": {"start": 2, "days": 3, "intimacy_gain": 0.1,
                                            "invite_boost": 2.0}})
    kol = m.person(0)
    assert [rules.task_active(d, 2, 3) for d in range(1, 7)] == [
        False, False, True, True, True, False
    ]
    assert kol.invitation_probability(3) == pytest.approx(2 * kol.invitation_probability(1))
    m.step()
    m.step()
    assert m.state.intimacy[0] == 0.5
    m.step()
    assert m.state.intimacy[0] == pytest.approx(0.5 + 0.1 * 0.5)


def test_conversion_with_fatigue_counts_failed_invitations():
    m = tiny_model(STAR5, members=[1, 2, 3], role="active",
                   rules={"invite_rate": 1.0, "convert_prob": 0.0})
    m.step()
    assert m.state.status[0] == NON_USER
    assert m.state.exposures[0] == 3  # three inviters, all failed
    assert rules.conversion_probability(0.5, 0.8, 0.5, 2, 3) == pytest.approx(
        1 - (1 - 0.4 * 0.25) ** 3
    )


def test_referral_credit_goes_to_exactly_one_inviter():
    m = tiny_model(STAR5, members=[1, 2, 3, 4], role="active", rules={"invite_rate": 1.0})
    m.step()
    assert m.state.status[0] == MEMBER and m.state.referrer[0] in (1, 2, 3, 4)
    assert m.state.referrals.sum() == 1


def test_interaction_gain_from_member_neighbours():
    m = tiny_model(TRIANGLE, members=[0, 1, 2], role="lurker", intimacy=0.2,
                   rules={"interact_gain": 0.1, "interact_half": 2.0, "active_threshold": 0.9})
    m.step()
    expected = 0.2 + (0.1 * 2 / (2 + 2.0)) * (1 - 0.2)
    assert np.allclose(m.state.intimacy, expected, rtol=0, atol=1e-15)


def test_content_reaches_members_and_gains_by_fit():
    m = tiny_model(PATH3, members=[0, 1], role="lurker", intimacy=0.0,
                   program={"content_per_week": 14, "content_reach": 1.0, "content_gain": 0.1},
                   rules={"active_threshold": 0.9})
    m.state.fit[1] = 0.5
    m.step()  # two posts a day
    assert m.state.intimacy[0] == pytest.approx(1 - 0.9**2)
    assert m.state.intimacy[1] == pytest.approx(1 - 0.95**2)
    assert m.state.intimacy[2] == 0.0
    assert m.today["posts"] == 2


def test_events_are_spread_evenly():
    per_week = [rules.events_on_day(d, 7, 7.0) for d in range(1, 15)]
    assert per_week == [1] * 14
    monthly = [rules.events_on_day(d, 21, 30.0) for d in range(1, 31)]
    assert sum(monthly) == 21 and max(monthly) == 1
    assert sum(rules.events_on_day(d, 3, 7.0) for d in range(1, 71)) == 30


def test_operator_activities_attendance_and_gain():
    m = tiny_model(TRIANGLE, members=[0, 1, 2], role="lurker", intimacy=0.0,
                   program={"activities_per_month": 30, "attend_base": 1.0, "activity_gain": 0.25},
                   rules={"active_threshold": 0.9})
    m.step()
    assert np.allclose(m.state.intimacy, 0.25)
    m2 = tiny_model(TRIANGLE, members=[0, 1, 2], role="lurker", intimacy=0.0,
                    program={"activities_per_month": 30, "attend_base": 0.0, "attend_slope": 0.0})
    m2.step()
    assert np.all(m2.state.intimacy == 0.0)


def test_self_organised_activities_are_attended_by_member_neighbours():
    m = tiny_model(STAR5, members=[0, 1, 2], role="active", intimacy=1.0,
                   program={"self_org_rate": 1.0, "attend_base": 1.0, "activity_gain": 0.5})
    m.state.intimacy[[1, 2]] = 0.0
    m.state.role[[1, 2]] = LURKER  # lurkers do not organise, but attend
    m.step()
    assert m.today["member_activities"] == 1
    assert m.state.intimacy[1] == pytest.approx(0.5) and m.state.intimacy[2] == pytest.approx(0.5)
    assert m.state.intimacy[3] == 0.0


def test_empowerment_grows_kol_influence_towards_the_cap():
    m = tiny_model(PATH3, members=[0], program={"empowerment": {"rate": 0.5, "influence_cap": 3.0}})
    m.step()
    assert m.state.influence[0] == pytest.approx(2.0)
    m.step()
    assert m.state.influence[0] == pytest.approx(2.5)


def test_recruitment_promotes_the_most_intimate_active():
    m = tiny_model(STAR5, members=[0, 1, 2, 3], role="active", intimacy=0.85,
                   program={"recruit": {"every_days": 2, "count": 1, "min_intimacy": 0.8}})
    m.state.intimacy[2] = 0.95
    m.state.intimacy[3] = 0.5
    m.step()
    assert not (m.state.role == KOL).any()
    m.step()
    assert list(np.flatnonzero(m.state.role == KOL)) == [2] and m.state.kol_since[2] == 2


def test_roles_follow_intimacy_with_hysteresis():
    m = tiny_model(STAR5, members=[0, 1, 2, 3], role="lurker", intimacy=0.45,
                   rules={"active_threshold": 0.5, "hysteresis": 0.1})
    m.state.intimacy[1] = 0.5
    m.state.role[2] = ACTIVE
    m.state.role[3] = ACTIVE
    m.state.intimacy[3] = 0.35
    m.step()
    assert list(m.state.role[:4]) == [LURKER, ACTIVE, ACTIVE, LURKER]


def test_trough_dropout_and_amplification():
    m = tiny_model(PATH3, members=[0], rules={"trough_dropout": 1.0, "trough_days": 30})
    m.step()
    assert m.state.role[0] == ACTIVE and m.state.kol_since[0] == -1
    amp = tiny_model(PATH3, members=[0], rules={"trough_dropout": 1.0},
                     program={"amplification": {"enabled": True, "factor": 1000.0}})
    for _ in range(5):
        amp.step()
    assert amp.state.role[0] == KOL
    late = tiny_model(PATH3, members=[0], rules={"trough_dropout": 1.0, "trough_days": 3})
    late.state.kol_since[0] = -10  # became KOL long ago: out of the trough
    late.step()
    assert late.state.role[0] == KOL


def test_decay_and_churn_hazard():
    m = tiny_model(PATH3, members=[0], intimacy=0.8, rules={"decay": 0.25})
    m.step()
    assert m.state.intimacy[0] == pytest.approx(0.6)
    h = rules.churn_hazard(0.1, 0.5, 2.0, 1.0, 0.4)
    assert h == pytest.approx(0.1 * 0.25 * (1 + 0.6))


def test_organic_joins_and_ads():
    m = tiny_model(STAR5, rules={"organic_rate": 1.0, "join_intimacy": {"organic": 0.2}})
    m.step()
    assert np.all(m.state.source == ORGANIC) and np.all(m.state.intimacy == 0.2)
    ads = tiny_model(STAR5, program={"ads": {"daily_budget": 40.0, "cost_per_join": 20.0}},
                     economics={"cost_per_post": 0, "cost_per_activity": 0,
                                "cost_per_kol_month": 0})
    ads.step()
    assert ads.today["joins_ads"] == 2 and (ads.state.source == ADS).sum() == 2
    assert ads.today["cost"] == pytest.approx(40.0)
    ads.step()
    ads.step()
    assert (ads.state.status == MEMBER).sum() == 5  # only 1 left for day 3


def test_entry_gates():
    review = tiny_model(STAR5, members=[0], rules={"invite_rate": 1.0},
                        program={"entry_gate": {"kind": "review", "min_fit": 0.5,
                                                "intimacy_bonus": 0.5}})
    review.state.fit[[1, 2]] = 0.4
    review.step()
    assert list(review.state.status) == [MEMBER, NON_USER, NON_USER, MEMBER, MEMBER]
    assert review.state.intimacy[3] == pytest.approx(0.3 + 0.5 * 0.7)
    assert review.state.exposures[1] == 1  # a refused invitation failed
    pay = tiny_model(STAR5, members=[0], rules={"invite_rate": 1.0},
                     program={"entry_gate": {"kind": "payment", "pass_prob": 0.0}})
    pay.step()
    assert (pay.state.status == MEMBER).sum() == 1


def test_monetisation():
    m = tiny_model(PATH3, members=[0], intimacy=1.0,
                   economics={"pay_rate": 1.0, "fee_per_year": 365.0, "purchase_rate": 0.5,
                              "price": 10.0, "cost_per_post": 0, "cost_per_activity": 0,
                              "cost_per_kol_month": 30.0})
    m.step()
    assert m.state.paying[0]
    assert m.today["revenue"] == pytest.approx(1.0 + 0.5 * 1.0 * 10.0)
    assert m.today["cost"] == pytest.approx(1.0)  # one KOL at 30 per month
    assert m.today["croi"] == pytest.approx(5.0)


def test_well_mixed_contacts_are_invited():
    from sim import GrowthModel
    from tests.helpers import QUIET, merge

    sc = merge(QUIET, {"population": {"size": 50, "graph": {"kind": "well_mixed", "contacts": 5}},
                       "seeding": {"count": 1, "strategy": "random", "intimacy": 1.0},
                       "rules": {"invite_rate": 1.0}})
    m = GrowthModel(sc)
    m.step()
    contacts = set(m.neighbours_of(int(m.seeds[0])))
    assert m.today["joins_referral"] == len(contacts) > 0
    assert set(np.flatnonzero(m.state.source == REFERRAL)) == contacts


# --- MODEL.md revision 2: engagement, finite attention, capacity, ad prices, amplification --

BIG_STAR = (201, [0] * 200, list(range(1, 201)))  # hub 0 and 200 leaves


@pytest.mark.parametrize("engine", ["agents", "numba"])
def test_invite_cap_limits_a_hubs_invitations_on_average(engine):
    sent = []
    for seed in range(20):
        m = tiny_model(BIG_STAR, members=[0], engine=engine, seed=seed,
                       rules={"invite_rate": 0.5, "invite_cap": 2.0, "convert_prob": 0.0})
        m.step()
        sent.append(m.today["invites_sent"])
    # uncapped the hub would send 0.5 x 200 = 100 a day; capped, 2 on average
    assert 1.0 < np.mean(sent) < 3.2
    free = tiny_model(BIG_STAR, members=[0], engine=engine,
                      rules={"invite_rate": 0.5, "invite_cap": 0.0, "convert_prob": 0.0})
    free.step()
    assert free.today["invites_sent"] > 70


@pytest.mark.parametrize("engine", ["agents", "numba"])
def test_engagement_scales_content_interaction_and_invitations(engine):
    m = tiny_model(PATH3, members=[0, 1], intimacy=0.0, engine=engine,
                   program={"content_per_week": 7, "content_reach": 1.0, "content_gain": 0.1})
    m.state.engagement[:] = [2.0, 0.5, 1.0]
    m.step()
    assert m.state.intimacy[0] == pytest.approx(0.2)  # 0.1 x fit 1 x engagement 2
    assert m.state.intimacy[1] == pytest.approx(0.05)
    i = tiny_model(PATH3, members=[0, 1], intimacy=0.0, engine=engine,
                   rules={"interact_gain": 0.1, "interact_half": 1.0})
    i.state.engagement[:] = [3.0, 0.0, 1.0]
    i.step()
    assert i.state.intimacy[0] == pytest.approx(0.1 * 0.5 * 3.0)
    assert i.state.intimacy[1] == 0.0  # engagement 0: no gain
    lazy = tiny_model(STAR5, members=[0], engine=engine, rules={"invite_rate": 1.0})
    lazy.state.engagement[0] = 0.0
    lazy.step()
    assert lazy.today["invites_sent"] == 0


@pytest.mark.parametrize("engine", ["agents", "numba"])
def test_activity_capacity_scales_attendance_down(engine):
    def attendance(capacity):
        m = tiny_model(BIG_STAR, members=range(201), role="lurker", intimacy=0.0,
                       engine=engine, program={"activities_per_month": 30,
                                               "attend_base": 0.5, "attend_slope": 0.0,
                                               "activity_gain": 1.0,
                                               "activity_capacity": capacity})
        m.step()
        return int((m.state.intimacy == 1.0).sum())  # attendees gained everything

    assert 70 < attendance(0.0) < 130  # 0.5 x 201 expected
    assert 10 < attendance(20.0) < 32  # scaled to 20 expected


@pytest.mark.parametrize("engine", ["agents", "numba"])
def test_ad_price_rises_as_non_users_run_out(engine):
    free = {"cost_per_post": 0, "cost_per_activity": 0, "cost_per_kol_month": 0}
    m = tiny_model(BIG_STAR, members=range(101), role="lurker", engine=engine, economics=free,
                   program={"ads": {"daily_budget": 200.0, "cost_per_join": 20.0,
                                    "saturation": 1.0}})
    m.step()
    # 100 non-users of 201: price 20 x 201 / 100 = 40.2, so 200 buys 4 (floor(200 / 40.2))
    assert m.today["joins_ads"] == 4
    assert m.today["cost"] == pytest.approx(4 * 20.0 * 201 / 100)
    flat = tiny_model(BIG_STAR, members=range(101), role="lurker", engine=engine,
                      economics=free, program={"ads": {"daily_budget": 200.0,
                                                       "cost_per_join": 20.0,
                                                       "saturation": 0.0}})
    flat.step()
    assert flat.today["joins_ads"] == 10 and flat.today["cost"] == pytest.approx(200.0)


@pytest.mark.parametrize("engine", ["agents", "numba"])
def test_amplification_multiplies_a_new_kols_influence_in_its_trough(engine):
    def sent(factor, kol_since):
        total = 0
        for seed in range(10):
            m = tiny_model(BIG_STAR, members=[0], engine=engine, seed=seed,
                           rules={"invite_rate": 0.05, "convert_prob": 0.0, "trough_days": 30},
                           program={"amplification": {"enabled": True, "factor": factor}})
            m.state.kol_since[0] = kol_since
            m.step()
            total += m.today["invites_sent"]
        return total / 10

    assert sent(1.0, 0) == pytest.approx(10, abs=4)  # 0.05 x 200
    assert sent(3.0, 0) == pytest.approx(30, abs=7)  # in the trough: x 3
    assert sent(3.0, -100) == pytest.approx(10, abs=4)  # out of the trough: no amplification
