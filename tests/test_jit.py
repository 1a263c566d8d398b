"""Tests of sim.jit: cached and threaded compilation, the compile lock, entry points.

The slow first-use test of the kernels' cache is tests/test_jit_cache.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from numba import prange

from sim import jit


def _double(x):
    return 2 * x


def _triple(x):
    return 3 * x


def test_cached_refuses_parallel():
    with pytest.raises(ValueError, match="must not be parallel: use sim.jit.threaded"):
        jit.cached(parallel=True)
    with pytest.raises(ValueError):
        jit.cached(_double, parallel=True)


def test_threaded_is_not_cached_and_runs():
    @jit.threaded
    def total(a):
        s = 0.0
        for i in prange(len(a)):
            s += a[i]
        return s

    assert total(np.arange(5.0)) == 10.0
    assert total.targetoptions.get("parallel") is True
    assert type(total._cache).__name__ == "NullCache"  # never on disk
    assert type(jit.cached(_double)._cache).__name__ == "FunctionCache"


def test_compile_lock_one_per_folder(tmp_path):
    a = jit.compile_lock(tmp_path / "cache")
    assert (tmp_path / "cache").is_dir()  # made for the lock file
    assert jit.compile_lock(tmp_path / "cache") is a
    assert jit.compile_lock(tmp_path / "other") is not a
    assert a.lock_file == str(tmp_path / "cache" / jit.LOCK_NAME)
    with a:
        with a:  # re-entrant in the thread that holds it
            assert a.is_locked
    assert not a.is_locked


def test_cached_compiles_under_the_folder_lock(monkeypatch, tmp_path):
    fn = jit.cached(_double)
    folder = jit.cache_folder(fn)
    assert folder.name == "__pycache__"
    taken = []
    real = jit.compile_lock

    def spy(f):
        lock = real(f)
        taken.append(f)
        return lock

    monkeypatch.setattr(jit, "compile_lock", spy)
    assert fn(21) == 42
    assert taken == [folder]  # the one compilation took the folder's lock


def test_cached_with_options_as_decorator():
    fn = jit.cached(inline="always")(_double)
    assert fn.targetoptions.get("inline") == "always"
    assert fn(4) == 8


def test_lock_timeout_is_a_one_line_fishpond_error(monkeypatch):
    from filelock import Timeout

    from sim.errors import FishpondError

    class Busy:
        def acquire(self, timeout):
            raise Timeout("x")

    monkeypatch.setattr(jit, "compile_lock", lambda folder: Busy())
    fn = jit.cached(lambda x: x + 1)
    with pytest.raises(FishpondError) as err:
        fn(1)
    msg = str(err.value)
    assert "\n" not in msg and jit.LOCK_NAME in msg and "fishpond doctor" in msg


def test_entry_point_after_a_call_and_none_before():
    fn = jit.cached(_triple)
    assert jit.entry_point(fn, 3) is None  # not compiled yet
    assert fn(3) == 9
    ep = jit.entry_point(fn, 3)
    assert ep is not None and ep(5) == 15
    assert jit.entry_point(fn, 3.0) is None  # other types: not compiled
    assert jit.entry_point(object(), 1) is None  # not a dispatcher


def _first_plus(t, a):
    return t[0][0] + a[0]


def test_type_key_tells_apart_what_numba_types_apart():
    a = np.zeros(4)
    assert jit.type_key(a) == jit.type_key(np.ones(4))  # same type, other values
    b = np.zeros(4)
    b.setflags(write=False)
    others = (np.zeros(4, np.float32), np.zeros((2, 2)), np.zeros((4, 2))[:, 0], b,
              np.zeros((2, 2), order="F"))
    assert len({jit.type_key(x) for x in (a, *others)}) == 1 + len(others)
    assert jit.type_key(1) != jit.type_key(1 << 63)  # int64 and uint64 to Numba
    assert jit.type_key(1) != jit.type_key(1.0) != jit.type_key(True)
    assert jit.type_key((a, 1)) == jit.type_key((np.ones(4), 2))
    assert jit.type_key((a, 1)) != jit.type_key((a, 1.0))


def test_direct_shares_entry_points_across_instances_by_type():
    fn = jit.cached(_first_plus)
    one, two = jit.Direct(fn), jit.Direct(fn)
    t, a = (np.array([1.0]),), np.array([2.0])
    assert one((t, a), t, a) == 3.0
    assert (fn, (jit.type_key(t), jit.type_key(a))) in jit._ENTRY_POINTS
    calls = []
    real = fn.__class__.__call__
    # a second instance with new arrays of the same types: no dispatch
    t2, a2 = (np.array([5.0]),), np.array([1.0])
    try:
        fn.__class__.__call__ = lambda self, *args: calls.append(args) or real(self, *args)
        assert two((t2, a2), t2, a2) == 6.0
        assert calls == []
        # other types (int arrays): dispatched, and the right answer
        t3, a3 = (np.array([5]),), np.array([1])
        assert two((t3, a3), t3, a3) == 6
        assert len(calls) == 1
    finally:
        fn.__class__.__call__ = real
