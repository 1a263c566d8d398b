"""fishpond calibrate (sim.calibrate): reproducible ABC-SMC, resume, outputs, the command.

Tiny sizes: 300 persons, four weekly observations, a few particles and generations.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.calibrate import (
    Simulator,
    calibrate,
    calibration_from_data,
    one_at_a_time,
    particle_seed,
)
from sim.cli import main
from sim.errors import OutputError
from sim.experiments import load_experiment
from sim.model import GrowthModel
from sim.scenario_io import load_scenario

TRUE_RATE = 0.03


@pytest.fixture(scope="module")
def observed(tmp_path_factory):
    """Four weeks of a tiny fish pond simulated with invite_rate 0.03 (seed 5)."""
    m = GrowthModel("fish_pond", rng=5, steps=28, population={"size": 300},
                    rules={"invite_rate": TRUE_RATE})
    m.run()
    ts = m.timeseries()
    folder = tmp_path_factory.mktemp("obs")
    rows = [f"{d},{ts.members[d]},{ts.members[d] + ts.churned[d]}" for d in (7, 14, 21, 28)]
    path = folder / "obs.csv"
    path.write_text("day,members,ever_members\n" + "\n".join(rows) + "\n")
    return path


def _cal(observed, **settings):
    data = {"observed": str(observed), "scenario": "fish_pond",
            "overrides": {"population": {"size": 300}},
            "free": {"rules.invite_rate": [0.005, 0.1, "log"]}, "particles": 8,
            "generations": 2, "forecast_draws": 6, "horizon": 40, "seed": 3} | settings
    return calibration_from_data(data, {}, "<test>", observed.parent)


def test_particle_seeds_depend_on_values_root_and_salt():
    seeds = {particle_seed([0.1], 0), particle_seed([0.1], 1), particle_seed([0.2], 0),
             particle_seed([0.1], 0, 5)}
    assert len(seeds) == 4 and all(0 <= s < 2**63 for s in seeds)
    assert particle_seed([0.1, 3], 7) == particle_seed([0.1, 3.0], 7)


def test_statistics_are_scaled_by_the_observed_maximum(observed):
    cal = _cal(observed)
    sim = Simulator(cal)
    obs = sim.observed_stats(cal.observed)
    assert len(obs) == 8 and max(obs[k] for k in obs if k.startswith("members@")) == 1.0
    assert max(obs[k] for k in obs if k.startswith("ever_members@")) == 1.0
    stats = sim({"p0": np.log10(TRUE_RATE)})
    assert stats.keys() == obs.keys()
    assert stats == sim({"p0": np.log10(TRUE_RATE)})  # the run seed follows the parameters
    assert sim.shared and sim.graph() is sim.graph()  # the graph is built once


def test_one_at_a_time_finds_a_parameter_without_effect(observed):
    cal = _cal(observed, free={"rules.invite_rate": [0.005, 0.1, "log"],
                               "economics.price": [10, 100]})
    oat = one_at_a_time(cal).set_index("parameter")
    assert oat.loc["rules.invite_rate", "effect"] > 2 * oat.loc["rules.invite_rate", "noise"]
    assert oat.loc["economics.price", "effect"] == 0.0


def test_same_seed_same_posterior_and_every_output(observed, tmp_path):
    cal = _cal(observed)
    lines = []
    first = calibrate(cal, tmp_path / "a", progress=lines.append)
    second = calibrate(cal, tmp_path / "b")
    pd.testing.assert_frame_equal(first.particles, second.particles)
    assert pd.read_parquet(tmp_path / "a" / "posterior.parquet").equals(
        pd.read_parquet(tmp_path / "b" / "posterior.parquet"))
    for name in ("posterior_summary.csv", "forecast.csv", "milestones.csv", "calibrated.yaml"):
        assert (tmp_path / "a" / name).read_text() == (tmp_path / "b" / name).read_text(), name
    assert any(line.startswith("calibrate: generation 2/2: epsilon ") and "acceptance" in line
               and "ETA" in line for line in lines), lines
    other = calibrate(_cal(observed, seed=4), tmp_path / "c")
    assert not other.particles.equals(first.particles)

    out = tmp_path / "a"
    post = pd.read_parquet(out / "posterior.parquet")
    assert post.columns.tolist() == ["generation", "rules.invite_rate", "weight"]
    assert len(post) == 8 and np.isclose(post["weight"].sum(), 1.0)
    assert post["rules.invite_rate"].between(0.005, 0.1).all()
    summary = pd.read_csv(out / "posterior_summary.csv")
    assert summary.columns.tolist() == ["parameter", "median", "q05", "q95"]
    row = summary.iloc[0]
    assert row["q05"] <= row["median"] <= row["q95"]
    forecast = pd.read_csv(out / "forecast.csv")
    assert forecast["day"].tolist() == list(range(41))
    for c in ("members", "ever_members"):
        assert [f"{c}_{q}" for q in ("q05", "q25", "q50", "q75", "q95", "observed")] == \
            [k for k in forecast.columns if k.startswith(c + "_")]
        assert (forecast[f"{c}_q05"] <= forecast[f"{c}_q95"]).all()
    assert forecast["members_observed"].notna().sum() == 4
    assert forecast.loc[7, "members_observed"] == pd.read_csv(observed).loc[0, "members"]
    milestones = pd.read_csv(out / "milestones.csv")
    assert milestones.columns.tolist() == ["milestone", "probability_by_horizon", "day_q05",
                                           "day_q50", "day_q95"]
    assert milestones["milestone"].tolist() == [100, 1000, 10000]
    assert milestones["probability_by_horizon"].tolist()[1:] == [0.0, 0.0]  # 300 persons

    calibrated = load_scenario(out / "calibrated.yaml")  # runnable with fishpond run
    assert np.isclose(calibrated.rules.invite_rate, row["median"])
    assert calibrated.steps == 40 and calibrated.seed == 3
    exp = load_experiment(out / "posterior_sweep.yaml")
    assert exp.design.kind == "scenarios" and len(exp.design.files) == 6
    info = json.loads((out / "manifest.json").read_text())
    assert info["kind"] == "calibration" and info["status"] == "complete"
    assert info["generations_done"] == 2
    ident = pd.read_csv(out / "identifiability.csv")
    assert ident["parameter"].tolist() == ["rules.invite_rate"]


def test_one_worker_two_workers_and_a_dask_cluster_give_the_same_posterior(observed, tmp_path):
    """Evaluations are numbered and seeded one by one and kept in order, wherever they run."""
    import distributed

    cal = _cal(observed, particles=6)
    one = calibrate(cal, tmp_path / "one")
    two = calibrate(cal, tmp_path / "two", workers=2)
    pd.testing.assert_frame_equal(one.particles, two.particles)
    pd.testing.assert_frame_equal(one.generations, two.generations)
    with distributed.LocalCluster(n_workers=1, processes=False, threads_per_worker=1,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        dask = calibrate(cal, tmp_path / "dask", cluster=client)
    pd.testing.assert_frame_equal(one.particles, dask.particles)
    for name in ("posterior_summary.csv", "forecast.csv"):
        assert (tmp_path / "one" / name).read_text() == (tmp_path / "dask" / name).read_text()


def test_resume_continues_to_the_same_posterior(observed, tmp_path):
    whole = calibrate(_cal(observed, generations=3), tmp_path / "whole")
    calibrate(_cal(observed, generations=1), tmp_path / "part")
    resumed = calibrate(_cal(observed, generations=3), tmp_path / "part", resume=True)
    pd.testing.assert_frame_equal(whole.particles, resumed.particles)
    assert resumed.generations["generation"].tolist() == [1, 2, 3]
    with pytest.raises(OutputError, match="holds a calibration with other settings"):
        calibrate(_cal(observed, seed=99), tmp_path / "part", resume=True)
    with pytest.raises(OutputError, match="no calibration to resume"):
        calibrate(_cal(observed), tmp_path / "empty", resume=True)


def test_min_acceptance_stops_after_the_first_generation_below_it(observed, tmp_path):
    lines = []
    stopped = calibrate(_cal(observed, generations=4, min_acceptance=0.99), tmp_path / "a",
                        progress=lines.append)
    # generation 2 accepts at most half its runs (MedianEpsilon): below 99%, so no generation 3
    assert stopped.generations["generation"].tolist() == [1, 2]
    assert stopped.generations["runs"].iloc[1] > 8
    assert any("below min_acceptance 99%: stopped" in line for line in lines)
    two = calibrate(_cal(observed, generations=2), tmp_path / "b")
    pd.testing.assert_frame_equal(stopped.particles, two.particles)
    # a rate the generations stay above changes nothing
    assert calibrate(_cal(observed, generations=3, min_acceptance=0.001), tmp_path / "c"
                     ).generations["generation"].tolist() == [1, 2, 3]
    with pytest.raises(Exception, match="min_acceptance"):
        _cal(observed, min_acceptance=1.5)


def test_output_folder_is_never_clobbered(observed, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    with pytest.raises(OutputError, match="folder exists and is not empty"):
        calibrate(_cal(observed), mine)
    with pytest.raises(OutputError, match="not written by fishpond"):
        calibrate(_cal(observed), mine, overwrite=True)
    assert (mine / "notes.txt").read_text() == "keep"


def test_the_command(observed, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ["calibrate", str(observed), "--scenario", "fish_pond", "--set",
            "population.size=300", "--free", "rules.invite_rate=0.005:0.1:log",
            "--particles", "6", "--generations", "1", "--forecast-draws", "4",
            "--horizon", "35", "--out", "cal", "--quiet"]
    assert main(args) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert "rules.invite_rate" in out and "Forecast:" in out
    assert "100 members by day 35: 100% likely" in out
    assert out.rstrip().splitlines()[-1].startswith("Wrote cal/ (manifest.json, posterior.parquet")
    for name in ("posterior_pairs.png", "forecast.png", "draws/draw-000.yaml"):
        assert (tmp_path / "cal" / name).is_file(), name
    assert main(args) == 2  # the folder is not empty now
    assert "use --overwrite to replace it, --resume to continue it" in capsys.readouterr().err
    assert main(args + ["--overwrite"]) == 0
    capsys.readouterr()
    assert main(args + ["--workers", "0"]) == 2
    assert "--workers 0: too small" in capsys.readouterr().err
    sweep = yaml.safe_load((tmp_path / "cal" / "posterior_sweep.yaml").read_text())
    assert sweep["design"]["files"][0] == "draws/draw-000.yaml"
