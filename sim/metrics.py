"""The metrics of MODEL.md §6: one row per day, and a run summary.

Everything here reads the population state arrays and the day's counts, never the
engine's internals, so both engines are measured by the same code.

Example:
    >>> from sim import GrowthModel
    >>> m = GrowthModel(population={"size": 200, "graph": {"kind": "barabasi_albert", "m": 2}},
    ...                 seeding={"count": 5}, steps=10, engine="agents")
    >>> m.run()
    >>> ts = m.timeseries()
    >>> bool((ts.non_users + ts.members + ts.churned == 200).all())
    True
"""

from __future__ import annotations

import math
from collections import namedtuple
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
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
    FUNNEL_STAGES,
    KOL,
    LURKER,
    MASS_PULL,
    MEMBER,
    NON_USER,
    ORGANIC,
    REFERRAL,
    SEED,
)
from .jit import Direct, cached, threaded
from .params import DayCounts
from .rules import daily_cost, events_on_day
from .state import PopulationState
from .threads import CHUNKS, use_threads

if TYPE_CHECKING:  # pragma: no cover
    from .model import GrowthModel

WINDOW = 30  # days, for k_factor_30d and self_org_share
MILESTONE_NAMES = ("origin", "inflection", "explosion")

TIMESERIES_COLUMNS = (
    "day",
    "members",
    "kols",
    "actives",
    "lurkers",
    "churned",
    "non_users",
    "joins_seed",
    "joins_mass_pull",
    "joins_referral",
    "joins_organic",
    "joins_ads",
    "invites_sent",
    "k_factor",
    "k_factor_30d",
    "referral_share",
    "contributor_share",
    "self_org_share",
    "commitment_share",
    "top20_referral_share",
    "kol_audience",
    "kol_reach",
    "kol_referrals",
    "paying_members",
    "revenue",
    "cost",
    "croi",
    "cost_per_retained_member",
    "funnel_reached",
    "funnel_invited",
    "funnel_joined",
    "funnel_active",
    "funnel_paying",
    "posts",
    "operator_activities",
    "member_activities",
    "lurker_share",
    "seed_referrals",
    "seed_referral_share",
    "nonseed_top20_referral_share",
    "retention_referral",
    "retention_organic",
    "retention_ads",
)

COHORT_DAYS = 30  # the retention cohorts join in days 1..COHORT_DAYS, then are frozen
RETENTION_DAYS = (30, 90, 120)  # retention_<d> of the summary
RETENTION_SOURCES = {"referral": REFERRAL, "organic": ORGANIC, "ads": ADS}
FISSION_WINDOW = 90  # days, for nonseed_referral_share_90d


BINS = 4096  # intimacy bins of the top-share selection, at most (see _bins)


@cached(inline="always")
def _bins(k):
    """Bins for ranking ``k`` persons: the power of two in [k, 2k), within [64, BINS].

    Any number of bins gives the same selection (a higher bin holds only higher values,
    and the boundary bin is ranked exactly), so a few persons do not pay for 4,096 bins.
    """
    bins = BINS
    while bins > 64 and bins >= 2 * k:
        bins //= 2
    return bins


@cached(inline="always")
def _bin(x, bins):
    """The bin of intimacy ``x``: ``floor(x bins)`` within [0, bins - 1] (NaN: bin 0)."""
    if not x > 0.0:
        return 0
    return min(np.int64(x * bins), bins - 1) if x < 1.0 else bins - 1


@cached
def _boundary(hist, k):
    """The bin holding the ``k``-th highest value of a histogram, and how many lie above it."""
    b = len(hist) - 1
    above = 0
    while above + hist[b] < k:
        above += hist[b]
        b -= 1
    return b, above


@cached
def _boundary_credit(vals, ids, r, referrals):
    """Referral joins of the ``r`` highest of a boundary bin (``vals`` = -intimacy, ties by id).

    ``vals`` and ``ids`` list the bin's persons in index order.
    """
    if r <= 0:
        return 0
    credited = 0
    if vals.min() == vals.max():  # one value (e.g. constant intimacy): all tied, by index
        for t in range(r):
            credited += referrals[ids[t]]
        return credited
    threshold = np.partition(vals, r - 1)[r - 1]  # -(r-th largest intimacy in the bin)
    taken = 0
    for t in range(len(vals)):  # strictly above the threshold
        if vals[t] < threshold:
            credited += referrals[ids[t]]
            taken += 1
    for t in range(len(vals)):  # ties at the threshold, by index
        if taken == r:
            break
        if vals[t] == threshold:
            credited += referrals[ids[t]]
            taken += 1
    return credited


@cached
def _all_tied(ever, intimacy):
    """Whether every listed person has the same intimacy (False at the first that differs)."""
    if len(ever) == 0:
        return False
    first = intimacy[ever[0]]
    for t in range(1, len(ever)):
        if not intimacy[ever[t]] == first:  # (NaN differs from everything)
            return False
    return True


@cached
def _top_shares_by_index(ever, referrals, skip, top):
    """:func:`_top_shares_nb` where all of ``ever`` tie on intimacy: the top is by index.

    The same counts as the histogram's way, in which they all fall in one bin and the
    bin's first persons by index are taken.
    """
    k_all = int(math.ceil(top * len(ever)))
    unskipped = 0
    for t in range(len(ever)):
        unskipped += not skip[ever[t]]
    k_kept = int(math.ceil(top * unskipped))
    credited_all = 0
    for t in range(min(k_all, len(ever))):
        credited_all += referrals[ever[t]]
    credited_kept = 0
    taken = 0
    for t in range(len(ever)):
        if taken == k_kept:
            break
        i = ever[t]
        if not skip[i]:
            credited_kept += referrals[i]
            taken += 1
    return credited_all, credited_kept


@cached
def _top_shares_nb(ever, intimacy, referrals, skip, top):
    """Referral joins credited to the top ``top`` of ever-members by (intimacy desc, index).

    ``ever`` lists the ever-members (persons who are not non-users) in index order. Two
    selections in one pass over them: among all ever-members, and among those
    without ``skip[i]`` set (the skipped are neither ranked nor counted). Linear time without
    sorting: a histogram of intimacy (in [0, 1]) finds the bin holding each boundary;
    everyone in a higher bin is in the top, and only the boundary bin is ranked exactly (by
    intimacy, ties by index).

    Returns:
        (credited to the top of all ever-members, credited to the top of the unskipped).
    """
    if _all_tied(ever, intimacy):  # (a cascade or an epidemic: one intimacy for everyone)
        return _top_shares_by_index(ever, referrals, skip, top)
    bins = _bins(len(ever))
    hist = np.zeros(bins, np.int64)
    kept = np.zeros(bins, np.int64)
    for t in range(len(ever)):
        i = ever[t]
        bi = _bin(intimacy[i], bins)
        hist[bi] += 1
        kept[bi] += not skip[i]
    k_all = int(math.ceil(top * hist.sum()))
    k_kept = int(math.ceil(top * kept.sum()))
    b_all, above_all = _boundary(hist, k_all)
    b_kept, above_kept = _boundary(kept, k_kept)
    n_all = hist[b_all] if k_all > 0 else 0
    n_kept = kept[b_kept] if k_kept > 0 else 0
    vals_all, ids_all = np.empty(n_all, np.float64), np.empty(n_all, np.int64)
    vals_kept, ids_kept = np.empty(n_kept, np.float64), np.empty(n_kept, np.int64)
    credited_all = 0
    credited_kept = 0
    c_all = 0
    c_kept = 0
    for t in range(len(ever)):
        i = ever[t]
        bi = _bin(intimacy[i], bins)
        if k_all > 0:
            if bi > b_all:
                credited_all += referrals[i]
            elif bi == b_all:
                vals_all[c_all] = -intimacy[i]
                ids_all[c_all] = i
                c_all += 1
        if k_kept > 0 and not skip[i]:
            if bi > b_kept:
                credited_kept += referrals[i]
            elif bi == b_kept:
                vals_kept[c_kept] = -intimacy[i]
                ids_kept[c_kept] = i
                c_kept += 1
    credited_all += _boundary_credit(vals_all, ids_all, k_all - above_all, referrals)
    credited_kept += _boundary_credit(vals_kept, ids_kept, k_kept - above_kept, referrals)
    return credited_all, credited_kept


def top_share(state: PopulationState, top: float = 0.2, exclude: np.ndarray | None = None
              ) -> float:
    """Share of referral joins credited to the top ``top`` fraction of ever-members by intimacy.

    Ever-members are ranked by intimacy (highest first, ties by index).

    Args:
        state: the population state.
        top: the fraction of ever-members in the top.
        exclude: optional boolean mask of persons left out of both the ranking and the
            referral total (e.g. the seeds, for ``nonseed_top20_referral_share``).

    Returns:
        The share, or NaN if the persons considered were credited with no referral joins.
    """
    if exclude is None:
        exclude = np.zeros(len(state.status), np.bool_)
        total = int(state.referrals.sum())
    else:
        total = int(state.referrals.sum() - state.referrals[exclude].sum())
    if total == 0:
        return math.nan
    ever = np.flatnonzero(state.status != NON_USER)
    return float(_top_shares_nb(ever, state.intimacy, state.referrals, exclude, top)[1]) / total


# the bit of each funnel stage (F_REACHED == 1 << _BIT_REACHED, ...)
_BIT_REACHED, _BIT_INVITED, _BIT_JOINED, _BIT_ACTIVE, _BIT_PAYING = (
    F_REACHED.bit_length() - 1, F_INVITED.bit_length() - 1, F_JOINED.bit_length() - 1,
    F_ACTIVE.bit_length() - 1, F_PAYING.bit_length() - 1)


@cached(inline="always")
def _census_chunk(lo, hi, status, role, source, intimacy, influence, paying, funnel,
                  kol_referrals, indptr, contacts, commit_threshold, cnt):
    """Count persons lo..hi-1 into ``cnt`` (CENSUS order); returns their KOL audience.

    Written for speed, as this runs over every person every day: slices indexed from 0
    (no negative-index checks), branch-free integer sums in loops simple enough for SIMD,
    and the float sum in its own loop, in index order.
    """
    status, role, source, intimacy = status[lo:hi], role[lo:hi], source[lo:hi], intimacy[lo:hi]
    influence, paying, funnel, kol_referrals = (
        influence[lo:hi], paying[lo:hi], funnel[lo:hi], kol_referrals[lo:hi]
    )
    ptr = indptr[lo:hi + 1]  # degrees: ptr[i + 1] - ptr[i]
    members = kols = actives = lurkers = churned = referral = payers = committed = kol_refs = 0
    for i in range(len(status)):
        m = status[i] == MEMBER
        r = role[i]
        members += m
        churned += status[i] == CHURNED
        kols += m & (r == KOL)
        actives += m & (r == ACTIVE)
        lurkers += m & (r == LURKER)
        referral += m & (source[i] == REFERRAL)
        payers += m & paying[i]
    for i in range(len(status)):
        # a product of the two tests as int64s: branch-free, and it vectorises (a
        # short-circuit test ran 25x slower where statuses are mixed and most persons'
        # intimacy is above the threshold, as in a cascade's wake)
        committed += np.int64(intimacy[i] >= commit_threshold) * np.int64(status[i] == MEMBER)
    for i in range(len(status)):
        kol_refs += kol_referrals[i]
    f0 = f1 = f2 = f3 = f4 = 0
    for i in range(len(status)):  # each stage's bit shifted down and added (1.5x faster
        f = np.int64(funnel[i])  # than adding the tests' results)
        f0 += (f >> _BIT_REACHED) & 1
        f1 += (f >> _BIT_INVITED) & 1
        f2 += (f >> _BIT_JOINED) & 1
        f3 += (f >> _BIT_ACTIVE) & 1
        f4 += (f >> _BIT_PAYING) & 1
    audience = 0.0
    for i in range(len(status) if kols else 0):  # (no KOL: nothing to add, a pass saved)
        if status[i] == MEMBER and role[i] == KOL:
            audience += influence[i] * ((ptr[i + 1] - ptr[i]) if contacts == 0 else contacts)
    for k, v in enumerate((members, kols, actives, lurkers, churned,
                           len(status) - members - churned,
                           referral, committed, payers, kol_refs, f0, f1, f2, f3, f4)):
        cnt[k] += v
    return audience


# The census in CHUNKS fixed ranges (so sums do not depend on the thread count), serial or
# threaded (the threaded twin is never cached: sim/jit.py).
@cached
def _census_chunks_serial(status, role, source, intimacy, influence, paying, funnel,
                          kol_referrals, indptr, contacts, commit_threshold, part, aud):
    size = (len(status) + CHUNKS - 1) // CHUNKS
    for c in range(CHUNKS):
        aud[c] = _census_chunk(c * size, min(len(status), (c + 1) * size), status, role, source,
                               intimacy, influence, paying, funnel, kol_referrals, indptr,
                               contacts, commit_threshold, part[c])


@threaded
def _census_chunks_parallel(status, role, source, intimacy, influence, paying, funnel,
                            kol_referrals, indptr, contacts, commit_threshold, part, aud):
    size = (len(status) + CHUNKS - 1) // CHUNKS
    for c in prange(CHUNKS):
        aud[c] = _census_chunk(c * size, min(len(status), (c + 1) * size), status, role, source,
                               intimacy, influence, paying, funnel, kol_referrals, indptr,
                               contacts, commit_threshold, part[c])


CENSUS = (
    ("members", "kols", "actives", "lurkers", "churned", "non_users", "referral_members",
     "committed", "paying_members", "kol_referrals")
    + tuple(f"funnel_{name}" for name, _ in FUNNEL_STAGES)
)


def referral_curve(state: PopulationState) -> pd.DataFrame:
    """Lorenz-style curve: cumulative share of referral joins vs share of ever-members.

    Members are ranked by intimacy, highest first. Columns ``member_share`` and
    ``referral_share``, from (0, 0); the last referral_share is 1 (or 0 with no referrals).
    """
    ever = np.flatnonzero(state.status != NON_USER)
    order = ever[np.lexsort((ever, -state.intimacy[ever]))]
    refs = state.referrals[order].astype(np.float64)
    total = refs.sum()
    cum = np.concatenate([[0.0], np.cumsum(refs) / total if total else np.zeros(len(refs))])
    x = np.arange(len(order) + 1) / max(len(order), 1)
    return pd.DataFrame({"member_share": x, "referral_share": cum})


# The recorder's layout. A row of the timeseries is a row of a float64 table (counts are
# whole numbers, exact below 2**53), written by :func:`_record_nb`; column ``name`` is
# ``COL.name`` (a constant to Numba). INT_COLUMNS are counts: ints in rows and frames.
ColumnSlots = namedtuple("ColumnSlots", TIMESERIES_COLUMNS)
COL = ColumnSlots(*range(len(TIMESERIES_COLUMNS)))
INT_COLUMNS = frozenset((
    "day", "members", "kols", "actives", "lurkers", "churned", "non_users", "joins_seed",
    "joins_mass_pull", "joins_referral", "joins_organic", "joins_ads", "invites_sent",
    "kol_reach", "kol_referrals", "paying_members", "funnel_reached", "funnel_invited",
    "funnel_joined", "funnel_active", "funnel_paying", "posts", "operator_activities",
    "member_activities", "seed_referrals"))
_INT_IDX = tuple(k for k, name in enumerate(TIMESERIES_COLUMNS) if name in INT_COLUMNS)
# The day's flows the recorder reads, in the order of an engine's counts
# (sim.kernels.COUNT_FIELDS starts with them: its counts array is passed as is).
FLOWS = ("posts", "operator_activities", "member_activities", "invites_sent", "kol_invites",
         "joins_referral", "joins_organic", "joins_ads", "ads_bought", "kol_credited",
         "recruited_kols")
FlowSlots = namedtuple("FlowSlots", FLOWS)
FLOW = FlowSlots(*range(len(FLOWS)))
# acc: cumulative joins by source (seed, mass pull, referral, organic, ads), the rows
# written, whether the retention cohorts are frozen, the window's first slot and length,
# whether ``code`` holds the census of the last row (see _census_delta), and the length of
# the ever-member list ``ever`` (-1: not listed for the last row).
(_ACC_SEED, _ACC_MASS, _ACC_REF, _ACC_ORG, _ACC_ADS, _ACC_ROWS, _ACC_FROZEN, _ACC_W0, _ACC_WN,
 _ACC_CODED, _ACC_EVER) = range(11)
# totals: revenue, cost, and the commitment threshold that ``code`` was taken with
_TOT_CODED = 2
_REFS = len(CENSUS)  # census[_REFS]: the referral joins credited to anyone
RecArrays = namedtuple("RecArrays", [
    "acc", "totals", "window", "sums", "seed_idx", "seed_mask", "cohort", "ever", "part",
    "aud", "sizes", "census", "code", "spare"])


# The census kept from day to day (_census_delta). ``code[i]`` holds person i's part of the
# last row's census as bits: those of _CODED (census slot of each), then the funnel flags
# from bit 8 on.
_CODED = (0, 1, 2, 3, 4, 6, 7, 8)  # members, kols, actives, lurkers, churned, referral
# members, committed, paying members
_FUNNEL_BITS = (_BIT_REACHED, _BIT_INVITED, _BIT_JOINED, _BIT_ACTIVE, _BIT_PAYING)
_EVER_BITS = 1 | (1 << 4)  # a member or a churned person: not a non-user
DELTA_SHARE = 8  # the census is kept from the changed persons while they are under 1/8


@cached(inline="always")
def _code(status, role, source, paying, intimacy, funnel, commit_threshold):
    """A person's part of the census as the bits of ``RecArrays.code`` (see _CODED)."""
    m = status == MEMBER
    return (np.uint16(m) | (np.uint16(m & (role == KOL)) << 1)
            | (np.uint16(m & (role == ACTIVE)) << 2) | (np.uint16(m & (role == LURKER)) << 3)
            | (np.uint16(status == CHURNED) << 4) | (np.uint16(m & (source == REFERRAL)) << 5)
            | (np.uint16(m & (intimacy >= commit_threshold)) << 6)
            | (np.uint16(m & paying) << 7) | (np.uint16(funnel) << 8))


@cached(inline="always")
def _cohort_of(join_day, source):
    """A person's retention cohort: 1, 2, 3 (referral, organic, ads) if joined in 1..30."""
    inside = (join_day >= 1) & (join_day <= COHORT_DAYS)
    return np.int8(inside) * ((source == REFERRAL) * np.int8(1) +
                              (source == ORGANIC) * np.int8(2) + (source == ADS) * np.int8(3))


@cached
def _list_ever(status, ever):
    """List the ever-members (not non-users) into ``ever``, in index order; their number."""
    k = 0
    for i in range(len(status)):  # branch-free: statuses are unpredictable
        ever[k] = i
        k += status[i] != NON_USER
    return k


@cached
def _code_all(st, rec, commit_threshold):
    """Take every person's census bits into ``rec.code`` and list the ever-members.

    Called after a full census, so that the next days may keep it (_census_delta).
    """
    code = rec.code
    for i in range(len(st.status)):
        code[i] = _code(st.status[i], st.role[i], st.source[i], st.paying[i], st.intimacy[i],
                        st.funnel[i], commit_threshold)
    rec.acc[_ACC_EVER] = _list_ever(st.status, rec.ever)
    rec.acc[_ACC_CODED] = 1
    rec.totals[_TOT_CODED] = commit_threshold


@cached
def _delta_list(persons, k, st, rec, commit_threshold, frozen, fresh):
    """Update the census, cohorts and codes for ``persons[:k]``.

    New ever-members go into ``rec.spare`` from slot ``fresh`` on. Returns (the new
    ``fresh``, whether someone became a non-user again).
    """
    code, cohort, sizes, census = rec.code, rec.cohort, rec.sizes, rec.census
    lost = False
    for t in range(k):
        i = persons[t]
        old = code[i]
        new = _code(st.status[i], st.role[i], st.source[i], st.paying[i], st.intimacy[i],
                    st.funnel[i], commit_threshold)
        oc = cohort[i]
        nc = oc if frozen else _cohort_of(st.join_day[i], st.source[i])
        if old == new and oc == nc:
            continue
        code[i] = new
        cohort[i] = nc
        for b in range(len(_CODED)):
            census[_CODED[b]] += np.int64((new >> b) & 1) - np.int64((old >> b) & 1)
        for s in range(len(_FUNNEL_BITS)):
            b = 8 + _FUNNEL_BITS[s]
            census[10 + s] += np.int64((new >> b) & 1) - np.int64((old >> b) & 1)
        sizes[oc] -= 1
        sizes[nc] += 1
        sizes[4 + oc] -= np.int64(old & 1)
        sizes[4 + nc] += np.int64(new & 1)
        was_ever = (old & _EVER_BITS) != 0
        is_ever = (new & _EVER_BITS) != 0
        if is_ever and not was_ever:
            rec.spare[fresh] = i
            fresh += 1
        elif was_ever and not is_ever:
            lost = True
    return fresh, lost


@cached
def _census_delta(day, st, rec, lists, flows, indptr, indices, commit_threshold):
    """The last row's census, referral total, cohorts and ever-members, updated from the day.

    ``lists`` = (today's members, the invited, their lengths), as
    :meth:`sim.kernels.Work.changed`; with the neighbours of the morning's new members (on
    the graph ``indptr``, ``indices``), they are everyone the day may have changed. Nobody else
    changed since the last row, whose census ``rec.code`` holds (taken with this
    ``commit_threshold``). The last row had no KOL and none was recruited today, so no KOL
    referral was credited or started again from 0 (a former KOL's, on being recruited
    again): the KOL referrals stand. Every count is the full census's, as counting is exact.
    """
    members, invited, listed = lists
    census, acc, code, funnel = rec.census, rec.acc, rec.code, st.funnel
    frozen = acc[_ACC_FROZEN] != 0
    # A neighbour of a morning member new since yesterday's start (who joined yesterday:
    # the engine marks its neighbours reached today) may have been marked reached, and
    # nothing else if it is not listed below: its reached flag is taken here, without
    # reading the rest of its state (flags are never taken back, so a flag set now and not
    # at the last row is new).
    join_day = st.join_day
    for t in range(listed[1]):
        i = members[t]
        if join_day[i] != day - 1:
            continue
        for e in range(indptr[i], indptr[i + 1]):
            j = indices[e]
            now = np.uint16((funnel[j] >> _BIT_REACHED) & 1) << (8 + _BIT_REACHED)
            census[10] += (now & ~code[j]) != 0
            code[j] |= now
    fresh, lost1 = _delta_list(members, listed[0], st, rec, commit_threshold, frozen, 0)
    fresh, lost2 = _delta_list(invited, listed[2], st, rec, commit_threshold, frozen, fresh)
    if not frozen and day >= COHORT_DAYS:
        acc[_ACC_FROZEN] = 1
    census[5] = len(st.status) - census[0] - census[4]
    census[_REFS] += flows[FLOW.joins_referral]
    ever, k = rec.ever, acc[_ACC_EVER]
    if lost1 or lost2 or k < 0:
        acc[_ACC_EVER] = _list_ever(st.status, ever)
    elif fresh:  # the new ever-members merged in, from the back
        new = rec.spare[:fresh]
        new.sort()
        a, b = k - 1, fresh - 1
        for w in range(k + fresh - 1, -1, -1):
            if b < 0:
                break
            if a >= 0 and ever[a] > new[b]:
                ever[w] = ever[a]
                a -= 1
            else:
                ever[w] = new[b]
                b -= 1
        acc[_ACC_EVER] = k + fresh


# How _record_nb takes the day's census: none (an idle day: the last row's stands), counted
# in serial chunks there, counted by the caller (threaded chunks), or kept from the changed
# persons (_census_delta).
IDLE, FULL, COUNTED, DELTA = range(4)


@cached
def _record_nb(day, how, coded, flows, revenue, cost, st, indptr, indices, contacts,
               commit_threshold, rec, table, lists):
    """Write row ``rec.acc[_ACC_ROWS]`` of ``table``: the metrics of ``day`` (MODEL.md §6).

    ``flows`` holds the day's :data:`FLOWS`; ``revenue`` and ``cost`` are the day's money.
    ``how`` says how the census is taken (IDLE, FULL, COUNTED or DELTA, see above; COUNTED:
    into ``rec.part``/``rec.aud``; DELTA: from ``lists``, see :func:`_census_delta`).
    ``coded``: after a full census, take every person's census bits for the next days.
    Every value is computed as the Python recorder of earlier versions did, in the same
    order of operations (so the same bits).
    """
    acc, totals, window, sums = rec.acc, rec.totals, rec.window, rec.sums
    r = acc[_ACC_ROWS]
    row = table[r]
    acc[_ACC_REF] += flows[FLOW.joins_referral]
    acc[_ACC_ORG] += flows[FLOW.joins_organic]
    acc[_ACC_ADS] += flows[FLOW.joins_ads]
    totals[0] = totals[0] + revenue
    totals[1] = totals[1] + cost
    if how == IDLE and r > 0:
        row[:] = table[r - 1]
        members = np.int64(row[COL.members])
    else:
        c = rec.census
        audience = 0.0
        if how == DELTA:  # (no KOL, so no audience: there was none, and none was recruited)
            _census_delta(day, st, rec, lists, flows, indptr, indices, commit_threshold)
        else:
            if how != COUNTED:
                rec.part[:] = 0
                _census_chunks_serial(st.status, st.role, st.source, st.intimacy,
                                      st.influence, st.paying, st.funnel, st.kol_referrals,
                                      indptr, contacts, commit_threshold, rec.part, rec.aud)
            c[:_REFS] = rec.part.sum(axis=0)
            for value in rec.aud:  # partial audiences added in chunk order
                audience += value
            c[_REFS] = st.referrals.sum()
            _retention_nb(day, st, rec)
            acc[_ACC_CODED] = 0
            acc[_ACC_EVER] = -1
            if coded and c[1] == 0:
                _code_all(st, rec, commit_threshold)
        members = c[0]
        ever = len(st.status) - c[5]
        refs = c[_REFS]
        seed_refs = 0
        for t in range(len(rec.seed_idx)):
            seed_refs += st.referrals[rec.seed_idx[t]]
        top_all = 0
        top_nonseed = 0
        if refs:
            if acc[_ACC_EVER] < 0:
                acc[_ACC_EVER] = _list_ever(st.status, rec.ever)
            top_all, top_nonseed = _top_shares_nb(rec.ever[:acc[_ACC_EVER]], st.intimacy,
                                                  st.referrals, rec.seed_mask, 0.2)
        row[COL.members] = members
        row[COL.kols] = c[1]
        row[COL.actives] = c[2]
        row[COL.lurkers] = c[3]
        row[COL.churned] = c[4]
        row[COL.non_users] = c[5]
        row[COL.k_factor] = _ratio_nb(acc[_ACC_REF], ever)
        row[COL.referral_share] = _ratio_nb(c[6], members)
        row[COL.contributor_share] = _ratio_nb(c[1] + c[2], members)
        row[COL.commitment_share] = _ratio_nb(c[7], members)
        row[COL.top20_referral_share] = _ratio_nb(top_all, refs) if refs else np.nan
        row[COL.kol_audience] = audience
        row[COL.kol_referrals] = c[9]
        row[COL.paying_members] = c[8]
        row[COL.funnel_reached] = c[10]
        row[COL.funnel_invited] = c[11]
        row[COL.funnel_joined] = c[12]
        row[COL.funnel_active] = c[13]
        row[COL.funnel_paying] = c[14]
        row[COL.lurker_share] = _ratio_nb(c[3], members)
        row[COL.seed_referrals] = seed_refs
        row[COL.seed_referral_share] = _ratio_nb(seed_refs, refs)
        row[COL.nonseed_top20_referral_share] = (
            _ratio_nb(top_nonseed, refs - seed_refs) if refs > seed_refs else np.nan)
        sizes = rec.sizes
        row[COL.retention_referral] = _ratio_nb(sizes[5], sizes[1])
        row[COL.retention_organic] = _ratio_nb(sizes[6], sizes[2])
        row[COL.retention_ads] = _ratio_nb(sizes[7], sizes[3])
    # the window of the last WINDOW days' (referral joins, members, operator and member
    # activities)
    today = (flows[FLOW.joins_referral], members, flows[FLOW.operator_activities],
             flows[FLOW.member_activities])
    w0, wn = acc[_ACC_W0], acc[_ACC_WN]
    if wn == WINDOW:  # the oldest day leaves
        for f in range(4):
            sums[f] -= window[w0, f]
        w0 = (w0 + 1) % WINDOW
        wn -= 1
    slot = (w0 + wn) % WINDOW
    for f in range(4):
        window[slot, f] = today[f]
        sums[f] += today[f]
    wn += 1
    acc[_ACC_W0], acc[_ACC_WN] = w0, wn
    row[COL.day] = day
    row[COL.joins_seed] = acc[_ACC_SEED]
    row[COL.joins_mass_pull] = acc[_ACC_MASS]
    row[COL.joins_referral] = acc[_ACC_REF]
    row[COL.joins_organic] = acc[_ACC_ORG]
    row[COL.joins_ads] = acc[_ACC_ADS]
    row[COL.invites_sent] = flows[FLOW.invites_sent]
    row[COL.k_factor_30d] = _ratio_nb(sums[0], sums[1] / wn)
    row[COL.self_org_share] = _ratio_nb(sums[3], sums[2] + sums[3])
    row[COL.kol_reach] = flows[FLOW.kol_invites]
    row[COL.revenue] = totals[0]
    row[COL.cost] = totals[1]
    row[COL.croi] = _ratio_nb(totals[0] - totals[1], totals[1])
    row[COL.cost_per_retained_member] = _ratio_nb(totals[1], members)
    row[COL.posts] = flows[FLOW.posts]
    row[COL.operator_activities] = flows[FLOW.operator_activities]
    row[COL.member_activities] = flows[FLOW.member_activities]
    acc[_ACC_ROWS] = r + 1


@cached
def _record_idle_nb(day0, days, content_per_week, activities_per_month, cost_per_post,
                    cost_per_activity, cost_per_kol_month, ad_price, flows, st, indptr,
                    indices, contacts, commit_threshold, rec, table, lists):
    """Write the rows of the ``days`` idle days ``day0, day0 + 1, ...``.

    See :meth:`Recorder.record_idle_days`: each day's posts and activities, their cost (the
    engines' :func:`sim.rules.daily_cost` with no KOL and no ad), and :func:`_record_nb`'s row.
    """
    for day in range(day0, day0 + days):
        posts = events_on_day(day, content_per_week, 7.0)
        activities = events_on_day(day, activities_per_month, 30.0)
        cost = daily_cost(posts, activities, 0, 0, cost_per_post, cost_per_activity,
                          cost_per_kol_month, ad_price)
        flows[:] = 0
        flows[FLOW.posts] = posts
        flows[FLOW.operator_activities] = activities
        _record_nb(day, IDLE, False, flows, 0.0, cost, st, indptr, indices, contacts,
                   commit_threshold, rec, table, lists)


@cached(inline="always")
def _ratio_nb(num, den):
    """``num / den`` as floats, NaN when ``den`` is 0 (as :func:`_ratio`)."""
    return np.float64(num) / np.float64(den) if den else np.nan


@cached
def _retention_nb(day, st, rec):
    """Each source's cohort (joined in days 1..30) and its members today, into ``rec.sizes``.

    ``rec.cohort[i]`` is 1, 2, 3 for a person of the referral, organic, ads cohort: drawn
    again every day from the join days until the end of day COHORT_DAYS, then frozen.
    ``rec.sizes`` gets each cohort's size (slots 0-3, 0: no cohort) and members (4-7).
    Passes over everyone without branches (so that they vectorise): the cohorts while they
    are drawn, then the counts.
    """
    cohort, sizes = rec.cohort, rec.sizes
    status, join_day, source = st.status, st.join_day, st.source
    n = len(status)
    if not rec.acc[_ACC_FROZEN]:
        # each person's cohort, in a loop of its own: 1.4-1.6x faster than counting in it
        for i in range(n):
            cohort[i] = _cohort_of(join_day[i], source[i])
        if day >= COHORT_DAYS:
            rec.acc[_ACC_FROZEN] = 1
    c1 = c2 = c3 = m0 = m1 = m2 = m3 = 0
    for i in range(n):
        code = cohort[i]
        m = status[i] == MEMBER
        c1 += code == 1
        c2 += code == 2
        c3 += code == 3
        m0 += m
        m1 += m & (code == 1)
        m2 += m & (code == 2)
        m3 += m & (code == 3)
    sizes[0], sizes[1], sizes[2], sizes[3] = n - c1 - c2 - c3, c1, c2, c3
    sizes[4], sizes[5], sizes[6], sizes[7] = m0 - m1 - m2 - m3, m1, m2, m3


class Recorder:
    """The metrics of a run, one row a day, computed by :func:`_record_nb`.

    Args:
        model: the model whose run is recorded (its graph, state and parameters are read).
    """

    def __init__(self, model: GrowthModel) -> None:
        """Start the record of ``model``'s run: joins counted from seeding, totals at zero."""
        st = model.state
        n = st.n
        self.indptr = model.graph.indptr
        self.indices = model.graph.indices
        self.contacts = int(model.graph.contacts)
        self.threads = use_threads(model.params.n)
        self.n = n
        acc = np.zeros(11, np.int64)
        acc[_ACC_EVER] = -1
        acc[_ACC_SEED] = int((st.source == SEED).sum())
        acc[_ACC_MASS] = int((st.source == MASS_PULL).sum())
        # the seeds: persons whose source is SEED after seeding (a seed who churns and
        # rejoins stays a seed), and their mask for the non-seed top share
        seed_idx = np.flatnonzero(st.source == SEED)
        seed_mask = np.zeros(n, np.bool_)
        seed_mask[seed_idx] = True
        self.arrays = RecArrays(
            acc=acc, totals=np.zeros(3, np.float64), window=np.zeros((WINDOW, 4), np.int64),
            sums=np.zeros(4, np.int64), seed_idx=seed_idx, seed_mask=seed_mask,
            cohort=np.zeros(n, np.int8), ever=np.empty(n, np.int64),
            part=np.zeros((CHUNKS, len(CENSUS)), np.int64), aud=np.zeros(CHUNKS, np.float64),
            sizes=np.zeros(8, np.int64), census=np.zeros(len(CENSUS) + 1, np.int64),
            code=np.zeros(0, np.uint16), spare=np.empty(0, np.int64))  # (sized when needed)
        self.flows = np.zeros(len(FLOWS), np.int64)
        ids = self.indices.dtype  # as an engine's lists of persons (Work.changed)
        self._no_lists = (np.empty(0, ids), np.empty(0, ids), np.zeros(3, np.int64))
        horizon = getattr(model, "horizon", 0)
        self.table = np.zeros((max(int(horizon), 0) + 1, len(TIMESERIES_COLUMNS)), np.float64)
        self._direct = Direct(_record_nb)
        self._direct_idle = Direct(_record_idle_nb)
        self._row: tuple[int, dict] | None = None  # the last row as a dict, when asked
        self.kept_days = 0  # days whose census was kept from the changed persons

    @property
    def n_rows(self) -> int:
        """The rows recorded so far (day 0 is row 0)."""
        return int(self.arrays.acc[_ACC_ROWS])

    def record_row(self, model: GrowthModel, flows: np.ndarray, revenue: float, cost: float,
                   st: tuple | None = None, changed: tuple | None = None, *,
                   unedited: bool = False, ahead: bool = False) -> None:
        """Record the row of ``model.day`` from the day's :data:`FLOWS` and money.

        Args:
            model: the model, after the day's phases 1-7.
            flows: the day's :data:`FLOWS` (int64; an engine's counts array may be longer).
            revenue: the day's revenue.
            cost: the day's cost.
            st: ``model.state``'s arrays as a :class:`sim.kernels.StateArrays`-like tuple
                (made here if None).
            changed: the persons the day may have changed, as
                :meth:`sim.kernels.Work.changed` (None: unknown).
            unedited: nothing but the engine changed the state since the last row.
            ahead: more days follow, with nothing but the engine in between.

        On a graph, while ``changed`` lists few persons (under 1/:data:`DELTA_SHARE` of
        everyone) and ``unedited`` holds, the census is kept from the last row's
        (:func:`_census_delta`), with the same counts; after a full census of such a day,
        with ``ahead``, every person's part of it is kept for the next days.
        An idle day's row: :meth:`record_idle_days`.
        """
        if self.n_rows == len(self.table):  # a model without a horizon: grow
            self.table = np.concatenate([self.table, np.zeros_like(self.table)])
        if st is None:
            st = _state_tuple(model.state)
        threshold = float(model.params.commit_threshold)
        how, coded, lists = FULL, False, self._no_lists
        if changed is not None and self.contacts == 0:  # (well mixed: contacts not kept)
            lists = changed
            listed = changed[2]
            if (int(listed[0]) + int(listed[2])) * DELTA_SHARE < self.n:
                a = self.arrays
                if (unedited and a.acc[_ACC_CODED] and a.totals[_TOT_CODED] == threshold
                        and flows[FLOW.recruited_kols] == 0 and a.census[1] == 0):
                    how = DELTA
                    self.kept_days += 1
                elif ahead and a.census[1] == 0:  # (with KOLs, none would be kept)
                    coded = True
                    if len(a.code) != self.n:
                        self.arrays = a._replace(code=np.zeros(self.n, np.uint16),
                                                 spare=np.empty(self.n, np.int64))
        if how == FULL and self.threads:
            how = COUNTED
            part, aud = self.arrays.part, self.arrays.aud
            part[:] = 0
            _census_chunks_parallel(st.status, st.role, st.source, st.intimacy, st.influence,
                                    st.paying, st.funnel, st.kol_referrals, self.indptr,
                                    self.contacts, threshold, part, aud)
        self._direct((type(st), *st, flows, self.table, lists[0]),
                     int(model.day), how, coded, flows, float(revenue), float(cost), st,
                     self.indptr, self.indices, self.contacts, threshold, self.arrays,
                     self.table, lists)

    def record_idle_days(self, model: GrowthModel, first: int, days: int) -> None:
        """Record the rows of the ``days`` idle days ``first, first + 1, ...``, in one call.

        An idle day is one on which no person can change (see
        :meth:`sim.model.GrowthModel.step`): the operator still publishes its posts, holds
        its activities and pays for them under ``model.params``; nothing else happens (no
        revenue, every other count 0), and the census, shares and retention of the last row
        stand. Both engines give exactly these rows on such a day (tests/test_model.py runs
        with and without idle days skipped). The caller knows that nothing replaces
        ``model.params`` in between.
        """
        while self.n_rows + days > len(self.table):  # a model without a horizon: grow
            self.table = np.concatenate([self.table, np.zeros_like(self.table)])
        p = model.params
        st = _state_tuple(model.state)
        self._direct_idle(
            (type(st), *st, self.flows, self.table), int(first), int(days),
            float(p.content_per_week), float(p.activities_per_month), float(p.cost_per_post),
            float(p.cost_per_activity), float(p.cost_per_kol_month), float(p.ads_cost_per_join),
            self.flows, st, self.indptr, self.indices, self.contacts, float(p.commit_threshold),
            self.arrays, self.table, self._no_lists)

    def record(self, model: GrowthModel, counts: DayCounts | None) -> dict:
        """Record the row of ``model.day`` (day 0: after seeding) and return it as a dict.

        Args:
            model: the model, after the day's phases 1-7.
            counts: the day's counts (None on day 0).
        """
        self.record_counts(model, counts)
        return self.last()

    def record_counts(self, model: GrowthModel, counts: DayCounts | None) -> None:
        """:meth:`record` without making the row's dict."""
        counts = counts or DayCounts()
        flows = self.flows
        for k, name in enumerate(FLOWS):
            flows[k] = getattr(counts, name)
        self.record_row(model, flows, counts.revenue, counts.cost)

    def last(self) -> dict:
        """The last row as a dict (ints for counts, floats otherwise); empty if none."""
        r = self.n_rows
        if r == 0:
            return {}
        if self._row is None or self._row[0] != r:
            values = self.table[r - 1].tolist()
            for k in _INT_IDX:
                values[k] = int(values[k])
            self._row = (r, dict(zip(TIMESERIES_COLUMNS, values)))
        return self._row[1]

    def value(self, name: str) -> float:
        """Column ``name`` of the last row (a float)."""
        return float(self.table[self.n_rows - 1, getattr(COL, name)])

    def column(self, name: str, start: int = 0) -> np.ndarray:
        """Column ``name`` of rows ``start`` on (int64 for counts, float64 otherwise)."""
        values = self.table[start:self.n_rows, COL._fields.index(name)]
        return values.astype(np.int64) if name in INT_COLUMNS else values.copy()

    def columns(self) -> dict[str, np.ndarray]:
        """All recorded rows by column (:data:`TIMESERIES_COLUMNS`), as :meth:`column` gives."""
        return {name: self.column(name) for name in TIMESERIES_COLUMNS}

    def timeseries(self) -> pd.DataFrame:
        """All recorded rows, one per day, columns :data:`TIMESERIES_COLUMNS`."""
        return pd.DataFrame(self.columns())


def _state_tuple(state: PopulationState):
    """The arrays the recorder reads, by name (any object with these attributes)."""
    return _StateView(state.status, state.role, state.source, state.intimacy, state.influence,
                      state.paying, state.funnel, state.kol_referrals, state.referrals,
                      state.join_day)


_StateView = namedtuple("_StateView", [
    "status", "role", "source", "intimacy", "influence", "paying", "funnel", "kol_referrals",
    "referrals", "join_day"])


def milestone_days(members: pd.Series | np.ndarray, days, levels) -> dict[str, int | None]:
    """First day on which ``members >= level``, for each level (None if never)."""
    members = np.asarray(members)
    days = np.asarray(days)
    out: dict[str, int | None] = {}
    for level in levels:
        hit = np.flatnonzero(members >= level)
        out[str(level)] = int(days[hit[0]]) if len(hit) else None
    return out


def _clean(value):
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def _column(ts, name: str) -> np.ndarray:
    """Column ``name`` of a timeseries given as a DataFrame or as arrays by name."""
    return ts[name].to_numpy() if isinstance(ts, pd.DataFrame) else np.asarray(ts[name])


def _on_day(days: np.ndarray, values: np.ndarray, day: int):
    """The value of the first row of ``day`` (NaN when no row has that day)."""
    hit = np.flatnonzero(days == day)
    return values[hit[0]] if len(hit) else math.nan


def summarize(ts: pd.DataFrame | Mapping[str, np.ndarray], info: dict, milestones) -> dict:
    """The run summary: final values of every metric, milestone days and run totals.

    Args:
        ts: the run's timeseries (:meth:`Recorder.timeseries`), or its columns as arrays by
            name (:meth:`Recorder.columns`: the same summary without a DataFrame).
        info: run facts to include (scenario, seed, engine, population, ...).
        milestones: member levels; the first three are reported as ``day_origin``,
            ``day_inflection`` and ``day_explosion``.

    Returns:
        A JSON-ready dict (NaN becomes None).
    """
    col = {name: _column(ts, name) for name in TIMESERIES_COLUMNS}
    day = col["day"]
    days = milestone_days(col["members"], day, milestones)
    out: dict = dict(info)
    for i, name in enumerate(MILESTONE_NAMES):
        out[f"day_{name}"] = days[str(milestones[i])] if i < len(milestones) else None
    out["milestones"] = days
    for name in TIMESERIES_COLUMNS:
        if name in ("day", "invites_sent", "kol_reach", "posts", "operator_activities",
                    "member_activities"):
            continue
        out[name] = _clean(col[name][-1])
    out["invites_sent"] = int(col["invites_sent"].sum())
    out["kol_reach"] = int(col["kol_reach"].sum())
    out["posts"] = int(col["posts"].sum())
    out["operator_activities"] = int(col["operator_activities"].sum())
    out["member_activities"] = int(col["member_activities"].sum())
    out["peak_members"] = int(col["members"].max())
    out["funnel"] = {name: int(col[f"funnel_{name}"][-1]) for name, _ in FUNNEL_STAGES}
    out["retention_by_source"] = {
        name: {str(d): _clean(_on_day(day, col[f"retention_{name}"], d))
               for d in RETENTION_DAYS}
        for name in RETENTION_SOURCES
    }
    for d in RETENTION_DAYS:
        out[f"retention_{d}"] = out["retention_by_source"]["referral"][str(d)]
    out["nonseed_referral_share_90d"] = _clean(nonseed_share_window(col, FISSION_WINDOW))
    out["busiest_joins_30d_start"] = busiest_window_start(col, WINDOW)
    n = info.get("population")
    fit = None
    if n:
        ever = n - col["non_users"].astype(np.float64) - float(col["members"][0])
        fit = fit_bass(day, ever, n)
    out["bass_p"], out["bass_q"] = (fit[0], fit[1]) if fit is not None else (None, None)
    out["cost_to_milestone"] = {
        level: None if d is None else float(_on_day(day, col["cost"], d))
        for level, d in days.items()
    }
    return out


def nonseed_share_window(ts: pd.DataFrame | Mapping[str, np.ndarray],
                         window: int = FISSION_WINDOW) -> float:
    """Share of the referral joins of the run's last ``window`` days credited to non-seeds.

    Uses the cumulative ``joins_referral`` and ``seed_referrals`` columns between the last
    day ``T`` and day ``T - window`` (day 0 for a shorter run).

    Args:
        ts: a run's timeseries (a DataFrame, or its columns as arrays by name).
        window: days.

    Returns:
        ``1 - seed referrals / all referral joins`` over the window; NaN with no referral
        joins in it.
    """
    day = _column(ts, "day")
    end = len(day) - 1
    start = int(np.searchsorted(day, max(int(day[end]) - window, int(day[0]))))
    referral, seed = _column(ts, "joins_referral"), _column(ts, "seed_referrals")
    joins = float(referral[end] - referral[start])
    seeds = float(seed[end] - seed[start])
    return 1.0 - seeds / joins if joins > 0 else math.nan


JOIN_COLUMNS = ("joins_seed", "joins_mass_pull", "joins_referral", "joins_organic", "joins_ads")


def busiest_window_start(ts: pd.DataFrame | Mapping[str, np.ndarray],
                         window: int = WINDOW) -> int | None:
    """First day of the ``window``-day span with the most joins (all sources), from day 1.

    Daily joins are the day-to-day differences of the cumulative ``joins_*`` columns (the
    seeding and mass pull of day 0 are not a day of joins). The earliest such span wins ties;
    a run shorter than ``window`` days counts its whole length.

    Args:
        ts: a run's timeseries (a DataFrame, or its columns as arrays by name).
        window: days.

    Returns:
        The span's first day, or None for a run without a day 1.
    """
    cum = _column(ts, JOIN_COLUMNS[0])
    for name in JOIN_COLUMNS[1:]:  # summed in column order, as DataFrame.sum(axis=1)
        cum = cum + _column(ts, name)
    daily = np.diff(cum.astype(np.float64))
    if len(daily) == 0:
        return None
    w = min(window, len(daily))
    sums = np.convolve(daily, np.ones(w), mode="valid")
    return int(_column(ts, "day")[1 + int(np.argmax(sums))])


def _bass_shape(t: np.ndarray, p, q):
    """The Bass curve of a market of 1: ``(1 - e^{-(p+q)t}) / (1 + (q/p) e^{-(p+q)t})``."""
    e = np.exp(-(p + q) * t)
    return (1.0 - e) / (1.0 + (q / p) * e)


BASS_GRID = np.logspace(-3, 2, 41)  # per year: the starting grid of p and of q
_BASS_GRIDS: dict[bytes, tuple] = {}  # the grid's curves for the last few sets of days


def _bass_grid(ts: np.ndarray) -> tuple:
    """``(p, q, g, gg)``: the grid of :data:`BASS_GRID`, its curves and their squared norms.

    ``g`` holds the Bass curves at the times ``ts`` (p x q x t) and ``gg`` their squared
    norms (at least 1e-300). They depend on the times only, so the runs of a sweep or a
    calibration (the same days) share them: kept for the last few sets of times, read-only.
    """
    key = ts.tobytes()
    grid = _BASS_GRIDS.get(key)
    if grid is None:
        with np.errstate(all="ignore"):
            p, q = np.meshgrid(BASS_GRID, BASS_GRID, indexing="ij")
            g = _bass_shape(ts[None, None, :], p[..., None], q[..., None])
            gg = np.maximum((g * g).sum(axis=2), 1e-300)
        for a in (p, q, g, gg):
            a.setflags(write=False)
        if len(_BASS_GRIDS) >= 4:
            _BASS_GRIDS.pop(next(iter(_BASS_GRIDS)))
        grid = _BASS_GRIDS[key] = (p, q, g, gg)
    return grid


def fit_bass(days, cumulative, n: float) -> tuple[float, float, float] | None:
    """Fit the Bass model to a cumulative adoption curve by least squares.

    The closed form ``F(t) = m (1 - e^{-(p+q)t}) / (1 + (q/p) e^{-(p+q)t})`` with ``t`` in
    years (``day / 365``) is fitted with ``p > 0``, ``q >= 0`` and
    ``max(cumulative) <= m <= n``. For given ``p`` and ``q`` the best ``m`` is a linear least
    squares solution; a grid of ``p`` and ``q`` (0.001 to 100 per year) finds the best start,
    which ``scipy.optimize.least_squares`` then refines in ``(log p, log q, m)``.

    Args:
        days: the day of each value (day 0: no adopters yet).
        cumulative: adopters so far on each day (e.g. ever-members less the members of
            day 0).
        n: the population (the largest market potential).

    Returns:
        ``(p, q, m)`` with ``p`` and ``q`` per year, or None when there are fewer than 10
        days, or fewer than 10 days on which the adopters changed, or no adoption. Never
        raises.
    """
    from scipy.optimize import least_squares

    t = np.asarray(days, np.float64) / 365.0
    y = np.asarray(cumulative, np.float64)
    ok = np.isfinite(t) & np.isfinite(y)
    t, y = t[ok], y[ok]
    if len(t) < 10 or not np.any(y > 0) or not n or n <= 0:
        return None
    if np.count_nonzero(np.diff(y)) < 10:  # three parameters from a few steps: no estimate
        return None  # (a cascade that stopped within days; the search would wander long)
    top = float(y.max())
    lo_m, hi_m = top, max(float(n), top * (1 + 1e-9) + 1e-9)
    # the grid search on at most 400 of the days (a long run would need much memory)
    pick = np.unique(np.linspace(0, len(t) - 1, min(len(t), 400)).astype(np.int64))
    ts, ys = t[pick], y[pick]
    p, q, g, gg = _bass_grid(ts)
    with np.errstate(all="ignore"):
        m = np.clip((g @ ys) / gg, lo_m, hi_m)
        r = m[..., None] * g  # the residuals m g - ys, squared, in one buffer: the same
        r -= ys  # operations as ((m g - ys) ** 2), without two more grid-sized arrays
        r *= r  # (4.4 against 0.6 ms for a 181-day run)
        sse = r.sum(axis=2)
    sse = np.where(np.isfinite(sse), sse, np.inf)
    a, b = np.unravel_index(int(np.argmin(sse)), sse.shape)
    best = (float(p[a, b]), float(q[a, b]), float(m[a, b]))
    best_sse = float(((best[2] * _bass_shape(t, best[0], best[1]) - y) ** 2).sum())

    def residuals(x):
        return (x[2] * _bass_shape(t, math.exp(x[0]), math.exp(x[1])) - y) / top

    try:
        with np.errstate(all="ignore"):
            fit = least_squares(residuals, (math.log(best[0]), math.log(best[1]), best[2]),
                                bounds=([-30.0, -30.0, lo_m], [10.0, 10.0, hi_m]),
                                max_nfev=500)
        if np.isfinite(fit.cost) and 2 * fit.cost * top * top <= best_sse:
            best = (math.exp(fit.x[0]), math.exp(fit.x[1]), float(fit.x[2]))
    except (ValueError, FloatingPointError, np.linalg.LinAlgError):
        pass
    return best
