"""Deck-ready matplotlib figures: data in, :class:`~matplotlib.figure.Figure` out.

Every function takes the tables written by :mod:`sim.metrics` (never a model), draws in the
house style packaged as ``sim/fishpond.mplstyle`` (16:9, large type, Okabe-Ito colours, editable
SVG text) and returns the figure. Pass ``ax`` to draw into an axes of your own. Figures are
built with :class:`matplotlib.figure.Figure` directly, so nothing is registered with pyplot and
no GUI backend is touched; PNG output goes through Agg.
"""

from __future__ import annotations

import contextlib
import functools
import os
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import matplotlib
import matplotlib.style
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, findfont, fontManager
from matplotlib.ft2font import FT2Font
from matplotlib.ticker import FuncFormatter, MaxNLocator

from sim.errors import DataError

__all__ = ["STYLE_PATH", "MILESTONE_NAMES", "members_by_role", "funnel",
           "referral_concentration", "save_figure", "write_run_charts"]

STYLE_PATH = Path(__file__).with_name("fishpond.mplstyle")
MILESTONE_NAMES = {100: "origin", 1_000: "inflection", 10_000: "explosion"}
FUNNEL_STAGES = ("reached", "invited", "joined", "active", "paying")

# Okabe-Ito colours (colour-blind safe), as in axes.prop_cycle of the style file.
_BLUE, _ORANGE, _GREEN, _VERMILLION, _SKY = "#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9"
_GREY = "#555555"
# Metadata keys that would otherwise carry a date or version and break byte-identical output.
_METADATA = {"png": {"Software": None}, "svg": {"Date": None}, "pdf": {"CreationDate": None}}

# Installed fonts found for characters the house fonts cannot draw (Chinese scenario names):
# added to font.sans-serif, so matplotlib falls back to them glyph by glyph.
_EXTRA_FAMILIES: list[str] = []
# Where to look first for such a font (any installed font that has the characters will do).
_CJK_HINTS = ("noto sans cjk", "noto sans sc", "noto sans tc", "source han sans", "wenquanyi",
              "droid sans fallback", "ar pl", "pingfang", "microsoft yahei", "simhei", "heiti",
              "hiragino", "noto serif cjk")

_thousands = FuncFormatter(lambda value, _pos: f"{value:,.0f}")


def _whole() -> MaxNLocator:
    """Ticks at round whole numbers (no 0.2 people; 20,000 rather than 15,000 steps)."""
    return MaxNLocator(integer=True, steps=[1, 2, 2.5, 5, 10])


@contextlib.contextmanager
def _house_style():
    """The house style, with any font found for characters its fonts lack (see _display)."""
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


def _styled(func):
    """Run ``func`` inside the house style, so every artist it creates uses it."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with _house_style():
            return func(*args, **kwargs)

    return wrapper


def _axes(ax: Axes | None) -> tuple[Figure, Axes]:
    if ax is not None:
        try:
            return ax.get_figure(root=True), ax  # matplotlib >= 3.10
        except TypeError:
            return ax.figure, ax
    fig = Figure()
    return fig, fig.add_subplot()


def _require(table: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise DataError(f"{what}: missing column(s) {missing}; got {list(table.columns)}. "
                        "Pass the table written by sim.metrics.")


def _note(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center",
            fontsize=20, color=_GREY, gid="note", zorder=10,
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.9, "pad": 6})


def _pct(part: float, whole: float) -> str:
    share = part / whole
    return f"{share:.1%}" if 0 < share < 0.1 else f"{share:.0%}"


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


def _display(text) -> str:
    """``text`` as the house style can draw it; nothing is dropped.

    Characters the house fonts lack ("拉群" in "mass pull (拉群)") are drawn with another
    installed font that has them (the Noto CJK fonts, where present), which is then used for
    the rest of the process; with no such font they are written in Latin letters (anyascii's
    transliteration: "mass pull (La Qun)"), and kept as they are if anyascii is not installed.
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


def _milestone_days(timeseries: pd.DataFrame) -> dict[str, int | None]:
    """First day members reach each default level (MODEL.md §6), from the time series."""
    days: dict[str, int | None] = {}
    for level in MILESTONE_NAMES:
        hit = timeseries.loc[timeseries["members"] >= level, "day"]
        days[str(level)] = int(hit.iloc[0]) if len(hit) else None
    return days


def _levels(milestones: Mapping[str, int | None]) -> list[tuple[int, int | None]]:
    try:
        return sorted((int(float(k)), None if d is None else int(d)) for k, d in milestones.items())
    except (TypeError, ValueError):
        raise DataError(f"milestones: expected {{'100': day or None, ...}}, got {milestones!r}.")


@_styled
def members_by_role(
    timeseries: pd.DataFrame,
    milestones: Mapping[str, int | None] | None = None,
    title: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Stacked members by role over time, with milestone levels and the days they were reached.

    KOLs, actives and lurkers are stacked areas; total members is a solid line and cumulative
    churn a dashed one. Each milestone level up to 1.5x the peak membership gets a dotted
    horizontal line (origin 100, inflection 1,000, explosion 10,000); each reached one a
    vertical line marked "day N".

    Args:
        timeseries: One row a day with columns ``day, members, kols, actives, lurkers,
            churned`` (ints).
        milestones: ``{"100": day or None, ...}`` as in the run summary; keys are member
            counts as strings. ``None`` derives the default levels from ``timeseries``.
        title: Slide title; defaults to "Community growth by role".
        ax: Axes to draw into; a new 16:9 figure when ``None``.

    Returns:
        The figure holding the chart.

    Example:
        >>> import pandas as pd
        >>> ts = pd.DataFrame({"day": [0, 1], "members": [100, 150], "kols": [5, 6],
        ...                    "actives": [20, 30], "lurkers": [75, 114], "churned": [0, 1]})
        >>> members_by_role(ts, {"100": 0, "1000": None}).axes[0].get_title()
        'Community growth by role'
    """
    _require(timeseries, ("day", "members", "kols", "actives", "lurkers", "churned"),
             "members_by_role")
    fig, ax = _axes(ax)
    ax.set_title(title or "Community growth by role")
    ax.set_xlabel("day")
    ax.set_ylabel("people")
    ax.yaxis.set_major_formatter(_thousands)
    ax.xaxis.set_major_locator(_whole())
    ax.yaxis.set_major_locator(_whole())
    if timeseries.empty:
        _note(ax, "no data")
        return fig

    day = timeseries["day"].to_numpy()
    ax.stackplot(day, timeseries["kols"], timeseries["actives"], timeseries["lurkers"],
                 labels=("KOLs", "actives", "lurkers"), colors=(_GREEN, _BLUE, _SKY),
                 alpha=0.85, linewidth=0)
    ax.plot(day, timeseries["members"], color="black", label="members (total)")
    ax.plot(day, timeseries["churned"], color=_VERMILLION, linestyle="--",
            label="churned (cumulative)")

    peak = float(timeseries["members"].max())
    levels = _levels(_milestone_days(timeseries) if milestones is None else milestones)
    shown = [(level, d) for level, d in levels if 0 < peak and level <= 1.5 * peak]
    top = max([peak, float(timeseries["churned"].max())] + [lvl for lvl, _ in shown]) * 1.08
    ax.set_xlim(day.min(), max(day.max(), day.min() + 1))
    ax.set_ylim(0, max(top, 10))
    if peak <= 0:
        _note(ax, "no members yet")

    label_y = -1.0  # axes fraction of the last level label, to keep labels apart
    for level, reached in shown:
        name = MILESTONE_NAMES.get(level)
        text = f"{name} · {level:,}" if name else f"{level:,} members"
        ax.axhline(level, color=_GREY, linestyle=":", linewidth=1.8, gid=f"milestone-{level}")
        label_y = max(level / top, label_y + 0.055)
        ax.text(1.01, label_y, text, transform=ax.transAxes, ha="left",
                va="center", fontsize=14, color=_GREY, clip_on=False)
        if reached is None:
            continue
        ax.axvline(reached, color=_GREY, linestyle=":", linewidth=1.2, gid=f"day-{level}")
        ax.plot([reached], [level], "o", color="black", markersize=7, zorder=5)
        left = (reached - day.min()) / max(day.max() - day.min(), 1) > 0.15
        ax.annotate(f"day {reached:,}", (reached, level), xytext=(-8 if left else 8, 6),
                    textcoords="offset points", ha="right" if left else "left", va="bottom",
                    fontsize=14, fontweight="bold")

    handles, labels = ax.get_legend_handles_labels()
    order = [2, 1, 0, 3, 4]  # top of the stack first, then the lines
    ax.legend([handles[i] for i in order], [labels[i] for i in order], loc="upper center",
              bbox_to_anchor=(0.5, -0.13), ncol=5, handlelength=1.6, columnspacing=1.4)
    return fig


@_styled
def funnel(
    timeseries_or_final_row: pd.DataFrame | pd.Series | Mapping[str, float],
    ax: Axes | None = None,
    *,
    title: str | None = None,
) -> Figure:
    """Horizontal funnel reached → invited → joined → active → paying, as of the last day.

    Each bar is labelled with its count and its share of the stage before it.

    Args:
        timeseries_or_final_row: The daily time series (its last row is used), or that row
            as a Series or mapping, with columns ``funnel_reached, funnel_invited,
            funnel_joined, funnel_active, funnel_paying``.
        ax: Axes to draw into; a new 16:9 figure when ``None``.
        title: Slide title; defaults to "Growth funnel: from reach to paying members".

    Returns:
        The figure holding the chart.

    Example:
        >>> row = {"funnel_reached": 5000, "funnel_invited": 2000, "funnel_joined": 800,
        ...        "funnel_active": 300, "funnel_paying": 40}
        >>> len(funnel(row).axes[0].patches)
        5
    """
    data = timeseries_or_final_row
    if isinstance(data, pd.DataFrame):
        _require(data, [f"funnel_{s}" for s in FUNNEL_STAGES], "funnel")
        data = data.iloc[-1] if len(data) else {}
    elif not isinstance(data, (pd.Series, Mapping)):
        raise DataError(f"funnel: expected a DataFrame, Series or mapping, got {type(data)!r}.")
    counts = [float(np.nan_to_num(data.get(f"funnel_{s}", 0) or 0)) for s in FUNNEL_STAGES]

    fig, ax = _axes(ax)
    ax.set_title(title or "Growth funnel: from reach to paying members")
    ax.set_xlabel("people (cumulative to the last day)")
    positions = np.arange(len(FUNNEL_STAGES))
    colors = [_BLUE] * 3 + [_GREEN, _ORANGE]
    ax.barh(positions, counts, color=colors, height=0.66)
    ax.set_yticks(positions, [s.capitalize() for s in FUNNEL_STAGES], fontsize=18)
    ax.invert_yaxis()
    ax.grid(axis="y", visible=False)
    ax.tick_params(axis="y", length=0)
    ax.xaxis.set_major_formatter(_thousands)
    ax.xaxis.set_major_locator(_whole())
    widest = max(counts)
    ax.set_xlim(0, max(widest * 1.45, 10))
    for i, count in enumerate(counts):
        label = f"{count:,.0f}"
        if i and counts[i - 1] > 0:
            label += f"   ({_pct(count, counts[i - 1])} of {FUNNEL_STAGES[i - 1]})"
        ax.annotate(label, (count, i), xytext=(8, 0), textcoords="offset points",
                    ha="left", va="center", fontsize=16)
    if widest <= 0:
        _note(ax, "no one reached yet")
    return fig


@_styled
def referral_concentration(
    referral_curve: pd.DataFrame,
    ax: Axes | None = None,
    *,
    title: str | None = None,
) -> Figure:
    """Lorenz-style curve of referral joins by member, against the 70/20 rule of thumb.

    Members are ranked by intimacy, highest first; the curve shows the cumulative share of
    referral joins credited to the top x of them. The marker at x = 20% reads off their
    share; the shaded band marks the 60–80% range expected by the 70/20 rule of thumb.

    Args:
        referral_curve: Columns ``member_share`` and ``referral_share`` (floats in [0, 1]),
            from (0, 0) to (1, 1), or ending at 0 when there were no referral joins.
        ax: Axes to draw into; a new 16:9 figure when ``None``.
        title: Slide title; defaults to "Who brings in new members".

    Returns:
        The figure holding the chart.

    Example:
        >>> import pandas as pd
        >>> curve = pd.DataFrame({"member_share": [0, 0.2, 1], "referral_share": [0, 0.7, 1]})
        >>> fig = referral_concentration(curve)
    """
    _require(referral_curve, ("member_share", "referral_share"), "referral_concentration")
    fig, ax = _axes(ax)
    ax.set_title(title or "Who brings in new members")
    ax.set_xlabel("members, ranked by intimacy (cumulative %)")
    ax.set_ylabel("referral joins credited (cumulative %)")
    percent = FuncFormatter(lambda value, _pos: f"{value:.0%}")
    ax.xaxis.set_major_formatter(percent)
    ax.yaxis.set_major_formatter(percent)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)

    ax.fill_between([0.17, 0.23], 0.6, 0.8, color=_ORANGE, alpha=0.3, linewidth=0,
                    label="70/20 rule of thumb (60–80%)")
    ax.plot([0, 1], [0, 1], color=_GREY, linestyle="--", linewidth=1.5, label="equal shares")
    curve = referral_curve.sort_values("member_share", kind="stable")
    x = curve["member_share"].to_numpy(float)
    y = curve["referral_share"].to_numpy(float)
    ax.plot(x, y, color=_BLUE, linewidth=3, label="referral joins")

    if len(x) == 0 or not np.nanmax(y, initial=0) > 0:
        _note(ax, "no referral joins")
    else:
        top20 = float(np.interp(0.2, x, y))
        ax.axvline(0.2, color=_GREY, linestyle=":", linewidth=1.2)
        ax.plot([0.2], [top20], "o", color="black", markersize=10, zorder=5)
        ax.annotate(f"top 20% of members → {top20:.0%} of referral joins", (0.2, top20),
                    xytext=(0.45, 0.3), textcoords="data", ha="left", va="center",
                    fontsize=16, fontweight="bold",
                    arrowprops={"arrowstyle": "->", "color": "black", "linewidth": 1.5})
    ax.legend(loc="lower right")
    return fig


def save_figure(fig: Figure, path: Path, formats: Iterable[str] = ("png",)) -> list[Path]:
    """Write ``fig`` once per format, atomically and byte-identically for the same data.

    Dates and versions are kept out of the metadata and SVG ids are salted by the style.
    Each file is written under a temporary name in its folder, then renamed into place.
    The figure is left open; the caller decides when to drop it.

    Args:
        fig: The figure to save.
        path: Target path; its suffix is replaced by each format (``out/funnel`` →
            ``out/funnel.png``).
        formats: Any of matplotlib's formats, e.g. ``("png", "svg", "pdf")``. PNG is
            rendered at 150 dpi.

    Returns:
        The paths written, in the order of ``formats``.

    Example:
        >>> import tempfile
        >>> fig = funnel({"funnel_reached": 10, "funnel_invited": 5})
        >>> [p.name for p in save_figure(fig, Path(tempfile.mkdtemp()) / "funnel")]
        ['funnel.png']
    """
    path = Path(path)
    written = []
    umask = os.umask(0o022)  # read the user's umask
    os.umask(umask)
    with _house_style():
        for fmt in formats:
            fmt = fmt.lower().lstrip(".")
            target = path.with_suffix("." + fmt)
            handle, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                           suffix=".tmp")
            try:
                with os.fdopen(handle, "wb") as stream:
                    fig.savefig(stream, format=fmt, dpi=150, metadata=_METADATA.get(fmt))
                os.chmod(tmp, 0o666 & ~umask)  # as open() would: mkstemp makes 0600
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            written.append(target)
    return written


def write_run_charts(
    timeseries: pd.DataFrame,
    summary: Mapping,
    referral_curve: pd.DataFrame,
    out_dir: Path,
    formats: Iterable[str] = ("png",),
) -> list[Path]:
    """Write the standard charts of one run: members by role, funnel, referral concentration.

    Args:
        timeseries: The run's daily time series (see :func:`members_by_role`, :func:`funnel`).
        summary: The run summary; ``scenario`` goes into the titles and ``milestones``
            (``{"100": day or None, ...}``) into the growth chart.
        referral_curve: The run's referral curve (see :func:`referral_concentration`).
        out_dir: Folder to write into; created if missing.
        formats: File formats, as for :func:`save_figure`.

    Returns:
        The paths written: ``members_by_role``, ``funnel``, ``referral_concentration``,
        each in every format.

    Example:
        >>> import tempfile, pandas as pd
        >>> cols = ["day", "members", "kols", "actives", "lurkers", "churned"]
        >>> ts = pd.DataFrame(0, index=[0], columns=cols + [f"funnel_{s}" for s in FUNNEL_STAGES])
        >>> curve = pd.DataFrame({"member_share": [0.0, 1.0], "referral_share": [0.0, 0.0]})
        >>> len(write_run_charts(ts, {"scenario": "demo"}, curve, Path(tempfile.mkdtemp())))
        3
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    formats = tuple(formats)
    with _house_style():
        scenario = _display(summary["scenario"]) if summary.get("scenario") else None

    def title(text: str) -> str | None:
        return f"{scenario}: {text}" if scenario else None

    figures = {
        "members_by_role": members_by_role(timeseries, summary.get("milestones"),
                                           title=title("community growth by role")),
        "funnel": funnel(timeseries, title=title("growth funnel")),
        "referral_concentration": referral_concentration(
            referral_curve, title=title("who brings in new members")),
    }
    written: list[Path] = []
    for name, fig in figures.items():
        try:
            written += save_figure(fig, out_dir / name, formats)
        finally:
            fig.clear()  # built without pyplot: nothing to unregister, just drop the artists
    return written


# Charts over many runs live in sim/charts_deck.py (fan, comparison, milestone days) and
# sim/charts_sweep.py (heatmap, Sobol bars, write_sweep_charts); they build on the helpers
# above and are served from here on first use (no import cycle).
_DECK = {"fan_chart": "charts_deck", "scenario_comparison": "charts_deck",
         "milestone_days": "charts_deck", "grid_heatmap": "charts_sweep",
         "sobol_bars": "charts_sweep", "write_sweep_charts": "charts_sweep"}
__all__ += list(_DECK)


def __getattr__(name: str):
    if name in _DECK:
        import importlib

        return getattr(importlib.import_module(f"sim.{_DECK[name]}"), name)
    raise AttributeError(f"module 'sim.charts' has no attribute {name!r}")
