"""The ``fishpond app`` page: explore a strategy by hand, in the browser (Mesa's SolaraViz).

Run it with ``fishpond app [SCENARIO]`` (or ``solara run sim/app.py``, which starts from
the shipped fish pond). The sidebar holds the levers of strategy A (each change restarts
the model), the choice of a strategy B to run beside it on the same seed, and "Save
scenario"; Mesa's own controls (reset, play, step, the play interval as the speed) drive
both. The panels show members by role with the milestone lines, daily joins by source,
the funnel, the money, the network around the seeds and the difference between A and B
in words. The logic lives in :mod:`sim.explore`, the charts in :mod:`sim.charts`.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import solara
from mesa.visualization import SolaraViz
from mesa.visualization.utils import update_counter

from sim import charts
from sim.charts.live import daily_joins, members_ab, money, network_view
from sim.config import Scenario
from sim.errors import FishpondError
from sim.explore import LEVERS, Exploration, Levers, levers_scenario, save_scenario
from sim.metrics import milestone_days
from sim.scenario_io import load_scenario
from sim.serve import ENV_SAVE_DIR, ENV_SCENARIO, ENV_SET
from sim.shipped import names as shipped_names

NO_B = "none"
PINNED = "pinned A"
START = "start"


def _start() -> tuple[Scenario, str]:
    """The scenario the page starts from (``fishpond app`` passes it in the environment)."""
    name = os.environ.get(ENV_SCENARIO) or "fish_pond"
    overrides = json.loads(os.environ.get(ENV_SET) or "[]")
    return load_scenario(name, overrides), Path(name).stem


BASE, BASE_LABEL = _start()
SAVE_DIR = Path(os.environ.get(ENV_SAVE_DIR) or "saved_scenarios")
B_CHOICES = [NO_B, START] + [n for n in shipped_names("scenarios") if n != "base"]

# the page's state (Solara gives every browser session its own values)
levers = solara.reactive(Levers.of(BASE))
compare = solara.reactive(NO_B)
pinned: solara.Reactive[Levers | None] = solara.reactive(None)
problem = solara.reactive("")
saved = solara.reactive("")


def _b_scenario(choice: str) -> Scenario | None:
    if choice == NO_B:
        return None
    if choice == PINNED:
        return levers_scenario(BASE, pinned.value) if pinned.value is not None else None
    if choice == START:
        return BASE
    return load_scenario(choice)


class LiveExploration(Exploration):
    """The session's exploration: A from the levers, B as chosen (what Reset rebuilds)."""

    def __init__(self) -> None:
        """Build A and B from the session's current choices."""
        super().__init__(levers_scenario(BASE, levers.value), _b_scenario(compare.value),
                         label_a="A", label_b=f"B ({compare.value})")


def _validate_rc_params() -> None:
    """Make the server's rcParams validate what is set again (the house style needs it).

    Solara's server gives each session its own ``matplotlib.rcParams`` (a subclass whose
    ``__setitem__`` stores values as they come), so a style file's values stay text
    (``figure.figsize = "12.8, 7.2"``) and every chart fails. This puts matplotlib's own
    validator in front of that ``__setitem__``; outside Solara's server it does nothing.
    """
    import matplotlib

    cls = type(matplotlib.rcParams)
    if getattr(cls, "_fishpond_validates", False) or cls.__module__.startswith("matplotlib"):
        return
    store = cls.__setitem__

    def __setitem__(self, key, value):
        validate = matplotlib.rcsetup._validators.get(key)
        store(self, key, validate(value) if validate is not None else value)

    cls.__setitem__ = __setitem__
    cls._fishpond_validates = True


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=55)
    return buf.getvalue()


# --- panels (Mesa components: a function of the model) --------------------------------------


def Status(model: Exploration):
    """Day, members (A and B) and the difference in words."""
    row = model.a.timeseries().iloc[-1]
    with solara.Column() as main:
        with solara.Row():
            solara.Text("Day ")
            solara.Text(f"{model.day}", classes=["fishpond-day"])
            solara.Text(" · A members ")
            solara.Text(f"{int(row['members'])}", classes=["fishpond-members"])
            if model.b is not None:
                solara.Text(f" · {model.label_b} members ")
                solara.Text(f"{int(model.b.timeseries()['members'].iloc[-1])}",
                            classes=["fishpond-members-b"])
        changes = levers.value.changed(Levers.of(BASE))
        solara.Text("Changed from the start: " + ("; ".join(changes) if changes else "nothing"),
                    classes=["fishpond-changes"])
        solara.Text(model.words(), classes=["fishpond-words"])
    return main


def MembersPanel(model: Exploration):
    """Members by role with the milestone lines."""
    ts = model.a.timeseries()
    days = milestone_days(ts["members"], ts["day"], model.a.scenario.milestones)
    return solara.Image(_png(charts.members_by_role(ts, days, title="A: members by role")),
                        width="100%")


def JoinsPanel(model: Exploration):
    """Daily joins by source."""
    return solara.Image(_png(daily_joins(model.a.timeseries())), width="100%")


def FunnelPanel(model: Exploration):
    """The growth funnel."""
    return solara.Image(_png(charts.funnel(model.a.timeseries())), width="100%")


def MoneyPanel(model: Exploration):
    """Cost, revenue, cost per member."""
    currency = getattr(model.a.scenario.economics, "currency", "CNY")
    return solara.Image(_png(money(model.a.timeseries(), currency)), width="100%")


def NetworkPanel(model: Exploration):
    """A few hundred persons around the seeds, coloured by status and role."""
    return solara.Image(_png(network_view(model.network_frame(), model.edges)), width="100%")


@solara.component
def Panels(model: Exploration):
    """Every panel, drawn again after each step (Mesa's controls bump ``update_counter``)."""
    update_counter.get()
    _validate_rc_params()
    with solara.Column() as main:
        with solara.Card("Where A stands"):
            Status(model)
        with solara.Columns([1, 1]):
            MembersPanel(model)
            NetworkPanel(model)
        with solara.Columns([1, 1]):
            JoinsPanel(model)
            FunnelPanel(model)
        with solara.Columns([1, 1]):
            MoneyPanel(model)
            if model.b is not None:
                solara.Image(_png(members_ab(model.a.timeseries(), model.b.timeseries(), "A",
                                             model.label_b)), width="100%")
    return main


# --- the sidebar ---------------------------------------------------------------------------


@solara.component
def Levers_(model: solara.Reactive[Exploration]):
    """The levers of A, the choice of B, and Save scenario."""

    def rebuild(new_levers: Levers | None = None, new_compare: str | None = None) -> None:
        old = levers.value, compare.value
        if new_levers is not None:
            levers.value = new_levers
        if new_compare is not None:
            compare.value = new_compare
        try:
            model.value = LiveExploration()
        except FishpondError as e:
            levers.value, compare.value = old
            problem.value = str(e)
        else:
            problem.value = ""

    def change(name: str, value) -> None:
        rebuild(new_levers=levers.value.replace(**{name: value}))

    def pin() -> None:
        pinned.value = levers.value
        rebuild(new_compare=PINNED)

    def save() -> None:
        sc = levers_scenario(BASE, levers.value)
        changes = levers.value.changed(Levers.of(BASE))
        sc = sc.model_copy(update={
            "description": f"saved by fishpond app from {BASE_LABEL}"
            + (f": {'; '.join(changes)}" if changes else "")})
        try:
            path = save_scenario(sc, SAVE_DIR, stem=f"{BASE_LABEL}-app")
        except FishpondError as e:
            saved.value = f"not saved: {e}"
        else:
            saved.value = f"Saved {path}; run it with: fishpond run {path}"

    with solara.Card("Strategy A: levers (each change restarts)"):
        for lever in LEVERS:
            value = getattr(levers.value, lever.name)

            def on(v, name=lever.name) -> None:
                change(name, v)

            if lever.kind == "choice":
                solara.Select(lever.label, values=list(lever.values), value=value, on_value=on)
            elif lever.kind == "int":
                solara.SliderInt(f"{lever.label}: {value:,}", value=value, min=int(lever.low),
                                 max=int(lever.high), step=int(lever.step), on_value=on)
            else:
                solara.SliderFloat(f"{lever.label}: {value:,g}", value=value, min=lever.low,
                                   max=lever.high, step=lever.step, on_value=on)
        solara.InputInt("Seed", value=levers.value.seed,
                        on_value=lambda v: change("seed", max(0, int(v or 0))))
        if problem.value:
            solara.Error(problem.value)
    with solara.Card("Strategy B (same seed, side by side)"):
        values = B_CHOICES + ([PINNED] if pinned.value is not None else [])
        solara.Select("Compare A with", values=values, value=compare.value,
                      on_value=lambda v: rebuild(new_compare=v))
        solara.Button("Pin A as B", on_click=pin, outlined=True)
    with solara.Card("Save scenario"):
        solara.Button("Save scenario", on_click=save, color="primary")
        if saved.value:
            solara.Text(saved.value, classes=["fishpond-saved"])


@solara.component
def Page():
    """The whole page: the levers beside Mesa's SolaraViz."""
    first = solara.use_memo(LiveExploration, [])
    model = solara.use_reactive(first)
    with solara.Sidebar():
        Levers_(model)
    # The panels are drawn beside SolaraViz rather than passed as its components: Mesa 3.3's
    # components view uses a Vuetify 2 widget (TabsItems) that Solara's Vuetify 3 lacks.
    # Mesa 3.5's works (Window, WindowItem) but puts the panels in draggable grid tabs; one
    # layout on both keeps the page (and its browser test) the same.
    SolaraViz(model, components=[], play_interval=150, name=f"fishpond: {BASE.name}")
    Panels(model.value)
