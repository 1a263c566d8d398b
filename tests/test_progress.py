"""Tests of sim.progress: a tqdm bar on a terminal, one plain line elsewhere."""

from __future__ import annotations

import io

from sim.progress import progress_bar


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_stream_gets_one_line_at_close():
    log = io.StringIO()
    bar = progress_bar(400, "sweep", unit="run", file=log)
    bar.update(390)
    bar.update(10)
    assert log.getvalue() == ""  # nothing until the stage ends
    bar.set_postfix(failed=0)
    bar.close()
    assert log.getvalue() == "sweep: 400/400 runs in 00:00, failed=0\n"
    bar.close()  # a second close writes nothing more
    assert log.getvalue().count("\n") == 1


def test_singular_unit_resumed_and_line_breaks_removed():
    log = io.StringIO()
    bar = progress_bar(1, "a\nb", unit="day", initial=1, file=log)
    assert bar.n == 1
    bar.close()
    assert log.getvalue() == "a b: 1/1 day in 00:00 (1 done before)\n"


def test_unit_already_plural_and_thousands():
    log = io.StringIO()
    bar = progress_bar(2000, "x", unit="days", file=log)
    bar.update(1500)
    bar.close()
    assert log.getvalue() == "x: 1,500/2,000 days in 00:00\n"


def test_disabled_writes_nothing_even_on_a_terminal():
    tty = _Tty()
    bar = progress_bar(3, "quiet", file=tty, enabled=False)
    bar.update(3)
    bar.close()
    assert tty.getvalue() == ""
    assert bar.n == 3


def test_terminal_gets_tqdm():
    from tqdm import tqdm

    tty = _Tty()
    bar = progress_bar(5, "live", unit="day", file=tty)
    try:
        assert isinstance(bar, tqdm)
        bar.update(2)
        assert bar.n == 2
    finally:
        bar.close()
    assert "live" in tty.getvalue()


def test_closed_or_plain_streams_are_not_terminals():
    from tqdm import tqdm

    closed = io.StringIO()
    closed.close()  # isatty() raises ValueError on a closed stream
    assert not isinstance(progress_bar(1, "gone", file=closed), tqdm)

    class NoIsatty:
        def write(self, text):
            pass

    assert not isinstance(progress_bar(1, "raw", file=NoIsatty()), tqdm)
