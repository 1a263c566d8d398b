"""Scenario comparisons: a ``scenarios`` design on common seeds, run and judged like any sweep.

``fishpond compare A B ...`` is :func:`comparison_experiment` (every scenario, the same
replicate seeds from ``SeedSequence(seed)``, the ``--set`` overrides applied to each) run by
:func:`sim.experiments.run_sweep` into a sweep folder, then :func:`judge` (medians, paired
tests against the first scenario) with the table written to ``comparison.csv``.

Example:
    >>> paths, overrides = check_scenarios(["fish_pond", "no_feed"], ["steps=20"])
    >>> [p.name for p in paths], overrides
    (['fish_pond.yaml', 'no_feed.yaml'], {'steps': 20})
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import store
from .analysis import (
    compare_scenarios,
    comparison_frame,
    scenario_labels,
    summarize_by_scenario,
)
from .errors import FishpondError
from .experiments import Experiment, experiment_from_dict
from .limits import MAX_RUNS
from .outdir import write_error
from .scenario_io import load_scenario, resolve_scenario_path, settings_data

COMPARISON_FILE = "comparison.csv"


@dataclass
class Comparison:
    """A finished comparison: the runs and what was measured of them.

    Attributes:
        results: Every run, with a ``scenario`` column of readable labels.
        failed: The runs that failed (left out of the statistics).
        baseline: The label of the first scenario.
        summary: Medians and intervals by scenario and metric.
        comparison: Differences from the baseline and their tests.
    """

    results: pd.DataFrame
    failed: pd.DataFrame
    baseline: str
    summary: pd.DataFrame
    comparison: pd.DataFrame


def check_scenarios(scenarios: Sequence[str], overrides: Sequence[str] = ()
                    ) -> tuple[list[Path], dict]:
    """Check the scenarios and ``--set`` overrides of a comparison, before anything runs.

    Args:
        scenarios: Two or more scenario files or shipped names; the first is the baseline.
        overrides: ``KEY.PATH=VALUE`` strings applied to every scenario.

    Returns:
        The scenario files, and the overrides as one nested mapping.

    Raises:
        FishpondError: fewer than two scenarios, one given twice, a ``seed`` override, or
            a scenario that is not valid with the overrides (file:line).
    """
    if len(scenarios) < 2:
        raise FishpondError(f"compare {scenarios[0]}: one scenario; allowed: two or more "
                            "scenarios (the first is the baseline)")
    paths = [resolve_scenario_path(s) for s in scenarios]
    seen: dict[Path, str] = {}
    for given, path in zip(scenarios, paths):
        if path.resolve() in seen:
            raise FishpondError(f"compare: {given} is given twice ({seen[path.resolve()]}); "
                                "allowed: each scenario once")
        seen[path.resolve()] = given
    for raw in overrides:
        if raw.partition("=")[0].strip() == "seed":
            raise FishpondError(f"--set {raw}: compare sets the run seeds; use --seed for the "
                                "root seed")
    for path in paths:  # file:line errors for a bad scenario or --set, before anything runs
        load_scenario(path, list(overrides))
    return paths, settings_data(list(overrides))


def default_out(paths: Sequence[Path]) -> Path:
    """``runs/compare-<stems>/`` (relative to the working directory)."""
    return Path("runs") / ("compare-" + "-".join(p.stem for p in paths))


def comparison_experiment(scenarios: Sequence[str], paths: Sequence[Path], overrides: dict, *,
                          replicates: int = 20, seed: int = 0,
                          max_runs: int = MAX_RUNS) -> Experiment:
    """The experiment of a comparison: one design point per scenario, common seeds.

    Args:
        scenarios: The scenarios as given (files or shipped names).
        paths: Their files (:func:`check_scenarios`).
        overrides: Scenario overrides applied to every scenario.
        replicates: Runs per scenario.
        seed: Root seed of the replicate seeds.
        max_runs: Refuse a larger design.

    Returns:
        The validated Experiment.
    """
    return experiment_from_dict(
        {"name": "compare " + ", ".join(p.stem for p in paths), "replicates": replicates,
         "seed": seed, "overrides": overrides,
         "design": {"kind": "scenarios", "files": list(scenarios)}},
        base_dir=Path.cwd(), source="fishpond compare", max_runs=max_runs)


def judge(out: str | os.PathLike) -> Comparison:
    """Read a comparison's runs, compare every scenario with the first, write the table.

    Args:
        out: The folder the comparison's sweep was written to.

    Returns:
        The Comparison; when every run failed, only its ``results`` and ``failed`` are
        filled and nothing is written.

    Raises:
        OutputError: ``comparison.csv`` could not be written.
    """
    out = Path(out)
    results = store.read_results(out)
    results = results.assign(scenario=scenario_labels(results))
    failed = results[results["status"] != "ok"]
    if len(failed) == len(results):
        return Comparison(results, failed, "", pd.DataFrame(), pd.DataFrame())
    baseline = results.loc[results["point"] == 0, "scenario"].iloc[0]
    summary = summarize_by_scenario(results)
    comparison = compare_scenarios(results, baseline)
    tmp = out / f".{COMPARISON_FILE}.{os.getpid()}.tmp"
    try:
        try:
            comparison_frame(summary, comparison).to_csv(tmp, index=False)
            os.replace(tmp, out / COMPARISON_FILE)
        finally:
            tmp.unlink(missing_ok=True)
    except OSError as e:
        raise write_error(out, e, f"the runs are saved in {out}/results/") from None
    return Comparison(results, failed, baseline, summary, comparison)
