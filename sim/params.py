"""Flat numeric parameters of a run, derived once from a :class:`~sim.config.Scenario`.

Engines read these plain floats/ints instead of walking the nested pydantic models in
their inner loops; the compiled engine passes the same values to its kernels.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from .codes import GATE_KINDS
from .config import Scenario


@dataclass(frozen=True, slots=True)
class Params:
    """Every number the daily phases use (names follow MODEL.md §8 key paths)."""

    seed: int
    n: int
    contacts: int
    weighted: bool
    # program
    content_per_week: float
    content_reach: float
    kol_reach_bonus: float
    content_gain: float
    activities_per_month: float
    attend_base: float
    attend_slope: float
    activity_gain: float
    self_org_rate: float
    task_start: int
    task_days: int
    task_gain: float
    task_boost: float
    empower_rate: float
    influence_cap: float
    recruit_every: int
    recruit_count: int
    recruit_min_intimacy: float
    amplification: bool
    amplification_factor: float
    gate: int  # codes.GATE_NONE / GATE_REVIEW / GATE_PAYMENT
    gate_min_fit: float
    gate_pass_prob: float
    gate_bonus: float
    ads_budget: float
    ads_cost_per_join: float
    # rules
    invite_rate: float
    mult_lurker: float
    mult_active: float
    mult_kol: float
    rejoin_factor: float
    convert_prob: float
    fatigue: float
    organic_rate: float
    join_referral: float
    join_organic: float
    join_ads: float
    interact_gain: float
    interact_half: float
    active_threshold: float
    hysteresis: float
    trough_days: int
    trough_dropout: float
    decay: float
    churn_base: float
    churn_protect: float
    misfit_penalty: float
    commit_threshold: float
    # economics
    fee_per_year: float
    pay_rate: float
    purchase_rate: float
    price: float
    cost_per_post: float
    cost_per_activity: float
    cost_per_kol_month: float

    @classmethod
    def from_scenario(cls, sc: Scenario, n: int, contacts: int, weighted: bool) -> "Params":
        """Flatten ``sc`` for a population of ``n`` persons."""
        pr, r, e = sc.program, sc.rules, sc.economics
        return cls(
            seed=sc.seed,
            n=n,
            contacts=contacts,
            weighted=weighted,
            content_per_week=pr.content_per_week,
            content_reach=pr.content_reach,
            kol_reach_bonus=pr.kol_reach_bonus,
            content_gain=pr.content_gain,
            activities_per_month=pr.activities_per_month,
            attend_base=pr.attend_base,
            attend_slope=pr.attend_slope,
            activity_gain=pr.activity_gain,
            self_org_rate=pr.self_org_rate,
            task_start=pr.common_task.start,
            task_days=pr.common_task.days,
            task_gain=pr.common_task.intimacy_gain,
            task_boost=pr.common_task.invite_boost,
            empower_rate=pr.empowerment.rate,
            influence_cap=pr.empowerment.influence_cap,
            recruit_every=pr.recruit.every_days,
            recruit_count=pr.recruit.count,
            recruit_min_intimacy=pr.recruit.min_intimacy,
            amplification=pr.amplification.enabled,
            amplification_factor=pr.amplification.factor,
            gate=GATE_KINDS[pr.entry_gate.kind],
            gate_min_fit=pr.entry_gate.min_fit,
            gate_pass_prob=pr.entry_gate.pass_prob,
            gate_bonus=pr.entry_gate.intimacy_bonus,
            ads_budget=pr.ads.daily_budget,
            ads_cost_per_join=pr.ads.cost_per_join,
            invite_rate=r.invite_rate,
            mult_lurker=r.role_mult.lurker,
            mult_active=r.role_mult.active,
            mult_kol=r.role_mult.kol,
            rejoin_factor=r.rejoin_factor,
            convert_prob=r.convert_prob,
            fatigue=r.fatigue,
            organic_rate=r.organic_rate,
            join_referral=r.join_intimacy.referral,
            join_organic=r.join_intimacy.organic,
            join_ads=r.join_intimacy.ads,
            interact_gain=r.interact_gain,
            interact_half=r.interact_half,
            active_threshold=r.active_threshold,
            hysteresis=r.hysteresis,
            trough_days=r.trough_days,
            trough_dropout=r.trough_dropout,
            decay=r.decay,
            churn_base=r.churn_base,
            churn_protect=r.churn_protect,
            misfit_penalty=r.misfit_penalty,
            commit_threshold=r.commit_threshold,
            fee_per_year=e.fee_per_year,
            pay_rate=e.pay_rate,
            purchase_rate=e.purchase_rate,
            price=e.price,
            cost_per_post=e.cost_per_post,
            cost_per_activity=e.cost_per_activity,
            cost_per_kol_month=e.cost_per_kol_month,
        )

    def as_dict(self) -> dict:
        """All values by name."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class DayCounts:
    """What happened on one day (reset every day by the engine)."""

    posts: int = 0
    operator_activities: int = 0
    member_activities: int = 0
    invites_sent: int = 0
    kol_invites: int = 0
    joins_referral: int = 0
    joins_organic: int = 0
    joins_ads: int = 0
    ads_bought: int = 0
    kol_credited: int = 0
    recruited_kols: int = 0
    trough_dropouts: int = 0
    churns: int = 0
    revenue: float = 0.0
    cost: float = 0.0
