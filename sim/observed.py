r"""A community's observed numbers (``OBSERVED.csv``): read, checked, placed on model days.

The file is a CSV with a header row. One column places the rows in time:

- ``date`` (``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY``): the rows are periods (weeks, months,
  years); the period is inferred from the dates (the median gap: 7 days is weekly, 28-31
  monthly, 365-366 yearly) or given with ``period_days``. Row ``i`` is the end of period
  ``k_i + 1`` of the model, where ``k_i`` is the number of periods from the first date, so
  model day ``round(period_days * (k_i + 1))``: a weekly file's first row is day 7.
- ``day``: the rows are at the end of these model days (whole numbers >= 1, increasing).
  The days are used as given: ``period_days`` only names the period (the default is the
  smallest gap between rows), so days ``1, 2, 3`` let one model step stand for any period,
  e.g. a year.

The other columns are counts, any of :data:`COLUMNS`; an empty cell (or ``NA``) is a missing
value. Lines starting with ``#`` are comments. A bad file is refused with one line naming
the file, the line, the column, the bad value and what is allowed::

    data/ours.csv:5: members = 'many': not a number; allowed: a count >= 0, or empty if missing

Example:
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "ours.csv"
    >>> _ = path.write_text("date,members\n2024-01-07,120\n2024-01-14,\n2024-01-21,190\n")
    >>> obs = read_observed(path)
    >>> obs.period_days, obs.days.tolist(), obs.values["members"].tolist()
    (7.0, [7, 14, 21], [120.0, nan, 190.0])
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DataError
from .yamlio import label, message

# Observed column -> how it is read from a run's timeseries (see :func:`model_series`).
COLUMNS = ("members", "ever_members", "actives", "lurkers", "churned", "referral_joins",
           "paying")
TIME_COLUMNS = ("date", "day")
MISSING = ("", "na", "nan", "n/a", "null", "none", "-")
MAX_BYTES = 20_000_000  # an observed file is a few hundred rows; refuse anything huge
NAMED_PERIODS = ((6, 8, 7.0, "week"), (28, 31, 30.4375, "month"), (89, 93, 91.3125, "quarter"),
                 (365, 366, 365.0, "year"))


@dataclass(frozen=True)
class Observed:
    """Observed counts on model days.

    Attributes:
        days: Model days of the rows (int64, increasing, >= 1), shape ``(rows,)``.
        values: Observed column -> float64 array of shape ``(rows,)``; NaN where missing.
        period_days: Model days per period (7 for weekly rows).
        source: The file it was read from (as shown in messages).
        dates: The rows' dates as text when the file had a ``date`` column, else None.
    """

    days: np.ndarray
    values: dict[str, np.ndarray]
    period_days: float
    source: str = "<observed>"
    dates: tuple[str, ...] | None = field(default=None)

    @property
    def columns(self) -> list[str]:
        """The observed columns, in the order of :data:`COLUMNS`."""
        return [c for c in COLUMNS if c in self.values]

    @property
    def last_day(self) -> int:
        """The last observed model day."""
        return int(self.days[-1])

    def period_name(self) -> str:
        """``week``, ``month``, ``quarter``, ``year``, ``day`` or ``N-day period``."""
        for _low, _high, days, name in NAMED_PERIODS:
            if math.isclose(self.period_days, days):
                return name
        if self.period_days == 1:
            return "day"
        return f"{self.period_days:g}-day period"

    def frame(self) -> pd.DataFrame:
        """The observations as a table: ``day`` and one column per observed column."""
        return pd.DataFrame({"day": self.days, **{c: self.values[c] for c in self.columns}})

    def until(self, day: int) -> Observed:
        """The rows up to and including model ``day`` (a partial window)."""
        keep = self.days <= day
        return Observed(self.days[keep], {c: v[keep] for c, v in self.values.items()},
                        self.period_days, self.source,
                        None if self.dates is None else tuple(np.array(self.dates)[keep]))


def observed_from_frame(table: pd.DataFrame, period_days: float | None = None,
                        source: str = "<table>") -> Observed:
    """Observations from a table with a ``day`` column (model days) and observed columns.

    Args:
        table: ``day`` and any of :data:`COLUMNS` (NaN where missing).
        period_days: Model days per period (default: the smallest gap between days).
        source: Name used in messages.

    Returns:
        The Observed.

    Raises:
        DataError: no ``day`` column, unknown columns, or bad days (one line).

    Example:
        >>> obs = observed_from_frame(pd.DataFrame({"day": [7, 14], "members": [10, 30]}))
        >>> obs.period_days, obs.columns
        (7.0, ['members'])
    """
    if "day" not in table.columns:
        raise DataError(f"{source}: no day column; allowed: a table with day and any of "
                        f"{', '.join(COLUMNS)}")
    extra = [c for c in table.columns if c not in ("day",) + COLUMNS]
    if extra:
        raise DataError(f"{source}: unknown column {extra[0]!r}; allowed: day and any of "
                        f"{', '.join(COLUMNS)}")
    days = np.asarray(table["day"], dtype=np.int64)
    if len(days) == 0 or days[0] < 1 or np.any(np.diff(days) <= 0):
        raise DataError(f"{source}: day must hold increasing whole numbers >= 1")
    values = {c: np.asarray(table[c], dtype=np.float64) for c in COLUMNS if c in table.columns}
    if not values:
        raise DataError(f"{source}: no observed column; allowed: any of {', '.join(COLUMNS)}")
    return Observed(days, values, _day_period(days, period_days), source)


def _day_period(days: np.ndarray, period_days: float | None) -> float:
    if period_days is not None:
        return float(period_days)
    gaps = np.diff(np.concatenate([[0], days]))
    return float(gaps.min())


def _parse_date(text: str) -> dt.date | None:
    for fmt in ("%Y-%m-%d", "%Y-%m", "%Y"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def read_observed(path: str | os.PathLike, period_days: float | None = None) -> Observed:
    """Read and check an observed CSV file (see the module docstring for its format).

    Args:
        path: The CSV file.
        period_days: Model days per period (``--period-days``); None infers it.

    Returns:
        The Observed, its rows on model days.

    Raises:
        DataError: One line ``FILE:LINE: COLUMN = 'VALUE': what is wrong; allowed: ...``.
    """
    path = Path(path)
    where = label(path)
    if period_days is not None and not (0 < period_days < math.inf):
        raise DataError(f"--period-days {period_days}: allowed: a number of days > 0")
    if not path.is_file():
        what = "is a directory, not" if path.is_dir() else "not found; allowed:"
        raise DataError(f"{where}: {what} a CSV file of observed counts")
    if path.stat().st_size > MAX_BYTES:
        raise DataError(f"{where}: larger than {MAX_BYTES:,} bytes; allowed: a CSV of observed "
                        "counts, one row per period")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise DataError(f"{where}: not UTF-8 text (byte {e.start}); allowed: a CSV file saved "
                        "as UTF-8") from None
    except OSError as e:
        raise DataError(f"{where}: cannot read: {e.strerror or e}") from None
    rows = [(n, cells) for n, cells in enumerate(csv.reader(text.splitlines()), start=1)
            if cells and not cells[0].lstrip().startswith("#") and any(c.strip() for c in cells)]
    if not rows:
        raise DataError(f"{where}: no header row; allowed: a header such as date,members "
                        "then one row per period")
    line, header = rows[0]
    header = [h.strip().lower() for h in header]
    time_col = _check_header(header, where, line)
    if len(rows) == 1:
        raise DataError(f"{where}:{line}: no data rows under the header; allowed: one row per "
                        "period")
    keys, data, dates, lines = [], {c: [] for c in header if c != time_col}, [], []
    for n, cells in rows[1:]:
        if len(cells) != len(header):
            raise DataError(f"{where}:{n}: {len(cells)} cells, the header has {len(header)}; "
                            "allowed: one cell per column (empty if missing)")
        for name, cell in zip(header, cells):
            cell = cell.strip()
            if name == time_col:
                keys.append(_time_value(time_col, cell, where, n))
                dates.append(cell)
            else:
                data[name].append(_count(name, cell, where, n))
        lines.append(n)
    for i in range(1, len(keys)):
        if keys[i] <= keys[i - 1]:
            raise DataError(message((where, lines[i]), (time_col,), dates[i],
                                    f"not after the previous row's {dates[i - 1]}",
                                    f"rows in increasing {time_col} order, each once"))
    values = {c: np.array(data[c], dtype=np.float64) for c in COLUMNS if c in data}
    for c, v in values.items():
        if np.isnan(v).all():
            raise DataError(f"{where}: column {c} has no values; allowed: at least one count "
                            "(or leave the column out)")
    if time_col == "day":
        days = np.array(keys, dtype=np.int64)
        return Observed(days, values, _day_period(days, period_days), where)
    ordinals = np.array([d.toordinal() for d in keys], dtype=np.int64)
    if period_days is None:
        if len(ordinals) < 2:
            raise DataError(f"{where}: one dated row: the period cannot be inferred; allowed: "
                            "--period-days D (e.g. 7 for weekly rows), or more rows")
        gap = float(np.median(np.diff(ordinals)))
        step = gap
        for low, high, days_, _name in NAMED_PERIODS:
            if low <= gap <= high:
                step = days_
                break
        period_days = step
    else:
        gap = float(np.median(np.diff(ordinals))) if len(ordinals) > 1 else period_days
    k = np.rint((ordinals - ordinals[0]) / gap).astype(np.int64)
    for i in range(1, len(k)):
        if k[i] == k[i - 1]:
            raise DataError(message((where, lines[i]), ("date",), dates[i],
                                    f"in the same {gap:g}-day period as the row before",
                                    "one row per period (weekly, monthly or yearly dates)"))
    days = np.rint(float(period_days) * (k + 1)).astype(np.int64)
    return Observed(days, values, float(period_days), where, tuple(dates))


def _check_header(header: list[str], where: str, line: int) -> str:
    """Check the header row; return its time column (``date`` or ``day``)."""
    allowed = ", ".join(TIME_COLUMNS + COLUMNS)
    seen = set()
    for name in header:
        if name in seen:
            raise DataError(f"{where}:{line}: column {name!r} appears twice; allowed: each "
                            "column once")
        seen.add(name)
        if name not in TIME_COLUMNS + COLUMNS:
            close = difflib.get_close_matches(name, TIME_COLUMNS + COLUMNS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise DataError(f"{where}:{line}: unknown column {name!r}{hint}; allowed: {allowed}")
    times = [c for c in header if c in TIME_COLUMNS]
    if len(times) != 1:
        what = "both a date and a day column" if times else "no date or day column"
        raise DataError(f"{where}:{line}: {what}; allowed: one of date (YYYY-MM-DD) or day "
                        "(model day), and any of " + ", ".join(COLUMNS))
    if not any(c in COLUMNS for c in header):
        raise DataError(f"{where}:{line}: no observed column; allowed: any of "
                        + ", ".join(COLUMNS))
    return times[0]


def _time_value(column: str, cell: str, where: str, line: int):
    if column == "date":
        date = _parse_date(cell)
        if date is None:
            raise DataError(message((where, line), ("date",), cell, "not a date",
                                    "YYYY-MM-DD, YYYY-MM or YYYY"))
        return date
    try:
        day = float(cell)
    except ValueError:
        day = math.nan
    if not (day >= 1 and day == int(day)) or day > 10_000_000:
        raise DataError(message((where, line), ("day",), cell, "not a model day",
                                "a whole number >= 1 (the end of that model day)"))
    return int(day)


def _count(column: str, cell: str, where: str, line: int) -> float:
    if cell.lower() in MISSING:
        return math.nan
    try:
        value = float(cell.replace("_", "").replace(",", "")) if cell[:1] != "_" else math.nan
    except ValueError:
        value = math.nan
    if not (0 <= value < math.inf):
        what = "not a number" if math.isnan(value) else "must be a finite count >= 0"
        raise DataError(message((where, line), (column,), cell, what,
                                "a count >= 0, or empty if missing"))
    return value


def model_series(timeseries: pd.DataFrame, column: str) -> np.ndarray:
    """The model's values of an observed column, one per row of ``timeseries``.

    ``ever_members`` is ``members + churned``; ``referral_joins`` the cumulative
    ``joins_referral``; ``paying`` the ``paying_members``; the others are columns of the
    same name.

    Example:
        >>> ts = pd.DataFrame({"members": [5, 7], "churned": [0, 2]})
        >>> model_series(ts, "ever_members").tolist()
        [5.0, 9.0]
    """
    if column == "ever_members":
        return (timeseries["members"] + timeseries["churned"]).to_numpy(np.float64)
    name = {"referral_joins": "joins_referral", "paying": "paying_members"}.get(column, column)
    return timeseries[name].to_numpy(np.float64)
