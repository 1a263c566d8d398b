"""GrowthModel: the fish-pond model as a Mesa model.

Data flows one way: scenario → population (graph, fit) → state → ``step()`` (an engine
runs the phases of MODEL.md §3) → metrics (a Mesa ``DataCollector``).

Example:
    >>> from sim import GrowthModel
    >>> m = GrowthModel("fish_pond", rng=7, population={"size": 300}, steps=20, engine="agents")
    >>> m.run()
    >>> m.day, int(m.timeseries().members.iloc[0])
    (20, 100)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import mesa
import numpy as np
import pandas as pd

from . import agents as agents_engine
from . import kernels
from .codes import (
    ACTIVE,
    CHURNED,
    F_ACTIVE,
    F_INVITED,
    F_JOINED,
    F_REACHED,
    KOL,
    LURKER,
    MASS_PULL,
    MEMBER,
    NON_USER,
    ROLE_CODES,
    SEED,
    Phase,
)
from .config import Scenario
from .errors import FishpondError, ScenarioError
from .limits import check_run
from .metrics import TIMESERIES_COLUMNS, Recorder, referral_curve, summarize
from .params import DayCounts, Params
from .params import refusal as params_refusal
from .population import Graph, draw_population
from .rng import stream_key, u_key
from .scenario_io import (
    check_scenario,
    load_scenario_once,
    merge_scenario_data,
    scenario_from_dict,
)
from .seeding import choose_mass_pull, choose_seeds
from .state import PopulationState

# Mesa 3.3's step wrapper only counts the steps (``steps += 1``, and a debug log line); Mesa
# 3.5's advances its clock through the scheduled events. Where it only counts, run() may
# advance the idle days ahead at once (GrowthModel._advance_idle).
_MESA_STEP_COUNTS = not hasattr(mesa.Model, "_advance_time")


class _Collector(mesa.DataCollector):
    """Mesa's DataCollector, reading the model's own metrics from its recorder.

    The model's metrics are rows of its :class:`~sim.metrics.Recorder`'s table: they reach
    ``model_vars`` (Mesa's lists) only when ``model_vars`` is read, and
    :meth:`get_model_vars_dataframe` takes them from the table, so a day's collection costs
    nothing for them. The user's own reporters (``model_reporters=``, or added later: their
    earlier days are None) and agent reporters are collected by Mesa's own ``collect``.
    """

    source = None  # the model's Recorder, set once the model has one
    own: frozenset = frozenset()  # the metrics the model reports itself

    @property
    def model_vars(self) -> dict:
        """Mesa's ``model_vars`` (one list per reporter), the model's rows included."""
        rec, mv = self.source, self._model_vars
        if rec is not None and rec.n_rows > self._flushed:
            for name in self.own:
                if name in mv:
                    mv[name].extend(rec.column(name, self._flushed).tolist())
            self._flushed = rec.n_rows
        return mv

    @model_vars.setter
    def model_vars(self, value: dict) -> None:
        self._model_vars = value
        self._flushed = 0

    def collect(self, model) -> None:
        reporters = self.model_reporters
        extra = ({} if reporters.keys() <= self.own else
                 {name: r for name, r in reporters.items() if name not in self.own})
        for name in extra:  # a reporter added after some days: None on the days before it
            values = self._model_vars.setdefault(name, [])
            values[:0] = [None] * (self.source.n_rows - 1 - len(values))
        if not extra and hasattr(self, "_collection_steps"):
            # Mesa 3.5 notes the time of each collection there (Mesa's own collect does it
            # with this same test, when it has model reporters to collect: here it is not
            # called for them), and its batch_run reads the rows at those times
            self._collection_steps.append(model.time)
        if extra or self.agent_reporters or getattr(self, "agenttype_reporters", None):
            every, self.model_reporters = self.model_reporters, extra  # Mesa's rules for them
            try:
                super().collect(model)
            finally:
                self.model_reporters = every

    def get_model_vars_dataframe(self) -> pd.DataFrame:
        """Mesa's table of the model reporters (the model's metrics straight from its rows)."""
        rec = self.source
        if rec is None or not self.model_reporters:
            return super().get_model_vars_dataframe()
        # (the model's metrics come from the rows, not from Mesa's lists: no need to fill
        # those here)
        return pd.DataFrame({name: rec.column(name) if name in self.own else values
                             for name, values in self._model_vars.items()})


# The engines by name. Each is a module with ``buffers(model)`` (the run's buffers, made
# once in GrowthModel.__init__ and owned by the model as ``model.work``) and
# ``run_day(model) -> DayCounts`` (one day's phases 1-7, reading ``model.params``,
# ``model.state`` and ``model.work``).
ENGINES: dict[str, ModuleType] = {
    "agents": agents_engine,
    "numba": kernels,
}

# Params fields that describe the population and the run rather than the rules: a model's
# replacement parameters must keep them (the graph, state and buffers are sized by them).
_FIXED_PARAMS = ("seed", "n", "contacts", "weighted")


def resolve_scenario(scenario: Scenario | str | Path | dict | None, overrides: dict) -> Scenario:
    """A validated Scenario from a Scenario, a file/shipped name, a dict or None (base).

    Keyword ``overrides`` are nested dicts merged over it (``population={"size": 500}``).
    """
    if scenario is None:
        scenario = Scenario()
    elif isinstance(scenario, (str, Path)):
        scenario = load_scenario_once(scenario)
    elif isinstance(scenario, dict):
        scenario = scenario_from_dict(scenario)
    elif not isinstance(scenario, Scenario):
        shown = repr(scenario) if len(repr(scenario)) <= 60 else repr(scenario)[:57] + "..."
        raise ScenarioError(
            f"scenario = {shown}: not a scenario ({type(scenario).__name__}); allowed: a "
            "sim.config.Scenario, a YAML file path or shipped name such as 'fish_pond', a dict "
            "of scenario keys, or None for the base scenario")
    if overrides:
        try:
            key = (id(scenario), json.dumps(overrides, sort_keys=True))
        except (TypeError, ValueError):  # not plain data: validated below, not kept
            key = None
        hit = _resolved.get(key) if key is not None else None
        if hit is not None and hit[0] is scenario:
            return hit[1]
        data = merge_scenario_data(scenario.model_dump(mode="python"), overrides)
        merged = scenario_from_dict(data, source="GrowthModel(...)")
        if key is not None:  # the same scenario and overrides again (replicates): no work
            if len(_resolved) >= 64:
                _resolved.pop(next(iter(_resolved)))
            _resolved[key] = (scenario, merged)
        return merged
    check_scenario(scenario)
    return scenario


# scenarios with overrides already validated: (id of the scenario, overrides as JSON) ->
# (the scenario, the result); frozen pydantic models, safe to share
_resolved: dict[tuple, tuple[Scenario, Scenario]] = {}
MAX_SEED = 2**63 - 1


def nest_key_paths(overrides: dict) -> dict:
    """Overrides with key paths (``{"population.size": 5000}``) as nested mappings.

    Example:
        >>> nest_key_paths({"population.size": 500, "rules": {"decay": 0.1}, "steps": 9})
        {'rules': {'decay': 0.1}, 'steps': 9, 'population': {'size': 500}}
    """
    plain = {k: v for k, v in overrides.items() if "." not in k}
    for key, value in overrides.items():
        if "." in key:
            for part in reversed(key.split(".")):
                value = {part: value}
            plain = merge_scenario_data(plain, value)
    return plain


def named_codes(agent_reporters: dict) -> dict:
    """Agent reporters, with the attributes status, role and source reported by name.

    Example:
        >>> named_codes({"s": "status", "i": "intimacy"})
        {'s': 'status_name', 'i': 'intimacy'}
    """
    return {name: f"{r}_name" if r in ("status", "role", "source") else r
            for name, r in agent_reporters.items()}


class GrowthModel(mesa.Model):
    """Community growth on a social graph (MODEL.md).

    Args:
        scenario: a :class:`~sim.config.Scenario`, a YAML path or shipped scenario name
            (``"fish_pond"``), a dict, or None for the documented base.
        rng: the run seed (int); overrides ``scenario.seed``. Every draw of the model is
            a pure function of it (:mod:`sim.rng`); Mesa's own generators are seeded
            with it too but the model does not use them.
        engine: ``"numba"`` (compiled kernels, the default) or ``"agents"`` (readable
            Person methods); both give identical results.
        agent_reporters: optional Mesa agent reporters (collected daily over all persons;
            slow for large populations). The attributes ``"status"``, ``"role"`` and
            ``"source"`` are reported by name (``"member"``, ``"kol"``, ``"referral"``).
        model_reporters: optional Mesa model reporters, collected daily after the model's
            own metrics (under other names than theirs).
        graph: use this population graph instead of building ``scenario.population.graph``
            (its ``n`` replaces ``population.size``).
        max_memory: refuse a scenario whose estimated memory (:mod:`sim.limits`) exceeds
            this many bytes; None is the memory available now.
        skip_idle: in :meth:`run`, once no person can change any more (no member left,
            and neither the organic nor the ads channel open), record the remaining days
            without running the engine or a census: the results are the same, in a
            fraction of the time (an epidemic that died out, a cascade that stopped).
            ``step()`` called by hand always runs the day in full (the caller may have
            edited ``model.state``). Also, while a day changes few persons (under 1/8 of
            everyone), the census is kept from the persons it changed instead of counting
            everyone (the same counts), where no code of the caller's runs between days:
            not in ``step()`` by hand, on the first day of a run(), or with a progress
            callback, a subclass's ``step`` or reporters of the caller's. False runs every
            day in full.
        **overrides: scenario overrides, nested (``steps=30``,
            ``rules={"invite_rate": 0.01}``) or as key paths
            (``**{"population.size": 5000}``, as ``mesa.batch_run`` passes its parameters).

    Attributes:
        params: the flat parameters (:class:`~sim.params.Params`) that both engines read
            every day. Replace them between days to change the rules from then on
            (``model.params = dataclasses.replace(model.params, invite_rate=0.02)``);
            both engines then change the same way. The seed and the population fields
            (``n``, ``contacts``, ``weighted``) must stay the model's, and each rule
            within the bounds of its scenario key (the next day refuses it otherwise).
        state: the population state (:class:`~sim.state.PopulationState`).
        work: the engine's buffers, made once by the engine's ``buffers(model)`` and owned
            by the model (the compiled engine's :class:`~sim.kernels.Work`; None for the
            readable engine, which keeps nothing between days).

    Raises:
        ScenarioError: invalid scenario or overrides.
        DataError: unreadable population data (edge list).
    """

    # Mesa 3.5's Model has a ``scenario`` property of its own: Model.__init__ sets it to a
    # ``mesa.experimental.scenarios.Scenario`` and marks it with ``scenario.model = self`` (a
    # frozen fish-pond Scenario refuses that). Mesa 3.3 has none. This property keeps the
    # fish-pond Scenario under that name on both; Mesa's own, where Mesa sets one, is kept
    # as ``mesa_scenario`` (a feature test, not a version test: whatever Mesa assigns that
    # is not a fish-pond Scenario is Mesa's).
    @property
    def scenario(self) -> Scenario:
        """The run's scenario (validated; ``seed`` is the run seed)."""
        return self._fishpond_scenario

    @scenario.setter
    def scenario(self, value: Any) -> None:
        if isinstance(value, Scenario):
            self._fishpond_scenario = value
        else:  # Mesa's own scenario object (Mesa 3.5 and later)
            self.mesa_scenario = value
            value.model = self

    def __init__(
        self,
        scenario: Scenario | str | Path | dict | None = None,
        *,
        rng: int | None = None,
        engine: str = "numba",
        agent_reporters: dict | None = None,
        model_reporters: dict | None = None,
        graph: Graph | None = None,
        max_memory: int | None = None,
        skip_idle: bool = True,
        **overrides: Any,
    ) -> None:
        """Resolve the scenario, build the graph, seed the population (arguments: see above)."""
        if rng is not None:
            if isinstance(rng, bool) or not isinstance(rng, (int, np.integer)) or rng < 0:
                raise ScenarioError(f"rng = {rng!r}: the run seed must be a non-negative integer")
            if rng > MAX_SEED:
                raise ScenarioError(f"rng = {rng!r}: the run seed is too large; allowed: a whole "
                                    f"number in [0, {MAX_SEED}]")
        if engine not in ENGINES:
            raise ScenarioError(
                f"engine = {engine!r}: unknown engine; allowed: {', '.join(ENGINES)}"
            )
        if graph is not None and not isinstance(graph, Graph):
            raise ScenarioError(
                f"graph = {type(graph).__name__} object: not a population graph; allowed: a "
                "sim.population.Graph (from build_graph, from_edges or load_edgelist) or None")
        self.scenario: Scenario = resolve_scenario(scenario, nest_key_paths(overrides))
        if rng is not None and int(rng) != self.scenario.seed:
            self.scenario = self.scenario.model_copy(update={"seed": int(rng)})
        super().__init__(rng=self.scenario.seed)
        # Mesa's Model.__init__ replaces ``step`` by its own wrapper (an instance attribute):
        # Mesa 3.3 counts ``steps`` there; Mesa 3.5 runs the day as an event of its schedule,
        # and a day that raised leaves that schedule stopped, so every later step() would
        # silently do nothing. A day that cannot be taken (the horizon, bad params) is
        # refused here, before Mesa's wrapper starts it; the model stays usable on both.
        self._mesa_step = self.step
        self.step = self._refusing_step
        self.engine = engine
        self._engine = ENGINES[engine]
        sc = self.scenario
        self.seed = sc.seed
        self.horizon = sc.steps  # (Mesa's own self.steps counts the steps taken)
        self.day = 0
        self.skip_idle = bool(skip_idle)
        self._timeseries: tuple[tuple, pd.DataFrame] | None = None  # (key, frame) once built
        self._idle = False  # whether the last day was idle (nobody could change)
        self._may_idle = False  # set by run(): no one edited the state since the last day
        # set by run(): the days to come are idle and no code of the caller's runs between
        # them, so step() only advances the day; run() records their rows in one call
        self._idle_ahead = False
        self._unrecorded = 0  # idle days advanced whose rows run() has not recorded yet
        # set by run(): no code of the caller's runs between its days (so, from its second
        # day on, only the engine changed the state since the last census), and how many of
        # its days come after this one
        self._kept = False
        self._ahead = 0
        self.idle_days = 0  # days recorded without the engine (see skip_idle)

        if graph is None:  # refuse what cannot fit before allocating anything
            check_run(sc, engine=engine, max_memory=max_memory)
        pop_seed = sc.seed if sc.population.seed is None else sc.population.seed
        self.graph, fit, engagement = draw_population(sc.population, pop_seed, graph)
        n = self.graph.n
        if n != sc.population.size:  # edge lists and given graphs set the size
            sc = self.scenario = sc.model_copy(
                update={"population": sc.population.model_copy(update={"size": n})}
            )
        if sc.seeding.count + sc.mass_pull.count > n:
            raise ScenarioError(
                f"seeding.count + mass_pull.count = {sc.seeding.count + sc.mass_pull.count}: "
                f"more than the {n} persons of the population; allowed: at most {n}"
            )
        # The flat parameters both engines read every day. A user may replace them between
        # days (``dataclasses.replace(model.params, invite_rate=0.02)``): the following days
        # change the same way on both engines; step() checks the replacement once.
        self.params = Params.from_scenario(
            sc, n=n, contacts=self.graph.contacts, weighted=self.graph.weights is not None
        )
        self._checked_params = self.params
        self.state = PopulationState.empty(fit, engagement)
        # agent views: all made up front for the agents engine, on first use otherwise
        self._persons: list[agents_engine.Person | None] | dict[int, agents_engine.Person] = (
            [None] * n if engine == "agents" else {}
        )
        self._adjacency: list[list[int]] | None = None
        self._streams: dict[int, int] = {}
        self._contacts: dict[int, list[int]] = {}
        self._seed_population()
        self.work = self._engine.buffers(self)  # the engine's buffers, kept for the whole run

        self.recorder = Recorder(self)
        reporters = {name: (lambda m, name=name: m.today[name]) for name in TIMESERIES_COLUMNS}
        taken = sorted(set(model_reporters or {}) & set(reporters))
        if taken:
            raise ScenarioError(
                f"model_reporters: {', '.join(map(repr, taken))}: the name of a metric the "
                "model reports itself; allowed: another name")
        reporters.update(model_reporters or {})
        self.datacollector = _Collector(
            model_reporters=reporters, agent_reporters=named_codes(agent_reporters or {})
        )
        self.datacollector.own = frozenset(TIMESERIES_COLUMNS)
        self.datacollector.source = self.recorder
        if engine == "agents" or agent_reporters:
            for i in range(n):
                self.person(i)
        self._record(None)

    # --- set-up ---------------------------------------------------------------------

    def _seed_population(self) -> None:
        sc, st = self.scenario, self.state
        seeds = choose_seeds(sc, self.graph, st.fit)
        role = ROLE_CODES[sc.seeding.role]
        st.status[seeds] = MEMBER
        st.role[seeds] = role
        st.intimacy[seeds] = sc.seeding.intimacy
        st.source[seeds] = SEED
        st.join_day[seeds] = 0
        st.funnel[seeds] |= F_REACHED | F_INVITED | F_JOINED | (F_ACTIVE if role != LURKER else 0)
        if role == KOL:
            st.kol_since[seeds] = 0
        self.seeds = seeds
        pulled = choose_mass_pull(sc, self.graph, seeds)
        st.status[pulled] = MEMBER
        st.role[pulled] = LURKER
        st.intimacy[pulled] = sc.mass_pull.intimacy
        st.source[pulled] = MASS_PULL
        st.join_day[pulled] = 0
        st.funnel[pulled] |= F_REACHED | F_INVITED | F_JOINED

    # --- parameters ------------------------------------------------------------------

    def _check_params(self) -> None:
        """Check ``self.params`` once after it was replaced (called by :meth:`step`).

        Raises:
            FishpondError: not a ``Params``, a fixed field (seed, n, contacts, weighted)
                differs from the model's, or a rule set to a value its scenario key would
                refuse (NaN, out of bounds: a recruitment every 0 days divided by zero).
        """
        value, old = self.params, self._checked_params
        if not isinstance(value, Params):
            raise FishpondError(
                f"model.params = {type(value).__name__} object: not the model's parameters; "
                "allowed: a sim.params.Params, e.g. "
                "dataclasses.replace(model.params, invite_rate=0.02)")
        for name in _FIXED_PARAMS:
            new, was = getattr(value, name), getattr(old, name)
            if new != was:
                raise FishpondError(
                    f"model.params.{name} = {new!r}: differs from this model's {was!r}; allowed: "
                    f"the model's own {name} (only the rules may change between days)")
        for name, new in value.as_dict().items():  # the rules set by hand: a scenario's bounds
            if name not in _FIXED_PARAMS and new is not getattr(old, name):
                why = params_refusal(name, new)
                if why:
                    raise FishpondError(f"model.params.{name} = {why}")
        self._checked_params = value

    # --- services for the engines ---------------------------------------------------

    def person(self, i: int) -> agents_engine.Person:
        """The agent view of person ``i`` (created on first use).

        Raises:
            FishpondError: ``i`` is not a person's index (a whole number in [0, n)).
        """
        if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)) or \
                not 0 <= i < self.graph.n:
            raise FishpondError(f"person({i!r}): no such person; allowed: a whole number in "
                                f"[0, {self.graph.n - 1}]")
        persons = self._persons
        p = persons[i] if type(persons) is list else persons.get(i)
        if p is None:
            p = persons[i] = agents_engine.Person(self, int(i))
        return p

    @property
    def agents(self) -> mesa.agent.AgentSet:
        """Every person, as a Mesa AgentSet (``select``, ``groupby``, ``agg`` work).

        The compiled engine keeps no person objects: their views (:meth:`person`) are made
        here, on the first use, for the persons not seen yet, in index order.
        """
        persons = self._persons
        if len(persons) < self.graph.n or (type(persons) is list and None in persons):
            for i in range(self.graph.n):
                self.person(i)
        return super().agents

    def stream(self, phase: int) -> int:
        """Hash prefix of today's draws for ``phase`` (see :func:`sim.rng.stream_key`)."""
        key = self._streams.get(phase)
        if key is None:
            key = self._streams[phase] = stream_key(self.seed, self.day, phase)
        return key

    def neighbours_of(self, i: int) -> list[int]:
        """Person ``i``'s neighbours today: graph neighbours, or today's random contacts."""
        if self.graph.well_mixed:
            contacts = self._contacts.get(i)
            if contacts is None:
                key, n = self.stream(Phase.CONTACTS), self.params.n
                drawn = (int(u_key(key, i, c) * n) for c in range(self.params.contacts))
                contacts = self._contacts[i] = [j for j in drawn if j != i]
            return contacts
        if self._adjacency is None:
            ptr, idx = self.graph.indptr.tolist(), self.graph.indices.tolist()
            self._adjacency = [idx[ptr[i] : ptr[i + 1]] for i in range(self.graph.n)]
        return self._adjacency[i]

    # --- selecting persons ----------------------------------------------------------

    def _select(self, mask: np.ndarray) -> mesa.agent.AgentSet:
        return mesa.agent.AgentSet(
            [self.person(int(i)) for i in np.flatnonzero(mask)], random=self.random
        )

    def members(self) -> mesa.agent.AgentSet:
        """Current members (all roles), as Person views."""
        return self._select(self.state.status == MEMBER)

    def kols(self) -> mesa.agent.AgentSet:
        """Current KOL members."""
        return self._select((self.state.status == MEMBER) & (self.state.role == KOL))

    def actives(self) -> mesa.agent.AgentSet:
        """Current active (contributing, non-KOL) members."""
        return self._select((self.state.status == MEMBER) & (self.state.role == ACTIVE))

    def lurkers(self) -> mesa.agent.AgentSet:
        """Current lurking members."""
        return self._select((self.state.status == MEMBER) & (self.state.role == LURKER))

    def non_users(self) -> mesa.agent.AgentSet:
        """Persons who never joined (or never rejoined)."""
        return self._select(self.state.status == NON_USER)

    def churned(self) -> mesa.agent.AgentSet:
        """Former members."""
        return self._select(self.state.status == CHURNED)

    # --- running --------------------------------------------------------------------

    @property
    def today(self) -> dict:
        """The metrics row of the current day (a new dict whenever a day is recorded)."""
        return self.recorder.last()

    def _record(self, counts: DayCounts | None) -> None:
        self.recorder.record_counts(self, counts)
        self.datacollector.collect(self)

    def step(self) -> None:
        """Advance one day: phases 1–7 by the engine, then record the metrics (phase 8).

        Raises:
            FishpondError: the run has reached its horizon (``scenario.steps`` days), or
                ``model.params`` was replaced by something other than the model's
                parameters with new rule values (see ``params`` in the class docstring).
        """
        self._check_step()
        self.day += 1
        self._streams.clear()
        self._contacts.clear()
        if self._idle_ahead:  # run() records this day's row with the others
            self.idle_days += 1
            self._unrecorded += 1
            self.datacollector.collect(self)
            if self.day >= self.horizon:
                self.running = False
            return
        # inside run(), from its second day on (nobody could edit the state in between):
        self._idle = self._may_idle and self.skip_idle and self._nothing_can_change()
        if self._idle:  # nobody can change: the day's flows only, no engine, no census
            self.idle_days += 1
            self.recorder.record_idle_days(self, self.day, 1)
            self.datacollector.collect(self)
        elif hasattr(self._engine, "run_day_flows"):  # the counts as arrays, no DayCounts
            kept = self._kept
            self.recorder.record_row(self, *self._engine.run_day_flows(self),
                                     unedited=kept and self._may_idle,
                                     ahead=kept and self._ahead > 0)
            self.datacollector.collect(self)
        else:
            self._record(self._engine.run_day(self))
        if self.day >= self.horizon:
            self.running = False

    def _check_step(self) -> None:
        """Refuse a day that cannot be taken (the reasons: see :meth:`step`)."""
        if self.day >= self.horizon:
            raise FishpondError(
                f"step(): the run is at day {self.day}, its horizon (steps = {self.horizon}); "
                "allowed: at most steps days; build the model with a larger steps=... to go on")
        if self.params is not self._checked_params:
            self._check_params()

    def _refusing_step(self) -> None:
        """``model.step()``: Mesa's step (:meth:`step` inside), once the day can be taken."""
        self._check_step()
        self._mesa_step()

    def _nothing_can_change(self) -> bool:
        """No member, and no organic or ads channel: no day can change a person any more.

        Every rule of MODEL.md §3 that changes a person starts from a member (feeding,
        activities, interactions, invitations, roles, churn, paying) or from the organic
        or ads channel; the entry gate only filters joiners and has no queue. So from such
        a day on, every day changes nobody: :meth:`Recorder.record_idle_days` gives its
        row exactly.
        Read at the start of every day, as ``model.params`` may be replaced between days.
        """
        p = self.params
        return (self.recorder.value("members") == 0 and p.organic_rate <= 0
                and p.ads_daily_budget <= 0)

    def run(self, steps: int | None = None, progress: Callable[[int], None] | None = None) -> None:
        """Run ``steps`` more days (default: up to the scenario's horizon).

        Args:
            steps: days to run; None runs until ``scenario.steps``.
            progress: optional callback called with the day after each step. It may
                replace ``model.params``, but not edit ``model.state``: the next day may be
                skipped as idle on the last day's census (see ``skip_idle``). To edit the
                state between days, call ``run(1)`` or ``step()`` once a day: their first day
                always runs in full.

        Raises:
            FishpondError: ``steps`` is negative, not a whole number, or goes past the horizon.
        """
        left = self.horizon - self.day
        if steps is not None and (isinstance(steps, (bool, np.bool_)) or
                                  not isinstance(steps, (int, np.integer)) or
                                  not 0 <= steps <= left):
            raise FishpondError(
                f"run(steps={steps!r}): allowed: a whole number in [0, {left}] (the days left "
                f"before the horizon of {self.horizon}), or None to run to the horizon")
        todo = left if steps is None else int(steps)
        try:
            self._kept = progress is None and self.skip_idle and self._caller_free()
            for k in range(todo):
                self._may_idle = k > 0  # the state is as the last day left it
                self._ahead = todo - 1 - k
                if self._may_idle and progress is None and not self._idle_ahead:
                    self._idle_ahead = self._idle_from_now_on()
                if self._idle_ahead and _MESA_STEP_COUNTS:
                    self._advance_idle(todo - k)
                    break
                self.step()
                if progress is not None:
                    progress(self.day)
        finally:
            self._may_idle = self._idle_ahead = self._kept = False
            self._ahead = 0
            if self._unrecorded:  # the idle days' rows, all at once (also on Ctrl-C)
                days, self._unrecorded = self._unrecorded, 0
                self.recorder.record_idle_days(self, self.day - days + 1, days)

    def _advance_idle(self, days: int) -> None:
        """Advance ``days`` idle days at once, as as many calls of :meth:`step` would.

        Only inside run(), once every day left is idle (:meth:`_idle_from_now_on`), and
        where Mesa's step only counts the steps (Mesa 3.3: ``steps += 1`` and a debug log
        line, which is not written here), so that nothing else would run between the days.
        """
        self.steps += days
        self.day += days
        self.idle_days += days
        self._unrecorded += days
        self._streams.clear()
        self._contacts.clear()
        if self.day >= self.horizon:
            self.running = False

    def _idle_from_now_on(self) -> bool:
        """Inside run(): every day left is idle, and nothing but Mesa's clock runs between.

        Then :meth:`step` only advances the day (through Mesa's own step, so Mesa's clock
        and schedule move as usual) and run() records the idle rows in one compiled call,
        exactly the rows that :meth:`Recorder.record_idle_days` gives day by day.
        Not when the caller could act between days: a progress callback (checked by
        run()), a subclass's ``step``, a reporter of the caller's, or an event scheduled on
        Mesa's clock (Mesa 3.5) besides the daily step.
        """
        return self.skip_idle and self._nothing_can_change() and self._caller_free()

    def _caller_free(self) -> bool:
        """No code of the caller's runs during a day of :meth:`run` (but a progress callback).

        No subclass's ``step``, no reporter of the caller's, no collection of the caller's,
        no event scheduled on Mesa's clock (Mesa 3.5) besides the daily step. (run() checks
        that it has no progress callback.)
        """
        if type(self).step is not GrowthModel.step:
            return False
        dc = self.datacollector
        if "collect" in vars(dc) or type(dc).collect is not _Collector.collect:
            return False
        if (not dc.model_reporters.keys() <= dc.own or dc.agent_reporters
                or getattr(dc, "agenttype_reporters", None)):
            return False
        events = getattr(self, "_event_list", None)  # Mesa 3.5: the daily step's next event
        return events is None or len(events) <= 1

    # --- results --------------------------------------------------------------------

    def timeseries(self) -> pd.DataFrame:
        """One row per recorded day (from day 0), the metrics of MODEL.md §6.

        A new DataFrame on every call (the caller may change it); built once per day.
        """
        dc = self.datacollector
        key = (self.recorder.n_rows, tuple(dc.model_reporters))
        cached = self._timeseries
        if cached is None or cached[0] != key:
            frame = dc.get_model_vars_dataframe().reset_index(drop=True)
            cached = self._timeseries = (key, frame)
        return cached[1].copy()

    def referral_curve(self) -> pd.DataFrame:
        """The referral concentration curve of the current state."""
        return referral_curve(self.state)

    def summary(self) -> dict:
        """The run summary (final metrics, milestone days, totals); JSON-ready."""
        info = {
            "scenario": self.scenario.name,
            "seed": self.seed,
            "steps": self.day,
            "engine": self.engine,
            "population": self.graph.n,
            "edges": self.graph.n_edges,
            "ever_members": int((self.state.status != NON_USER).sum()),
            "currency": self.scenario.economics.currency,
        }
        return summarize(self.recorder.columns(), info, self.scenario.milestones)
