"""Exploring a strategy by hand: the levers of ``fishpond app`` and what the app shows.

Nothing here draws a page (that is :mod:`sim.app`); this module holds the app's logic, so
that it can be tested without a browser:

- :data:`LEVERS` and :class:`Levers`: the main levers of a strategy as sliders and pickers,
  each bound to one scenario key path; :func:`levers_scenario` turns their values into a
  validated scenario (the one "Save scenario" writes and ``fishpond run`` reads back).
- :class:`Exploration`: a Mesa model stepping strategy A and, optionally, strategy B on the
  same seed, day by day, as the app's play and step buttons do.
- :func:`ab_words`: the difference between A and B in words.
- :func:`network_sample`: a few hundred persons around the seeds (and the ties between
  them) whose status the network view shows; its size does not grow with the population.

Example:
    >>> from sim.explore import Levers, levers_scenario
    >>> from sim.scenario_io import load_scenario
    >>> base = load_scenario("fish_pond")
    >>> levers = Levers.of(base).replace(population_size=2000, content_per_week=3.0)
    >>> sc = levers_scenario(base, levers)
    >>> sc.population.size, sc.program.content_per_week, sc.seeding.strategy
    (2000, 3.0, 'degree')
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mesa
import numpy as np
import pandas as pd

from .codes import ACTIVE, CHURNED, KOL, LURKER, MEMBER
from .config import SEEDING_STRATEGIES, Scenario
from .errors import OutputError, ScenarioError
from .metrics import milestone_days
from .model import GrowthModel
from .parameters import choices
from .population import Graph
from .scenario_io import merge_scenario_data, scenario_from_dict, scenario_to_yaml

__all__ = [
    "LEVERS",
    "MAX_APP_PERSONS",
    "Exploration",
    "Lever",
    "Levers",
    "ab_words",
    "levers_scenario",
    "network_sample",
    "save_scenario",
    "sample_frame",
]

#: The largest population the app runs (its network view stays a sample of this).
MAX_APP_PERSONS = 100_000


@dataclass(frozen=True)
class Lever:
    """One control of the app, bound to one scenario key path.

    Attributes:
        name: The field of :class:`Levers` (and the control's id in the page).
        key: The scenario key path it sets, dotted (``program.content_per_week``).
        label: What the control says.
        kind: ``"int"`` or ``"float"`` (a slider) or ``"choice"`` (a picker).
        low: Smallest value of a slider.
        high: Largest value of a slider.
        step: Step of a slider.
        values: The choices of a picker.
    """

    name: str
    key: str
    label: str
    kind: str
    low: float = 0
    high: float = 0
    step: float = 1
    values: tuple[str, ...] = ()

    def clamp(self, value: Any) -> Any:
        """``value`` brought into the control's range (a picker's value is kept as it is).

        Example:
            >>> LEVERS[0].clamp(2_000_000), LEVERS[0].clamp(10)
            (100000, 1000)
        """
        if self.kind == "choice":
            return value
        kept = min(max(value, self.low), self.high)
        return int(kept) if self.kind == "int" else float(kept)


#: The main levers of a strategy (issue 14), in the order the app shows them.
LEVERS: tuple[Lever, ...] = (
    Lever("population_size", "population.size", "Population (persons)", "int",
          1_000, MAX_APP_PERSONS, 1_000),
    Lever("steps", "steps", "Days to simulate", "int", 10, 730, 5),
    Lever("seed_count", "seeding.count", "Seed members (fry)", "int", 0, 1_000, 10),
    Lever("seeding_strategy", "seeding.strategy", "How seeds are chosen", "choice",
          values=tuple(SEEDING_STRATEGIES)),
    Lever("content_per_week", "program.content_per_week", "Content per week (posts)", "float",
          0, 28, 1),
    Lever("activities_per_month", "program.activities_per_month", "Activities per month",
          "float", 0, 60, 1),
    Lever("common_task_days", "program.common_task.days", "Common task (days, 0 = none)", "int",
          0, 180, 5),
    Lever("recruit_count", "program.recruit.count", "KOLs recruited per round", "int",
          0, 100, 5),
    Lever("entry_gate", "program.entry_gate.kind", "Entry gate", "choice",
          values=tuple(choices("program.entry_gate.kind"))),
    Lever("ads_daily_budget", "program.ads.daily_budget", "Ads budget per day", "float",
          0, 20_000, 100),
)
_BY_NAME = {lever.name: lever for lever in LEVERS}


def _get(sc: Scenario, key: str) -> Any:
    value: Any = sc
    for part in key.split("."):
        value = getattr(value, part)
    return value


@dataclass(frozen=True)
class Levers:
    """The values of the levers, and the run seed (the app's "seed" box).

    Build one from a scenario with :meth:`of`, change it with :meth:`replace`.
    """

    population_size: int
    steps: int
    seed_count: int
    seeding_strategy: str
    content_per_week: float
    activities_per_month: float
    common_task_days: int
    recruit_count: int
    entry_gate: str
    ads_daily_budget: float
    seed: int = 42

    @classmethod
    def of(cls, sc: Scenario) -> Levers:
        """The scenario's own values, each brought into its control's range.

        Example:
            >>> Levers.of(Scenario()).population_size
            100000
        """
        values = {lever.name: lever.clamp(_get(sc, lever.key)) for lever in LEVERS}
        return cls(**values, seed=sc.seed)

    def replace(self, **changes: Any) -> Levers:
        """A copy with some values changed (unknown names raise ScenarioError).

        Raises:
            ScenarioError: a name that is not a lever nor ``seed``.
        """
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise ScenarioError(f"levers: unknown lever {unknown[0]!r}; allowed: "
                                f"{', '.join(lever.name for lever in LEVERS)}, seed")
        return dataclasses.replace(self, **changes)

    def overrides(self) -> dict:
        """The levers as nested scenario overrides (the seed included).

        Example:
            >>> Levers.of(Scenario()).overrides()["program"]["entry_gate"]
            {'kind': 'none'}
        """
        data: dict = {"seed": self.seed}
        for lever in LEVERS:
            *head, last = lever.key.split(".")
            node = data
            for part in head:
                node = node.setdefault(part, {})
            node[last] = getattr(self, lever.name)
        return data

    def changed(self, other: Levers) -> list[str]:
        """Labels and values of the levers where ``self`` differs from ``other``.

        Example:
            >>> a = Levers.of(Scenario())
            >>> a.replace(content_per_week=3.0).changed(a)
            ['Content per week (posts) 3 (was 7)']
        """
        out = []
        for lever in LEVERS:
            mine, theirs = getattr(self, lever.name), getattr(other, lever.name)
            if mine != theirs:
                out.append(f"{lever.label} {_plain(mine)} (was {_plain(theirs)})")
        if self.seed != other.seed:
            out.append(f"seed {self.seed} (was {other.seed})")
        return out


def _plain(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return f"{int(value):,}"
    return f"{value:,}" if isinstance(value, (int, float)) else str(value)


def lever(name: str) -> Lever:
    """The lever called ``name``.

    Raises:
        ScenarioError: no such lever.
    """
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ScenarioError(f"levers: unknown lever {name!r}; allowed: "
                            f"{', '.join(_BY_NAME)}") from None


def levers_scenario(base: Scenario, levers: Levers) -> Scenario:
    """``base`` with the levers' values, validated like a scenario file.

    Args:
        base: The scenario the app started from (its other keys are kept).
        levers: The values of the levers and the seed.

    Returns:
        The validated scenario.

    Raises:
        ScenarioError: a combination the scenario does not allow (one line), e.g. more seed
            members than persons.
    """
    data = merge_scenario_data(base.model_dump(mode="python"), levers.overrides())
    return scenario_from_dict(data, source="app")


def save_scenario(sc: Scenario, folder: str | os.PathLike, stem: str | None = None) -> Path:
    """Write ``sc`` as a runnable scenario YAML in ``folder``, never over an existing file.

    The file is ``<stem>.yaml`` (``<stem>-2.yaml``, ... when taken); it is written to a
    temporary name first and then renamed, so a reader never sees half of it.

    Args:
        sc: The scenario (as :func:`levers_scenario` gives it).
        folder: Where to write (created if missing).
        stem: The file name without ``.yaml``; default: the scenario's name as a slug.

    Returns:
        The path written.

    Raises:
        OutputError: the folder cannot be created or written.
    """
    folder = Path(folder).expanduser()
    slug = stem or "".join(c if c.isalnum() else "-" for c in sc.name.lower()).strip("-")
    slug = "-".join(part for part in (slug or "scenario").split("-") if part)
    text = ("# Saved by fishpond app; run it with: fishpond run <this file>\n"
            + scenario_to_yaml(sc))
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{slug}.{os.getpid()}.tmp"
        tmp.write_text(text, encoding="utf-8")
        for i in range(1, 10_000):
            path = folder / (f"{slug}.yaml" if i == 1 else f"{slug}-{i}.yaml")
            try:
                os.link(tmp, path)  # fails if the name is taken: nothing is overwritten
            except FileExistsError:
                continue
            break
        else:  # pragma: no cover - ten thousand saved files
            raise OutputError(f"{folder}: no free file name for {slug}.yaml")
        tmp.unlink()
    except OSError as e:
        raise OutputError(f"{folder}: cannot save the scenario there: {e.strerror or e}; "
                          "choose another folder") from None
    return path


# --- the model the app steps --------------------------------------------------------------


class Exploration(mesa.Model):
    """Strategy A and (optionally) strategy B, stepped together on the same seed.

    Each strategy is a :class:`~sim.model.GrowthModel`; B gets A's population size,
    horizon and seed, so that the two differ by their strategy only.

    Args:
        a: Strategy A's scenario.
        b: Strategy B's scenario, or None for A alone.
        label_a: What the app calls A.
        label_b: What the app calls B.
        sample_size: Persons in the network view (:func:`network_sample`).

    Attributes:
        a: Strategy A's model.
        b: Strategy B's model, or None.
        nodes: The persons of the network view (indices, int64).
        edges: The ties between them (positions in ``nodes``, shape (e, 2)).
    """

    def __init__(self, a: Scenario, b: Scenario | None = None, *, label_a: str = "A",
                 label_b: str = "B", sample_size: int = 300) -> None:
        """Build both models (arguments: see the class docstring)."""
        super().__init__(rng=a.seed)
        self.a = GrowthModel(a)
        self.b = None
        if b is not None:
            same = {"seed": a.seed, "steps": a.steps,
                    "population": b.population.model_copy(update={"size": a.population.size})}
            self.b = GrowthModel(b.model_copy(update=same))
        self.label_a, self.label_b = label_a, label_b
        self.nodes, self.edges = network_sample(self.a.graph, self.a.seeds, sample_size)
        self._positions: np.ndarray | None = None

    @property
    def day(self) -> int:
        """The day both strategies have reached."""
        return self.a.day

    def step(self) -> None:
        """Advance A (and B) by one day; stop at the horizon."""
        if self.a.day >= self.a.horizon:
            self.running = False
            return
        self.a.step()
        if self.b is not None:
            self.b.step()
        self.running = self.a.day < self.a.horizon

    def positions(self) -> np.ndarray:
        """Coordinates of the network view's persons, shape (k, 2); laid out once."""
        if self._positions is None:
            self._positions = layout(len(self.nodes), self.edges, self.a.seed)
        return self._positions

    def network_frame(self) -> pd.DataFrame:
        """The network view's persons today: see :func:`sample_frame`."""
        return sample_frame(self.positions(), self.a.state.status[self.nodes],
                            self.a.state.role[self.nodes])

    def words(self) -> str:
        """Where A stands (and how it differs from B), in words."""
        sc = self.a.scenario
        currency = getattr(sc.economics, "currency", "CNY")
        ts_b = self.b.timeseries() if self.b is not None else None
        return ab_words(self.a.timeseries(), ts_b, sc.milestones, self.label_a, self.label_b,
                        currency)


# --- the network view ----------------------------------------------------------------------


def network_sample(graph: Graph, seeds: np.ndarray, size: int = 300
                   ) -> tuple[np.ndarray, np.ndarray]:
    """A few hundred persons around the seeds, and the ties between them.

    Breadth first from the seeds (at most a third of the sample), each person of a level
    adding an equal share of its not yet sampled neighbours (lowest indices first), until
    ``size`` persons; then persons of the lowest indices if the seeds' component is smaller.
    The work is bounded by the neighbours of the sampled persons, so a sample stays quick
    to draw at 100,000 persons and more. A well-mixed population has no ties.

    Args:
        graph: The population graph (CSR).
        seeds: Indices of the seed members.
        size: Persons in the sample (at most the population).

    Returns:
        ``(nodes, edges)``: person indices (int64, shape (k,)), and each tie once as a pair of
        positions into ``nodes`` (int64, shape (e, 2), first < second).

    Example:
        >>> from sim.population import from_edges
        >>> g = from_edges(5, np.array([0, 1, 2, 3]), np.array([1, 2, 3, 4]))
        >>> nodes, edges = network_sample(g, np.array([2]), size=3)
        >>> nodes.tolist(), edges.tolist()
        ([2, 1, 3], [[0, 1], [0, 2]])
    """
    size = max(0, min(int(size), graph.n))
    taken: dict[int, None] = {}
    for s in np.asarray(seeds, dtype=np.int64)[: max(1, size // 3)].tolist():
        if len(taken) < size:
            taken.setdefault(int(s), None)
    frontier = list(taken)
    indptr, indices = graph.indptr, graph.indices
    while frontier and len(taken) < size and not graph.well_mixed:
        nxt: list[int] = []
        for k, i in enumerate(frontier):
            room = size - len(taken)
            if room <= 0:
                break
            quota = max(1, math.ceil(room / (len(frontier) - k)))
            added = 0
            for j in indices[indptr[i]:indptr[i + 1]].tolist():
                if j not in taken:
                    taken[j] = None
                    nxt.append(j)
                    added += 1
                    if added >= quota:
                        break
        frontier = nxt
    i = 0
    while len(taken) < size:  # a small component: fill with the lowest indices
        taken.setdefault(i, None)
        i += 1
    nodes = np.fromiter(taken, dtype=np.int64, count=len(taken))
    return nodes, _ties(graph, nodes)


def _ties(graph: Graph, nodes: np.ndarray) -> np.ndarray:
    if graph.well_mixed or not len(nodes):
        return np.zeros((0, 2), dtype=np.int64)
    where = {int(v): k for k, v in enumerate(nodes.tolist())}
    pairs = []
    for k, i in enumerate(nodes.tolist()):
        row = graph.indices[graph.indptr[i]:graph.indptr[i + 1]]
        inside = row[np.isin(row, nodes)]
        pairs.extend((k, where[int(j)]) for j in inside.tolist() if where[int(j)] > k)
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


def layout(n: int, edges: np.ndarray, seed: int) -> np.ndarray:
    """Spring layout of ``n`` persons with ``edges`` (positions), reproducible by ``seed``.

    Returns:
        float64 coordinates, shape (n, 2), in [-1, 1].
    """
    import networkx as nx

    g = nx.Graph()
    g.add_nodes_from(range(n))
    g.add_edges_from(map(tuple, edges.tolist()))
    pos = nx.spring_layout(g, seed=seed % 2**32, iterations=40)
    return np.array([pos[k] for k in range(n)], dtype=np.float64).reshape(n, 2)


#: The groups of the network view, in the order of its legend.
GROUPS = ("KOL", "active", "lurker", "churned", "not a member")


def sample_frame(positions: np.ndarray, status: np.ndarray, role: np.ndarray) -> pd.DataFrame:
    """The network view's table: one row a person, ``x, y, group`` (a name of :data:`GROUPS`).

    Example:
        >>> sample_frame(np.zeros((2, 2)), np.array([MEMBER, 0]), np.array([KOL, 0])).group.tolist()
        ['KOL', 'not a member']
    """
    group = np.full(len(status), GROUPS[4], dtype=object)
    member = status == MEMBER
    for code, name in ((KOL, "KOL"), (ACTIVE, "active"), (LURKER, "lurker")):
        group[member & (role == code)] = name
    group[status == CHURNED] = GROUPS[3]
    return pd.DataFrame({"x": positions[:, 0], "y": positions[:, 1], "group": group})


# --- the difference in words ---------------------------------------------------------------


def _day_text(days: Mapping[str, int | None], level: int) -> str:
    day = days.get(str(level))
    return "not yet" if day is None else f"day {day}"


def ab_words(ts_a: pd.DataFrame, ts_b: pd.DataFrame | None, milestones: list[int],
             label_a: str = "A", label_b: str = "B", currency: str = "CNY") -> str:
    """Where strategy A stands today and, with B, how the two differ, in a few sentences.

    Args:
        ts_a: A's time series so far (columns ``day, members, cost``, and ``kols``).
        ts_b: B's time series so far, on the same days, or None.
        milestones: The member levels to report (the scenario's ``milestones``).
        label_a: A's name in the text.
        label_b: B's name in the text.
        currency: The unit of costs.

    Returns:
        Plain text, one sentence per finding.

    Example:
        >>> a = pd.DataFrame({"day": [0, 1], "members": [100, 160], "cost": [0.0, 900.0]})
        >>> b = pd.DataFrame({"day": [0, 1], "members": [100, 120], "cost": [0.0, 300.0]})
        >>> print(ab_words(a, b, [150]))
        Day 1: A has 160 members, B 120: A is ahead by 40 members (+33%). A reached 150 \
members on day 1; B: not yet. A spent 900 CNY (5.62 CNY per member), B 300 CNY (2.50 CNY \
per member).
    """
    if ts_a.empty:
        return "No day simulated yet."
    row_a = ts_a.iloc[-1]
    day, members_a = int(row_a["day"]), int(row_a["members"])
    days_a = milestone_days(ts_a["members"], ts_a["day"], milestones)
    if ts_b is None or ts_b.empty:
        reached = [f"{level:,} members on {_day_text(days_a, level)}" for level in milestones]
        return (f"Day {day}: {label_a} has {members_a:,} members; spent "
                f"{_money(row_a['cost'], currency)}. Milestones: {'; '.join(reached)}.")
    row_b = ts_b.iloc[-1]
    members_b = int(row_b["members"])
    gap = members_a - members_b
    if gap == 0:
        lead = "they are level"
    else:
        ahead, behind = (label_a, members_b) if gap > 0 else (label_b, members_a)
        share = f" ({abs(gap) / behind:+.0%})" if behind else ""
        lead = f"{ahead} is ahead by {abs(gap):,} members{share}"
    text = [f"Day {day}: {label_a} has {members_a:,} members, {label_b} {members_b:,}: {lead}."]
    days_b = milestone_days(ts_b["members"], ts_b["day"], milestones)
    for level in milestones:
        da, db = days_a.get(str(level)), days_b.get(str(level))
        if da is None and db is None:
            continue
        if da is not None and db is not None and da != db:
            first, other = (label_a, label_b) if da < db else (label_b, label_a)
            text.append(f"{first} reached {level:,} members {abs(da - db)} days before {other} "
                        f"(day {min(da, db)} against {max(da, db)}).")
        elif da == db:
            text.append(f"Both reached {level:,} members on day {da}.")
        else:
            text.append(f"{label_a} reached {level:,} members on {_day_text(days_a, level)}; "
                        f"{label_b}: {_day_text(days_b, level)}.")
    text.append(f"{label_a} spent {_money(row_a['cost'], currency)}"
                f"{_per_member(row_a, currency)}, {label_b} {_money(row_b['cost'], currency)}"
                f"{_per_member(row_b, currency)}.")
    return " ".join(text)


def _money(value: float, currency: str) -> str:
    return f"{float(value):,.0f} {currency}"


def _per_member(row: pd.Series, currency: str) -> str:
    members = int(row["members"])
    if members <= 0:
        return ""
    return f" ({float(row['cost']) / members:,.2f} {currency} per member)"
