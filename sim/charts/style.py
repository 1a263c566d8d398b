"""The house style of every chart: fonts, colours, axes and the helpers the charts share.

The style itself is the packaged ``fishpond.mplstyle`` next to this module (16:9, large type,
Okabe-Ito colours, editable SVG text). :func:`styled` runs a chart function inside it, so
nothing leaks into the caller's ``rcParams``; :func:`display_text` makes any text drawable
(Chinese scenario names included); the other helpers give every chart the same axes,
number formats, notes and footnotes. Nothing here draws a whole chart.
"""

from __future__ import annotations

import contextlib
import functools
import math
import subprocess
import textwrap
from collections.abc import Callable, Hashable, Iterable
from pathlib import Path

import matplotlib
import matplotlib.style
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, findfont, fontManager
from matplotlib.ft2font import FT2Font
from matplotlib.text import Annotation
from matplotlib.ticker import Formatter, FuncFormatter, MaxNLocator

from sim.analysis import PERCENT_METRICS, format_value
from sim.errors import DataError

__all__ = [
    "BLUE",
    "GREEN",
    "GREY",
    "ORANGE",
    "PALETTE",
    "SKY",
    "STYLE_PATH",
    "VERMILLION",
    "MONEY_METRICS",
    "amount",
    "axes_note",
    "currency_of",
    "display_text",
    "footnote",
    "fit_text",
    "format_axis",
    "headline",
    "house_style",
    "label_line_ends",
    "new_axes",
    "ok_runs",
    "require_columns",
    "styled",
    "thousands",
    "whole_ticks",
]

STYLE_PATH = Path(__file__).with_name("fishpond.mplstyle")

# Okabe-Ito colours (colour-blind safe), as in axes.prop_cycle of the style file.
BLUE, ORANGE, GREEN, VERMILLION, SKY = "#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9"
GREY = "#555555"
#: Colours of groups (scenarios, design points), in order; see :func:`sim.charts.deck.fan_chart`.
PALETTE = (BLUE, ORANGE, GREEN, VERMILLION, "#CC79A7", SKY, "#000000", GREY)

# Installed fonts found for characters the house fonts cannot draw (Chinese scenario names):
# added to font.sans-serif, so matplotlib falls back to them glyph by glyph.
_EXTRA_FAMILIES: list[str] = []
# Where to look first for such a font (any installed font that has the characters will do).
_CJK_HINTS = ("noto sans cjk", "noto sans sc", "noto sans tc", "source han sans", "wenquanyi",
              "droid sans fallback", "ar pl", "pingfang", "microsoft yahei", "simhei", "heiti",
              "hiragino", "noto serif cjk")


# --- the style and its fonts -----------------------------------------------------------

@contextlib.contextmanager
def house_style():
    """The house style, with any font found for characters its fonts lack.

    Inside the context, ``matplotlib.rcParams`` are those of ``fishpond.mplstyle`` plus the
    fonts :func:`display_text` has found so far; on exit they are restored.

    Yields:
        None.

    Example:
        >>> import matplotlib
        >>> with house_style():
        ...     matplotlib.rcParams["figure.figsize"]
        [12.8, 7.2]
    """
    with matplotlib.style.context(STYLE_PATH):
        fonts = list(matplotlib.rcParams["font.sans-serif"])
        fonts += [f for f in _EXTRA_FAMILIES if f not in fonts]
        matplotlib.rcParams["font.sans-serif"] = fonts
        found = _available(tuple(fonts))
        if len(found) > 1:  # concrete families: matplotlib then falls back glyph by glyph
            matplotlib.rcParams["font.family"] = list(found)
        yield


@functools.lru_cache(maxsize=8)
def _available(families: tuple[str, ...]) -> tuple[str, ...]:
    """The installed families among ``families`` (generic names left out), in order."""
    found = []
    for family in families:
        if family in ("sans-serif", "serif", "monospace", "cursive", "fantasy"):
            continue
        try:
            findfont(FontProperties(family=family), fallback_to_default=False)
        except ValueError:
            continue
        found.append(family)
    return tuple(found)


def styled(func: Callable) -> Callable:
    """Decorate a chart function so that it runs inside :func:`house_style`.

    Every artist the function creates then takes the house style, and the caller's
    ``rcParams`` are left as they were.

    Args:
        func: The chart function.

    Returns:
        The wrapped function (same name, docstring and signature).
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with house_style():
            return func(*args, **kwargs)

    return wrapper


@functools.lru_cache(maxsize=4)
def _charset(families: tuple[str, ...]) -> frozenset[int]:
    codes: set[int] = set()
    for family in families:
        try:
            path = findfont(FontProperties(family=family), fallback_to_default=False)
        except ValueError:
            continue
        codes |= set(FT2Font(path).get_charmap())
    return frozenset(codes)


@functools.lru_cache(maxsize=32)
def _font_for(chars: frozenset[str]) -> str | None:
    """The family of an installed font that draws every character of ``chars``, or None.

    fontconfig is asked first (it knows fonts installed after matplotlib listed its own), then
    matplotlib's font list, fonts named like CJK fonts first.
    """
    paths: list[str] = []
    try:
        query = ":charset=" + " ".join(f"{ord(c):x}" for c in sorted(chars))
        found = subprocess.run(["fc-list", query, "file"], capture_output=True, text=True,
                               timeout=20, check=False).stdout
        paths += [line.strip().rstrip(":") for line in found.splitlines() if line.strip()]
    except (OSError, subprocess.SubprocessError):
        pass  # no fontconfig (Windows, macOS without it): matplotlib's list only
    entries = sorted(fontManager.ttflist,
                     key=lambda e: not any(h in e.name.lower() for h in _CJK_HINTS))
    paths += [e.fname for e in entries]
    known = {e.fname for e in fontManager.ttflist}
    for path in dict.fromkeys(paths):
        try:
            font = FT2Font(path)
            if "last resort" in font.family_name.lower():
                continue  # draws a placeholder box for every character: not a real glyph
            if all(font.get_char_index(ord(c)) for c in chars):
                if path not in known:
                    fontManager.addfont(path)
                return font.family_name
        except (OSError, RuntimeError, ValueError):
            continue
    return None


def display_text(text: Hashable) -> str:
    """``text`` as the house style can draw it; nothing is dropped.

    Characters the house fonts lack ("拉群" in "mass pull (拉群)") are drawn with another
    installed font that has them (the Noto CJK fonts, where present), which is then used for
    the rest of the process; with no such font they are written in Latin letters (anyascii's
    transliteration: "mass pull (La Qun)"), and kept as they are if anyascii is not installed.
    Call it inside :func:`house_style` (chart functions do).

    Args:
        text: A name or any value (a group label); it is drawn as ``str(text)``.

    Returns:
        The text to draw.

    Example:
        >>> display_text("seed-100 fish pond")
        'seed-100 fish pond'
    """
    text = str(text)
    if text.isascii():
        return text
    fonts = tuple(matplotlib.rcParams["font.sans-serif"])
    chars = _charset(fonts)
    missing = frozenset(c for c in text if ord(c) not in chars and not c.isspace())
    if not missing:
        return text
    family = _font_for(missing)
    if family is not None:
        if family not in _EXTRA_FAMILIES:
            _EXTRA_FAMILIES.append(family)
        if family not in fonts:  # the current style too
            matplotlib.rcParams["font.sans-serif"] = [*fonts, family]
            matplotlib.rcParams["font.family"] = list(_available((*fonts, family)))
        return text
    try:
        from anyascii import anyascii
    except ImportError:
        return text
    out, run = [], []
    for c in text + " ":
        if c in missing:
            run.append(anyascii(c) or c)
            continue
        if run:
            out.append(" ".join(run))
            run = []
        out.append(c)
    return "".join(out)[:-1]


# --- tables ------------------------------------------------------------------------------

def require_columns(table: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    """Refuse a table that lacks any of ``columns``, naming them and the columns it has.

    Args:
        table: The table a chart was given.
        columns: The columns the chart needs.
        what: The chart's name, to start the message with.

    Raises:
        DataError: a column is missing.

    Example:
        >>> import pandas as pd
        >>> require_columns(pd.DataFrame({"day": [0]}), ["day"], "funnel")
    """
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise DataError(f"{what}: missing column(s) {missing}; got {list(table.columns)}. "
                        "Pass the table written by sim.metrics.")


def ok_runs(results: pd.DataFrame) -> pd.DataFrame:
    """The runs of ``results`` whose ``status`` is ``ok`` (all of them without that column).

    Args:
        results: One row per run.

    Returns:
        The rows to chart (a missing status counts as ``ok``).

    Example:
        >>> import pandas as pd
        >>> len(ok_runs(pd.DataFrame({"status": ["ok", "failed", None]})))
        2
    """
    if "status" in results.columns:
        results = results[results["status"].fillna("ok") == "ok"]
    return results


# --- numbers in words ------------------------------------------------------------------

#: Metrics that are amounts of money (written with the scenario's currency).
MONEY_METRICS = frozenset({"cost", "revenue", "cost_per_retained_member"})
#: The currency when a table does not name one (``economics.currency``'s default).
DEFAULT_CURRENCY = "CNY"


def currency_of(table: pd.DataFrame | None) -> str:
    """The currency of a table's amounts: its ``currency`` column where that names one.

    Args:
        table: Runs or trials (the run summary carries ``currency``), or None.

    Returns:
        The currency label; ``CNY`` when the table names none, or several.

    Example:
        >>> import pandas as pd
        >>> currency_of(pd.DataFrame({"currency": ["EUR", "EUR"]})), currency_of(None)
        ('EUR', 'CNY')
    """
    if table is None or "currency" not in table.columns:
        return DEFAULT_CURRENCY
    found = table["currency"].dropna().astype(str).unique()
    return str(found[0]) if len(found) == 1 and found[0] else DEFAULT_CURRENCY


def amount(metric: str, value: float, horizon: int | None = None,
           currency: str = DEFAULT_CURRENCY) -> str:
    """A metric's value as a title writes it: money with its currency, else as tables do.

    Args:
        metric: The metric (``cost``, ``members``, ``croi``, ``day_inflection`` ...).
        value: Its value.
        horizon: The run length, for milestone days past it ("never").
        currency: The label of money metrics (:data:`MONEY_METRICS`).

    Returns:
        The text, e.g. ``151,008 CNY``, ``12,400``, ``35.0%``.

    Example:
        >>> amount("cost", 151008.4), amount("cost_per_retained_member", 2.5, currency="EUR")
        ('151,008 CNY', '2.50 EUR')
    """
    if metric in MONEY_METRICS and value is not None and np.isfinite(value):
        number = f"{value:,.0f}" if abs(value) >= 10 else f"{value:,.2f}"
        return f"{number} {currency}"
    return format_value(metric, value, horizon)


# --- axes --------------------------------------------------------------------------------

def new_axes(ax: Axes | None) -> tuple[Figure, Axes]:
    """The figure and axes to draw into: ``ax`` and its figure, or a new 16:9 figure.

    New figures are :class:`~matplotlib.figure.Figure` objects, never registered with pyplot.

    Args:
        ax: The caller's axes, or ``None``.

    Returns:
        ``(figure, axes)``; the figure is the root figure of ``ax`` when given.

    Example:
        >>> fig, ax = new_axes(None)
        >>> ax.figure is fig
        True
    """
    if ax is not None:
        try:
            return ax.get_figure(root=True), ax  # matplotlib >= 3.10
        except TypeError:
            return ax.figure, ax
    fig = Figure()
    return fig, fig.add_subplot()


def headline(target: Axes | Figure, finding: str | None) -> None:
    """The chart's finding in bold above its descriptive title (which becomes the subtitle).

    A slide's title should say what the chart shows ("10,000 members on day 231; 60% of
    them lurk"); the axes' own title (or, for a figure of several panels, its suptitle)
    keeps saying what is drawn, smaller and grey, under the finding.

    Args:
        target: The axes (its title is the descriptive subtitle), or a figure of several
            panels (its suptitle is).
        finding: One sentence; nothing is drawn when None or empty. Its artist has the gid
            ``finding`` (for a figure: the suptitle; the subtitle's artist has the gid
            ``subtitle``).
    """
    if not finding:
        return
    fig = new_axes(target)[0] if isinstance(target, Axes) else target
    text, size = fit_text(finding, fig.get_figwidth() * 72 * 0.94, 22)
    if isinstance(target, Axes):
        target.set_title(target.get_title(), color="#444444", fontsize=16, pad=8)
        target.annotate(text, xy=(0.5, 1.0), xycoords="axes fraction", xytext=(0, 34),
                        textcoords="offset points", ha="center", va="bottom", fontsize=size,
                        fontweight="bold", gid="finding", annotation_clip=False)
        return
    old = target.get_suptitle()
    # the empty last line keeps room for the subtitle in the figure's layout
    top = target.suptitle(text + ("\n" if old else ""), fontsize=size, fontweight="bold")
    top.set_gid("finding")
    if old:
        target.add_artist(Annotation(old, xy=(0.5, 0.0), xycoords=top, xytext=(0, 3),
                                     textcoords="offset points", ha="center", va="bottom",
                                     fontsize=16, color="#444444", gid="subtitle",
                                     annotation_clip=False))


def fit_text(text: str, width: float, size: float = 22, smallest: float = 14) -> tuple[str, float]:
    """``text`` broken and sized to fit ``width`` points in bold: one line, else two, else smaller.

    Args:
        text: The sentence.
        width: The room, in points (a figure's width is ``get_figwidth() * 72``).
        size: The font size wanted.
        smallest: The least font size it may shrink to.

    Returns:
        ``(text, size)``: the text, with a line break where it needs one, and its font size.

    Example:
        >>> fit_text("short", 900)
        ('short', 22)
    """
    from matplotlib.textpath import TextToPath

    def wide(line: str, at: float) -> float:
        prop = FontProperties(family=matplotlib.rcParams["font.family"], size=at, weight="bold")
        return TextToPath().get_text_width_height_descent(line, prop, ismath=False)[0]

    if wide(text, size) <= width:
        return text, size
    cut = _break(text)
    lines = text if cut is None else text[:cut].rstrip() + "\n" + text[cut:].lstrip()
    longest = max(lines.split("\n"), key=lambda line: wide(line, size))
    need = wide(longest, size)
    return lines, size if need <= width else max(smallest, math.floor(size * width / need))


def _break(text: str) -> int | None:
    """Where to break ``text`` in two lines: the best mark nearest its middle.

    "; " first, then ": " or ", ", then " (", none in the first or last quarter; else a space.
    """
    middle = len(text) / 2
    for marks in (("; ",), (": ", ", "), (" (",)):
        at = [i + 1 for i in range(len(text) - 1) if text[i:i + 2] in marks]
        at = [i for i in at if len(text) / 4 < i < 3 * len(text) / 4]
        if at:
            return min(at, key=lambda i: abs(i - middle))
    spaces = [i for i, c in enumerate(text) if c == " "]
    return min(spaces, key=lambda i: abs(i - middle)) if spaces else None


def label_line_ends(ax: Axes, x: float, labels: Iterable[tuple[str, float, str]],
                    min_gap: float = 0.05) -> None:
    """Label lines and bands directly at their right ends instead of in a legend.

    Call it after the y limits are set.

    Args:
        ax: The axes.
        x: The data x of the ends (the last day); labels end there.
        labels: ``(text, y, colour)`` per line, y in data units (a band: its middle).
        min_gap: Least vertical distance between two labels, in axes fraction (labels
            that would overlap are moved up, keeping their order). Each label's artist has
            the gid ``label-<first word>``.
    """
    from matplotlib.transforms import blended_transform_factory

    to_axes = ax.transAxes.inverted()
    rows = sorted((float(to_axes.transform(ax.transData.transform((x, y)))[1]), text, colour)
                  for text, y, colour in labels)  # axes fractions: right on log axes too
    where = blended_transform_factory(ax.transData, ax.transAxes)
    last = -1.0
    for frac, text, colour in rows:
        last = max(frac, last + min_gap)
        ax.text(x, last, text, transform=where, ha="right", va="center", fontsize=14,
                fontweight="bold", color=colour, gid=f"label-{text.split()[0]}", zorder=6,
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.75, "pad": 1})


def axes_note(ax: Axes, text: str) -> None:
    """Write ``text`` large and grey across the middle of ``ax`` ("no data", "no runs").

    Args:
        ax: The axes.
        text: The note; its artist has the gid ``note``.
    """
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center",
            fontsize=20, color=GREY, gid="note", zorder=10,
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.9, "pad": 6})


def footnote(fig: Figure, own: bool, text: str | None, first: str | None = None) -> None:
    """A small note under the chart (what it pools, how it counts), on a figure of its own.

    Nothing is written on a figure the caller gave (``own`` false), nor when there is no text.

    Args:
        fig: The figure.
        own: Whether the chart made ``fig`` itself.
        text: The note.
        first: Text to put before ``text`` (e.g. what the groups pool).
    """
    text = " ".join(t for t in (first, text) if t)
    if own and text:
        fig.supxlabel(textwrap.fill(text, 150), x=0.01, ha="left", fontsize=11,
                      color="#333333", gid="footnote")


def thousands() -> FuncFormatter:
    """A tick formatter writing whole numbers with thousands separators (``12,000``).

    Returns:
        A new formatter.

    Example:
        >>> thousands()(12000.4, 0)
        '12,000'
    """
    return FuncFormatter(lambda value, _pos: f"{value:,.0f}")


def whole_ticks() -> MaxNLocator:
    """A tick locator at round whole numbers (no 0.2 people; 20,000 rather than 15,000 steps).

    Returns:
        A new locator.
    """
    return MaxNLocator(integer=True, steps=[1, 2, 2.5, 5, 10])


class _Percent(Formatter):
    """Shares as percentages with as few decimals as the tick spacing needs (-99.5%, 40%)."""

    ticks = np.zeros(0)

    def set_locs(self, locs) -> None:
        self.ticks = np.sort(np.asarray(locs, float))

    def __call__(self, x, pos=None):
        step = float(np.min(np.diff(self.ticks))) if len(self.ticks) > 1 else 1.0
        decimals = max(0, math.ceil(-math.log10(step * 100))) if step > 0 else 0
        return f"{x * 100:.{decimals}f}%"


def format_axis(axis: Axis, metric: str) -> None:
    """Format the ticks of ``axis`` for ``metric``: percentages for shares, else thousands.

    Args:
        axis: An x or y axis (``ax.xaxis``, a colour bar's ``yaxis``).
        metric: The metric shown (shares are those of :data:`sim.analysis.PERCENT_METRICS`).
    """
    axis.set_major_formatter(_Percent() if metric in PERCENT_METRICS else thousands())
