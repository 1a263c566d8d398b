"""Saving charts (sim.charts.save): atomic files with the permissions open() gives.

Nothing is left behind on failure, and figures are cleared after saving.
"""

from __future__ import annotations

import os
import stat

import pytest
from matplotlib.figure import Figure

from sim.charts.save import save_figure, save_figures, write_atomically


def small_figure() -> Figure:
    fig = Figure()
    fig.add_subplot().plot([0, 1], [0, 1])
    return fig


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_saved_files_follow_the_umask(umask, tmp_path):
    old = os.umask(umask)
    try:
        paths = save_figure(small_figure(), tmp_path / "chart", ("png", "svg"))
        text = write_atomically(tmp_path / "table.csv", lambda s: s.write("a,b\n"), text=True)
    finally:
        os.umask(old)
    assert [p.name for p in paths] == ["chart.png", "chart.svg"]
    for path in [*paths, text]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask, path.name


def test_an_explicit_mode_wins_over_the_umask(tmp_path):
    old = os.umask(0o077)
    try:
        path = write_atomically(tmp_path / "t.csv", lambda s: s.write("x"), mode=0o644, text=True)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644 and path.read_text() == "x"


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path):
    target = tmp_path / "chart.png"
    target.write_bytes(b"old")

    def fail(stream):
        stream.write(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_atomically(target, fail)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["chart.png"]
    with pytest.raises(ValueError):  # an unknown format: nothing written, nothing left
        save_figure(small_figure(), tmp_path / "other", ("nope",))
    assert [p.name for p in tmp_path.iterdir()] == ["chart.png"]


def test_save_figures_writes_in_order_and_clears_every_figure(tmp_path):
    first, second = small_figure(), small_figure()
    paths = save_figures({"b": first, "a": second}, tmp_path, ("svg", "png"))
    assert [p.name for p in paths] == ["b.svg", "b.png", "a.svg", "a.png"]
    assert first.axes == [] and second.axes == []
    broken = small_figure()
    with pytest.raises(ValueError):
        save_figures({"c": broken}, tmp_path, ("nope",))
    assert broken.axes == []  # cleared even when saving failed
