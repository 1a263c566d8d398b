"""Reading observed counts (sim.observed): periods, model days, missing values, one-line errors."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.errors import DataError
from sim.observed import COLUMNS, model_series, observed_from_frame, read_observed


def _file(tmp_path, text, name="obs.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_weekly_dates_are_the_ends_of_weeks(tmp_path):
    path = _file(tmp_path, "# our community\ndate,members,ever_members\n"
                           "2024-03-03,120,125\n2024-03-10,,180\n2024-03-17,190,NA\n")
    obs = read_observed(path)
    assert obs.period_days == 7.0 and obs.period_name() == "week"
    assert obs.days.tolist() == [7, 14, 21]
    assert obs.columns == ["members", "ever_members"]
    assert math.isnan(obs.values["members"][1]) and math.isnan(obs.values["ever_members"][2])
    assert obs.values["members"][[0, 2]].tolist() == [120.0, 190.0]
    assert obs.dates == ("2024-03-03", "2024-03-10", "2024-03-17")


def test_monthly_and_yearly_dates(tmp_path):
    monthly = read_observed(_file(tmp_path, "date,members\n2024-01,1\n2024-02,1\n2024-03,1\n"
                                              "2024-05,9\n"))
    assert monthly.period_name() == "month"
    assert monthly.days.tolist() == [30, 61, 91, 152]  # May is the fourth month after January
    yearly = read_observed(_file(tmp_path, "date,ever_members\n1949,96\n1950,291\n1951,529\n"))
    assert yearly.period_days == 365.0 and yearly.days.tolist() == [365, 730, 1095]


def test_period_days_makes_one_model_day_a_period(tmp_path):
    path = _file(tmp_path, "date,ever_members\n1949,96\n1950,291\n1951,529\n")
    assert read_observed(path, period_days=1).days.tolist() == [1, 2, 3]
    assert read_observed(path, period_days=4).days.tolist() == [4, 8, 12]


def test_day_column_is_used_as_given(tmp_path):
    obs = read_observed(_file(tmp_path, "day,members,paying\n3,10,0\n10,40,1\n17,90,\n"))
    assert obs.days.tolist() == [3, 10, 17]
    assert obs.period_days == 3.0  # the smallest gap, counting from day 0
    yearly = read_observed(_file(tmp_path, "day,members\n1,5\n2,9\n"), period_days=365)
    assert yearly.days.tolist() == [1, 2] and yearly.period_name() == "year"


def test_a_partial_window_and_a_table():
    obs = observed_from_frame(pd.DataFrame({"day": [7, 14, 21], "members": [1, 2, 3]}))
    part = obs.until(14)
    assert part.days.tolist() == [7, 14] and part.values["members"].tolist() == [1.0, 2.0]
    assert obs.frame().columns.tolist() == ["day", "members"]
    with pytest.raises(DataError, match="unknown column 'fans'"):
        observed_from_frame(pd.DataFrame({"day": [1], "fans": [3]}))
    with pytest.raises(DataError, match="increasing whole numbers"):
        observed_from_frame(pd.DataFrame({"day": [7, 7], "members": [1, 2]}))


@pytest.mark.parametrize(("text", "expected"), [
    ("date,member\n2024-01-07,5\n", "obs.csv:1: unknown column 'member'; did you mean 'members'?"),
    ("members\n5\n", "obs.csv:1: no date or day column"),
    ("date,day,members\n2024-01-07,7,5\n", "obs.csv:1: both a date and a day column"),
    ("date\n2024-01-07\n", "obs.csv:1: no observed column"),
    ("date,members,members\n2024-01-07,5,5\n", "column 'members' appears twice"),
    ("date,members\n", "obs.csv:1: no data rows"),
    ("", "obs.csv: no header row"),
    ("# a comment\ndate,members\n2024-01-07,5\n2024-01-14,many\n",
     "obs.csv:4: members = 'many': not a number; allowed: a count >= 0, or empty if missing"),
    ("date,members\n2024-01-07,5\n2024-01-14,-3\n",
     "obs.csv:3: members = '-3': must be a finite count >= 0"),
    ("date,members\n2024-01-07,5\n2024-01-14,inf\n", "obs.csv:3: members = 'inf'"),
    ("date,members\n2024-01-14,5\n2024-01-07,6\n",
     "obs.csv:3: date = '2024-01-07': not after the previous row's 2024-01-14"),
    ("date,members\n2024-01-07,5\n2024-01-14,6\n2024-01-21,6\n2024-01-22,7\n",
     "obs.csv:5: date = '2024-01-22': in the same 7-day period as the row before"),
    ("date,members\n2024-13-07,5\n", "obs.csv:2: date = '2024-13-07': not a date; allowed: "
                                     "YYYY-MM-DD, YYYY-MM or YYYY"),
    ("day,members\n0,5\n", "obs.csv:2: day = '0': not a model day"),
    ("day,members\n1.5,5\n", "obs.csv:2: day = '1.5': not a model day"),
    ("day,members\n1,5,6\n", "obs.csv:2: 3 cells, the header has 2"),
    ("day,members,churned\n1,5,\n2,6,\n", "obs.csv: column churned has no values"),
    ("date,members\n2024-01-07,5\n", "one dated row: the period cannot be inferred"),
])
def test_bad_files_are_one_line_with_the_line_number(tmp_path, text, expected):
    with pytest.raises(DataError) as err:
        read_observed(_file(tmp_path, text))
    message = str(err.value)
    assert expected in message and "\n" not in message


def test_unreadable_files(tmp_path):
    with pytest.raises(DataError, match="not found"):
        read_observed(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="is a directory"):
        read_observed(tmp_path)
    bad = tmp_path / "latin.csv"
    bad.write_bytes(b"date,members\n2024-01-07,5\xe9\n")
    with pytest.raises(DataError, match="not UTF-8 text"):
        read_observed(bad)
    with pytest.raises(DataError, match="--period-days 0"):
        read_observed(_file(tmp_path, "day,members\n1,5\n"), period_days=0)


def test_the_command_reports_a_bad_file_in_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = _file(tmp_path, "date,members\n2024-01-07,5\n2024-01-14,lots\n")
    code = main(["calibrate", str(path), "--free", "rules.invite_rate=0.01:0.05", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert err.strip().splitlines() == [
        "fishpond: error: obs.csv:3: members = 'lots': not a number; allowed: a count >= 0, "
        "or empty if missing"]
    assert not (tmp_path / "runs").exists()


def test_model_series_reads_every_observed_column():
    ts = pd.DataFrame({"members": [5, 7], "churned": [0, 2], "actives": [1, 2],
                       "lurkers": [4, 5], "joins_referral": [0, 3], "paying_members": [0, 1]})
    got = {c: model_series(ts, c).tolist() for c in COLUMNS}
    assert got == {"members": [5, 7], "ever_members": [5, 9], "actives": [1, 2],
                   "lurkers": [4, 5], "churned": [0, 2], "referral_joins": [0, 3],
                   "paying": [0, 1]}
    assert model_series(ts, "members").dtype == np.float64
