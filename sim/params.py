"""Flat numeric parameters of a run, derived once from a :class:`~sim.config.Scenario`.

Engines read these plain floats/ints instead of walking the nested pydantic models in
their inner loops; the compiled engine passes the same values to its kernels.

:class:`Params` is derived from the table of parameters (:mod:`sim.parameters`): after the
run's ``seed``, ``n``, ``contacts`` and ``weighted`` come all keys of ``program``, ``rules``
and ``economics`` in table order, each named by :func:`sim.parameters.flat_name` and holding
the scenario's value (an enumerated key holds its integer code, e.g. the entry gate's kind:
0 none, 1 review, 2 payment).

Example:
    >>> from sim.config import Scenario
    >>> p = Params.from_scenario(Scenario(), n=1000, contacts=0, weighted=False)
    >>> p.invite_rate, p.entry_gate_kind, p.role_mult_kol
    (0.021, 0, 3.0)
"""

from __future__ import annotations

from dataclasses import dataclass, fields, make_dataclass
from typing import Any

from . import parameters
from .config import Scenario

_RUN = (("seed", int), ("n", int), ("contacts", int), ("weighted", bool))
_KERNEL = tuple((parameters.flat_name(p), p) for p in parameters.kernel_params())


def _value(sc: Scenario, p: parameters.Param) -> Any:
    """The value of ``p``'s key in ``sc`` (an enumerated key: its integer code)."""
    value: Any = sc
    for segment in p.key.split("."):
        value = getattr(value, segment)
    return parameters.code(p.key, value) if p.choices else value


def _from_scenario(cls, sc: Scenario, n: int, contacts: int, weighted: bool) -> Params:
    """Flatten ``sc`` for a population of ``n`` persons.

    Args:
        cls: :class:`Params`.
        sc: The validated scenario.
        n: Number of persons of the built population.
        contacts: Random contacts per member per day (well-mixed populations; else 0).
        weighted: Whether the graph's edges carry weights.

    Returns:
        The run's Params.
    """
    return cls(seed=sc.seed, n=n, contacts=contacts, weighted=weighted,
               **{name: _value(sc, p) for name, p in _KERNEL})


def _as_dict(self) -> dict:
    """All values by name."""
    return {f.name: getattr(self, f.name) for f in fields(self)}


Params = make_dataclass(
    "Params",
    [*_RUN, *((name, int if p.choices else p.type) for name, p in _KERNEL)],
    namespace={
        "__module__": __name__,
        "__doc__": "Every number the daily phases use (derived from sim.parameters.TABLE).",
        "from_scenario": classmethod(_from_scenario),
        "as_dict": _as_dict,
    },
    frozen=True,
    slots=True,
)


def refusal(name: str, value: Any) -> str | None:
    """Why ``value`` cannot be the rule ``name`` of a :class:`Params`, or None if it can.

    The same bounds as the scenario's key (:mod:`sim.parameters`); an enumerated key takes
    its integer code. For values set by hand (``dataclasses.replace(model.params, ...)``),
    which no scenario validated.

    Example:
        >>> refusal("invite_rate", 0.02), refusal("invite_rate", float("nan"))
        (None, 'nan: not a number; allowed: a number in [0, 1]')
        >>> refusal("recruit_every_days", 0)
        '0: allowed: a whole number in [1, 100000]'
    """
    p = _BY_NAME[name]
    if p.choices:
        codes = ", ".join(f"{k} ({c})" for k, c in enumerate(p.choices))
        if type(value) is not int or not 0 <= value < len(p.choices):
            return f"{value!r}: not the code of a choice; allowed: {codes}"
        return None
    if p.type is bool:
        return None if isinstance(value, bool) else f"{value!r}: allowed: true or false"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"{value!r}: not a number; allowed: {parameters.allowed(p)}"
    if p.type is int and not isinstance(value, int):
        return f"{value!r}: not a whole number; allowed: {parameters.allowed(p)}"
    if value != value:
        return f"{value!r}: not a number; allowed: {parameters.allowed(p)}"
    inside = ((p.ge is None or value >= p.ge) and (p.gt is None or value > p.gt)
              and (p.le is None or value <= p.le) and (p.lt is None or value < p.lt))
    return None if inside else f"{value!r}: allowed: {parameters.allowed(p)}"


_BY_NAME = dict(_KERNEL)


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
