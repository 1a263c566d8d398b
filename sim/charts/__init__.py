"""Deck-ready matplotlib figures: data in, :class:`~matplotlib.figure.Figure` out.

Every chart function takes tables (pandas DataFrames, Series, mappings) and plain values,
never a model or an experiment, draws in the house style packaged as
``sim/charts/fishpond.mplstyle`` (16:9, large type, Okabe-Ito colours, editable SVG text) and
returns the figure; pass ``ax`` to draw into an axes of your own. Saving is separate
(:func:`save_figure`), and ``write_*`` draw and save every chart of a run or a sweep folder.

Every chart's headline states what the data show ("10,000 members on day 231; 60% of them
lurk"), above its descriptive title; the sentences come from small pure functions beside
each chart (``*_finding``), and ``finding=""`` leaves it out.

Modules, each importing only those above it:

- :mod:`sim.charts.style`: the house style, fonts, colours and the helpers charts share;
- :mod:`sim.charts.save`: atomic, byte-identical files;
- :mod:`sim.charts.run`: charts of one run (members by role, funnel, referral concentration);
- :mod:`sim.charts.deck`: charts over many runs (fan chart, scenario comparison, milestones);
- :mod:`sim.charts.sweep`: heatmaps, Sobol bars and every chart of a sweep folder.

Example:
    >>> from sim import charts
    >>> fig = charts.funnel({"funnel_reached": 5000, "funnel_invited": 2000})
    >>> fig.axes[0].get_title()
    'Growth funnel: from reach to paying members'
"""

from __future__ import annotations

from sim.charts.deck import (
                            comparison_finding,
                            fan_chart,
                            fan_finding,
                            milestone_days,
                            milestones_finding,
                            scenario_comparison,
)
from sim.charts.run import (
                            FUNNEL_STAGES,
                            MILESTONE_NAMES,
                            funnel,
                            members_by_role,
                            referral_concentration,
                            write_run_charts,
)
from sim.charts.save import save_figure
from sim.charts.style import PALETTE, STYLE_PATH
from sim.charts.sweep import (
                            MAX_POINTS,
                            grid_heatmap,
                            group_runs,
                            heatmap_finding,
                            parameter_finding,
                            point_labels,
                            sobol_bars,
                            sobol_finding,
                            varying_parameters,
                            write_sweep_charts,
)

__all__ = [
    "FUNNEL_STAGES",
    "MAX_POINTS",
    "MILESTONE_NAMES",
    "PALETTE",
    "STYLE_PATH",
    "comparison_finding",
    "fan_chart",
    "fan_finding",
    "funnel",
    "grid_heatmap",
    "group_runs",
    "heatmap_finding",
    "members_by_role",
    "milestone_days",
    "milestones_finding",
    "parameter_finding",
    "point_labels",
    "referral_concentration",
    "save_figure",
    "scenario_comparison",
    "sobol_bars",
    "sobol_finding",
    "varying_parameters",
    "write_run_charts",
    "write_sweep_charts",
]
