"""The compiled engine: Numba twins of the phases of MODEL.md §3.

``day_kernel`` runs phases 1–7 of one day over the state arrays, in the same order and
with the same draws (:func:`sim.rng.u_key_nb`) and the same formulas (:mod:`sim.rules`,
compiled here with ``numba.njit``) as the readable engine in :mod:`sim.agents`, so both
produce identical trajectories (tests/test_engines.py). Kernels trust their inputs: the
boundary is :class:`~sim.model.GrowthModel`.

The engine depends only on :mod:`sim.state`, :mod:`sim.rules`, :mod:`sim.rng`,
:mod:`sim.codes`, the parameters (:mod:`sim.params`), :mod:`sim.jit` and
:mod:`sim.threads`; like the readable engine it offers ``buffers(model)`` (called once by
:class:`~sim.model.GrowthModel`, which owns the result) and ``run_day(model)``.

Arguments of the kernels (n = persons), as named tuples:
    ``g`` :class:`GraphArrays`: indptr int64 (n+1,), indices int32/int64, weights float64
    (entries,) or (0,); ``st`` :class:`StateArrays`: the arrays of
    :class:`~sim.state.PopulationState`; ``wk`` :class:`WorkArrays`: the buffers of
    :class:`Work` (reused every day, returned clean); ``P`` :class:`KParams`: the
    parameters. The day's counts go into ``wk.counts`` at the slots :data:`SLOT`.
"""

from __future__ import annotations

from collections import namedtuple
from dataclasses import fields
from typing import TYPE_CHECKING

import numpy as np
from numba import prange

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
    Phase,
)
from .jit import Direct, cached, threaded
from .params import DayCounts, Params
from .rng import person_key_nb, stream_key_nb, u_key_nb, u_person_nb
from .rules import (  # register_jitable: callable from the kernels
    ad_price,
    ads_attempts,
    ads_wanted,
    amplified_influence,
    attend_probability,
    capacity_scale,
    capped_invite_probability,
    churn_hazard,
    churn_hazard_bound,
    clip01,
    content_gain,
    daily_cost,
    events_on_day,
    faded_conversion_probability,
    gain,
    gain_times,
    in_trough,
    influence_step,
    interact_gain,
    invite_probability,
    power_int,
    role_mult,
    task_active,
    times_power,
    trough_dropout_probability,
)
from .state import PopulationState, byte_words, has_byte
from .threads import CHUNKS, use_threads

if TYPE_CHECKING:  # pragma: no cover
    from .model import GrowthModel

# The kernel's integer output ``wk.counts``: the DayCounts fields, then the day's KOL count
# (for the stipends). The kernels write slot ``SLOT.<field>``, never a bare index.
COUNT_FIELDS = (
    "posts",
    "operator_activities",
    "member_activities",
    "invites_sent",
    "kol_invites",
    "joins_referral",
    "joins_organic",
    "joins_ads",
    "ads_bought",
    "kol_credited",
    "recruited_kols",
    "trough_dropouts",
    "churns",
    "n_kols",
)
CountSlots = namedtuple("CountSlots", COUNT_FIELDS)
SLOT = CountSlots(*range(len(COUNT_FIELDS)))  # SLOT.posts == 0, ...; a constant to Numba

# Phase ids as plain ints for the kernels
P_CONTENT, P_ACTIVITY, P_SELF_ORG, P_SELF_ORG_ATTEND = (
    int(Phase.CONTENT), int(Phase.ACTIVITY), int(Phase.SELF_ORG), int(Phase.SELF_ORG_ATTEND)
)
P_CONTACTS, P_INVITE, P_CREDIT, P_CONVERT = (
    int(Phase.CONTACTS), int(Phase.INVITE), int(Phase.CREDIT), int(Phase.CONVERT)
)
P_ORGANIC, P_ADS_PICK, P_ADS_ACCEPT, P_GATE = (
    int(Phase.ORGANIC), int(Phase.ADS_PICK), int(Phase.ADS_ACCEPT), int(Phase.GATE)
)
P_TROUGH, P_CHURN, P_PAY = int(Phase.TROUGH), int(Phase.CHURN), int(Phase.PAY)


# The Params values as a Numba-friendly (named) tuple: same fields, same order.
KParams = namedtuple("KParams", [f.name for f in fields(Params)])


_FLOAT_PARAMS = tuple(f.name for f in fields(Params) if f.type is float)


def kparams(params: Params) -> KParams:
    """``params`` as the kernels' :class:`KParams` tuple (same names, same values).

    A number field holds a float even where a user set a whole number by hand
    (``dataclasses.replace(model.params, ads_daily_budget=1000)``): the same value, and the
    same types as the compiled kernels' (an int there would compile them all again).
    """
    values = params.as_dict()
    for name in _FLOAT_PARAMS:
        values[name] = float(values[name])
    return KParams(**values)


class Work:
    """The compiled engine's per-run buffers, made once by :func:`buffers` (the model owns them).

    Scratch buffers are returned clean by every day. Two buffers carry bookkeeping from day
    to day on graphs (not on ``well_mixed``, whose neighbours change daily): ``was_member``
    (who was a member at the last day's start) and ``member_nbrs`` (each person's member
    neighbours then). Each day starts by comparing the statuses with ``was_member`` and
    updating the counts around every person whose membership changed, however it changed
    (joins, churns, or a user editing ``model.state`` between days); ``synced`` keeps the
    members then, and ``fresh`` flags the new members until the day's invitation stage has
    marked their neighbours reached.
    Three more keep each person's last fatigue factor ``(1 - fatigue)^e`` for the
    conversions: ``faded`` and its exposures ``faded_at`` (0: none kept), and ``fade_base``
    (the ``1 - fatigue`` they were taken with); an invited person's factor is then carried on
    from the kept one, or taken from the start when the exposures went down or the fatigue
    changed (a user's edit between days).

    Attributes:
        arrays: the buffers as a :class:`WorkArrays` tuple (what the kernels take).
        graph: the model's graph as a :class:`GraphArrays` tuple.
        threads: whether the per-person loops run on threads (decided once per run).
    """

    def __init__(self, graph) -> None:
        """Allocate the buffers for a population on ``graph``, scratch buffers clean.

        Args:
            graph: the model's :class:`sim.population.Graph` (CSR arrays; ``contacts`` > 0
                when well-mixed).
        """
        n, contacts = graph.n, graph.contacts
        index_dtype = graph.indices.dtype  # person numbers and per-person counts: int32 below 2**31
        ids = index_dtype
        on_graph = contacts == 0
        max_degree = int(np.diff(graph.indptr).max()) if n and on_graph else 0
        weights = graph.weights if graph.weights is not None else np.zeros(0, np.float64)
        self.graph = GraphArrays(graph.indptr, graph.indices, weights)
        self.arrays = WorkArrays(
            members=np.empty(n, ids),
            inbox_count=np.zeros(n, ids),
            inbox_key=np.zeros(n, np.float64),
            inbox_from=np.full(n, -1, ids),
            touched=np.empty(n, ids),
            attended=np.zeros(n, ids),
            joining=np.zeros(n, np.int8),
            joiners=np.empty(n, ids),
            contacts=np.empty(max(contacts, 1), index_dtype),  # same dtype as CSR indices
            hits=np.empty(max(contacts, max_degree, 1), np.int64),  # one member's invitations
            counts=np.zeros(len(COUNT_FIELDS), np.int64),
            money=np.zeros(2, np.float64),  # the day's revenue, today's ad price
            was_member=np.zeros(n if on_graph else 0, np.bool_),
            member_nbrs=np.zeros(n if on_graph else 0, np.int32),
            # each person's last fatigue factor (1 - fatigue)^faded_at (0: none kept), and
            # the 1 - fatigue they were taken with (NaN: none yet)
            faded=np.zeros(n, np.float64),
            faded_at=np.zeros(n, np.int32),
            fade_base=np.full(1, np.nan),
            synced=np.zeros(1, np.int64),  # the members at the last _sync_members
            fresh=np.zeros(n if on_graph else 0, np.bool_),  # members since the last day
            # the lengths of the lists of the day's changed persons (see changed())
            listed=np.zeros(3, np.int64),
        )
        self.threads = use_threads(n)
        a = self.arrays
        # Every person whose state the last day may have changed is listed (with repeats):
        # today's members (the morning's, then the newcomers, some of whom churned), the
        # invited, and on a graph the neighbours of the morning's members who joined the day
        # before (``fresh``: the non-members among them were marked reached; the recorder
        # finds them by their join day). The members are ``members[:listed[0]]``,
        # the morning's ``members[:listed[1]]``, the invited ``touched[:listed[2]]``. Nothing
        # else changes a person: the feed, activities and interactions, invitations' credit,
        # roles, churn and paying touch members only.
        self.changed = (a.members, a.touched, a.listed)
        self._params: Params | None = None  # the Params that _kparams was derived from
        self._kparams: KParams | None = None
        self._direct = Direct(day_kernel)  # day_kernel, without dispatch while it may

    def kparams(self, params: Params) -> KParams:
        """``params`` as a :class:`KParams` tuple, derived again only when ``params`` changes.

        ``Params`` is frozen: a model's parameters change only by replacing
        ``model.params``, which this notices (one identity test a day).
        """
        if params is not self._params:
            self._kparams = kparams(params)
            self._params = params
        return self._kparams

    def day_kernel(self, day: int, P: KParams, st: StateArrays) -> None:
        """Run :func:`day_kernel` on this run's graph and buffers.

        Numba's dispatch would type the 31 arrays of the tuple arguments in Python on every
        call (tens of µs: 5% of a 20,000-person day), so while ``P`` and the state arrays
        are the same objects as on the last day (the graph and buffers always are), the
        kernel compiled for them is called directly (:func:`sim.jit.entry_point`); any new
        object goes through the dispatcher once.
        """
        self._direct((P, *st), day, P, self.graph, st, self.arrays)


# A note on speed: a helper that takes arrays costs reference counting on every call, even
# inlined (a per-person helper taking six arrays made a loop three times slower). Helpers
# called per person therefore take and return scalars, and loops over persons index the
# arrays themselves.


@cached
def _contacts(P, day, i, buf):
    """Well-mixed populations: person i's contacts today into ``buf``; returns their number."""
    key = stream_key_nb(P.seed, day, P_CONTACTS)
    m = 0
    for c in range(P.contacts):
        j = np.int64(u_key_nb(key, i, c) * P.n)
        if j != i:
            buf[m] = j  # graphs this size have int32 indices, well below 2**31
            m += 1
    return m


# The graph, state arrays and work buffers the kernels take, as named tuples (Numba types
# them; a stage reads the fields it needs by name). StateArrays has the fields of
# PopulationState, in order (tests/test_engines.py checks it).
GraphArrays = namedtuple("GraphArrays", ["indptr", "indices", "weights"])
StateArrays = namedtuple("StateArrays", [
    "status", "role", "fit", "engagement", "intimacy", "influence", "source", "referrer",
    "exposures", "paying", "join_day", "kol_since", "referrals", "kol_referrals", "funnel"])
WorkArrays = namedtuple("WorkArrays", [
    "members", "inbox_count", "inbox_key", "inbox_from", "touched", "attended", "joining",
    "joiners", "contacts", "hits", "counts", "money", "was_member", "member_nbrs", "faded",
    "faded_at", "fade_base", "synced", "fresh", "listed"])


def state_arrays(state: PopulationState) -> StateArrays:
    """The arrays of ``state`` as a :class:`StateArrays` tuple (the same arrays, not copies)."""
    return StateArrays(*(getattr(state, name) for name in StateArrays._fields))


@cached
def day_kernel(day, P, g, st, wk):
    """Run phases 1–7 of ``day`` on one thread.

    Writes the state ``st`` in place, the day's counts into ``wk.counts`` (int64, slots
    :data:`SLOT`), its revenue into ``wk.money[0]`` and the day's ad price into
    ``wk.money[1]``. ``P`` is a :class:`KParams`, ``g``
    a :class:`GraphArrays`, ``st`` a :class:`StateArrays`, ``wk`` a :class:`WorkArrays`.

    The day is the stages :func:`_day_invite`, organic draws, :func:`_day_join`, phases 5–7
    and :func:`_day_close`; :func:`run_day_threaded` runs the same stages from Python with
    the threaded twins in between (a cached function never calls a threaded one: sim/jit.py).
    """
    nm, n_in, nj = _day_invite(day, P, g, st, wk)
    if P.organic_rate > 0.0:
        _organic_serial(P, day, st.status, st.fit, wk.joining)
    n_new = _day_join(day, P, st, wk, nm, n_in, nj)
    dropouts, churns = _roles_churn_pay_serial(P, day, wk.members[:nm + n_new], st)
    _day_close(day, P, st, wk, nm, n_new, dropouts, churns)


@cached
def _day_invite(day, P, g, st, wk):
    """The day's start (today's members), phases 1–3 and phase 4's referral conversions.

    Returns (members at the day's start ``nm``, invited persons ``n_in`` listed in
    ``touched``, would-be joiners so far ``nj`` listed in ``joiners``).
    """
    indptr, indices, weights = g
    status, role, fit, intimacy = st.status, st.role, st.fit, st.intimacy
    engagement = st.engagement
    influence, exposures = st.influence, st.exposures
    kol_since, kol_referrals = st.kol_since, st.kol_referrals
    funnel = st.funnel
    members, inbox_count = wk.members, wk.inbox_count
    inbox_key, inbox_from = wk.inbox_key, wk.inbox_from
    touched, attended, joining, joiners = wk.touched, wk.attended, wk.joining, wk.joiners
    cbuf, hits, counts, was_member = wk.contacts, wk.hits, wk.counts, wk.was_member
    member_nbrs = wk.member_nbrs
    faded, faded_at, fade_base = wk.faded, wk.faded_at, wk.fade_base
    fresh = wk.fresh
    n = P.n
    seed = P.seed
    graph = P.contacts == 0
    nb = indices if graph else cbuf  # person i's neighbours today are nb[lo:hi] (slot e - lo)
    counts[:] = 0
    nm = 0
    if graph:
        nm = _sync_members(indptr, indices, status, members, touched, was_member,
                           member_nbrs, wk.synced, fresh, P.interact_gain > 0.0)
    else:
        for i in range(n):
            if status[i] == MEMBER:
                members[nm] = i
                nm += 1

    # ---- 1. Feed ------------------------------------------------------------------
    posts = events_on_day(day, P.content_per_week, 7.0)
    acts = events_on_day(day, P.activities_per_month, 30.0)
    counts[SLOT.posts] = posts
    counts[SLOT.operator_activities] = acts
    if posts > 0:
        key = stream_key_nb(seed, day, P_CONTENT)
        for t in range(nm):
            i = members[t]
            bonus = P.kol_reach_bonus if (role[i] == ACTIVE or role[i] == KOL) else 1.0
            reach = clip01(P.content_reach * bonus)
            reached = 0
            for post in range(posts):
                if u_key_nb(key, i, post) < reach:
                    reached += 1
            if reached > 0:
                intimacy[i] = gain_times(
                    intimacy[i], content_gain(P.content_gain, fit[i], engagement[i]), reached
                )
    if acts > 0:
        key = stream_key_nb(seed, day, P_ACTIVITY)
        scale = 1.0  # the activities' capacity factor, from the attendance expected now
        if P.activity_capacity > 0.0:
            expected = 0.0
            for t in range(nm):
                i = members[t]
                expected = expected + attend_probability(
                    P.attend_base, P.attend_slope, intimacy[i], engagement[i], 1.0
                )
            scale = capacity_scale(expected, P.activity_capacity)
        for t in range(nm):
            i = members[t]
            for a in range(acts):
                if u_key_nb(key, i, a) < attend_probability(
                    P.attend_base, P.attend_slope, intimacy[i], engagement[i], scale
                ):
                    intimacy[i] = gain(intimacy[i], P.activity_gain)
    # member-organised activities: organisers first, attendance on the snapshot, gains last
    key = stream_key_nb(seed, day, P_SELF_ORG)
    akey = stream_key_nb(seed, day, P_SELF_ORG_ATTEND)
    n_org = 0
    n_att = 0
    for t in range(nm):
        o = members[t]
        if not (role[o] == ACTIVE or role[o] == KOL):
            continue
        if not (u_key_nb(key, o, 0) < clip01(P.self_org_rate * intimacy[o])):
            continue
        n_org += 1
        lo, hi = (indptr[o], indptr[o + 1]) if graph else (0, _contacts(P, day, o, cbuf))
        for e in range(lo, hi):
            j = nb[e]
            if status[j] == MEMBER and j != o:
                if u_key_nb(akey, j, o) < attend_probability(
                    P.attend_base, P.attend_slope, intimacy[j], engagement[j], 1.0
                ):
                    if attended[j] == 0:
                        touched[n_att] = j
                        n_att += 1
                    attended[j] += 1
    counts[SLOT.member_activities] = n_org
    for t in range(n_att):
        j = touched[t]
        intimacy[j] = gain_times(intimacy[j], P.activity_gain, attended[j])
        attended[j] = 0
    on_task = task_active(day, P.common_task_start, P.common_task_days)
    for t in range(nm):
        i = members[t]
        if role[i] == KOL:
            if on_task:
                intimacy[i] = gain(intimacy[i], P.common_task_intimacy_gain)
            influence[i] = influence_step(
                influence[i], P.empowerment_rate, P.empowerment_influence_cap
            )
    if P.recruit_count > 0 and day % P.recruit_every_days == 0:
        nc = 0
        for t in range(nm):
            i = members[t]
            if role[i] == ACTIVE and intimacy[i] >= P.recruit_min_intimacy:
                joiners[nc] = i
                nc += 1
        cand = joiners[:nc]
        order = np.argsort(-intimacy[cand], kind="mergesort")  # stable: ties by index
        take = min(nc, P.recruit_count)
        for r in range(take):
            i = cand[order[r]]
            role[i] = KOL
            kol_since[i] = day
            kol_referrals[i] = 0
            funnel[i] |= F_ACTIVE
        counts[SLOT.recruited_kols] = take

    # ---- 2. Interact (counts on the unchanged statuses) ----------------------------
    if P.interact_gain > 0.0:
        for t in range(nm):
            i = members[t]
            if graph:  # kept up to date by _sync_members
                attended[i] = member_nbrs[i]
                continue
            hi = _contacts(P, day, i, cbuf)
            m = 0
            for e in range(hi):
                if status[nb[e]] == MEMBER:
                    m += 1
            attended[i] = m
        for t in range(nm):
            i = members[t]
            if attended[i] > 0:
                intimacy[i] = gain(intimacy[i], interact_gain(
                    P.interact_gain, attended[i], P.interact_half, engagement[i]
                ))
            attended[i] = 0

    # ---- 3. Invite --------------------------------------------------------------------
    ikey = stream_key_nb(seed, day, P_INVITE)
    ckey = stream_key_nb(seed, day, P_CREDIT)
    n_in = 0
    by_status = np.zeros(3, np.float64)  # by status code (NON_USER, MEMBER, CHURNED)
    for t in range(nm):
        i = members[t]
        kol = role[i] == KOL
        boost = P.common_task_invite_boost if (kol and on_task) else 1.0
        mult = role_mult(role[i], P.role_mult_lurker, P.role_mult_active, P.role_mult_kol)
        infl = amplified_influence(influence[i], kol and in_trough(day, kol_since[i],
                                                                   P.trough_days),
                                   P.amplification_enabled, P.amplification_factor)
        q = invite_probability(P.invite_rate, mult, infl, intimacy[i], boost, engagement[i])
        lo, hi = (indptr[i], indptr[i + 1]) if graph else (0, _contacts(P, day, i, cbuf))
        if not graph or fresh[i]:
            # the non-member neighbours are reached (MODEL.md's wording: a member's
            # invitations reach its non-member neighbours), marked here where they are read
            # anyway: today's contacts when well mixed; on a graph, those of a member new
            # since the last day (_sync_members), as the marks stay and every member was
            # itself marked reached on joining
            if graph:
                fresh[i] = False
            for e in range(lo, hi):
                j = nb[e]
                funnel[j] |= F_REACHED if status[j] != MEMBER else 0
        # The candidates first: the slots of the invitable neighbours (non-users, and
        # churned persons when they may be invited again), listed without a branch
        # (statuses are unpredictable); with q not above 0 there is none. Their number is
        # today's invitable neighbours of the finite attention (``invite_cap``).
        rejoin = P.rejoin_factor > 0.0
        cand = 0
        if q > 0.0:
            for e in range(lo, hi):
                sj = status[nb[e]]
                hits[cand] = e
                cand += (sj == NON_USER) | ((sj == CHURNED) & rejoin)
            if P.invite_cap > 0.0:
                q = capped_invite_probability(q, cand, P.invite_cap)
        # Then the candidates' draws, again without a branch, each kept in ``hits`` (in
        # place, in slot order) only if it is an invitation. Every other slot's probability
        # is 0 or below (a member's, a churned person's without rejoining, or every slot's
        # with q not above 0), which a draw u >= 0 never falls below: its draw is not made.
        by_status[NON_USER] = q
        by_status[CHURNED] = q * P.rejoin_factor
        ipkey = person_key_nb(ikey, i)
        sent = 0
        for t in range(cand):
            e = hits[t]
            prob = by_status[status[nb[e]]]
            if P.weighted:
                prob = prob * weights[e]
            hits[sent] = e
            sent += u_person_nb(ipkey, e - lo) < prob
        for h in range(sent):  # then the invitations, in slot order
            j = nb[hits[h]]
            funnel[j] |= F_INVITED
            k = u_key_nb(ckey, j, i)
            if inbox_count[j] == 0:
                touched[n_in] = j
                n_in += 1
                inbox_key[j] = k
                inbox_from[j] = i
            elif k < inbox_key[j]:
                inbox_key[j] = k
                inbox_from[j] = i
            inbox_count[j] += 1
        counts[SLOT.invites_sent] += sent
        if role[i] == KOL:
            counts[SLOT.kol_invites] += sent

    # ---- 4. Convert -------------------------------------------------------------------
    inv = touched[:n_in]
    if _scan_beats_sort(n_in, n):  # the invited, listed in index order by a pass over all
        k = 0
        for j in range(n):
            touched[k] = j
            k += inbox_count[j] > 0
    else:
        inv.sort()
    nj = 0
    key = stream_key_nb(seed, day, P_CONVERT)
    # The fatigue factor (1 - fatigue)^exposures is a product of one factor per exposure,
    # taken in order (rules.power_int): each person's last one is kept with its exposures,
    # and only the factors of the exposures since then are multiplied in (the same product,
    # the same bits), so a long run does not pay again for every earlier exposure.
    x = 1.0 - P.fatigue
    keep = x >= 0.0 and x < 1.0  # (1 - fatigue = 1: the factor is 1; NaN: not kept)
    if keep and not fade_base[0] == x:  # another fatigue than the kept factors': forget them
        if fade_base[0] == fade_base[0]:  # (NaN: none kept yet)
            faded_at[:] = 0
        fade_base[0] = x
    for t in range(n_in):
        j = inv[t]
        e = exposures[j]
        if keep:
            k = faded_at[j]
            f = faded[j]
            if k <= 0 or k > e:  # none kept (or exposures edited down by hand): from the start
                k = 0
                f = 1.0
            f = times_power(f, x, e - k)
            faded[j] = f
            faded_at[j] = e
        else:
            f = power_int(x, e)
        p = faded_conversion_probability(P.convert_prob, fit[j], f, inbox_count[j])
        if u_key_nb(key, j, 0) < p:
            joining[j] = REFERRAL
            joiners[nj] = j
            nj += 1
    wk.listed[1] = nm
    wk.listed[2] = n_in
    return nm, n_in, nj


@cached
def _day_join(day, P, st, wk, nm, n_in, nj):
    """Phase 4 after the organic draws (each person decided alone, on threads or not).

    Organic joiners gathered, ads, the entry gate, the newcomers' rows, fatigue.

    Returns the number of newcomers, listed after the morning's members in ``members``.
    """
    n = P.n
    seed = P.seed
    status, role, fit, intimacy = st.status, st.role, st.fit, st.intimacy
    influence, source, referrer, exposures = st.influence, st.source, st.referrer, st.exposures
    join_day, kol_since = st.join_day, st.kol_since
    referrals, kol_referrals = st.referrals, st.kol_referrals
    funnel = st.funnel
    members, inbox_count = wk.members, wk.inbox_count
    inbox_key, inbox_from = wk.inbox_key, wk.inbox_from
    touched, joining, joiners, counts = wk.touched, wk.joining, wk.joiners, wk.counts
    inv = touched[:n_in]
    if P.organic_rate > 0.0:
        for j in range(len(joining)):  # gathered in index order
            if joining[j] == ORGANIC:
                joiners[nj] = j
                nj += 1
    price = P.ads_cost_per_join
    if P.ads_daily_budget > 0.0 and P.ads_saturation != 0.0:  # the market left, at day start
        non_users = 0
        for j in range(n):
            non_users += status[j] == NON_USER
        price = ad_price(P.ads_cost_per_join, n, non_users, P.ads_saturation)
    wk.money[1] = price
    wanted = ads_wanted(day, P.ads_daily_budget, price, n)
    if wanted > 0:
        pkey = stream_key_nb(seed, day, P_ADS_PICK)
        akey = stream_key_nb(seed, day, P_ADS_ACCEPT)
        bought = 0
        for attempt in range(ads_attempts(wanted)):
            if bought == wanted:
                break
            j = np.int64(u_key_nb(pkey, 0, attempt) * n)
            if status[j] == NON_USER and joining[j] == 0 and u_key_nb(akey, j, attempt) < fit[j]:
                joining[j] = ADS
                joiners[nj] = j
                nj += 1
                bought += 1
        counts[SLOT.ads_bought] = bought
    gkey = stream_key_nb(seed, day, P_GATE)
    n_new = 0  # today's members: members[:nm] (index order), then the newcomers
    for t in range(nj):
        j = joiners[t]
        src = joining[j]
        joining[j] = 0
        if P.entry_gate_kind == GATE_REVIEW and not fit[j] >= P.entry_gate_min_fit:
            continue
        if P.entry_gate_kind == GATE_PAYMENT and not u_key_nb(gkey, j, 0) < P.entry_gate_pass_prob:
            continue
        members[nm + n_new] = j
        n_new += 1
        if src == REFERRAL:
            start = P.join_intimacy_referral
        elif src == ORGANIC:
            start = P.join_intimacy_organic
        else:
            start = P.join_intimacy_ads
        if P.entry_gate_kind != GATE_NONE:
            start = gain(start, P.entry_gate_intimacy_bonus)
        status[j] = MEMBER
        role[j] = LURKER
        source[j] = src
        intimacy[j] = start
        influence[j] = 1.0
        join_day[j] = day
        kol_since[j] = -1
        funnel[j] |= F_REACHED | F_INVITED | F_JOINED
        if src == REFERRAL:
            r = inbox_from[j]
            referrer[j] = r
            counts[SLOT.joins_referral] += 1
            referrals[r] += 1
            if role[r] == KOL:
                kol_referrals[r] += 1
                counts[SLOT.kol_credited] += 1
            inbox_count[j] = -inbox_count[j]  # mark: invitations succeeded
        else:
            referrer[j] = -1
            if src == ORGANIC:
                counts[SLOT.joins_organic] += 1
            else:
                counts[SLOT.joins_ads] += 1
    for t in range(n_in):  # invitations that did not bring j in failed: fatigue
        j = inv[t]
        if inbox_count[j] > 0:
            exposures[j] += inbox_count[j]
        inbox_count[j] = 0
        inbox_from[j] = -1
        inbox_key[j] = 0.0

    return n_new


@cached
def _day_close(day, P, st, wk, nm, n_new, dropouts, churns):
    """The day's end: phases 5–7 counts, the revenue and the KOL count."""
    status, role, intimacy, paying = st.status, st.role, st.intimacy, st.paying
    members, counts, money = wk.members, wk.counts, wk.money
    counts[SLOT.trough_dropouts] = dropouts
    counts[SLOT.churns] = churns
    # revenue summed in index order, whatever the thread count: merge the (sorted) members
    # of the morning with the sorted newcomers, skipping those who churned
    newcomers = members[nm:nm + n_new]
    if not (_scan_beats_sort(n_new, len(status))
            and _list_joined(day, status, st.join_day, wk.joiners, n_new, newcomers)):
        newcomers.sort()
    revenue = 0.0
    daily_fee = P.fee_per_year / 365.0
    n_kols = 0
    a = 0
    b = nm
    for _ in range(nm + n_new):
        if b == nm + n_new or (a < nm and members[a] < members[b]):
            i = members[a]
            a += 1
        else:
            i = members[b]
            b += 1
        if status[i] != MEMBER:
            continue
        if paying[i]:
            revenue = revenue + daily_fee
        revenue = revenue + P.purchase_rate * intimacy[i] * P.price
        if role[i] == KOL:
            n_kols += 1
    counts[SLOT.n_kols] = n_kols
    money[0] = revenue
    wk.listed[0] = nm + n_new


@cached(inline="always")
def _scan_beats_sort(k, n):
    """Whether a pass over ``n`` persons lists ``k`` of them in index order faster than a sort.

    Measured: sorting 30,000 of 100,000 took 2.1 ms, the pass 0.09 ms.
    """
    return k * 32 > n


@cached
def _list_joined(day, status, join_day, buf, n_new, out):
    """List today's newcomers (members who joined on ``day``) into ``out``, in index order.

    Every newcomer is such a member, so finding ``n_new`` of them means they are the
    newcomers. Returns False, with ``out`` untouched, if there are more (a ``join_day``
    edited by hand): the caller then sorts its list instead.
    """
    k = 0
    for j in range(len(status)):
        buf[k] = j
        k += (join_day[j] == day) & (status[j] == MEMBER)
    if k != n_new:
        return False
    out[:] = buf[:k]
    return True


@cached
def _sync_members(indptr, indices, status, members, changed, was_member, member_nbrs, synced,
                  fresh, count):
    """Start of a day on a graph: list the members, flag the new ones, update member counts.

    Lists the members (index order) into ``members`` and returns their number (also kept
    in ``synced[0]``); sets ``fresh`` for everyone who became a member since the last call
    (the day's invitation stage marks their non-member neighbours reached, and clears the
    flag), and (if ``count``) brings ``member_nbrs`` up to date around everyone whose
    membership changed since the last call.
    """
    nm = 0
    nc = 0
    n = len(status)
    # Where members were few at the last call (under 1/32 of everyone), eight persons a
    # word: a word in which nobody is a member nor was one is skipped (a sparse cascade's
    # pass went from 191 to 36 us at 100,000 persons; with many members the plain pass is
    # faster, 37 against 52 us for a 20,000-person fish pond). Both list the same persons.
    sparse = synced[0] * 32 < n
    words, was = byte_words(status), byte_words(was_member)
    w = 0
    while True:  # a range of persons at a time: everyone, or a word of eight
        lo, hi = 0, n
        if sparse:
            while w < len(words) and was[w] == 0 and not has_byte(words[w], MEMBER):
                w += 1  # none of these eight is a member, nor was at the last call
            lo = 8 * w
            hi = min(lo + 8, n) if w < len(words) else n  # (the last few on their own)
        for i in range(lo, hi):  # branch-free: statuses are unpredictable
            is_member = status[i] == MEMBER
            members[nm] = i
            nm += is_member
            changed[nc] = i
            nc += is_member != was_member[i]
            was_member[i] = is_member
        if hi >= n:
            break
        w += 1
    synced[0] = nm
    for t in range(nc):
        i = changed[t]
        fresh[i] = was_member[i]
        if count:
            lo, hi = indptr[i], indptr[i + 1]
            change = 1 if was_member[i] else -1
            for e in range(lo, hi):
                member_nbrs[indices[e]] += change
    return nm


@cached(inline="always")
def _joins_organically(P, key, j, status_j, joining_j, fit_j):
    """Phase 4, organic channel: whether person j, a non-user not already joining, joins.

    Branch-free (``&`` evaluates every operand): this runs for every person every day.
    """
    return (
        (status_j == NON_USER)
        & (joining_j == 0)
        & (u_key_nb(key, j, 0) < clip01(P.organic_rate * fit_j))
    )


@cached
def _roles_churn_pay(P, day, keys, drop, today, lo, hi, status, role, fit, intimacy, paying,
                     join_day, kol_since, kol_referrals, funnel):
    """Phases 5 (roles), 6 (decay, churn) and 7 (start paying) for members today[lo:hi].

    Each phase reads and writes only the person's own row, so running the three phases
    person by person equals running them phase by phase, in any order or split.
    Returns (dropped out, churned).
    """
    tkey, ckey, pkey = keys
    dropouts = 0
    churns = 0
    for t in range(lo, hi):
        i = today[t]
        r = role[i]
        if r == LURKER and intimacy[i] >= P.active_threshold:
            role[i] = ACTIVE
            funnel[i] |= F_ACTIVE
        elif r == ACTIVE and intimacy[i] < P.active_threshold - P.hysteresis:
            role[i] = LURKER
        elif r == KOL and in_trough(day, kol_since[i], P.trough_days) and kol_referrals[i] == 0:
            if u_key_nb(tkey, i, 0) < drop:
                role[i] = ACTIVE
                kol_since[i] = -1
                dropouts += 1
        intimacy[i] = intimacy[i] * (1.0 - P.decay)
        if join_day[i] < day:
            u = u_key_nb(ckey, i, 0)  # (the hazard's power only for a draw under its bound)
            if (u < churn_hazard_bound(P.churn_base, intimacy[i], P.churn_protect,
                                       P.misfit_penalty, fit[i])
                    and u < churn_hazard(P.churn_base, intimacy[i], P.churn_protect,
                                         P.misfit_penalty, fit[i])):
                status[i] = CHURNED
                role[i] = NO_ROLE
                paying[i] = False
                kol_since[i] = -1
                churns += 1
                continue
        if (
            not paying[i]
            and join_day[i] < day
            and u_key_nb(pkey, i, 0) < clip01(P.pay_rate * intimacy[i])
        ):
            paying[i] = True
            funnel[i] |= F_PAYING
    return dropouts, churns


# Each per-person loop is compiled twice under two names: serial (cached, called by
# day_kernel), and threaded with ``prange`` (never cached, called from Python by
# run_day_threaded: sim/jit.py says why). sim/threads.py decides which runs. Both give
# identical results (tests/test_engines.py).


# Organic joins mark ``joining`` with a select, not a branch: the serial loop then compiles
# to SIMD instructions (4x faster where the CPU has them).
@cached
def _organic_serial(P, day, status, fit, joining):
    key = stream_key_nb(P.seed, day, P_ORGANIC)
    for j in range(len(joining)):
        joining[j] = (
            ORGANIC if _joins_organically(P, key, j, status[j], joining[j], fit[j]) else joining[j]
        )


@threaded
def _organic_parallel(P, day, status, fit, joining):
    key = stream_key_nb(P.seed, day, P_ORGANIC)
    for j in prange(len(joining)):
        joining[j] = (
            ORGANIC if _joins_organically(P, key, j, status[j], joining[j], fit[j]) else joining[j]
        )


@cached(inline="always")
def _roles_keys(P, day):
    """Phases 5-7's stream keys (trough, churn, pay) and today's trough dropout probability."""
    keys = (stream_key_nb(P.seed, day, P_TROUGH), stream_key_nb(P.seed, day, P_CHURN),
            stream_key_nb(P.seed, day, P_PAY))
    return keys, trough_dropout_probability(P.trough_dropout, P.amplification_enabled,
                                            P.amplification_factor)


@cached
def _roles_churn_pay_serial(P, day, today, st):
    """Phases 5-7 for ``today``'s members, in one go."""
    keys, drop = _roles_keys(P, day)
    return _roles_churn_pay(P, day, keys, drop, today, 0, len(today), st.status, st.role, st.fit,
                            st.intimacy, st.paying, st.join_day, st.kol_since, st.kol_referrals,
                            st.funnel)


@threaded
def _roles_churn_pay_parallel(P, day, today, st):
    """Phases 5-7 for ``today``'s members, in CHUNKS parts on threads."""
    # (as _roles_keys: Numba's parallel array analysis fails on its nested tuple unpacked)
    keys = (stream_key_nb(P.seed, day, P_TROUGH), stream_key_nb(P.seed, day, P_CHURN),
            stream_key_nb(P.seed, day, P_PAY))
    drop = trough_dropout_probability(
        P.trough_dropout, P.amplification_enabled, P.amplification_factor
    )
    size = (len(today) + CHUNKS - 1) // CHUNKS
    dropouts = 0
    churns = 0
    for c in prange(CHUNKS):
        d, ch = _roles_churn_pay(P, day, keys, drop, today, min(c * size, len(today)),
                                 min((c + 1) * size, len(today)), st.status, st.role, st.fit,
                                 st.intimacy, st.paying, st.join_day, st.kol_since,
                                 st.kol_referrals, st.funnel)
        dropouts += d
        churns += ch
    return dropouts, churns


def cache_present() -> bool:
    """Whether the day kernel is already compiled in Numba's on-disk cache."""
    from pathlib import Path

    return any(Path(day_kernel.stats.cache_path).glob("kernels.day_kernel-*.nbi"))


def buffers(model: GrowthModel) -> Work:
    """The buffers of a run of ``model`` on this engine (called once, by the model).

    Args:
        model: a model whose ``graph`` is built.

    Returns:
        A :class:`Work` sized for ``model.graph``, which the model keeps as ``model.work``.
    """
    return Work(model.graph)


def run_day(model: GrowthModel) -> DayCounts:
    """Run day ``model.day`` (phases 1–7) on ``model.state``.

    Same contract as the readable engine's :func:`sim.agents.run_day`.

    Reads ``model.params`` every day, as the readable engine does (as a :class:`KParams`
    tuple derived again whenever ``model.params`` is replaced), and uses the buffers
    ``model.work`` made by :func:`buffers`.

    Returns:
        The day's counts, revenue and cost.
    """
    counts, revenue, cost, _, _ = run_day_flows(model)
    c = counts.tolist()  # Python ints, as the readable engine's counts
    return DayCounts(**{name: c[slot] for name, slot in zip(COUNT_FIELDS, SLOT)
                        if name != "n_kols"}, revenue=revenue, cost=cost)


def run_day_flows(model: GrowthModel) -> tuple[np.ndarray, float, float, StateArrays, tuple]:
    """:func:`run_day` with the counts left in their array, for the recorder.

    Returns:
        The day's counts (int64, :data:`COUNT_FIELDS` order: the buffer itself, valid until
        the next day), revenue and cost, the state's arrays, and the day's changed persons
        (:meth:`Work.changed`).
    """
    work: Work = model.work
    P = work.kparams(model.params)
    st, wk = state_arrays(model.state), work.arrays
    if work.threads:
        run_day_threaded(model.day, P, work.graph, st, wk)
    else:
        work.day_kernel(model.day, P, st)
    counts = wk.counts
    p = model.params
    cost = daily_cost(int(counts[SLOT.posts]), int(counts[SLOT.operator_activities]),
                      int(counts[SLOT.n_kols]), int(counts[SLOT.ads_bought]), p.cost_per_post,
                      p.cost_per_activity, p.cost_per_kol_month, float(wk.money[1]))
    return counts, float(wk.money[0]), cost, st, work.changed


def run_day_threaded(day: int, P: KParams, g: GraphArrays, st: StateArrays,
                     wk: WorkArrays) -> None:
    """:func:`day_kernel`'s stages called from Python, with the threaded twins in between.

    Same arguments as :func:`day_kernel`. Each person decides alone in the organic draws and
    in phases 5–7, so these loops may run on threads; the results equal :func:`day_kernel`'s.
    """
    nm, n_in, nj = _day_invite(day, P, g, st, wk)
    if P.organic_rate > 0.0:
        _organic_parallel(P, day, st.status, st.fit, wk.joining)
    n_new = _day_join(day, P, st, wk, nm, n_in, nj)
    dropouts, churns = _roles_churn_pay_parallel(P, day, wk.members[:nm + n_new], st)
    _day_close(day, P, st, wk, nm, n_new, dropouts, churns)
