"""Tests of sim.agents: the Person views on the state (the phases are in test_phases.py)."""

from __future__ import annotations

import pytest

from sim import agents
from sim.codes import (
    ACTIVE,
    CHURNED,
    F_ACTIVE,
    F_INVITED,
    F_JOINED,
    F_REACHED,
    KOL,
    LURKER,
    MEMBER,
    NO_ROLE,
    NON_USER,
    REFERRAL,
)
from tests.helpers import PATH3, STAR5, tiny_model


def test_properties_read_and_write_the_state_row():
    m = tiny_model(PATH3, members=[1], role="active", intimacy=0.4)
    p = m.person(1)
    assert isinstance(p, agents.Person) and p.idx == 1
    assert (p.status, p.role, p.intimacy) == (MEMBER, ACTIVE, 0.4)
    assert type(p.status) is int and type(p.intimacy) is float and type(p.paying) is bool
    assert (p.status_name, p.role_name) == ("member", "active")
    p.intimacy = 0.9
    p.referrals = 3
    assert m.state.intimacy[1] == 0.9 and m.state.referrals[1] == 3
    assert m.state.intimacy[0] == 0.0  # only its own row
    assert repr(p) == "Person(1, member, active, intimacy=0.900)"
    assert m.person(1) is p  # one view per person


def test_is_member_kol_contributor():
    m = tiny_model(STAR5, members=[0, 1, 2], role="lurker")
    m.person(1).role = ACTIVE
    m.person(2).role = KOL
    m.state.status[3] = CHURNED
    views = [m.person(i) for i in range(5)]
    assert [v.is_member for v in views] == [True, True, True, False, False]
    assert [v.is_kol for v in views] == [False, False, True, False, False]
    assert [v.is_contributor for v in views] == [False, True, True, False, False]
    assert [v.status_name for v in views] == ["member"] * 3 + ["churned", "non_user"]
    assert views[4].role_name == "none" and views[4].role == NO_ROLE


def test_become_kol():
    m = tiny_model(PATH3, members=[0], role="lurker")
    p = m.person(0)
    p.kol_referrals = 4
    p.become_kol(7)
    assert (p.role, p.kol_since, p.kol_referrals) == (KOL, 7, 0)
    assert p.is_kol and m.state.funnel[0] & F_ACTIVE


def test_join_starts_a_lurker_with_the_channel_intimacy():
    m = tiny_model(PATH3)
    p = m.person(2)
    assert p.status == NON_USER and p.source_name == "none"
    p.influence = 2.0
    p.join(3, REFERRAL, referrer=1)
    assert (p.status, p.role, p.source, p.referrer, p.join_day) == (MEMBER, LURKER, REFERRAL,
                                                                   1, 3)
    assert p.intimacy == 0.3 and p.influence == 1.0  # QUIET's join_intimacy.referral
    assert p.source_name == "referral"
    assert m.state.funnel[2] == F_REACHED | F_INVITED | F_JOINED


def test_neighbours_are_the_graph_neighbours():
    m = tiny_model(STAR5)
    assert sorted(m.person(0).neighbours()) == [1, 2, 3, 4]
    assert m.person(3).neighbours() == [0]
    m.state.status[[1, 2]] = MEMBER
    assert m.person(0).member_neighbours() == 2


@pytest.mark.parametrize("fit, admitted", [(0.49, False), (0.5, True)])
def test_review_gate_admits_by_fit(fit, admitted):
    m = tiny_model(PATH3, program={"entry_gate": {"kind": "review", "min_fit": 0.5}})
    p = m.person(0)
    p.fit = fit
    assert p.passes_gate() is admitted


def test_update_role_with_hysteresis():
    m = tiny_model(PATH3, members=[0], role="lurker",
                   rules={"active_threshold": 0.5, "hysteresis": 0.1})
    p = m.person(0)
    p.intimacy = 0.5
    assert p.update_role(1) is False and p.role == ACTIVE
    p.intimacy = 0.41  # within the hysteresis band: stays active
    p.update_role(2)
    assert p.role == ACTIVE
    p.intimacy = 0.39
    p.update_role(3)
    assert p.role == LURKER


def test_decay_without_churn_and_no_churn_on_the_join_day():
    m = tiny_model(PATH3, members=[0], role="lurker", intimacy=0.5,
                   rules={"decay": 0.1, "churn_base": 1.0})
    p = m.person(0)
    p.join_day = 4
    assert p.decay_and_maybe_churn(4) is False  # joined today: no churn yet
    assert p.intimacy == pytest.approx(0.45) and p.is_member
    assert p.decay_and_maybe_churn(5) is True  # hazard 1
    assert (p.status, p.role, p.kol_since, p.paying) == (CHURNED, NO_ROLE, -1, False)


def test_buffers_none_and_a_quiet_day_counts_only_the_stipend():
    from sim.params import DayCounts

    m = tiny_model(STAR5, members=[0], role="kol")
    assert agents.buffers(m) is None and m.work is None
    before = m.state.copy()
    m.day = 1  # as step() sets it before the engine's day
    counts = agents.run_day(m)
    assert isinstance(counts, DayCounts)
    assert counts.posts == counts.invites_sent == counts.churns == counts.joins_organic == 0
    assert counts.cost == pytest.approx(m.params.cost_per_kol_month / 30.0)  # one KOL
    for name, a in before.arrays().items():
        if name != "funnel":
            assert (getattr(m.state, name) == a).all(), name
