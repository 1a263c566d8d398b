"""The app page (sim.app) without a browser: built from the environment, rendered by Solara.

The browser test (tests/test_app_browser.py) drives the same page in Chromium.
"""

from __future__ import annotations

import importlib
import json

import pytest

pytest.importorskip("altair")  # Mesa's SolaraViz needs it (in the project's dependencies)


@pytest.fixture(scope="module")
def app():
    mp = pytest.MonkeyPatch()
    mp.setenv("FISHPOND_APP_SCENARIO", "fish_pond")
    mp.setenv("FISHPOND_APP_SET", json.dumps(["population.size=1500", "steps=20"]))
    import sim.app

    module = importlib.reload(sim.app)
    yield module
    mp.undo()


def test_page_starts_from_the_scenario_it_is_given(app):
    assert app.BASE.population.size == 1500 and app.levers.value.population_size == 1500
    model = app.LiveExploration()
    assert model.a.scenario == app.BASE and model.b is None


def test_b_choices_and_rebuild_with_b(app):
    assert app.B_CHOICES[:2] == ["none", "start"] and "no_feed" in app.B_CHOICES
    assert "base" not in app.B_CHOICES
    app.compare.value = "no_feed"
    try:
        model = app.LiveExploration()
        assert model.b.scenario.name != model.a.scenario.name
        assert model.b.scenario.population.size == 1500
    finally:
        app.compare.value = "none"


def test_page_renders_with_solara(app):
    import ipyvuetify as v
    import solara

    box, rc = solara.render(solara.AppLayout(children=[app.Page()]), handle_error=False)
    try:
        assert rc.find(v.Html, class_="fishpond-members").widget.children == ["100"]
        assert rc.find(v.Html, class_="fishpond-day").widget.children == ["0"]
        for _ in range(3):
            rc.find(v.Btn, children=["Step"]).widget.click()
        assert rc.find(v.Html, class_="fishpond-day").widget.children == ["3"]
        expected = app.LiveExploration()
        for _ in range(3):
            expected.step()
        shown = rc.find(v.Html, class_="fishpond-members").widget.children
        assert shown == [str(int(expected.a.timeseries().members.iloc[-1]))]
        rc.find(v.Btn, children=["Reset"]).widget.click()  # Mesa's reset builds it again
        assert rc.find(v.Html, class_="fishpond-day").widget.children == ["0"]
        assert rc.find(v.Html, class_="fishpond-members").widget.children == ["100"]
    finally:
        rc.close()
