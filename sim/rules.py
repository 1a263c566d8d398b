"""The model's arithmetic, one scalar function per formula of MODEL.md §3.

These are plain Python functions on floats and ints, written with only the operations a
compiled twin can reproduce bit for bit (no NumPy vector maths, no ``**`` with an integer
exponent). ``numba.extending.register_jitable`` leaves each one a plain Python function
for the readable engine and lets the compiled kernels call the very same source, so both
engines share one definition of every rule.
"""

from __future__ import annotations

import math

from numba.extending import register_jitable

from .codes import ACTIVE, KOL


@register_jitable
def clip01(p: float) -> float:
    """Clip a probability to [0, 1]."""
    if p < 0.0:
        return 0.0
    if p > 1.0:
        return 1.0
    return p


@register_jitable
def gain(intimacy: float, g: float) -> float:
    """The saturating gain ``I + g (1 - I)``."""
    return intimacy + g * (1.0 - intimacy)


@register_jitable
def gain_times(intimacy: float, g: float, times: int) -> float:
    """Apply :func:`gain` ``times`` times, in order."""
    for _ in range(times):
        intimacy = intimacy + g * (1.0 - intimacy)
    return intimacy


@register_jitable
def power_int(x: float, n: int) -> float:
    """``x ** n`` for an integer ``n >= 0`` by repeated multiplication (engine-exact)."""
    return times_power(1.0, x, n)


@register_jitable
def times_power(r: float, x: float, n: int) -> float:
    """``r`` multiplied by ``x``, ``n`` times in order.

    ``power_int(x, k + n)`` is ``times_power(power_int(x, k), x, n)``, bit for bit.
    """
    for _ in range(n):
        r = r * x
    return r


@register_jitable
def events_on_day(day: int, per_period: float, period: float) -> int:
    """How many of ``per_period`` evenly spread events fall on ``day`` (days are 1-based).

    ``floor(day * rate) - floor((day - 1) * rate)`` with ``rate = per_period / period``,
    so that any ``period`` consecutive days hold ``per_period`` events (up to rounding).
    """
    rate = per_period / period
    return int(math.floor(day * rate)) - int(math.floor((day - 1) * rate))


@register_jitable
def attend_probability(
    attend_base: float, attend_slope: float, intimacy: float, engagement: float, scale: float
) -> float:
    """Probability a member attends an activity.

    ``clip(attend_base + attend_slope * I) * min(engagement, 1) * scale``, where ``scale``
    (at most 1) is the activity's capacity factor (:func:`capacity_scale`; 1 = unlimited).
    """
    return clip01(attend_base + attend_slope * intimacy) * min(engagement, 1.0) * scale


@register_jitable
def capacity_scale(expected: float, capacity: float) -> float:
    """The factor fitting an activity's ``expected`` attendance into ``capacity`` (0 = unlimited).

    1 while the expected attendance is within the capacity, else ``capacity / expected``.
    """
    if capacity <= 0.0 or expected <= capacity:
        return 1.0
    return capacity / expected


@register_jitable
def interact_gain(
    interact_gain_max: float, member_neighbours: int, interact_half: float, engagement: float
) -> float:
    """Intimacy gain from ``m`` member neighbours: ``gain * m / (m + half) * engagement``.

    Clipped to [0, 1].
    """
    m = float(member_neighbours)
    return clip01(interact_gain_max * m / (m + interact_half) * engagement)


@register_jitable
def role_mult(role: int, mult_lurker: float, mult_active: float, mult_kol: float) -> float:
    """Invitation multiplier of a member's role (``rules.role_mult`` of the scenario)."""
    if role == KOL:
        return mult_kol
    if role == ACTIVE:
        return mult_active
    return mult_lurker


@register_jitable
def invite_probability(
    invite_rate: float, role_mult: float, influence: float, intimacy: float, boost: float,
    engagement: float,
) -> float:
    """Per-neighbour daily invitation probability ``q_i`` (clipped).

    ``invite_rate * role_mult * influence * intimacy * boost * engagement``.
    """
    return clip01(invite_rate * role_mult * influence * intimacy * boost * engagement)


@register_jitable
def capped_invite_probability(q: float, invitable: int, invite_cap: float) -> float:
    """Finite attention: ``q`` scaled to ``invite_cap / c`` when ``q c > invite_cap`` (0 = no cap).

    ``invitable`` is ``c``, the member's invitable neighbours today (non-users, and churned
    persons when they may be invited again), so the expected invitations a day are at most
    ``invite_cap``.
    """
    if invite_cap > 0.0 and q * invitable > invite_cap:
        return invite_cap / invitable
    return q


@register_jitable
def content_gain(content_gain: float, fit: float, engagement: float) -> float:
    """Intimacy gain of a member a post reaches: ``content_gain * fit * engagement`` (clipped)."""
    return clip01(content_gain * fit * engagement)


@register_jitable
def in_trough(day: int, kol_since: int, trough_days: int) -> bool:
    """Whether a KOL who became KOL on ``kol_since`` is in its trough on ``day``."""
    return 0 <= day - kol_since <= trough_days


@register_jitable
def amplified_influence(influence: float, trough: bool, amplification: bool,
                        factor: float) -> float:
    """A KOL's influence in its invitations: times the amplification factor in its trough."""
    return influence * factor if (trough and amplification) else influence


@register_jitable
def ad_price(cost_per_join: float, n: int, non_users: int, saturation: float) -> float:
    """Price of one ad join today: ``cost_per_join (N / non_users)^saturation``.

    Rises as the market is used up (000: 水涨船高); ``saturation = 0`` keeps it constant.
    With no non-users left there is nobody to buy: infinite.
    """
    if saturation == 0.0:
        return cost_per_join
    if non_users <= 0:
        return math.inf
    return cost_per_join * math.pow(n / non_users, saturation)


@register_jitable
def ads_wanted(day: int, daily_budget: float, price: float, persons: int) -> int:
    """Ad joins to buy on ``day`` at today's ``price`` (spread evenly, see :func:`events_on_day`).

    ``floor(day B / price) - floor((day - 1) B / price)``: at a constant price any ``k``
    consecutive days buy ``k B / price`` joins up to rounding; a rising price buys fewer.
    At most ``persons`` (the population): a budget that buys more joins a day than there
    are persons buys everyone it finds, instead of drawing candidates without end (and
    ``B / price`` beyond the float range does not overflow the count).
    """
    if daily_budget <= 0.0 or math.isinf(price):
        return 0
    if not daily_budget / price < persons:
        return persons
    return min(events_on_day(day, daily_budget, price), persons)


@register_jitable
def conversion_probability(
    convert_prob: float, fit: float, fatigue: float, exposures: int, invitations: int
) -> float:
    """``1 - (1 - c)^k`` with ``c = convert_prob * fit * (1 - fatigue)^exposures``."""
    return faded_conversion_probability(convert_prob, fit, power_int(1.0 - fatigue, exposures),
                                        invitations)


@register_jitable
def faded_conversion_probability(
    convert_prob: float, fit: float, faded: float, invitations: int
) -> float:
    """:func:`conversion_probability` given ``faded = power_int(1 - fatigue, exposures)``."""
    c = clip01(convert_prob * fit * faded)
    return 1.0 - power_int(1.0 - c, invitations)


@register_jitable
def churn_hazard(
    churn_base: float, intimacy: float, churn_protect: float, misfit_penalty: float, fit: float
) -> float:
    """Daily churn hazard ``churn_base (1 - I)^protect (1 + penalty (1 - fit))`` (clipped)."""
    protect = 1.0 if churn_protect == 0.0 else math.pow(1.0 - intimacy, churn_protect)
    return clip01(churn_base * protect * (1.0 + misfit_penalty * (1.0 - fit)))


@register_jitable
def churn_hazard_bound(
    churn_base: float, intimacy: float, churn_protect: float, misfit_penalty: float, fit: float
) -> float:
    """A number :func:`churn_hazard` never exceeds for these arguments, without the power.

    ``churn_base (1 + penalty (1 - fit))``, when the intimacy is in [0, 1] and the other
    arguments are not negative: the protection ``(1 - I)^protect`` is then at most 1, and
    a rounded product is monotone in each factor, so the computed hazard is at most this
    computed bound. Otherwise 2.0, above every draw. A draw at or above the bound is no
    churn, whatever the power would have been: the compiled engine skips it (most members,
    most days), with the same outcomes.
    """
    factor = 1.0 + misfit_penalty * (1.0 - fit)
    if (churn_base >= 0.0 and factor >= 0.0 and churn_protect >= 0.0 and intimacy >= 0.0
            and intimacy <= 1.0):
        return churn_base * factor
    return 2.0


@register_jitable
def trough_dropout_probability(dropout: float, amplification: bool, factor: float) -> float:
    """Daily give-up probability of a KOL in its trough, divided by the amplification factor."""
    return clip01(dropout / factor if amplification else dropout)


@register_jitable
def influence_step(influence: float, rate: float, cap: float) -> float:
    """Empowerment: ``influence + rate (cap - influence)``."""
    return influence + rate * (cap - influence)


@register_jitable
def task_active(day: int, start: int, days: int) -> bool:
    """Whether the common task runs on ``day`` (days ``start+1 .. start+days``)."""
    return start < day <= start + days


@register_jitable
def ads_attempts(wanted: int) -> int:
    """Most candidate draws spent to find ``wanted`` ad joins in a day (bounded work)."""
    return 50 * wanted + 1000


@register_jitable
def daily_cost(
    posts: int,
    operator_activities: int,
    n_kols: int,
    ads_bought: int,
    cost_per_post: float,
    cost_per_activity: float,
    cost_per_kol_month: float,
    ad_price: float,
) -> float:
    """The day's cost: posts, operator activities, KOL stipends and ads actually bought.

    ``posts * cost_per_post + operator_activities * cost_per_activity
    + n_kols * cost_per_kol_month / 30 + ads_bought * ad_price``, added in that order
    (``ad_price``: today's price of one ad join, :func:`ad_price`).
    """
    return (
        posts * cost_per_post
        + operator_activities * cost_per_activity
        + n_kols * cost_per_kol_month / 30.0
        + (ads_bought * ad_price if ads_bought else 0.0)
    )
