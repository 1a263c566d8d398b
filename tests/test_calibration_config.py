"""Calibration settings (sim.calibration_config): priors, the YAML file, one-line errors."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from sim.calibration_config import (
    Prior,
    calibration_from_data,
    load_calibration,
    parse_free,
)
from sim.errors import DataError, ScenarioError

ROOT = Path(__file__).resolve().parents[1]
OBSERVED = ROOT / "tests" / "data" / "observed_weekly.csv"


def _cal(free, **data):
    return calibration_from_data({"observed": str(OBSERVED), "free": free, **data}, {}, "<t>",
                                 ROOT)


def test_parse_free():
    assert parse_free("rules.decay=0.01:0.2") == ("rules.decay", [0.01, 0.2])
    assert parse_free(" seeding.count = 10:200:log") == ("seeding.count", [10.0, 200.0, "log"])
    for bad in ("rules.decay", "rules.decay=0.1", "=0.1:0.2", "rules.decay=a:b",
                "rules.decay=1:2:3:4"):
        with pytest.raises(ScenarioError, match="expected KEY=LO:HI or KEY=LO:HI:log"):
            parse_free(bad)


def test_prior_scales_and_rounding():
    log = Prior("rules.invite_rate", ("rules", "invite_rate"), 0.001, 0.1, log=True)
    assert (log.lo, log.hi) == (-3.0, -1.0)
    assert math.isclose(log.value(-2.0), 0.01) and math.isclose(log.scale(0.01), -2.0)
    assert log.value(-5.0) == 0.001  # clipped to the prior
    size = Prior("population.size", ("population", "size"), 1000, 5000, integer=True)
    assert size.value(1234.6) == 1235 and isinstance(size.value(1234.6), int)


def test_a_calibration_from_a_mapping():
    cal = _cal({"rules.invite_rate": [0.005, 0.05, "log"], "population.size": "200:400",
                "rules.convert_prob": [0.1, 0.6, "linear"]},
               overrides={"population": {"size": 300}}, seed=4, horizon=40)
    assert cal.keys == ["rules.invite_rate", "population.size", "rules.convert_prob"]
    assert [p.log for p in cal.priors] == [True, False, False]
    assert [p.integer for p in cal.priors] == [False, True, False]
    assert cal.scenario.population.size == 300 and cal.seed == 4 and cal.horizon == 40
    assert cal.observed.days.tolist() == [7, 14, 21, 28]
    assert _cal({"rules.decay": [0.01, 0.1]}).horizon == 56  # twice the last observed day
    assert cal.digest() != _cal({"rules.invite_rate": [0.005, 0.05, "log"]}).digest()


@pytest.mark.parametrize(("free", "extra", "expected"), [
    ({"rules.invite_rat": [0.1, 0.2]}, {}, "free.rules.invite_rat: unknown scenario key "
     "'rules.invite_rat'; did you mean 'rules.invite_rate'?"),
    ({"name": [0.1, 0.2]}, {}, "not a sweepable scenario key path"),
    ({"population.graph.kind": [1, 2]}, {}, "is not a number, cannot be sampled"),
    ({"rules.invite_rate": [0.2, 0.1]}, {}, "not a prior range"),
    ({"rules.invite_rate": [0.1, 0.2, "square"]}, {}, "not a prior range"),
    ({"rules.invite_rate": [0.0, 0.2, "log"]}, {}, "a log prior needs low > 0"),
    ({"rules.invite_rate": [0.1, 1.5]}, {}, "1.5 is not allowed for rules.invite_rate; "
     "allowed: a number in [0, 1]"),
    ({"steps": [10, 20]}, {}, "the days to simulate come from the observed file"),
    ({}, {}, "free = {}: no free parameter; allowed: "),
    ({"rules.decay": [0.1, 0.2]}, {"particles": 1}, "particles = 1: must be >= 2"),
    ({"rules.decay": [0.1, 0.2]}, {"horizon": 10}, "horizon = 10: before the last observed "
     "day 28"),
    ({"rules.decay": [0.1, 0.2]}, {"sed": 1}, "sed: unknown key"),
    ({"rules.decay": [0.1, 0.2]}, {"scenario": "nope"}, "scenario = 'nope': scenario file not "
     "found"),
])
def test_bad_settings_are_one_line(free, extra, expected):
    with pytest.raises(ScenarioError) as err:
        _cal(free, **extra)
    assert expected in str(err.value) and "\n" not in str(err.value)


def test_a_bad_observed_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="not found"):
        calibration_from_data({"observed": "nope.csv", "free": {"rules.decay": [0.1, 0.2]}},
                              {}, "<t>", tmp_path)


def test_yaml_errors_name_the_file_and_line(tmp_path):
    (tmp_path / "obs.csv").write_text(OBSERVED.read_text())
    cal = tmp_path / "cal.yaml"
    cal.write_text("observed: obs.csv\nscenario: fish_pond\nfree:\n"
                   "  rules.invite_rate: [0.001, 0.02, log]\n  rules.convert_prob: [0.5, 0.1]\n")
    with pytest.raises(ScenarioError) as err:
        load_calibration(cal)
    assert str(err.value).startswith(f"{cal}:5: free.rules.convert_prob = [0.5, 0.1]: "
                                     "not a prior range") or ":5: free.rules.convert_prob" \
        in str(err.value)
    cal.write_text("observed: obs.csv\nfree: {rules.decay: [0.01, 0.1]}\noverrides:\n"
                   "  rules: {decay: 2}\n")
    with pytest.raises(ScenarioError, match=r"cal.yaml:4: rules.decay = 2: must be <= 1"):
        load_calibration(cal)
    cal.write_text("observed: obs.csv\nfree: {rules.decay: [0.01, 0.1]}\nparticles: many\n")
    with pytest.raises(ScenarioError, match=r"cal.yaml:3: particles = 'many': not a whole"):
        load_calibration(cal)


def test_command_line_options_replace_the_files_keys():
    cal = load_calibration("fish_pond_weeks", free=["rules.decay=0.01:0.1"],
                           overrides=["population.size=500"], seed=9, particles=None)
    assert cal.keys == ["rules.invite_rate", "rules.convert_prob", "rules.decay"]
    assert cal.scenario.population.size == 500 and cal.seed == 9 and cal.particles == 100
    assert cal.observed.period_name() == "week" and cal.horizon == 140
    with pytest.raises(ScenarioError, match=r"^--seed: seed = -2: must be >= 0"):
        load_calibration("fish_pond_weeks", seed=-2)
