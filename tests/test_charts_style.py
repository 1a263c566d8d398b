"""The house style (sim.charts.style) and the helpers every chart shares.

The style's rcParams do not leak, every character gets a font, and the axes, notes,
footnotes, number formats and table checks behave the same for every chart.
"""

from __future__ import annotations

import warnings

import matplotlib
import pandas as pd
import pytest
from matplotlib.figure import Figure

from sim import charts
from sim.analysis import PERCENT_METRICS
from sim.charts.style import (
    BLUE,
    GREEN,
    GREY,
    ORANGE,
    PALETTE,
    SKY,
    STYLE_PATH,
    VERMILLION,
    axes_note,
    display_text,
    footnote,
    format_axis,
    house_style,
    new_axes,
    ok_runs,
    require_columns,
    styled,
    thousands,
    whole_ticks,
)
from sim.errors import DataError

FUNNEL = {"funnel_reached": 10, "funnel_invited": 5}


def test_style_does_not_leak():
    before = matplotlib.rcParams["figure.figsize"]
    fig = charts.funnel(FUNNEL)
    assert tuple(fig.get_size_inches()) == (12.8, 7.2)
    assert matplotlib.rcParams["figure.figsize"] == before


def test_the_style_file_is_packaged_next_to_the_module_and_sets_the_house_look():
    assert STYLE_PATH.is_file() and STYLE_PATH.parent.name == "charts"
    with house_style():
        assert matplotlib.rcParams["figure.figsize"] == [12.8, 7.2]
        assert matplotlib.rcParams["svg.hashsalt"] == "fishpond"
        cycle = [c["color"].upper() for c in matplotlib.rcParams["axes.prop_cycle"]]
    assert cycle[:5] == [BLUE, ORANGE, GREEN, VERMILLION, SKY]  # the named colours
    assert set(PALETTE) - set(cycle) == {GREY}


def test_styled_restores_the_callers_rcparams_even_when_the_chart_fails():
    before = dict(matplotlib.rcParams)

    @styled
    def broken():
        assert matplotlib.rcParams["figure.figsize"] == [12.8, 7.2]
        raise DataError("no data")

    with pytest.raises(DataError):
        broken()
    assert matplotlib.rcParams["figure.figsize"] == before["figure.figsize"]
    assert broken.__name__ == "broken"


def test_a_chinese_title_is_drawn_or_transliterated_never_dropped(tmp_path):
    """Without a CJK font the name is written in Latin letters; with one it is drawn."""
    cols = ["day", "members", "kols", "actives", "lurkers", "churned"]
    ts = pd.DataFrame(1, index=[0, 1], columns=cols + [f"funnel_{s}" for s in charts.FUNNEL_STAGES])
    curve = pd.DataFrame({"member_share": [0.0, 1.0], "referral_share": [0.0, 1.0]})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        charts.write_run_charts(ts, {"scenario": "mass pull (拉群)"}, curve, tmp_path,
                                formats=("png", "svg"))
    glyphs = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    assert glyphs == []
    svg = (tmp_path / "funnel.svg").read_text(encoding="utf-8")
    assert "mass pull (拉群): growth funnel" in svg or "mass pull (La Qun): growth funnel" in svg


def test_a_character_the_house_fonts_lack_is_drawn_with_an_installed_font_that_has_it(tmp_path):
    # U+1D504 is not in DejaVu Sans but is in STIXGeneral, which matplotlib itself ships.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = charts.funnel({"funnel_reached": 10, "funnel_invited": 5},
                            title=display_text("𝔄 flow"))
        charts.save_figure(fig, tmp_path / "f", ("png",))
    assert [str(w.message) for w in caught if "missing from font" in str(w.message)] == []
    assert fig.axes[0].get_title() == "𝔄 flow"


def test_display_text_keeps_plain_text_and_makes_anything_a_string():
    assert display_text("seed-100 fish pond") == "seed-100 fish pond"
    assert display_text(42) == "42"


def test_require_columns_names_the_chart_the_missing_columns_and_those_given():
    table = pd.DataFrame({"day": [0], "members": [1]})
    require_columns(table, ["day"], "funnel")  # nothing missing: no error
    with pytest.raises(DataError, match=r"^funnel: missing column\(s\) \['kols'\]; got "
                                        r"\['day', 'members'\]"):
        require_columns(table, ["day", "kols"], "funnel")


def test_ok_runs_leaves_out_failed_runs_and_keeps_a_missing_status():
    runs = pd.DataFrame({"run_id": [0, 1, 2], "status": ["ok", "failed", None]})
    assert ok_runs(runs)["run_id"].tolist() == [0, 2]
    no_status = pd.DataFrame({"run_id": [0, 1]})
    assert ok_runs(no_status) is no_status


def test_new_axes_makes_a_16_9_figure_or_returns_the_root_figure_of_the_given_axes():
    with house_style():
        fig, ax = new_axes(None)
    assert isinstance(fig, Figure) and fig.axes == [ax]
    assert tuple(fig.get_size_inches()) == (12.8, 7.2)
    root = Figure()
    inner = root.subfigures(1, 2)[1].add_subplot()
    got, same = new_axes(inner)
    assert got is root and same is inner


def test_axes_note_and_footnote():
    fig, ax = new_axes(None)
    axes_note(ax, "no runs")
    notes = [t for t in ax.texts if t.get_gid() == "note"]
    assert [t.get_text() for t in notes] == ["no runs"]
    footnote(fig, True, "how it counts.", "What it pools.")
    found = [a for a in fig.findobj() if a.get_gid() == "footnote"]
    assert [a.get_text() for a in found] == ["What it pools. how it counts."]
    other = Figure()
    footnote(other, False, "on a figure the caller gave: nothing")
    footnote(other, True, None)
    assert not [a for a in other.findobj() if a.get_gid() == "footnote"]


def test_number_formats_and_ticks():
    assert thousands()(1_234_567.4, 0) == "1,234,567"
    assert whole_ticks().tick_values(0, 3).tolist() == [0, 1, 2, 3]
    _, ax = new_axes(None)
    share = next(iter(PERCENT_METRICS))
    format_axis(ax.xaxis, share)
    formatter = ax.xaxis.get_major_formatter()
    formatter.set_locs([0.0, 0.2, 0.4])
    assert formatter(0.4) == "40%"
    formatter.set_locs([-0.995, -0.99])
    assert formatter(-0.995) == "-99.5%"
    format_axis(ax.yaxis, "members")
    assert ax.yaxis.get_major_formatter()(12_000, 0) == "12,000"
