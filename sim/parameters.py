"""The one table of scenario parameters: key path, type, default, allowed range, meaning.

Every key of a scenario file (MODEL.md §8 key paths such as ``rules.invite_rate``) is one
:class:`Param` row of :data:`TABLE`; every mapping (``rules``, ``program.common_task``) is one
:class:`Section` row. The rows are in file order. Everything else is derived from them:

- the frozen pydantic models of :mod:`sim.config` (field types, defaults, bounds, descriptions,
  class names and docstrings; ``population.graph`` is a union of models chosen by ``kind``);
- the flat parameters of the engines, :class:`sim.params.Params`: every key under ``program``,
  ``rules`` and ``economics``, named by :func:`flat_name`;
- the documentation: ``scenarios/base.yaml`` (every key with its default and a comment saying
  what it means, what is allowed and why it has its value) and ``docs/parameters.md``.

The two documents are generated files; tests fail when they differ from the table. After
changing a row, regenerate them from a source checkout with::

    python -m sim.parameters --write      # rewrite scenarios/base.yaml and docs/parameters.md
    python -m sim.parameters --check      # exit 1 if either is out of date

Adding a parameter is one row here and its use in the rules. For example, the cap on the
invitations a member sends per day (MODEL.md revision 2) was added as::

    Param("rules.invite_cap", float, 2.4, ge=0, le=1e6,
          doc="invitations per member per day on average at most (0 = no cap) ...",
          why="finite attention ..."),

Then ``Scenario().rules.invite_cap`` validates and defaults, ``--set rules.invite_cap=5`` works
with one-line errors, both engines read ``params.invite_cap`` (``P.invite_cap`` in the kernels),
and base.yaml and docs/parameters.md show it once regenerated. Only a new mapping (a new
:class:`Section`) also needs its model name bound in :mod:`sim.config`.

Cross-field rules (``seeding.count + mass_pull.count <= population.size``, ...) are checked in
:mod:`sim.scenario_io`; a row's ``rule`` says them in words for the documentation.

This module imports nothing heavy: ``fishpond validate`` reads it on every start.

Example:
    >>> p = find("rules.invite_rate")
    >>> p.default, allowed(p)
    (0.021, 'a number in [0, 1]')
    >>> flat_name(find("program.common_task.intimacy_gain"))
    'common_task_intimacy_gain'
    >>> find("population.graph.m", kind="watts_strogatz") is None
    True
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import Any, NamedTuple

MAX_PERSONS = 2_000_000_000  # persons, seeds, circle sizes, milestones (int32 in the kernels)
MAX_DAYS = 100_000  # horizons, task days, recruitment intervals (about 270 years)
MAX_MONEY = 1e12  # any amount of money per item, per day or per year

REQUIRED: Any = ...  # the default of a key that has none (the file must set it)
CHOICE = "modelling choice, not calibrated (§8 value)"  # the most common reason for a value
KERNEL_SECTIONS = ("program", "rules", "economics")  # their keys are the engines' Params


class Param(NamedTuple):
    """One key of a scenario file (a named tuple: immutable, and cheap to define at start-up).

    Attributes:
        key: The key path, e.g. ``"rules.invite_rate"`` (MODEL.md §8).
        type: ``float``, ``int``, ``bool``, ``str`` or ``list`` (a list of whole numbers).
        default: The documented base value; :data:`REQUIRED` if the file must set it.
        doc: What it means, in the words of MODEL.md.
        why: Why the default is what it is (a source document, a calibration result, or
            :data:`CHOICE`).
        ge: Inclusive lower bound (of each item, for a list).
        gt: Exclusive lower bound.
        le: Inclusive upper bound (of each item, for a list).
        lt: Exclusive upper bound.
        choices: The allowed words of a ``str`` key (an enumeration).
        optional: Whether ``null`` is allowed.
        min_length: Shortest allowed text.
        max_length: Longest allowed text.
        kind: For ``population.graph`` keys: the graph kind the key belongs to.
        rule: A cross-field rule in words (checked in :mod:`sim.scenario_io`).
    """

    key: str
    type: type
    default: Any
    doc: str
    why: str = ""
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    choices: tuple[str, ...] = ()
    optional: bool = False
    min_length: int | None = None
    max_length: int | None = None
    kind: str | None = None
    rule: str = ""

    @property
    def name(self) -> str:
        """The last segment of the key path (the YAML key)."""
        return self.key.rpartition(".")[2]

    @property
    def parent(self) -> tuple[str, str | None]:
        """``(key, kind)`` of the :class:`Section` that holds this key."""
        return self.key.rpartition(".")[0], self.kind

    @property
    def bounds(self) -> dict[str, float]:
        """The bounds that are set, by name (``ge``, ``gt``, ``le``, ``lt``)."""
        return {k: getattr(self, k) for k in ("ge", "gt", "le", "lt")
                if getattr(self, k) is not None}


class Section(NamedTuple):
    """One mapping of a scenario file (a pydantic model of :mod:`sim.config`).

    Attributes:
        key: The key path; ``""`` for the whole scenario.
        model: The name of its model class in :mod:`sim.config`; ``None`` for a union of
            models chosen by the value of its ``kind`` key (``population.graph``).
        doc: What it is (the model's docstring), in the words of MODEL.md.
        why: Where it comes from (a MODEL.md section, a source document).
        kind: For a member of a union: the ``kind`` value that selects it.
    """

    key: str
    model: str | None
    doc: str
    why: str = ""
    kind: str | None = None

    @property
    def name(self) -> str:
        """The last segment of the key path (the YAML key)."""
        return self.key.rpartition(".")[2]

    @property
    def parent(self) -> tuple[str, str | None] | None:
        """``(key, kind)`` of the enclosing :class:`Section`; ``None`` for the scenario."""
        if self.kind is not None:
            return self.key, None
        return (self.key.rpartition(".")[0], None) if self.key else None


def _p(key: str, default: float, doc: str, why: str = CHOICE, **kw: Any) -> Param:
    """A probability (or any share) in [0, 1]."""
    return Param(key, float, default, doc, why, ge=0.0, le=1.0, **kw)


_GRAPH_KINDS = ("barabasi_albert", "watts_strogatz", "powerlaw_cluster", "circles", "complete",
                "well_mixed", "edgelist")
_STRATEGIES = ("random", "degree", "fit_degree", "pagerank", "kcore", "betweenness",
               "influence_max")
_G = "population.graph"

TABLE: tuple[Param | Section, ...] = (
    Section("", "Scenario", "a complete scenario: everything one run needs"),
    Param("name", str, "base", "scenario name", min_length=1, max_length=200),
    Param("description", str, "", "what the scenario is for, in words"),
    Param("seed", int, 42, "run seed of the counter-based random numbers",
          "arbitrary (the facts are judged over replicate seeds)", ge=0, le=2**63 - 1),
    Param("steps", int, 365, "horizon in days", "§7: one year", ge=1, le=MAX_DAYS),
    # --- population ---------------------------------------------------------------------
    Section("population", "Population", "the persons and their social graph", "§5"),
    Param("population.size", int, 100_000, "number of persons N",
          "§7 size: the 10,000 explosion point needs a population well above it",
          ge=2, le=MAX_PERSONS),
    Param("population.seed", int, None, "seed of the population (graph, fit, engagement); null: "
          "the run seed", "null: every replicate draws its own population (the §7 facts); a "
          "number fixes the population across replicates and calibration particles, so that "
          "only behaviour varies (and the population is built once per process)", ge=0,
          le=2**63 - 1, optional=True),
    Section(_G, None, "the social graph: a mapping with a kind and that kind's keys", "§5"),
    Param(f"{_G}.kind", str, "barabasi_albert", "graph kind",
          "preferential attachment: hubs emerge, as 002's KOLs are \"集散节点\" (hub nodes); "
          "the §7 graph", choices=_GRAPH_KINDS),
    Section(_G, "BarabasiAlbert", "preferential attachment: each newcomer links to m existing "
            "persons", kind="barabasi_albert"),
    Param(f"{_G}.m", int, 5, "edges added per new person", "§7 value (mean degree about 10)",
          ge=1, le=10_000, kind="barabasi_albert", rule="less than population.size"),
    Section(_G, "WattsStrogatz", "small world: a ring where each person knows its k nearest, "
            "rewired with probability p", kind="watts_strogatz"),
    Param(f"{_G}.k", int, 10, "ring neighbours per person", ge=2, le=10_000,
          kind="watts_strogatz", rule="even, and less than population.size"),
    _p(f"{_G}.p", 0.1, "rewiring probability", kind="watts_strogatz"),
    Section(_G, "PowerlawCluster", "Holme-Kim: preferential attachment with triangle closure "
            "probability p", kind="powerlaw_cluster"),
    Param(f"{_G}.m", int, 5, "edges added per new person", ge=1, le=10_000,
          kind="powerlaw_cluster", rule="less than population.size"),
    _p(f"{_G}.p", 0.1, "probability of closing a triangle after each edge",
       kind="powerlaw_cluster"),
    Section(_G, "Circles", "interest circles (圈层): a stochastic block model", kind="circles"),
    Param(f"{_G}.sizes", list, None, "circle sizes; null: count equal circles",
          ge=1, le=MAX_PERSONS, optional=True, kind="circles",
          rule="they add up to population.size"),
    Param(f"{_G}.count", int, 10, "number of equal circles if sizes is null", ge=1,
          le=1_000_000, kind="circles", rule="at most population.size"),
    _p(f"{_G}.p_in", 0.05, "link probability within a circle", kind="circles"),
    _p(f"{_G}.p_out", 0.0005, "link probability between circles", kind="circles"),
    Section(_G, "Complete", "everybody knows everybody", kind="complete"),
    Section(_G, "WellMixed", "no graph: each day every member meets contacts persons drawn "
            "uniformly at random, and treats them as its neighbours for that day",
            kind="well_mixed"),
    Param(f"{_G}.contacts", int, 10, "random contacts per member per day", ge=1,
          le=1_000_000, kind="well_mixed", rule="less than population.size"),
    Section(_G, "EdgeList", "a real network from a file of pairs (CSV or whitespace), "
            "optional weight column", kind="edgelist"),
    Param(f"{_G}.path", str, REQUIRED, "edge list file, relative to the scenario file that "
          "sets it", min_length=1, kind="edgelist"),
    Param(f"{_G}.delimiter", str, None, "column separator; null: auto (comma or whitespace)",
          optional=True, kind="edgelist"),
    Param(f"{_G}.weighted", bool, False, "the third column is a weight in (0, 1] scaling "
          "invitations", kind="edgelist"),
    Section("population.fit", "Fit", "fit with the community's positioning (社群定位): "
            "Beta(alpha, beta) or a constant", "§2: fixed per person"),
    Param("population.fit.alpha", float, 2.0, "Beta shape alpha", "§8 value", gt=0.0,
          le=1000.0),
    Param("population.fit.beta", float, 3.0, "Beta shape beta",
          "mean fit = 2/(2+3) = 0.4: most persons fit only partly; " + CHOICE, gt=0.0,
          le=1000.0),
    _p("population.fit.constant", None, "if set, every person has this fit (the reductions "
       "use 1)", "null: fit varies between persons", optional=True),
    _p("population.fit.circle_corr", 0.0, "within-circle correlation of fit (Gaussian "
       "copula)", "modelling choice, not calibrated (unused on the §7 graph)",
       rule="0 unless the graph is circles"),
    Section("population.engagement", "Engagement", "each person's propensity to take part: "
            "log-normal with median and log-sd sigma, independent of fit",
            "§2, §5: heavy-tailed participation (most people read, few write; 002's lurkers)"),
    Param("population.engagement.median", float, 1.0, "median engagement (a person of median "
          "engagement responds to feeding, interaction and invitations as in revision 1)",
          "1: the rates keep their revision-1 meaning for the median person", gt=0.0,
          le=1000.0),
    Param("population.engagement.sigma", float, 1.1, "log-sd of engagement (0: everyone equal)",
          "calibrated: lurkers 70-95% of members need a heavy tail (§7 fact 8)", ge=0.0,
          le=10.0),
    # --- seeding ------------------------------------------------------------------------
    Section("seeding", "Seeding", "the fry: persons who are members before day 1",
            "§4; 003: \"投放一些魚苗\" (stock the fry)"),
    Param("seeding.count", int, 100, "number of seed members",
          "003: \"找出100位KOL\" (find 100 KOLs); 004: origin 原點 = the first 100",
          ge=0, le=MAX_PERSONS, rule="seeding.count + mass_pull.count <= population.size"),
    Param("seeding.strategy", str, "degree", "how the seeds are chosen (§4)",
          "002: KOLs are \"交际比较广阔的人\" (people with wide circles); fact 3",
          choices=_STRATEGIES),
    Param("seeding.role", str, "kol", "role the seeds start in",
          "003: the seeds are the 100 KOLs", choices=("lurker", "active", "kol")),
    _p("seeding.intimacy", 0.9, "seeds' starting intimacy (親密度)",
       "004: the first 100's \"信任背書是非常高的\" (trust is very high); §8 value"),
    Section("mass_pull", "MassPull", "拉群: random persons pulled into the group before day 1, "
            "as lurkers", "003: a group that does not self-organise is \"烏合之眾\" (a mob); "
            "fact 5"),
    Param("mass_pull.count", int, 0, "number of random persons pulled in",
          "0: none in the base (mass_pull.yaml sets 2000)", ge=0, le=MAX_PERSONS,
          rule="seeding.count + mass_pull.count <= population.size"),
    _p("mass_pull.intimacy", 0.1, "their starting intimacy",
       "low, they did not choose to join; " + CHOICE),
    # --- programme ----------------------------------------------------------------------
    Section("program", "Program", "the operator's feeding programme (投放饲料)",
            "§3 phase 1; 003: \"投放飼料喂魚\" (feed the fish: content and activities, "
            "strategy step 3)"),
    Param("program.content_per_week", float, 7.0, "posts per week, spread evenly over the week",
          "one a day (§8 value); 002: a community lives on \"产生活动，产生内容\" (activities, "
          "content)", ge=0.0, le=10_000),
    _p("program.content_reach", 0.4, "probability a post reaches a member"),
    Param("program.kol_reach_bonus", float, 1.5, "reach multiplier for KOLs and actives",
          CHOICE, ge=0.0, le=100),
    _p("program.content_gain", 0.015, "intimacy gain of a member a post reaches, times fit "
       "and engagement", "calibrated (§8: 0.04): at 0.04 the engaged tail is fed to "
       "commitment and the commitment share leaves 5-35% (fact 8)"),
    Param("program.activities_per_month", float, 21.0, "operator activities per 30 days, "
          "spread evenly", "002: Xiaomi, 469 activities + 58 events in 25 months, "
          "\"平均每月 21 次营销活动\" (21 marketing activities a month)", ge=0.0, le=10_000),
    Param("program.activity_capacity", float, 1900.0, "expected attendees per operator activity "
          "at most (0 = unlimited): attendance is scaled down uniformly to fit",
          "a room, a live stream, a city meet-up has a size; calibrated: without it a big "
          "pond's activities bind everyone and lurkers vanish (fact 8)", ge=0.0,
          le=MAX_PERSONS),
    _p("program.attend_base", 0.02, "attendance probability at intimacy 0"),
    _p("program.attend_slope", 0.3, "extra attendance probability per unit intimacy"),
    _p("program.activity_gain", 0.12, "intimacy gain of an attendee",
       "3x content_gain (taking part binds more); " + CHOICE),
    _p("program.self_org_rate", 0.01, "daily probability per unit intimacy that a KOL or "
       "active member organises an activity (self-organisation)",
       "003: \"自組織、自驅動\" (self-organised); §8 value"),
    Section("program.common_task", "CommonTask", "strategy step 2: a common task for the KOLs",
            "003 step 2"),
    Param("program.common_task.start", int, 0, "first day of the task (0 = from day 1)",
          "from the start (§8 value)", ge=0, le=MAX_DAYS),
    Param("program.common_task.days", int, 30, "duration in days (0 = no task)",
          "a month, 003: \"比如一個月減肥5千克\" (e.g. lose 5 kg in a month)", ge=0, le=MAX_DAYS),
    _p("program.common_task.intimacy_gain", 0.05, "daily intimacy gain of KOLs during the task"),
    Param("program.common_task.invite_boost", float, 1.5, "KOL invitation-rate multiplier "
          "during the task", CHOICE, ge=0.0, le=100.0),
    Section("program.empowerment", "Empowerment", "strategy step 3: KOLs become recognised "
            "experts (IPs)", "003 step 3: \"該領域的IP、專家\" (IPs, experts)"),
    _p("program.empowerment.rate", 0.01, "daily approach of a KOL's influence to "
       "influence_cap: influence + rate (influence_cap - influence)",
       "slow (~100 days), 001: \"建立粉丝需要时间\" (a following takes time)"),
    Param("program.empowerment.influence_cap", float, 4.0, "influence a fully empowered KOL "
          "reaches", CHOICE, ge=1.0, le=1000.0),
    Section("program.recruit", "Recruit", "super-participant programme: the most intimate "
            "active members are promoted to KOL",
            "001: \"识别并邀请\" (identify and invite) them"),
    Param("program.recruit.every_days", int, 30, "days between recruitment rounds",
          "monthly; " + CHOICE, ge=1, le=MAX_DAYS),
    Param("program.recruit.count", int, 10, "KOLs recruited per round (0 = off)",
          "001: \"可能只针对几十个人\" (only a few dozen people); §8 value", ge=0,
          le=MAX_PERSONS),
    _p("program.recruit.min_intimacy", 0.8, "minimum intimacy to be recruited",
       "§8 value; 001: \"高度参与现有社区活动\" (highly engaged in community activities)"),
    Section("program.amplification", "Amplification", "amplify new KOLs' early contributions "
            "to get them through the trough (低谷期)",
            "001: \"推广新超级参与者的优秀贡献\" (promote newcomers' best posts)"),
    Param("program.amplification.enabled", bool, True, "whether new KOLs' contributions are "
          "amplified", "on: the fish pond runs 001's programme"),
    Param("program.amplification.factor", float, 3.0, "a new KOL's trough dropout is divided "
          "by this", CHOICE, ge=1.0, le=1000.0),
    Section("program.entry_gate", "EntryGate", "entry threshold: review (by fit) or payment "
            "(pass probability); a gate adds intimacy (ritual sense, 仪式感)",
            "002: \"入群门槛：审核、付费或者付出\" (entry threshold: review, payment or effort)"),
    Param("program.entry_gate.kind", str, "none", "gate type",
          "none: 003's fish pond has no gate and no §7 fact uses one",
          choices=("none", "review", "payment")),
    _p("program.entry_gate.min_fit", 0.5, "review gate: minimum fit admitted",
       "modelling choice, not calibrated (unused while kind is none)"),
    _p("program.entry_gate.pass_prob", 0.3, "payment gate: probability a joiner pays and "
       "enters", "modelling choice, not calibrated (unused while kind is none)"),
    _p("program.entry_gate.intimacy_bonus", 0.2, "intimacy gain of a newcomer who passed a "
       "gate", "modelling choice, not calibrated (unused while kind is none)"),
    Section("program.ads", "Ads", "paid acquisition: daily_budget / cost_per_join joins a day "
            "(at most N) among non-users, weighted by fit", "§7 fact 6"),
    Param("program.ads.daily_budget", float, 0.0, "ad spend per day (currency)",
          "0: no ads in the base (paid_ads.yaml spends the fish pond's programme cost)",
          ge=0.0, le=MAX_MONEY),
    Param("program.ads.cost_per_join", float, 20.0, "cost of one ad-driven join",
          "modelling choice, not calibrated (000: \"付费广告水涨船高\", ads grow dearer)",
          gt=0.0, le=MAX_MONEY),
    Param("program.ads.saturation", float, 1.0, "rise of the ad price as the market is used "
          "up: price = cost_per_join (N / non_users)^saturation (0 = constant price)",
          "000: \"付费广告水涨船高\" (ads grow dearer); " + CHOICE, ge=0.0, le=100.0),
    # --- rules --------------------------------------------------------------------------
    Section("rules", "Rules", "invitation, conversion, intimacy, role and churn rules",
            "§3 phases 2-6"),
    _p("rules.invite_rate", 0.021, "base daily invitation probability per non-member "
       "neighbour", "000: \"K因子\" = invitations x conversion (K-factor); calibrated (§8: "
       "0.004): with intimacy, engagement and the cap damping it, 10,000 members around "
       "day 140 (fact 1)"),
    Param("rules.invite_cap", float, 2.4, "invitations per member per day on average at "
          "most (0 = no cap): with c invitable neighbours, q is scaled to invite_cap / c when "
          "q c > invite_cap", "finite attention: a hub cannot broadcast to its whole audience "
          "every day (§3 phase 3); calibrated: the seeds' referral share 0.15 (fact 7)",
          ge=0.0, le=1e6),
    Section("rules.role_mult", "RoleMult", "invitation-rate multiplier by role",
            "002: KOLs \"以点带面\" (point to surface); §8 values (kol 2: fact 4 still fails "
            "at 0.82 and growth slows)"),
    Param("rules.role_mult.lurker", float, 0.5, "multiplier of lurkers", "§8 value",
          ge=0.0, le=1000),
    Param("rules.role_mult.active", float, 1.0, "multiplier of active members", "§8 value",
          ge=0.0, le=1000),
    Param("rules.role_mult.kol", float, 3.0, "multiplier of KOLs", "§8 value", ge=0.0, le=1000),
    _p("rules.rejoin_factor", 0.1, "invitation rate to churned neighbours, relative (0 SIR, "
       "1 SIS)"),
    _p("rules.convert_prob", 0.47, "conversion probability per invitation, times fit",
       "000: \"转化率\" (conversion rate per invitation); calibrated (§8: 0.25): members "
       "recruiting members drive growth (fact 10, q/p about 7)"),
    _p("rules.fatigue", 0.15, "relative drop of conversion per failed invitation received",
       "001: \"收益递减\" (diminishing returns); §8 value"),
    _p("rules.organic_rate", 2.0e-6, "daily organic join probability, times fit (Bass "
       "innovation p)", "tiny (~0.08 joins a day in 100,000): growth is by referral; §8 value"),
    Section("rules.join_intimacy", "JoinIntimacy", "starting intimacy of a newcomer by how "
            "they joined", "an ad barely binds (fact 6); modelling choice (§8 values)"),
    _p("rules.join_intimacy.referral", 0.3, "of a newcomer who joined by referral",
       "§8 value"),
    _p("rules.join_intimacy.organic", 0.2, "of a newcomer who joined organically", "§8 value"),
    _p("rules.join_intimacy.ads", 0.05, "of a newcomer an ad bought", "§8 value"),
    _p("rules.interact_gain", 0.01, "max daily intimacy gain from member neighbours",
       "003: \"只有在高頻互動中才能強化\" (ties grow by interaction); calibrated (§8: 0.02): "
       "at 0.02 a single member neighbour made ad-bought members loyal, and fact 6 failed at "
       "equal spend"),
    Param("rules.interact_half", float, 0.5, "member neighbours giving half the gain",
          "calibrated (§8: 3.0): belonging saturates after 1-2 member neighbours, so intimacy "
          "stops tracking hubs; fact 4 share 0.80-0.84 at 3.0, 0.76 at 1.0, 0.74 at 0.5",
          gt=0.0, le=1e6),
    _p("rules.active_threshold", 0.8, "intimacy at which a lurker becomes active",
       "calibrated (§8: 0.5): contributing takes real closeness, so most members lurk "
       "(fact 8: lurkers about 85%); at 0.6 actives outnumber what 90-9-1 allows"),
    _p("rules.hysteresis", 0.1, "actives fall back below active_threshold - hysteresis",
       "stops flicker; modelling choice (§8 value)", rule="at most rules.active_threshold"),
    Param("rules.trough_days", int, 30, "length of a new KOL's trough (001: 低谷期)",
          "a month; modelling choice (§8 value)", ge=0, le=MAX_DAYS),
    _p("rules.trough_dropout", 0.03, "daily give-up probability in the trough without "
       "referrals", "~60% in 30 days, ~26% amplified; modelling choice (§8 value)"),
    _p("rules.decay", 0.028, "daily relative intimacy decay",
       "half-life ~25 days; calibrated (§8: 0.01): without feeding, closeness fades within "
       "weeks, so intimacy separates the engaged from the rest (facts 4, 8)"),
    _p("rules.churn_base", 0.025, "daily churn hazard at intimacy 0 and fit 1",
       "calibrated (§8: 0.03): about 45% of the first month's referral joiners remain on day "
       "120, and under 20% of ad joiners, also at 20,000 persons (fact 9)"),
    Param("rules.churn_protect", float, 3.0, "exponent of (1 - intimacy) in the hazard",
          "intimate members stay; " + CHOICE, ge=0.0, le=1000.0),
    Param("rules.misfit_penalty", float, 1.0, "extra hazard for misfit: x (1 + penalty "
          "(1 - fit))", "003: poor 社群定位 gathers \"風馬牛不相及的人\" (misfits); "
          "modelling choice (§8 value)", ge=0.0, le=1000),
    _p("rules.commit_threshold", 0.75, "intimacy counted as committed (crowdfund test)",
       "003: the test \"每人眾籌100元試一下\" (crowdfund 100 yuan each); calibrated (§8: 0.7): "
       "about 13% of members pass (fact 8: 5-35%)"),
    # --- economics ----------------------------------------------------------------------
    Section("economics", "Economics", "revenue and cost parameters (currency units per item)",
            "§3 phase 7; 000: \"计算CROI\" (community ROI); 004: paying members; the costs "
            "set paid_ads.yaml's budget"),
    Param("economics.fee_per_year", float, 99.0, "membership fee per paying member per year",
          "004: \"收取會費\" (charge fees); modelling choice (§8 value)", ge=0.0, le=MAX_MONEY),
    _p("economics.pay_rate", 0.002, "daily probability per unit intimacy of becoming paying",
       "003: \"先交朋友,後談生意\" (friends first, then business); §8 value"),
    _p("economics.purchase_rate", 0.001, "daily purchases per unit intimacy per member",
       "003: \"持續的複購\" (repeat purchases); modelling choice (§8 value)"),
    Param("economics.price", float, 50.0, "price of one purchase", CHOICE, ge=0.0,
          le=MAX_MONEY),
    Param("economics.cost_per_post", float, 200.0, "cost of one content post", CHOICE,
          ge=0.0, le=MAX_MONEY),
    Param("economics.cost_per_activity", float, 2000.0, "cost of one operator activity",
          CHOICE, ge=0.0, le=MAX_MONEY),
    Param("economics.cost_per_kol_month", float, 500.0, "cost of one KOL per 30 days", CHOICE,
          ge=0.0, le=MAX_MONEY),
    Param("economics.currency", str, "CNY", "the currency of every amount (a code or a word, "
          "printed with the totals)", "the seeds' communities are Chinese: yuan", min_length=1,
          max_length=12),
    Param("milestones", list, (100, 1000, 10000), "member counts whose first day is reported "
          "(origin, inflection, explosion)", "004: origin 原點, inflection 拐點, explosion 爆點 "
          "= 100 / 1,000 / 10,000 members (§7 fact 1)", ge=1, le=MAX_PERSONS,
          rule="strictly increasing"),
)


def params() -> tuple[Param, ...]:
    """Every :class:`Param` row of the table, in file order."""
    return tuple(row for row in TABLE if isinstance(row, Param))


def sections() -> tuple[Section, ...]:
    """Every :class:`Section` row of the table, in file order."""
    return tuple(row for row in TABLE if isinstance(row, Section))


def find(key: str, kind: str | None = None) -> Param | None:
    """The :class:`Param` at ``key`` (of graph ``kind`` for graph keys), or None.

    Example:
        >>> find("population.graph.p", kind="watts_strogatz").doc
        'rewiring probability'
    """
    return next((p for p in params() if p.key == key and p.kind == kind), None)


def children(section: Section) -> tuple[Param | Section, ...]:
    """The rows directly inside ``section``, in file order.

    A union's rows are its ``kind`` row and its member sections.
    """
    where = (section.key, section.kind)
    return tuple(row for row in TABLE if row is not section and row.parent == where)


def choices(key: str) -> tuple[str, ...]:
    """The allowed words of an enumerated key, e.g. the graph kinds or seeding strategies.

    Example:
        >>> choices("program.entry_gate.kind")
        ('none', 'review', 'payment')
    """
    return find(key).choices


def code(key: str, value: str) -> int:
    """The integer code of an enumerated value: its position in :func:`choices`.

    Example:
        >>> code("program.entry_gate.kind", "payment")
        2
    """
    return choices(key).index(value)


def num(x: float) -> str:
    """A bound as text: whole floats without ``.0``.

    Example:
        >>> num(1.0), num(0.5), num(2_000_000_000)
        ('1', '0.5', '2000000000')
    """
    return str(int(x)) if isinstance(x, float) and x.is_integer() and abs(x) < 1e15 else str(x)


def bounds_text(bounds: dict) -> str:
    """The bounds of a number as the one-line errors say them: interval notation or one side.

    Args:
        bounds: Any of ``ge``, ``gt``, ``le``, ``lt`` and their values.

    Returns:
        ``" in [0, 1]"``, ``" in (0, 1000]"``, ``" >= 0"``... or ``""`` without bounds.

    Example:
        >>> bounds_text({"gt": 0, "le": 1000.0}), bounds_text({"ge": 0}), bounds_text({})
        (' in (0, 1000]', ' >= 0', '')
    """
    lo = next((k for k in ("ge", "gt") if k in bounds), None)
    hi = next((k for k in ("le", "lt") if k in bounds), None)
    if lo and hi:  # interval notation: [0, 1], (0, 1000]
        return (f" in {'[' if lo == 'ge' else '('}{num(bounds[lo])}, "
                f"{num(bounds[hi])}{']' if hi == 'le' else ')'}")
    if lo or hi:
        op = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}[lo or hi]
        return f" {op} {num(bounds[lo or hi])}"
    return ""


def allowed(p: Param) -> str:
    """What a key accepts, in the words of the one-line errors ("a number in [0, 1]").

    Example:
        >>> allowed(find("population.fit.alpha")), allowed(find("milestones"))
        ('a number in (0, 1000]', 'a list, each a whole number in [1, 2000000000]')
    """
    if p.choices:
        text = ", ".join(p.choices)
    elif p.type is bool:
        text = "true or false"
    elif p.type is str:
        text = "non-empty text" if p.min_length else "text"
    else:
        text = ("a number" if p.type is float else "a whole number") + bounds_text(p.bounds)
        if p.type is list:
            text = "a list, each " + text
    return text + " or null" if p.optional else text


def flat_name(p: Param) -> str:
    """The name of a key in the engines' flat :class:`sim.params.Params`.

    The rule: the key path without its section (``program``, ``rules``, ``economics``),
    dots replaced by ``_``.

    Example:
        >>> flat_name(find("rules.invite_rate")), flat_name(find("rules.role_mult.kol"))
        ('invite_rate', 'role_mult_kol')
    """
    return p.key.split(".", 1)[1].replace(".", "_")


def kernel_params() -> tuple[Param, ...]:
    """The keys the engines read every day: all of ``program``, ``rules`` and ``economics``.

    Free text (``economics.currency``) is a label for people, not a rule: not among them.
    """
    return tuple(p for p in params() if p.key.split(".", 1)[0] in KERNEL_SECTIONS
                 and (p.type is not str or p.choices))


# --- the documents -------------------------------------------------------------------------

REPO = Path(__file__).resolve().parents[1]  # a source checkout: scenarios/, docs/
BASE_YAML = REPO / "scenarios" / "base.yaml"
REFERENCE_MD = REPO / "docs" / "parameters.md"
_REGENERATE = "python -m sim.parameters --write"

CALIBRATION = """\
How these defaults were calibrated (MODEL.md revision 2). Facts 1-11 of MODEL.md §7 must hold
on a Barabási-Albert graph (m = 5) over 365 days: facts 1-10 at 100,000 and 1,000,000
persons, facts 2-7 and 9 at 20,000 (runs as `fishpond facts`, medians over replicates; the
full results and the robustness of each fact are in benchmarks/RESULTS.md §7).
- Revision 1's defaults (everyone equally engaged, no invitation cap, unlimited activities)
  held the six facts of revision 1 but not the new ones: 6% lurkers, 75% of referral joiners
  still members after 90 days, the 100 seeds credited with 64% of referral joins, a concave
  adoption curve (Bass q/p 0.55).
- Started from the values of a throwaway prototype of revision 2 (engagement sigma 1.1,
  invite_cap 2.4, invite_rate 0.021, convert_prob 0.47, decay 0.028, churn_base 0.018,
  active_threshold 0.8, commit_threshold 0.75, content_gain 0.015, activity_capacity 1,900).
  In this code, at 100,000 persons (3 replicates), facts 1-10 all held with them, but two
  narrowly: fact 2 (no-feed members / fish-pond members 0.42 against < 0.5) and fact 9 (ad
  joiners still members on day 120: 0.17 against < 0.2).
- rules.churn_base 0.018 -> 0.022 widened both (0.35; 0.12), but at 20,000 persons the ad
  joiners' retention was 0.21 and fact 9 failed there (fact 11). 0.025: 0.18 at 20,000 and
  0.09 at 100,000; the referral joiners' retention on day 120 is 0.45 (band 0.2-0.6) and the
  pond still reaches 10,000 members around day 140.
- With these values facts 1-10 held at 1,000,000 persons on the first try (2 replicates):
  nothing was tuned to one size.
- The other keys keep their revision-1 values (interact_gain 0.01 and interact_half 0.5 were
  calibrated then; see their rows) or MODEL.md §8's values.
"""

_BASE_HEAD = f"""\
Base scenario: every parameter of the model with its default value (= sim.config.Scenario()).
Other scenarios `extends: base.yaml` (usually through fish_pond.yaml) and override a few keys.
GENERATED from the table in sim/parameters.py: edit the table, then run
`{_REGENERATE}` (a test fails while this file differs from the table).
Each key says what it means, what is allowed, and why it has its value: a source document
(number, a phrase quoted verbatim, an English gloss; 003 and 004 are in traditional
characters), a calibration result, or "modelling choice, not calibrated". "§n" is a section
of MODEL.md; 000-004 are the source documents listed in MODEL.md §1. "§8 value" means
MODEL.md §8's proposed value, kept because the facts hold with it.

"""

_COLUMN = 32  # where comments start in base.yaml
_WIDTH = 100


def _yaml_scalar(value: Any) -> str:
    import yaml  # only the documents need it; validate does not

    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_yaml_scalar(v) for v in value) + "]"
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True)
    return text.removesuffix("\n...\n").strip()


def _commented(code: str, comment: str) -> list[str]:
    """``code`` with ``comment`` wrapped into a column on its right (continued with ``#   ``)."""
    pad = max(_COLUMN, len(code) + 1)
    first = _WIDTH - pad - 2
    lines = textwrap.wrap(comment, first, break_on_hyphens=False)
    out = [f"{code:<{pad}}# {lines[0]}" if lines else code]
    rest = textwrap.fill(" ".join(lines[1:]), _WIDTH - pad - 4, break_on_hyphens=False)
    out += [f"{'':<{pad}}#   {line}" for line in rest.splitlines()]
    return out


def _join(*parts: str) -> str:
    return "; ".join(part for part in parts if part)


def _graph_kinds_line(union: Section) -> str:
    """``barabasi_albert{m}, watts_strogatz{k, p}, ...``: the kinds and their keys."""
    words = []
    for member in children(union):
        if isinstance(member, Section):
            keys = ", ".join(p.name for p in children(member))
            words.append(member.kind + (f"{{{keys}}}" if keys else ""))
    return ", ".join(words)


def _yaml_lines(section: Section, depth: int) -> list[str]:
    """The lines of base.yaml for the rows inside ``section``, indented ``depth`` levels."""
    indent, out, after_section = "  " * depth, [], False
    for row in children(section):
        if isinstance(row, Section) and row.kind is not None:  # a member of a union: the
            if row.kind == find(f"{row.key}.kind").default:  # default kind's keys follow
                out += _yaml_lines(row, depth)  # its kind; the others are listed above it
            continue
        if depth == 0 and (isinstance(row, Section) or after_section):
            out.append("")
        after_section = isinstance(row, Section)
        if isinstance(row, Param):
            if row.default is not REQUIRED:
                out += _commented(f"{indent}{row.name}: {_yaml_scalar(row.default)}",
                                  _join(row.doc, allowed(row), row.rule, row.why))
            continue
        if row.model is None:
            out += textwrap.wrap("kinds and their keys: " + _graph_kinds_line(row), _WIDTH,
                                 initial_indent=indent + "# ", subsequent_indent=indent + "#   ",
                                 break_on_hyphens=False)
        out += _commented(f"{indent}{row.name}:", _join(row.doc, row.why))
        out += _yaml_lines(row, depth + 1)
    return out


def render_base_yaml() -> str:
    """The text of ``scenarios/base.yaml``: every key at its default, commented from the table.

    Returns:
        YAML text that loads to ``sim.config.Scenario()``.
    """
    head = [("# " + line).rstrip() for line in (_BASE_HEAD + CALIBRATION).splitlines()]
    return "\n".join([*head, "", *_yaml_lines(sections()[0], 0)]) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_reference() -> str:
    """The text of ``docs/parameters.md``: one table per mapping of a scenario file.

    Returns:
        Markdown text.
    """
    out = [
        "# Scenario parameters",
        "",
        "Every key of a scenario file: its key path (for `--set` and sweeps), default, what",
        "is allowed, what it means and why it has its default. Generated from the table in",
        f"`sim/parameters.py` by `{_REGENERATE}`: do not edit by hand.",
        "The engines read the keys of `program`, `rules` and `economics` as flat `Params`",
        "fields (last column). MODEL.md §3 says how each is used; `scenarios/base.yaml` lists",
        "them all at their defaults.",
    ]
    for section in sections():
        rows = [p for p in children(section) if isinstance(p, Param)]
        title = section.key or "top level"
        if section.kind:
            title += f" (kind: {section.kind})"
        out += ["", f"## {title}", "", _cell(section.doc[0].upper() + section.doc[1:]) + "."]
        if section.why:
            out[-1] += f" Source: {_cell(section.why)}."
        if section.model is None:
            out += ["", "Kinds: " + ", ".join(f"`{k}`" for k in choices(section.key + ".kind"))
                    + ". Each kind has its own keys, below."]
        if not rows:
            continue
        kernel = section.key.split(".", 1)[0] in KERNEL_SECTIONS
        out += ["", "| key | default | allowed | meaning | why this default |"
                + (" Params |" if kernel else ""),
                "| --- | --- | --- | --- | --- |" + (" --- |" if kernel else "")]
        for p in rows:
            default = "(required)" if p.default is REQUIRED else f"`{_yaml_scalar(p.default)}`"
            can = _join(allowed(p), p.rule)
            cells = [f"`{p.key}`", default, can, p.doc, p.why or "-"]
            if kernel:
                cells.append(f"`{flat_name(p)}`" if p in kernel_params() else "(not read by "
                             "the engines)")
            out.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    out += ["", "## Calibration", "", CALIBRATION.rstrip()]
    return "\n".join(out) + "\n"


def _documents() -> dict[Path, str]:
    return {BASE_YAML: render_base_yaml(), REFERENCE_MD: render_reference()}


def stale() -> list[Path]:
    """The generated documents whose text differs from the table's rendering."""
    return [path for path, text in _documents().items()
            if not path.is_file() or path.read_text(encoding="utf-8") != text]


def main(argv: list[str] | None = None) -> int:
    """``python -m sim.parameters [--write | --check]``: regenerate or check the documents.

    Args:
        argv: Command-line arguments (default: ``sys.argv[1:]``).

    Returns:
        0, or 1 when ``--check`` finds a stale document.
    """
    import argparse

    parser = argparse.ArgumentParser(prog="python -m sim.parameters",
                                     description="Regenerate the documents of the table of "
                                     "scenario parameters (scenarios/base.yaml, "
                                     "docs/parameters.md) in a source checkout.")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", action="store_true", help="rewrite the stale documents")
    group.add_argument("--check", action="store_true", help="exit 1 if a document is stale")
    args = parser.parse_args(argv)
    if not BASE_YAML.parent.is_dir():
        print(f"{BASE_YAML.parent}: not a source checkout (no scenarios folder)", file=sys.stderr)
        return 2
    for path in stale():
        if args.check:
            print(f"{path}: out of date; run {_REGENERATE}", file=sys.stderr)
            return 1
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_documents()[path], encoding="utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
