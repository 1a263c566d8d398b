"""sim.analysis: medians and intervals, paired tests, Holm correction, 'never' milestones."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sim import analysis
from sim.errors import DataError

N = 20
HORIZON = 365


def runs(**scenarios: dict) -> pd.DataFrame:
    """Results table: one row per (scenario, seed); each scenario maps metric -> N values."""
    rows = []
    for name, metrics in scenarios.items():
        for r in range(N):
            row = {"scenario": name, "seed": 100 + r, "status": "ok", "steps": HORIZON}
            row.update({m: v[r] for m, v in metrics.items()})
            rows.append(row)
    return pd.DataFrame(rows)


BASE = {
    "members": np.arange(N) * 10.0 + 1000,
    "day_inflection": np.arange(N) + 50.0,
    "day_explosion": [np.nan] * 15 + [300.0, 310, 320, 330, 340],
    "cost_per_retained_member": np.linspace(90, 110, N),
    "croi": np.linspace(-0.5, -0.3, N),
    "referral_share": np.linspace(0.6, 0.7, N),
    "contributor_share": np.linspace(0.3, 0.4, N),
    "commitment_share": np.linspace(0.2, 0.3, N),
}


def shifted(**shifts) -> dict:
    out = {k: np.asarray(v, float).copy() for k, v in BASE.items()}
    for metric, delta in shifts.items():
        out[metric] = out[metric] + delta
    return out


def test_summary_medians_intervals_and_never():
    table = analysis.summarize_by_scenario(runs(a=BASE))
    assert list(table.columns) == ["scenario", "metric", "runs", "median", "low", "high", "never",
                                   "horizon"]
    row = table.set_index("metric").loc["members"]
    assert row["median"] == 1095.0  # (1090 + 1100) / 2
    assert (row["low"], row["high"]) == (1000.0, 1180.0)  # 1st and 19th of 20 (inverted CDF)
    assert row["runs"] == N and row["never"] == 0 and row["horizon"] == HORIZON
    explosion = table.set_index("metric").loc["day_explosion"]
    assert explosion["never"] == 15
    assert explosion["median"] == HORIZON + 1  # most runs never got there
    assert (explosion["low"], explosion["high"]) == (300.0, HORIZON + 1)


def test_summary_keeps_order_and_skips_failed_runs():
    results = runs(z=BASE, a=shifted(members=5))
    results.loc[results.index[:3], "status"] = "failed"
    table = analysis.summarize_by_scenario(results, ["members"])
    assert table["scenario"].tolist() == ["z", "a"]  # order of first appearance
    assert table["runs"].tolist() == [N - 3, N]


def test_a_clear_difference_is_significant_identical_samples_are_not():
    results = runs(a=BASE, b=shifted(members=500, commitment_share=0.3), c=BASE)
    table = analysis.compare_scenarios(results, "a").set_index(["scenario", "metric"])
    b = table.loc[("b", "members")]
    assert b["test"] == "wilcoxon" and b["n"] == N
    assert b["difference"] == 500.0 and b["significant"]
    assert b["p_value"] < 1e-4 and b["p_holm"] < 1e-3
    assert table.loc[("b", "commitment_share"), "significant"]
    for metric in analysis.MAIN_METRICS:
        row = table.loc[("c", metric)]
        assert row["p_value"] == 1.0 and not row["significant"] and row["difference"] == 0.0


def test_holm_correction_across_metrics():
    # croi: 12 pairs up by 3, 8 pairs down by 1 (plus tiny distinct offsets): raw p ~ 0.008.
    d = np.array([3.0] * 12 + [-1.0] * 8) + np.arange(N) * 0.01
    results = runs(a=BASE, b=shifted(members=500, croi=d))
    table = analysis.compare_scenarios(results, "a").set_index("metric")
    croi = table.loc["croi"]
    assert croi["p_value"] < 0.05  # significant on its own ...
    assert croi["p_holm"] == pytest.approx(7 * croi["p_value"])  # second smallest of 8
    assert not croi["significant"]  # ... but not after correcting for 8 metrics
    assert table.loc["members", "significant"]
    np.testing.assert_allclose(table["p_holm"], analysis.holm(table["p_value"]))


def test_holm_known_values_and_nan():
    np.testing.assert_allclose(analysis.holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])
    out = analysis.holm([0.02, math.nan, 0.5])
    assert math.isnan(out[1])
    np.testing.assert_allclose(out[[0, 2]], [0.04, 0.5])
    assert analysis.holm([0.9, 0.8]).tolist() == [1.0, 1.0]  # capped at 1, monotone
    assert analysis.holm([]).size == 0


def test_never_counts_as_horizon_plus_one_in_tests():
    late = shifted()
    late["day_inflection"] = np.full(N, np.nan)  # b never reaches 1,000
    table = analysis.compare_scenarios(runs(a=BASE, b=late), "a").set_index("metric")
    row = table.loc["day_inflection"]
    assert row["median"] == HORIZON + 1 and row["never"] == N and row["baseline_never"] == 0
    assert row["difference"] == np.median(HORIZON + 1 - BASE["day_inflection"])
    assert row["significant"]
    text = analysis.comparison_table(analysis.summarize_by_scenario(runs(a=BASE, b=late)),
                                     analysis.compare_scenarios(runs(a=BASE, b=late), "a"))
    assert "never (20/20)" in text and ">= +" in text and "horizon + 1" in text


def test_unpaired_runs_use_mann_whitney():
    results = runs(a=BASE, b=shifted(members=500))
    results.loc[results["scenario"] == "b", "seed"] += 1000  # no common seeds
    row = analysis.compare_scenarios(results, "a", ["members"]).iloc[0]
    assert row["test"] == "mann-whitney" and row["significant"]
    assert row["difference"] == 500.0


def test_unknown_horizon_with_never_is_a_data_error():
    results = runs(a=BASE).drop(columns="steps")
    with pytest.raises(DataError, match="horizon"):
        analysis.summarize_by_scenario(results, ["day_explosion"])
    assert analysis.summarize_by_scenario(results, ["day_explosion"], horizon=400)["never"][0] == 15
    with pytest.raises(DataError, match="baseline 'x'"):
        analysis.compare_scenarios(runs(a=BASE), "x")
    with pytest.raises(DataError, match="no column 'nope'"):
        analysis.summarize_by_scenario(runs(a=BASE), ["nope"])


def test_comparison_table_and_frame():
    results = runs(**{"seed-100 fish pond": BASE, "mass pull (拉群)": shifted(members=-600)})
    summary = analysis.summarize_by_scenario(results)
    tests = analysis.compare_scenarios(results, "seed-100 fish pond")
    text = analysis.comparison_table(summary, tests)
    lines = text.splitlines()
    assert "seed-100 fish pond" in lines[0] and "mass pull (拉群)" in lines[0]
    assert "members at horizon" in text and "1,095 [1,000, 1,180]" in text
    assert "(-600 p=" in text and " *)" in text  # significant difference marked
    assert "paired Wilcoxon signed-rank" in text and "Holm" in text
    assert "never 15/20" in text
    narrow = analysis.comparison_table(summary, tests, width=60)
    assert "\n  mass pull (拉群)" in narrow  # one block per metric when columns do not fit
    frame = analysis.comparison_frame(summary, tests)
    assert len(frame) == 2 * len(analysis.MAIN_METRICS)
    assert {"median", "low", "high", "p_holm", "significant"} <= set(frame.columns)
    assert frame.loc[frame["scenario"] == "seed-100 fish pond", "p_holm"].isna().all()


def test_format_value():
    assert analysis.format_value("members", 12345.0) == "12,345"
    assert analysis.format_value("croi", -0.9162) == "-91.6%"
    assert analysis.format_value("croi", 0.05, signed=True) == "+5.0 pt"
    assert analysis.format_value("day_inflection", 366.0, 365) == "never"
    assert analysis.format_value("day_inflection", 40.0, 365) == "40"
    assert analysis.format_value("k_factor", 0.4567) == "0.46"
    assert analysis.format_value("members", math.nan) == "n/a"


def test_scenario_labels_and_milestone_levels():
    results = pd.DataFrame({"scenario": ["fish_pond", "no_feed"],
                            "scenario_name": ["seed-100 fish pond", "no feeding"]})
    assert analysis.scenario_labels(results).tolist() == ["seed-100 fish pond", "no feeding"]
    same = results.assign(scenario_name="x")  # names do not tell them apart: keep the files
    assert analysis.scenario_labels(same).tolist() == ["fish_pond", "no_feed"]
    assert analysis.scenario_labels(pd.DataFrame({"a": [1]})) is None
    custom = pd.DataFrame(columns=["day_50", "day_300", "day_900", "day_inflection"])
    assert analysis.milestone_level(custom, "day_inflection") == 300
    assert analysis.milestone_level(None, "day_explosion") == 10_000
    assert analysis.milestone_level(None, "day_2500") == 2500
    assert analysis.milestone_level(None, "members") is None
    assert analysis.metric_label("day_inflection", custom) == "day of inflection (300)"


def test_min_replicates_is_the_first_count_that_can_be_significant():
    from math import comb

    from sim.analysis import min_replicates

    for m in (1, 3, 8):
        n = min_replicates(m)
        assert m * 2 / 2**n < 0.05 <= m * 2 / 2 ** (n - 1)
        k = min_replicates(m, paired=False)
        assert m * 2 / comb(2 * k, k) < 0.05 <= m * 2 / comb(2 * k - 2, k - 1)
