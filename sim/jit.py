"""Numba compilation for every kernel of the package: cached, and compiled under a file lock.

Numba's on-disk cache is shared state: every process that uses Fishpond reads it and the
first ones write it. Two rules keep it sound (numba issues 4807, 8578, 10128):

1. **No cached function calls a ``parallel=True`` function.** A cached caller of a threaded
   function crashes (segfault) when it is loaded from the cache in a process where its
   callees came from the cache too. The threaded twins (:func:`threaded`) are therefore not
   cached, and the engine chooses between a serial and a threaded twin from Python.
2. **One process compiles at a time.** Every cached function (:func:`cached`) compiles (or
   loads its cache entry) while holding an exclusive file lock in its cache folder, so
   processes that start together on an empty cache do not write the entries of one
   function from two compilations. The lock is an ``flock``: a process killed while it
   holds it releases it, and Numba writes each cache file under a temporary name first.

Example (``cached`` needs a function defined in a source file, whose path keys the cache;
``threaded`` works anywhere):
    >>> import numpy as np
    >>> from numba import prange
    >>> from sim.jit import threaded
    >>> @threaded
    ... def total(a):
    ...     s = 0
    ...     for i in prange(len(a)):
    ...         s += a[i]
    ...     return s
    >>> int(total(np.arange(4)))
    6
"""

from __future__ import annotations

import operator
import threading
from pathlib import Path

import numpy as np
from numba import njit

from .errors import FishpondError

LOCK_NAME = "fishpond-compile.lock"
LOCK_TIMEOUT = 1800.0  # seconds to wait for another process's compilation

_process_lock = threading.RLock()  # threads of one process take turns too
_file_locks: dict[str, object] = {}


def cache_folder(dispatcher) -> Path:
    """The folder of ``dispatcher``'s entries in Numba's on-disk cache."""
    return Path(dispatcher.stats.cache_path)


def compile_lock(folder: Path):
    """The compile lock of a cache folder (one re-entrant ``FileLock`` per folder and process)."""
    from filelock import FileLock

    key = str(folder)
    lock = _file_locks.get(key)
    if lock is None:
        folder.mkdir(parents=True, exist_ok=True)
        # thread_local=False: re-entered by the same thread (compiling a caller compiles
        # its callees); other threads of this process wait on _process_lock first
        lock = _file_locks[key] = FileLock(str(folder / LOCK_NAME), thread_local=False)
    return lock


def _locked_compile(dispatcher):
    compile_ = dispatcher.compile
    folder = cache_folder(dispatcher)

    def compile(sig):
        from filelock import Timeout

        with _process_lock:
            lock = compile_lock(folder)
            try:
                lock.acquire(timeout=LOCK_TIMEOUT)
            except Timeout:
                raise FishpondError(
                    f"waited {LOCK_TIMEOUT:.0f} s for another process compiling the kernels "
                    f"(lock {folder / LOCK_NAME}); run 'fishpond doctor' to see the cache"
                ) from None
            try:
                return compile_(sig)
            finally:
                lock.release()

    dispatcher.compile = compile  # Numba compiles through this method, for callers too
    return dispatcher


def cached(fn=None, **options):
    """``numba.njit(cache=True, **options)``, compiled under the cache folder's file lock.

    Use as ``@cached`` or ``@cached(inline="always")``. Never with ``parallel=True``: see
    :func:`threaded`.
    """
    if options.get("parallel"):
        raise ValueError("a cached function must not be parallel: use sim.jit.threaded")

    def wrap(f):
        return _locked_compile(njit(cache=True, **options)(f))

    return wrap(fn) if fn is not None else wrap


def threaded(fn):
    """``numba.njit(parallel=True)``, never cached.

    Call it from Python only (not from a compiled function), choosing it over its serial
    twin there.
    """
    return njit(parallel=True)(fn)


def entry_point(dispatcher, *args):
    """The compiled function that ``dispatcher`` runs for ``args``, to call without dispatch.

    Numba types every argument of every call; a tuple argument is typed element by element
    in Python (about 1 µs an array). A caller that passes the very same argument objects
    call after call (so the same types) may call the compiled function returned here
    instead. It checks no types: calling it with arguments of other types is undefined,
    so the caller must check that its arguments are the objects it resolved for.

    Args:
        dispatcher: a Numba dispatcher (from :func:`cached` or :func:`threaded`).
        *args: arguments of a call that already ran (so that it is compiled).

    Returns:
        The compiled function for these argument types, or None if there is none yet.
    """
    # (Numba internals, stable for years: on a version without them, always dispatch)
    try:
        sig = tuple(dispatcher.typeof_pyval(a) for a in args)
        compiled = dispatcher.overloads.get(sig)
    except (AttributeError, TypeError):
        return None
    return getattr(compiled, "entry_point", None)


def type_key(value) -> object:
    """What fixes Numba's type of ``value``, cheaply: equal keys, equal Numba types.

    An array by its class, dtype, dimensions and flags (contiguity, writeable, aligned:
    Numba's layout, mutability and alignment), a tuple by its class and its items' keys,
    an int by whether it fits in int64 (Numba types a larger one as uint64), anything else
    by its class. A key may be finer than Numba's type (two keys, one type), never coarser.
    """
    cls = type(value)
    if cls is int:
        return (int, -(1 << 63) <= value < (1 << 63))
    if isinstance(value, np.ndarray):
        f = value.flags
        return (cls, value.dtype, value.ndim, f.c_contiguous, f.f_contiguous, f.writeable,
                f.aligned)
    if isinstance(value, tuple):
        return (cls, *map(type_key, value))
    return cls


# (dispatcher, the arguments' type keys) -> the compiled function, for every Direct
_ENTRY_POINTS: dict[tuple, object] = {}


class Direct:
    """Calls a dispatcher, then its compiled function without dispatch while it may.

    The caller names, with every call, the objects that fix the argument types (its
    arrays and tuples of arrays, by identity): while they are the very same objects as on
    the last call, the compiled function found by :func:`entry_point` is called directly.
    Every other argument must keep its Python type from call to call (an int stays an int).
    When they are other objects (a new model's arrays), the compiled function is looked up
    by the arguments' :func:`type_key` (shared by every ``Direct`` of the process), so a new
    model does not pay Numba's typing of its tuples again.

    Args:
        dispatcher: a Numba dispatcher (from :func:`cached` or :func:`threaded`).
    """

    def __init__(self, dispatcher) -> None:
        """Wrap ``dispatcher`` (see the class docstring)."""
        self.dispatcher = dispatcher
        self._same: tuple = ()
        self._call = None

    def __call__(self, same: tuple, *args):
        """Call with ``args``; ``same`` are the objects compared by identity."""
        call = self._call
        if call is not None and len(same) == len(self._same) and all(
                map(operator.is_, same, self._same)):
            return call(*args)
        key = (self.dispatcher, tuple(map(type_key, args)))
        call = _ENTRY_POINTS.get(key)
        if call is None:
            out = self.dispatcher(*args)
            call = entry_point(self.dispatcher, *args)
            if call is not None:
                _ENTRY_POINTS[key] = call
        else:
            out = call(*args)
        self._call, self._same = call, same
        return out
