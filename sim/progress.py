"""Progress bars: a live tqdm bar on a terminal, one plain line per stage anywhere else.

A bar redrawn in place is what a terminal wants; a log file or a pipe (CI, ``2> log``,
``| tee``) would get one carriage-return redraw per update instead. There the stage is
reported once, when it ends, as one line such as ``sweep: 400/400 runs in 00:32, failed=0``.

Example:
    >>> import io
    >>> log = io.StringIO()
    >>> bar = progress_bar(3, "demo", unit="day", file=log)
    >>> for _ in range(3):
    ...     bar.update(1)
    >>> bar.close()
    >>> log.getvalue().startswith("demo: 3/3 days in 00:0")
    True
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO


def _is_terminal(file: TextIO) -> bool:
    try:
        return bool(file.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def progress_bar(total: int, desc: str, *, unit: str = "it", initial: int = 0,
                 enabled: bool = True, file: TextIO | None = None, **tqdm_options: Any):
    """A progress bar for one stage of ``total`` steps, written to ``file`` (default stderr).

    Args:
        total: Steps in the stage.
        desc: What the stage is (the line's first word, e.g. the scenario name).
        unit: What a step is, singular (``day``, ``run``).
        initial: Steps already done (a resumed sweep).
        enabled: False for no output at all (``--quiet``).
        file: The stream; a terminal gets a tqdm bar, anything else one line at the end.
        **tqdm_options: Further tqdm options for the terminal bar (e.g. ``smoothing``).

    Returns:
        An object with tqdm's ``update``, ``set_postfix``, ``close`` and ``n``.
    """
    file = sys.stderr if file is None else file
    if enabled and _is_terminal(file):
        from tqdm import tqdm

        return tqdm(total=total, initial=initial, desc=desc, unit=unit, file=file, **tqdm_options)
    return _LineProgress(total, desc, unit, initial, file if enabled else None)


class _LineProgress:
    """Counts like tqdm; writes one line when closed (nothing when ``file`` is None)."""

    def __init__(self, total: int, desc: str, unit: str, initial: int, file: TextIO | None):
        self.total, self.desc, self.unit, self.n = total, desc, unit, initial
        self._initial, self._file, self._postfix = initial, file, {}
        self._start, self._closed = time.monotonic(), False

    def update(self, n: int = 1) -> None:
        self.n += n

    def set_postfix(self, refresh: bool = True, **values: Any) -> None:
        self._postfix = values

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._file is None:
            return
        seconds = int(time.monotonic() - self._start)
        clock = (f"{seconds // 3600}:" if seconds >= 3600 else "") + (
            f"{seconds // 60 % 60:02d}:{seconds % 60:02d}")
        unit = self.unit + ("" if self.total == 1 or self.unit.endswith("s") else "s")
        text = f"{self.desc}: {self.n:,}/{self.total:,} {unit} in {clock}"
        if self._initial:
            text += f" ({self._initial:,} done before)"
        text += "".join(f", {k}={v}" for k, v in self._postfix.items())
        self._file.write(text.replace("\r", " ").replace("\n", " ") + "\n")
        self._file.flush()
