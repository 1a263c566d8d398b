"""The readable engine: persons as Mesa agents whose methods are the rules of MODEL.md §3.

A :class:`Person` owns no data: every attribute is a property over one row of the model's
:class:`~sim.state.PopulationState` arrays (as Mesa's ``ContinuousSpaceAgent.position``
is a view on a shared array). :func:`run_day` drives one day through the phases; within a
phase a person only writes its own row, or a buffer read in the next phase, so the result
does not depend on the order in which persons act (MODEL.md §3, synchronous phases).

Every random draw is ``sim.rng.u(seed, day, phase, person, k)``; every formula is a
function of :mod:`sim.rules`, shared with the compiled engine. The engine depends only on
:mod:`sim.state` (through the model), :mod:`sim.rules`, :mod:`sim.rng`, :mod:`sim.codes`
and the parameters (:mod:`sim.params`); like the compiled engine it offers
``buffers(model)`` (it keeps nothing between days: None) and ``run_day(model)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from . import rules
from .codes import (
    ACTIVE,
    ADS,
    CHURNED,
    F_ACTIVE,
    F_INVITED,
    F_JOINED,
    F_PAYING,
    F_REACHED,
    GATE_NONE,
    GATE_PAYMENT,
    GATE_REVIEW,
    KOL,
    LURKER,
    MEMBER,
    NO_ROLE,
    NON_USER,
    ORGANIC,
    REFERRAL,
    ROLE_NAMES,
    SOURCE_NAMES,
    STATUS_NAMES,
    Phase,
)
from .params import DayCounts
from .rng import u_key

if TYPE_CHECKING:  # pragma: no cover
    from .model import GrowthModel


def _state_property(field: str, doc: str, cast=None):
    def fget(self):
        value = getattr(self.model.state, field)[self.idx]
        return cast(value) if cast else value

    def fset(self, value):
        getattr(self.model.state, field)[self.idx] = value

    return property(fget, fset, doc=doc)


class Person(mesa.Agent):
    """One person of the population: a view on row ``idx`` of ``model.state``.

    Example:
        >>> from sim import GrowthModel
        >>> m = GrowthModel(population={"size": 50, "graph": {"kind": "barabasi_albert", "m": 2}},
        ...                 seeding={"count": 3}, steps=5, engine="agents")
        >>> len(m.kols())
        3
        >>> p = list(m.kols())[0]  # (Mesa 3.5 deprecates indexing an AgentSet)
        >>> p.is_member and p.role_name == "kol"
        True
    """

    status = _state_property("status", "NON_USER / MEMBER / CHURNED code", int)
    role = _state_property("role", "LURKER / ACTIVE / KOL code (NO_ROLE if not a member)", int)
    fit = _state_property("fit", "fit with the community's positioning, 0..1", float)
    engagement = _state_property("engagement", "propensity to take part, >= 0, fixed", float)
    intimacy = _state_property("intimacy", "亲密度, 0..1", float)
    influence = _state_property("influence", "audience multiplier, >= 1", float)
    source = _state_property("source", "how the person joined (state.SEED, ...)", int)
    referrer = _state_property("referrer", "person credited with the referral, -1 if none", int)
    exposures = _state_property("exposures", "failed invitations received", int)
    paying = _state_property("paying", "whether a paying member", bool)
    join_day = _state_property("join_day", "day of the last join, -1 if never", int)
    kol_since = _state_property("kol_since", "day the person became KOL, -1 if not", int)
    referrals = _state_property("referrals", "referral joins credited to this person", int)
    kol_referrals = _state_property("kol_referrals", "referral joins credited while KOL", int)

    def __init__(self, model: GrowthModel, idx: int) -> None:
        """A view of person ``idx``: its attributes read and write ``model.state``'s arrays.

        Args:
            model: the model whose population this person belongs to.
            idx: the person's index in the state arrays (and in the graph).
        """
        super().__init__(model)
        self.idx = idx

    def __repr__(self) -> str:
        """``Person(idx, status, role, intimacy=...)``, for reading in a debugger."""
        return (
            f"Person({self.idx}, {self.status_name}, {self.role_name}, "
            f"intimacy={self.intimacy:.3f})"
        )

    # --- reading the state ------------------------------------------------------------

    @property
    def status_name(self) -> str:
        """The status as the scenario's word (e.g. ``"member"``)."""
        return STATUS_NAMES[self.status]

    @property
    def role_name(self) -> str:
        """The role as the scenario's word (e.g. ``"kol"``)."""
        return ROLE_NAMES[self.role]

    @property
    def source_name(self) -> str:
        """The channel the person joined through, as the scenario's word."""
        return SOURCE_NAMES[self.source]

    @property
    def is_member(self) -> bool:
        """Whether the person is a member today."""
        return self.status == MEMBER

    @property
    def is_kol(self) -> bool:
        """Whether the person is a member in the KOL role."""
        return self.status == MEMBER and self.role == KOL

    @property
    def is_contributor(self) -> bool:
        """Active members and KOLs contribute; lurkers read."""
        return self.status == MEMBER and self.role in (ACTIVE, KOL)

    def neighbours(self) -> list[int]:
        """Today's neighbours: graph neighbours, or today's random contacts (well-mixed)."""
        return self.model.neighbours_of(self.idx)

    def _draw(self, phase: Phase, k: int = 0) -> float:
        return u_key(self.model.stream(phase), self.idx, k)

    def _gain(self, g: float, times: int = 1) -> None:
        if times:
            self.intimacy = rules.gain_times(self.intimacy, g, times)

    # --- phase 1: feed ----------------------------------------------------------------

    def read_content(self, posts: int) -> None:
        """Each post reaches me with probability content_reach (x bonus for contributors).

        A reached member gains content_gain * fit * engagement per post.
        """
        p = self.model.params
        bonus = p.kol_reach_bonus if self.role in (ACTIVE, KOL) else 1.0
        reach = rules.clip01(p.content_reach * bonus)
        reached = sum(1 for post in range(posts) if self._draw(Phase.CONTENT, post) < reach)
        self._gain(rules.content_gain(p.content_gain, self.fit, self.engagement), reached)

    def attendance_probability(self, scale: float = 1.0) -> float:
        """(attend_base + attend_slope * I) * min(engagement, 1), times a capacity ``scale``."""
        p = self.model.params
        return rules.attend_probability(p.attend_base, p.attend_slope, self.intimacy,
                                        self.engagement, scale)

    def attend_activities(self, activities: int, scale: float) -> None:
        """I attend each operator activity with :meth:`attendance_probability` (``scale``)."""
        p = self.model.params
        for a in range(activities):
            if self._draw(Phase.ACTIVITY, a) < self.attendance_probability(scale):
                self._gain(p.activity_gain)

    def organises_activity(self) -> bool:
        """A contributor organises an activity with probability self_org_rate * I."""
        p = self.model.params
        return self.is_contributor and self._draw(Phase.SELF_ORG) < rules.clip01(
            p.self_org_rate * self.intimacy
        )

    def attends_member_activity(self, organiser: int) -> bool:
        """I attend a member-organised activity as I would an operator's."""
        return self._draw(Phase.SELF_ORG_ATTEND, organiser) < self.attendance_probability()

    def work_on_common_task(self) -> None:
        """A KOL on the common task gains common_task.intimacy_gain."""
        self._gain(self.model.params.common_task_intimacy_gain)

    def grow_influence(self) -> None:
        """Empowerment: a KOL's influence approaches influence_cap."""
        p = self.model.params
        self.influence = rules.influence_step(
            self.influence, p.empowerment_rate, p.empowerment_influence_cap
        )

    def become_kol(self, day: int) -> None:
        """Take the KOL role on ``day``: referral credit as KOL restarts, funnel reaches active.

        Args:
            day: the day of the promotion (stored as ``kol_since``).
        """
        self.role = KOL
        self.kol_since = day
        self.kol_referrals = 0
        self.model.state.funnel[self.idx] |= F_ACTIVE

    # --- phase 2: interact ------------------------------------------------------------

    def member_neighbours(self) -> int:
        """How many of today's neighbours are members."""
        status = self.model.state.status
        return sum(1 for j in self.neighbours() if status[j] == MEMBER)

    def interact(self, member_neighbours: int) -> None:
        """Belonging through connections: gain interact_gain * engagement * m / (m + half)."""
        p = self.model.params
        if member_neighbours > 0:
            self._gain(rules.interact_gain(p.interact_gain, member_neighbours, p.interact_half,
                                           self.engagement))

    # --- phase 3: invite --------------------------------------------------------------

    def invitation_probability(self, day: int) -> float:
        """q_i = invite_rate * role_mult * influence * intimacy * engagement (uncapped).

        x the common-task boost for KOLs; a KOL in its trough has its influence amplified.
        """
        p = self.model.params
        kol = self.role == KOL
        boost = (
            p.common_task_invite_boost
            if kol and rules.task_active(day, p.common_task_start, p.common_task_days)
            else 1.0
        )
        trough = kol and rules.in_trough(day, self.kol_since, p.trough_days)
        influence = rules.amplified_influence(self.influence, trough, p.amplification_enabled,
                                              p.amplification_factor)
        return rules.invite_probability(
            p.invite_rate,
            rules.role_mult(self.role, p.role_mult_lurker, p.role_mult_active, p.role_mult_kol),
            influence, self.intimacy, boost, self.engagement
        )

    def invite(self, day: int, inbox: dict) -> int:
        """Invite non-user (and, less often, churned) neighbours; returns invitations sent.

        Invitations go into ``inbox`` (person -> [count, best credit draw, inviter]), read
        only in the next phase.
        """
        p = self.model.params
        state = self.model.state
        q = self.invitation_probability(day)
        if p.invite_cap > 0.0:  # finite attention: count today's invitable neighbours
            status = state.status
            invitable = sum(1 for j in self.neighbours() if status[j] == NON_USER
                            or (status[j] == CHURNED and p.rejoin_factor > 0.0))
            q = rules.capped_invite_probability(q, invitable, p.invite_cap)
        weights = self.model.graph.weights if p.weighted else None
        first = int(self.model.graph.indptr[self.idx]) if weights is not None else 0
        credit = self.model.stream(Phase.CREDIT)
        sent = 0
        for slot, j in enumerate(self.neighbours()):
            st = state.status[j]
            if st == MEMBER:
                continue
            state.funnel[j] |= F_REACHED
            prob = q if st == NON_USER else q * p.rejoin_factor
            if weights is not None:
                prob = prob * weights[first + slot]
            if prob > 0.0 and self._draw(Phase.INVITE, slot) < prob:
                sent += 1
                state.funnel[j] |= F_INVITED
                key = u_key(credit, j, self.idx)
                box = inbox.get(j)
                if box is None:
                    inbox[j] = [1, key, self.idx]
                else:
                    box[0] += 1
                    if key < box[1]:
                        box[1], box[2] = key, self.idx
        return sent

    # --- phase 4: convert -------------------------------------------------------------

    def accepts_invitations(self, invitations: int) -> bool:
        """Join with probability 1 - (1 - c)^k, c = convert_prob * fit * (1 - fatigue)^exposures."""
        p = self.model.params
        prob = rules.conversion_probability(
            p.convert_prob, self.fit, p.fatigue, self.exposures, invitations
        )
        return self._draw(Phase.CONVERT) < prob

    def joins_organically(self) -> bool:
        """The outside 'innovation' channel: organic_rate * fit per day."""
        p = self.model.params
        return self._draw(Phase.ORGANIC) < rules.clip01(p.organic_rate * self.fit)

    def accepts_ad(self, attempt: int) -> bool:
        """An ad shown to me converts with probability fit (ads are weighted by fit)."""
        return self._draw(Phase.ADS_ACCEPT, attempt) < self.fit

    def passes_gate(self) -> bool:
        """The entry gate: review admits fit >= min_fit; payment admits with pass_prob."""
        p = self.model.params
        if p.entry_gate_kind == GATE_REVIEW:
            return self.fit >= p.entry_gate_min_fit
        if p.entry_gate_kind == GATE_PAYMENT:
            return self._draw(Phase.GATE) < p.entry_gate_pass_prob
        return True

    def join(self, day: int, source: int, referrer: int = -1) -> None:
        """Become a (lurking) member today; take part from tomorrow."""
        p = self.model.params
        start = {
            REFERRAL: p.join_intimacy_referral,
            ORGANIC: p.join_intimacy_organic,
            ADS: p.join_intimacy_ads,
        }[source]
        if p.entry_gate_kind != GATE_NONE:
            start = rules.gain(start, p.entry_gate_intimacy_bonus)
        self.status = MEMBER
        self.role = LURKER
        self.source = source
        self.referrer = referrer
        self.intimacy = start
        self.influence = 1.0
        self.join_day = day
        self.kol_since = -1
        self.model.state.funnel[self.idx] |= F_REACHED | F_INVITED | F_JOINED

    # --- phase 5: roles ---------------------------------------------------------------

    def update_role(self, day: int) -> bool:
        """Lurker <-> active by intimacy; a KOL in its trough without referrals may give up.

        Returns True if a KOL gave up.
        """
        p = self.model.params
        role = self.role
        if role == LURKER and self.intimacy >= p.active_threshold:
            self.role = ACTIVE
            self.model.state.funnel[self.idx] |= F_ACTIVE
        elif role == ACTIVE and self.intimacy < p.active_threshold - p.hysteresis:
            self.role = LURKER
        elif (role == KOL and rules.in_trough(day, self.kol_since, p.trough_days)
              and self.kol_referrals == 0):
            drop = rules.trough_dropout_probability(
                p.trough_dropout, p.amplification_enabled, p.amplification_factor
            )
            if self._draw(Phase.TROUGH) < drop:
                self.role = ACTIVE
                self.kol_since = -1
                return True
        return False

    # --- phase 6: decay and churn -----------------------------------------------------

    def decay_and_maybe_churn(self, day: int) -> bool:
        """Intimacy decays; members who joined before today churn with the daily hazard."""
        p = self.model.params
        self.intimacy = self.intimacy * (1.0 - p.decay)
        if self.join_day >= day:
            return False
        hazard = rules.churn_hazard(
            p.churn_base, self.intimacy, p.churn_protect, p.misfit_penalty, self.fit
        )
        if self._draw(Phase.CHURN) < hazard:
            self.status = CHURNED
            self.role = NO_ROLE
            self.paying = False
            self.kol_since = -1
            return True
        return False

    # --- phase 7: monetise ------------------------------------------------------------

    def maybe_start_paying(self, day: int) -> None:
        """A member who joined before ``day`` starts paying with probability pay_rate * intimacy.

        Args:
            day: today (a person who joined today does not pay yet).
        """
        p = self.model.params
        if not self.paying and self.join_day < day and self._draw(Phase.PAY) < rules.clip01(
            p.pay_rate * self.intimacy
        ):
            self.paying = True
            self.model.state.funnel[self.idx] |= F_PAYING


# --- the day ------------------------------------------------------------------------------


def buffers(model: GrowthModel) -> None:
    """The buffers of a run of ``model`` on this engine: none (called once, by the model).

    The readable engine keeps nothing between days: its per-day buffers (the inbox of
    phase 3) are made and dropped within :func:`run_day`.
    """


def run_day(model: GrowthModel) -> DayCounts:
    """Run one day (``model.day``) through phases 1–7 with Person methods.

    Reads ``model.params`` every day (as the compiled engine does) and writes
    ``model.state`` in place.

    Returns:
        The day's counts, revenue and cost; the model records the metrics (phase 8).
    """
    day, p, state, log = model.day, model.params, model.state, DayCounts()
    person = model.person

    def members() -> list[Person]:
        return [person(i) for i in np.flatnonzero(state.status == MEMBER)]

    # 1. Feed
    everyone = members()
    log.posts = rules.events_on_day(day, p.content_per_week, 7.0)
    log.operator_activities = rules.events_on_day(day, p.activities_per_month, 30.0)
    for m in everyone:
        m.read_content(log.posts)
    scale = 1.0  # the activities' capacity factor, from the attendance expected now
    if log.operator_activities and p.activity_capacity > 0.0:
        expected = 0.0
        for m in everyone:  # in index order, as the compiled engine adds
            expected = expected + m.attendance_probability()
        scale = rules.capacity_scale(expected, p.activity_capacity)
    for m in everyone:
        m.attend_activities(log.operator_activities, scale)
    organisers = [m.idx for m in everyone if m.organises_activity()]
    log.member_activities = len(organisers)
    status = state.status
    attended: dict[int, int] = {}
    for o in organisers:
        for j in person(o).neighbours():
            if status[j] == MEMBER and j != o and person(j).attends_member_activity(o):
                attended[j] = attended.get(j, 0) + 1
    for j, times in attended.items():
        person(j)._gain(p.activity_gain, times)
    kols = [m for m in everyone if m.role == KOL]
    if rules.task_active(day, p.common_task_start, p.common_task_days):
        for k in kols:
            k.work_on_common_task()
    for k in kols:
        k.grow_influence()
    if p.recruit_count > 0 and day % p.recruit_every_days == 0:
        candidates = [
            m for m in everyone if m.role == ACTIVE and m.intimacy >= p.recruit_min_intimacy
        ]
        candidates.sort(key=lambda m: (-m.intimacy, m.idx))
        for m in candidates[: p.recruit_count]:
            m.become_kol(day)
        log.recruited_kols = min(len(candidates), p.recruit_count)

    # 2. Interact (counts read before anyone gains)
    counts = [m.member_neighbours() for m in everyone]
    for m, c in zip(everyone, counts):
        m.interact(c)

    # 3. Invite
    inbox: dict[int, list] = {}
    for m in everyone:
        sent = m.invite(day, inbox)
        log.invites_sent += sent
        if m.role == KOL:
            log.kol_invites += sent

    # 4. Convert: referrals, organic joins, ads; then the gate
    joiners: list[tuple[int, int, int]] = []  # (person, source, referrer)
    for j in sorted(inbox):
        k, _, inviter = inbox[j]
        if person(j).accepts_invitations(k):
            joiners.append((j, REFERRAL, inviter))
    invited_joined = {j for j, _, _ in joiners}
    if p.organic_rate > 0.0:
        for j in np.flatnonzero(status == NON_USER):
            j = int(j)
            if j not in invited_joined and person(j).joins_organically():
                joiners.append((j, ORGANIC, -1))
    price = p.ads_cost_per_join
    if p.ads_daily_budget > 0.0 and p.ads_saturation != 0.0:  # the market left, at day start
        price = rules.ad_price(p.ads_cost_per_join, p.n,
                               int(np.count_nonzero(status == NON_USER)), p.ads_saturation)
    wanted = rules.ads_wanted(day, p.ads_daily_budget, price, p.n)
    if wanted > 0:
        taken = {j for j, _, _ in joiners}
        pick = model.stream(Phase.ADS_PICK)
        for attempt in range(rules.ads_attempts(wanted)):
            if log.ads_bought == wanted:
                break
            j = int(u_key(pick, 0, attempt) * p.n)
            if status[j] == NON_USER and j not in taken and person(j).accepts_ad(attempt):
                taken.add(j)
                joiners.append((j, ADS, -1))
                log.ads_bought += 1
    referred: set[int] = set()
    for j, source, referrer in joiners:
        newcomer = person(j)
        if not newcomer.passes_gate():
            continue
        newcomer.join(day, source, referrer)
        if source == REFERRAL:
            referred.add(j)
            log.joins_referral += 1
            state.referrals[referrer] += 1
            if state.role[referrer] == KOL:
                state.kol_referrals[referrer] += 1
                log.kol_credited += 1
        elif source == ORGANIC:
            log.joins_organic += 1
        else:
            log.joins_ads += 1
    for j, box in inbox.items():  # invitations that did not bring j in failed: fatigue
        if j not in referred:
            person(j).exposures += box[0]

    # 5. Roles
    for m in members():
        log.trough_dropouts += m.update_role(day)

    # 6. Decay and churn
    for m in members():
        log.churns += m.decay_and_maybe_churn(day)

    # 7. Monetise
    revenue = 0.0
    daily_fee = p.fee_per_year / 365.0
    n_kols = 0
    for m in members():
        m.maybe_start_paying(day)
        if m.paying:
            revenue = revenue + daily_fee
        revenue = revenue + p.purchase_rate * m.intimacy * p.price
        n_kols += m.role == KOL
    log.revenue = revenue
    log.cost = rules.daily_cost(log.posts, log.operator_activities, n_kols, log.ads_bought,
                                p.cost_per_post, p.cost_per_activity, p.cost_per_kol_month,
                                price)
    return log
