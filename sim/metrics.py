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
from collections import deque
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numba import prange

from .codes import (
    ACTIVE,
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
    REFERRAL,
    SEED,
)
from .jit import cached, threaded
from .params import DayCounts
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
)


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den else math.nan


BINS = 4096  # intimacy bins of the top-share selection


@cached
def _top_share_nb(status, intimacy, referrals, top):
    """Referral joins credited to the top ``top`` of ever-members by (intimacy desc, index).

    A selection in linear time without sorting: a histogram of intimacy (in [0, 1]) finds
    the bin holding the boundary; everyone in a higher bin is in the top, and only the
    boundary bin is ranked exactly (by intimacy, ties by index).
    """
    hist = np.zeros(BINS, np.int64)
    m = 0
    for i in range(len(status)):
        if status[i] != NON_USER:
            hist[min(np.int64(intimacy[i] * BINS), BINS - 1)] += 1
            m += 1
    k = int(math.ceil(top * m))
    if k == 0:
        return 0
    b = BINS - 1  # the boundary bin: the top holds `above` persons of higher bins
    above = 0
    while above + hist[b] < k:
        above += hist[b]
        b -= 1
    vals = np.empty(hist[b], np.float64)
    ids = np.empty(hist[b], np.int64)
    credited = 0
    c = 0
    for i in range(len(status)):
        if status[i] != NON_USER:
            bi = min(np.int64(intimacy[i] * BINS), BINS - 1)
            if bi > b:
                credited += referrals[i]
            elif bi == b:
                vals[c] = -intimacy[i]
                ids[c] = i
                c += 1
    r = k - above  # persons of the boundary bin in the top: its r highest, ties by index
    if vals.min() == vals.max():  # one value (e.g. constant intimacy): all tied
        threshold = vals[0]
    else:
        threshold = np.partition(vals, r - 1)[r - 1]  # -(r-th largest intimacy in the bin)
    taken = 0
    for t in range(c):  # strictly above the threshold
        if vals[t] < threshold:
            credited += referrals[ids[t]]
            taken += 1
    for t in range(c):  # ties at the threshold, by index
        if taken == r:
            break
        if vals[t] == threshold:
            credited += referrals[ids[t]]
            taken += 1
    return credited


def top_share(state: PopulationState, top: float = 0.2) -> float:
    """Share of referral joins credited to the top ``top`` fraction of ever-members by intimacy.

    Ever-members are ranked by intimacy (highest first, ties by index); NaN if no referrals.
    """
    total = int(state.referrals.sum())
    if total == 0:
        return math.nan
    return float(_top_share_nb(state.status, state.intimacy, state.referrals, top)) / total


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
        committed += (status[i] == MEMBER) & (intimacy[i] >= commit_threshold)
    for i in range(len(status)):
        kol_refs += kol_referrals[i]
    f0 = f1 = f2 = f3 = f4 = 0
    for i in range(len(status)):
        f = funnel[i]
        f0 += (f & F_REACHED) != 0
        f1 += (f & F_INVITED) != 0
        f2 += (f & F_JOINED) != 0
        f3 += (f & F_ACTIVE) != 0
        f4 += (f & F_PAYING) != 0
    audience = 0.0
    for i in range(len(status)):
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


class Recorder:
    """Accumulates the daily metrics of one run (phase 8, 'Record')."""

    def __init__(self, model: GrowthModel) -> None:
        """Start the record of ``model``'s run: joins counted from seeding, totals at zero.

        Args:
            model: the model whose run is recorded (its graph, state and parameters are read).
        """
        st = model.state
        self.indptr = model.graph.indptr
        self.contacts = model.graph.contacts
        self.threads = use_threads(model.params.n)
        self.joins = {
            "joins_seed": int((st.source == SEED).sum()),
            "joins_mass_pull": int((st.source == MASS_PULL).sum()),
            "joins_referral": 0,
            "joins_organic": 0,
            "joins_ads": 0,
        }
        self.invites_sent = 0
        self.revenue = 0.0
        self.cost = 0.0
        # the last WINDOW days' (referral joins, members, operator and member activities),
        # and their running sums
        self.window: deque[tuple[int, int, int, int]] = deque()
        self.window_sums = [0, 0, 0, 0]
        self.part = np.zeros((CHUNKS, len(CENSUS)), np.int64)  # census buffers, reused daily
        self.aud = np.zeros(CHUNKS, np.float64)
        self.rows: list[dict] = []

    def record(self, model: GrowthModel, counts: DayCounts | None) -> dict:
        """Append and return the metrics row of ``model.day`` (day 0: after seeding)."""
        st = model.state
        counts = counts or DayCounts()
        self.joins["joins_referral"] += counts.joins_referral
        self.joins["joins_organic"] += counts.joins_organic
        self.joins["joins_ads"] += counts.joins_ads
        self.invites_sent += counts.invites_sent
        self.revenue += counts.revenue
        self.cost += counts.cost

        part, aud = self.part, self.aud
        part[:] = 0
        chunks = _census_chunks_parallel if self.threads else _census_chunks_serial
        chunks(st.status, st.role, st.source, st.intimacy, st.influence, st.paying, st.funnel,
               st.kol_referrals, self.indptr, self.contacts, model.params.commit_threshold,
               part, aud)
        audience = 0.0
        for value in aud:  # partial audiences added in chunk order: same for any thread count
            audience += float(value)
        c = dict(zip(CENSUS, part.sum(axis=0).tolist()))
        members = c["members"]
        ever = st.n - c["non_users"]
        today = (
            counts.joins_referral, members, counts.operator_activities, counts.member_activities
        )
        self.window.append(today)
        sums = self.window_sums
        for f in range(4):
            sums[f] += today[f]
        if len(self.window) > WINDOW:
            old = self.window.popleft()
            for f in range(4):
                sums[f] -= old[f]
        days = len(self.window)
        row = {
            "day": model.day,
            "members": members,
            "kols": c["kols"],
            "actives": c["actives"],
            "lurkers": c["lurkers"],
            "churned": c["churned"],
            "non_users": c["non_users"],
            **self.joins,
            "invites_sent": counts.invites_sent,
            "k_factor": _ratio(self.joins["joins_referral"], ever),
            "k_factor_30d": _ratio(sums[0], sums[1] / days),
            "referral_share": _ratio(c["referral_members"], members),
            "contributor_share": _ratio(c["kols"] + c["actives"], members),
            "self_org_share": _ratio(sums[3], sums[2] + sums[3]),
            "commitment_share": _ratio(c["committed"], members),
            "top20_referral_share": top_share(st),
            "kol_audience": audience,
            "kol_reach": counts.kol_invites,
            "kol_referrals": c["kol_referrals"],
            "paying_members": c["paying_members"],
            "revenue": self.revenue,
            "cost": self.cost,
            "croi": _ratio(self.revenue - self.cost, self.cost),
            "cost_per_retained_member": _ratio(self.cost, members),
        }
        for name, _ in FUNNEL_STAGES:
            row[f"funnel_{name}"] = c[f"funnel_{name}"]
        row["posts"] = counts.posts
        row["operator_activities"] = counts.operator_activities
        row["member_activities"] = counts.member_activities
        self.rows.append(row)
        return row

    def timeseries(self) -> pd.DataFrame:
        """All recorded rows, one per day, columns :data:`TIMESERIES_COLUMNS`."""
        return pd.DataFrame(self.rows, columns=list(TIMESERIES_COLUMNS))


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


def summarize(ts: pd.DataFrame, info: dict, milestones) -> dict:
    """The run summary: final values of every metric, milestone days and run totals.

    Args:
        ts: the run's timeseries (:meth:`Recorder.timeseries`).
        info: run facts to include (scenario, seed, engine, population, ...).
        milestones: member levels; the first three are reported as ``day_origin``,
            ``day_inflection`` and ``day_explosion``.

    Returns:
        A JSON-ready dict (NaN becomes None).
    """
    days = milestone_days(ts["members"], ts["day"], milestones)
    out: dict = dict(info)
    for i, name in enumerate(MILESTONE_NAMES):
        out[f"day_{name}"] = days[str(milestones[i])] if i < len(milestones) else None
    out["milestones"] = days
    for col in TIMESERIES_COLUMNS:
        if col in ("day", "invites_sent", "kol_reach", "posts", "operator_activities",
                   "member_activities"):
            continue
        out[col] = _clean(ts[col].iloc[-1])
    out["invites_sent"] = int(ts["invites_sent"].sum())
    out["kol_reach"] = int(ts["kol_reach"].sum())
    out["posts"] = int(ts["posts"].sum())
    out["operator_activities"] = int(ts["operator_activities"].sum())
    out["member_activities"] = int(ts["member_activities"].sum())
    out["peak_members"] = int(ts["members"].max())
    out["funnel"] = {name: int(ts[f"funnel_{name}"].iloc[-1]) for name, _ in FUNNEL_STAGES}
    return out
