"""The threading knob shared by the kernels and the metrics."""

from __future__ import annotations

import numba

from sim import threads


def test_small_populations_run_serially():
    assert not threads.use_threads(threads.PARALLEL_MIN - 1)
    assert not threads.use_threads(0)


def test_large_populations_use_threads_when_numba_has_several(monkeypatch):
    monkeypatch.setattr(threads, "PARALLEL_MIN", 10)
    assert threads.use_threads(10) == (numba.get_num_threads() > 1)
    assert not threads.use_threads(9)


def test_single_threaded_sets_one_numba_thread():
    before = numba.get_num_threads()
    try:
        threads.single_threaded()
        assert numba.get_num_threads() == 1
        assert not threads.use_threads(10 * threads.PARALLEL_MIN)
    finally:
        numba.set_num_threads(before)

