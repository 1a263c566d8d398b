"""Scenario parameters: frozen pydantic models mirroring MODEL.md §8 key paths.

Every field has a default (the documented base, identical to ``scenarios/base.yaml``) and
an allowed range. Loading YAML files (with ``extends:``, ``--set`` overrides and
file:line error messages) lives in :mod:`sim.scenario_io`; this module only defines what
a valid scenario is.

Example:
    >>> from sim.config import Scenario
    >>> sc = Scenario()
    >>> sc.rules.invite_rate > 0
    True
    >>> sc.model_copy(update={"steps": 30}).steps
    30
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field

MAX_PERSONS = 2_000_000_000  # persons, seeds, circle sizes, milestones (int32 in the kernels)
MAX_DAYS = 100_000  # horizons, task days, recruitment intervals (about 270 years)
MAX_MONEY = 1e12  # any amount of money per item, per day or per year

Prob = Annotated[float, Field(ge=0.0, le=1.0)]
NonNeg = Annotated[float, Field(ge=0.0)]
Money = Annotated[float, Field(ge=0.0, le=MAX_MONEY)]


class Strict(BaseModel):
    """Base: immutable, unknown keys are errors, every number finite (no inf, no NaN)."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


# --- population -----------------------------------------------------------------------


class BarabasiAlbert(Strict):
    """Preferential attachment: each newcomer links to ``m`` existing persons."""

    kind: Literal["barabasi_albert"] = "barabasi_albert"
    m: int = Field(5, ge=1, le=10_000, description="edges added per new person")


class WattsStrogatz(Strict):
    """Small world: a ring where each person knows ``k`` nearest, rewired with prob ``p``."""

    kind: Literal["watts_strogatz"] = "watts_strogatz"
    k: int = Field(10, ge=2, le=10_000, description="ring neighbours per person (even)")
    p: Prob = Field(0.1, description="rewiring probability")


class PowerlawCluster(Strict):
    """Holme-Kim: preferential attachment with triangle closure probability ``p``."""

    kind: Literal["powerlaw_cluster"] = "powerlaw_cluster"
    m: int = Field(5, ge=1, le=10_000, description="edges added per new person")
    p: Prob = Field(0.1, description="probability of closing a triangle after each edge")


class Circles(Strict):
    """Interest circles (圈层): a stochastic block model."""

    kind: Literal["circles"] = "circles"
    sizes: list[Annotated[int, Field(ge=1, le=MAX_PERSONS)]] | None = Field(
        None, description="circle sizes (must add up to population.size); or use count"
    )
    count: int = Field(10, ge=1, le=1_000_000, description="number of equal circles if no sizes")
    p_in: Prob = Field(0.05, description="link probability within a circle")
    p_out: Prob = Field(0.0005, description="link probability between circles")


class Complete(Strict):
    """Everybody knows everybody."""

    kind: Literal["complete"] = "complete"


class WellMixed(Strict):
    """No graph: each member meets ``contacts`` uniformly random persons each day."""

    kind: Literal["well_mixed"] = "well_mixed"
    contacts: int = Field(10, ge=1, le=1_000_000, description="random contacts per member per day")


class EdgeList(Strict):
    """A real network from a file of pairs (CSV or whitespace), optional weight column."""

    kind: Literal["edgelist"] = "edgelist"
    path: str = Field(..., min_length=1, description="file path, relative to the scenario file")
    delimiter: str | None = Field(None, description="column separator; None = auto (comma or whitespace)")
    weighted: bool = Field(False, description="third column is a weight in (0, 1] scaling invitations")


Graph = Annotated[
    Union[BarabasiAlbert, WattsStrogatz, PowerlawCluster, Circles, Complete, WellMixed, EdgeList],
    Field(discriminator="kind"),
]

GRAPH_KINDS = (
    "barabasi_albert",
    "watts_strogatz",
    "powerlaw_cluster",
    "circles",
    "complete",
    "well_mixed",
    "edgelist",
)


class Fit(Strict):
    """Fit with the community's positioning (社群定位): Beta(alpha, beta) or a constant."""

    alpha: float = Field(2.0, gt=0.0, le=1000.0, description="Beta shape alpha")
    beta: float = Field(3.0, gt=0.0, le=1000.0, description="Beta shape beta")
    constant: Prob | None = Field(None, description="if set, every person has this fit")
    circle_corr: Prob = Field(
        0.0, description="within-circle correlation of fit (circles graphs only; Gaussian copula)"
    )


class Population(Strict):
    """The persons and their social graph."""

    size: int = Field(100_000, ge=2, le=MAX_PERSONS, description="number of persons N")
    graph: Graph = Field(default_factory=BarabasiAlbert)
    fit: Fit = Field(default_factory=Fit)


# --- seeding --------------------------------------------------------------------------

SEEDING_STRATEGIES = (
    "random",
    "degree",
    "fit_degree",
    "pagerank",
    "kcore",
    "betweenness",
    "influence_max",
)


class Seeding(Strict):
    """The fry: persons who are members before day 1."""

    count: int = Field(100, ge=0, le=MAX_PERSONS, description="number of seed members")
    strategy: Literal[
        "random", "degree", "fit_degree", "pagerank", "kcore", "betweenness", "influence_max"
    ] = Field("degree", description="how seeds are chosen")
    role: Literal["lurker", "active", "kol"] = Field("kol", description="role the seeds start in")
    intimacy: Prob = Field(0.9, description="seeds' starting intimacy")


class MassPull(Strict):
    """拉群: random persons pulled into the group before day 1, as lurkers."""

    count: int = Field(0, ge=0, le=MAX_PERSONS, description="number of random persons pulled in")
    intimacy: Prob = Field(0.1, description="their starting intimacy")


# --- programme ------------------------------------------------------------------------


class CommonTask(Strict):
    """Strategy step 2: a common task for the KOLs."""

    start: int = Field(0, ge=0, le=MAX_DAYS, description="first day of the task (0 = from day 1)")
    days: int = Field(30, ge=0, le=MAX_DAYS, description="duration in days (0 = no task)")
    intimacy_gain: Prob = Field(0.05, description="daily intimacy gain of KOLs during the task")
    invite_boost: float = Field(1.5, ge=0.0, le=100.0, description="KOL invitation-rate multiplier during the task")


class Empowerment(Strict):
    """Strategy step 3: KOLs become recognised experts (IPs)."""

    rate: Prob = Field(0.01, description="daily approach of influence to influence_cap")
    influence_cap: float = Field(4.0, ge=1.0, le=1000.0, description="influence a fully empowered KOL reaches")


class Recruit(Strict):
    """Super-participant programme: promote the most intimate actives to KOL."""

    every_days: int = Field(30, ge=1, le=MAX_DAYS, description="days between recruitment rounds")
    count: int = Field(10, ge=0, le=MAX_PERSONS, description="KOLs recruited per round (0 = off)")
    min_intimacy: Prob = Field(0.8, description="minimum intimacy to be recruited")


class Amplification(Strict):
    """Amplify new KOLs' early contributions to get them through the trough (低谷期)."""

    enabled: bool = Field(True, description="whether new KOLs' contributions are amplified")
    factor: float = Field(3.0, ge=1.0, le=1000.0, description="trough dropout is divided by this")


class EntryGate(Strict):
    """Entry threshold: review (by fit) or payment (pass probability)."""

    kind: Literal["none", "review", "payment"] = Field("none", description="gate type")
    min_fit: Prob = Field(0.5, description="review gate: minimum fit admitted")
    pass_prob: Prob = Field(0.3, description="payment gate: probability a joiner pays and enters")
    intimacy_bonus: Prob = Field(0.2, description="intimacy gain of a newcomer who passed a gate")


class Ads(Strict):
    """Paid acquisition."""

    daily_budget: Money = Field(0.0, description="ad spend per day (currency)")
    cost_per_join: float = Field(20.0, gt=0.0, le=MAX_MONEY,
                                 description="cost of one ad-driven join")


class Program(Strict):
    """The operator's feeding programme (投放饲料)."""

    content_per_week: NonNeg = Field(7.0, le=10_000, description="posts per week")
    content_reach: Prob = Field(0.4, description="probability a post reaches a member")
    kol_reach_bonus: NonNeg = Field(1.5, le=100, description="reach multiplier for KOLs and actives")
    content_gain: Prob = Field(0.04, description="intimacy gain per post reached (times fit)")
    activities_per_month: NonNeg = Field(21.0, le=10_000, description="operator activities per 30 days")
    attend_base: Prob = Field(0.02, description="attendance probability at intimacy 0")
    attend_slope: Prob = Field(0.3, description="extra attendance probability per unit intimacy")
    activity_gain: Prob = Field(0.12, description="intimacy gain of an attendee")
    self_org_rate: Prob = Field(0.01, description="daily probability per unit intimacy that a KOL/active organises an activity")
    common_task: CommonTask = Field(default_factory=CommonTask)
    empowerment: Empowerment = Field(default_factory=Empowerment)
    recruit: Recruit = Field(default_factory=Recruit)
    amplification: Amplification = Field(default_factory=Amplification)
    entry_gate: EntryGate = Field(default_factory=EntryGate)
    ads: Ads = Field(default_factory=Ads)


# --- rules ----------------------------------------------------------------------------


class RoleMult(Strict):
    """Invitation-rate multiplier by role."""

    lurker: NonNeg = Field(0.5, le=1000)
    active: NonNeg = Field(1.0, le=1000)
    kol: NonNeg = Field(3.0, le=1000)


class JoinIntimacy(Strict):
    """Starting intimacy of a newcomer by how they joined."""

    referral: Prob = 0.3
    organic: Prob = 0.2
    ads: Prob = 0.05


class Rules(Strict):
    """Invitation, conversion, intimacy, role and churn rules."""

    invite_rate: Prob = Field(0.004, description="base daily invitation probability per non-member neighbour")
    role_mult: RoleMult = Field(default_factory=RoleMult)
    rejoin_factor: Prob = Field(0.1, description="invitation rate to churned neighbours, relative")
    convert_prob: Prob = Field(0.25, description="conversion probability per invitation (times fit)")
    fatigue: Prob = Field(0.15, description="relative drop of conversion per failed invitation received")
    organic_rate: Prob = Field(2.0e-6, description="daily organic join probability (times fit)")
    join_intimacy: JoinIntimacy = Field(default_factory=JoinIntimacy)
    interact_gain: Prob = Field(0.01, description="max daily intimacy gain from member neighbours")
    interact_half: float = Field(0.5, gt=0.0, le=1e6, description="member neighbours giving half the gain")
    active_threshold: Prob = Field(0.6, description="intimacy at which a lurker becomes active")
    hysteresis: Prob = Field(0.1, description="actives fall back below active_threshold - hysteresis")
    trough_days: int = Field(30, ge=0, le=MAX_DAYS, description="length of a new KOL's trough")
    trough_dropout: Prob = Field(0.03, description="daily give-up probability in the trough without referrals")
    decay: Prob = Field(0.01, description="daily relative intimacy decay")
    churn_base: Prob = Field(0.03, description="daily churn hazard at intimacy 0 and fit 1")
    churn_protect: float = Field(3.0, ge=0.0, le=1000.0, description="exponent of (1 - intimacy) in the hazard")
    misfit_penalty: NonNeg = Field(1.0, le=1000, description="extra hazard for misfit: x (1 + penalty (1 - fit))")
    commit_threshold: Prob = Field(0.75, description="intimacy counted as committed (crowdfund test)")


class Economics(Strict):
    """Revenue and cost parameters (currency units per item)."""

    fee_per_year: Money = Field(99.0, description="membership fee per paying member per year")
    pay_rate: Prob = Field(0.002, description="daily probability per unit intimacy of becoming paying")
    purchase_rate: Prob = Field(0.001, description="daily purchases per unit intimacy per member")
    price: Money = Field(50.0, description="price of one purchase")
    cost_per_post: Money = Field(200.0, description="cost of one content post")
    cost_per_activity: Money = Field(2000.0, description="cost of one operator activity")
    cost_per_kol_month: Money = Field(500.0, description="cost of one KOL per 30 days")


class Scenario(Strict):
    """A complete scenario: everything one run needs."""

    name: str = Field("base", min_length=1, max_length=200, description="scenario name")
    description: str = Field("", description="free text")
    seed: int = Field(42, ge=0, le=2**63 - 1, description="run seed")
    steps: int = Field(365, ge=1, le=MAX_DAYS, description="horizon in days")
    population: Population = Field(default_factory=Population)
    seeding: Seeding = Field(default_factory=Seeding)
    mass_pull: MassPull = Field(default_factory=MassPull)
    program: Program = Field(default_factory=Program)
    rules: Rules = Field(default_factory=Rules)
    economics: Economics = Field(default_factory=Economics)
    milestones: list[Annotated[int, Field(ge=1, le=MAX_PERSONS)]] = Field(
        default_factory=lambda: [100, 1000, 10000],
        description="member counts whose first day is reported (origin, inflection, explosion)",
    )
