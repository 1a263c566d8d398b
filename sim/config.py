"""Scenario parameters: frozen pydantic models mirroring MODEL.md §8 key paths.

The models are derived from the one table of parameters, :data:`sim.parameters.TABLE`: one
model per mapping of a scenario file (the names below), one field per key, with the table's
type, default (the documented base, identical to ``scenarios/base.yaml``), bounds and
description. ``population.graph`` is a union of models chosen by its ``kind``. Loading YAML
files (with ``extends:``, ``--set`` overrides and file:line error messages) and the rules
that involve more than one field live in :mod:`sim.scenario_io`; this module only defines
what a valid value of each key is.

Example:
    >>> from sim.config import Scenario
    >>> sc = Scenario()
    >>> sc.rules.invite_rate > 0
    True
    >>> sc.model_copy(update={"steps": 30}).steps
    30
    >>> Rules.model_fields["invite_rate"].description
    'base daily invitation probability per non-member neighbour'
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, create_model

from . import parameters
from .parameters import MAX_DAYS, MAX_MONEY, MAX_PERSONS, REQUIRED, Param, Section

__all__ = [  # the limits, the enumerations and the models
    "GRAPH_KINDS", "MAX_DAYS", "MAX_MONEY", "MAX_PERSONS", "SEEDING_STRATEGIES", "Ads",
    "Amplification", "BarabasiAlbert", "Circles", "CommonTask", "Complete", "Economics",
    "EdgeList", "Empowerment", "Engagement", "EntryGate", "Fit", "Graph", "JoinIntimacy",
    "MassPull", "Population", "PowerlawCluster", "Program", "Recruit", "RoleMult", "Rules",
    "Scenario",
    "Seeding", "Strict", "WattsStrogatz", "WellMixed",
]


class Strict(BaseModel):
    """Base: immutable, unknown keys are errors, every number finite (no inf, no NaN)."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


def _field(p: Param) -> tuple[Any, Any]:
    """The pydantic ``(annotation, Field)`` of one key of the table."""
    bounds = p.bounds
    tp: Any = Literal[p.choices] if p.choices else p.type
    if p.type is list:  # a list of whole numbers: the bounds are each item's
        tp, bounds = list[Annotated[int, Field(**bounds)]], {}
    if p.optional:  # null allowed: the bounds are the value's, when it is not null
        tp, bounds = (Annotated[tp, Field(**bounds)] if bounds else tp) | None, {}
    text = {k: v for k, v in (("min_length", p.min_length), ("max_length", p.max_length))
            if v is not None}
    if isinstance(p.default, tuple):
        field = Field(default_factory=lambda d=p.default: list(d), description=p.doc)
    else:
        default = ... if p.default is REQUIRED else p.default
        field = Field(default, **bounds, **text, description=p.doc)
    return tp, field


def _sentence(doc: str) -> str:
    return doc[0].upper() + doc[1:] + "."


def _model(section: Section, built: dict[str, Any]) -> tuple[Any, Any]:
    """Build the model of ``section`` (and those inside it) into ``built``.

    Returns:
        The ``(annotation, Field)`` of the section as a field of the enclosing model.
    """
    inside = parameters.children(section)
    if section.model is None:  # a union of models, chosen by the value of ``kind``
        kind = next(row for row in inside if isinstance(row, Param))
        members = {s.kind: _model(s, built)[0] for s in inside if isinstance(s, Section)}
        union = Annotated[Union[tuple(members.values())], Field(discriminator="kind")]  # noqa: UP007
        built[section.key] = union
        return union, Field(default_factory=members[kind.default], description=section.doc)
    fields: dict[str, Any] = {}
    if section.kind is not None:  # a union member: its ``kind`` is fixed
        doc = parameters.find(f"{section.key}.kind").doc
        fields["kind"] = (Literal[section.kind], Field(section.kind, description=doc))
    for row in inside:
        fields[row.name] = _field(row) if isinstance(row, Param) else _model(row, built)
    model = create_model(section.model, __base__=Strict, __module__=__name__,
                         __doc__=_sentence(section.doc), **fields)
    built[section.model] = model
    return model, Field(default_factory=model, description=section.doc)


def _build() -> dict[str, Any]:
    """Every model of the table, by class name (and the graph union by its key path)."""
    built: dict[str, Any] = {}
    _model(parameters.sections()[0], built)
    return built


_MODELS = _build()

# The models, by the names of the table's sections (pickled instances find them here).
BarabasiAlbert = _MODELS["BarabasiAlbert"]
WattsStrogatz = _MODELS["WattsStrogatz"]
PowerlawCluster = _MODELS["PowerlawCluster"]
Circles = _MODELS["Circles"]
Complete = _MODELS["Complete"]
WellMixed = _MODELS["WellMixed"]
EdgeList = _MODELS["EdgeList"]
Graph = _MODELS["population.graph"]
Fit = _MODELS["Fit"]
Engagement = _MODELS["Engagement"]
Population = _MODELS["Population"]
Seeding = _MODELS["Seeding"]
MassPull = _MODELS["MassPull"]
CommonTask = _MODELS["CommonTask"]
Empowerment = _MODELS["Empowerment"]
Recruit = _MODELS["Recruit"]
Amplification = _MODELS["Amplification"]
EntryGate = _MODELS["EntryGate"]
Ads = _MODELS["Ads"]
Program = _MODELS["Program"]
RoleMult = _MODELS["RoleMult"]
JoinIntimacy = _MODELS["JoinIntimacy"]
Rules = _MODELS["Rules"]
Economics = _MODELS["Economics"]
Scenario = _MODELS["Scenario"]

GRAPH_KINDS = parameters.choices("population.graph.kind")
SEEDING_STRATEGIES = parameters.choices("seeding.strategy")
