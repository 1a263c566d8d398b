"""Counter-based random numbers: every draw is a pure function of its coordinates.

A draw is ``u(seed, day, phase, person, k)``: a uniform float in [0, 1) computed by
hashing the five integers with the splitmix64 finaliser (``phase`` names the stream, a
:class:`sim.codes.Phase`). Nothing is stateful, so the
result of a run does not depend on the order in which persons are visited, on how a
loop is split across threads or processes, or on which engine runs it.

The hash uses only 64-bit wrapping integer arithmetic (add, xor, shift, multiply), so
the pure-Python version here, the NumPy version (:func:`u_array`) and a Numba twin
give the same bits.

Example:
    >>> from sim.codes import Phase
    >>> from sim.rng import u
    >>> x = u(42, 1, Phase.INVITE, 7, 0)
    >>> 0.0 <= x < 1.0 and x == u(42, 1, Phase.INVITE, 7, 0)
    True
"""

from __future__ import annotations

import numpy as np

MASK64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
MUL1 = 0xBF58476D1CE4E5B9
MUL2 = 0x94D049BB133111EB
TO_UNIT = 2.0**-53


def mix64(z: int) -> int:
    """The splitmix64 step: ``z + golden`` followed by the finaliser, modulo 2**64."""
    z = (z + GOLDEN) & MASK64
    z = ((z ^ (z >> 30)) * MUL1) & MASK64
    z = ((z ^ (z >> 27)) * MUL2) & MASK64
    return z ^ (z >> 31)


def stream_key(seed: int, day: int, phase: int) -> int:
    """The hash prefix shared by all draws of one (seed, day, phase)."""
    return mix64(mix64(mix64(seed & MASK64) ^ (day & MASK64)) ^ (phase & MASK64))


def u_key(key: int, person: int, k: int = 0) -> float:
    """A uniform in [0, 1) from a :func:`stream_key` prefix, a person and a counter."""
    # mix64 twice, inlined: this is the hottest function of the readable engine.
    z = ((key ^ (person & MASK64)) + GOLDEN) & MASK64
    z = ((z ^ (z >> 30)) * MUL1) & MASK64
    z = ((z ^ (z >> 27)) * MUL2) & MASK64
    z = ((z ^ (z >> 31) ^ (k & MASK64)) + GOLDEN) & MASK64
    z = ((z ^ (z >> 30)) * MUL1) & MASK64
    z = ((z ^ (z >> 27)) * MUL2) & MASK64
    return ((z ^ (z >> 31)) >> 11) * TO_UNIT


def u(seed: int, day: int, phase: int, person: int, k: int = 0) -> float:
    """The uniform draw of ``(seed, day, phase, person, k)`` in [0, 1)."""
    return u_key(stream_key(seed, day, phase), person, k)


def spawn_seeds(root: int | np.random.SeedSequence, count: int, skip: int = 0) -> list[int]:
    """``count`` run seeds (63-bit) from ``numpy.random.SeedSequence(root)``'s children.

    The replicates of a sweep, of a goal and of :func:`sim.batch.batch_run` use them: the
    same root gives the same seeds on any machine. ``skip`` leaves out the first children
    (a goal's out-of-sample seeds follow its replicates' seeds).

    Example:
        >>> spawn_seeds(7, 3) == spawn_seeds(7, 3), len(set(spawn_seeds(7, 3)))
        (True, 3)
    """
    seq = root if isinstance(root, np.random.SeedSequence) else np.random.SeedSequence(root)
    return [int(k.generate_state(1, np.uint64)[0] >> 1) for k in seq.spawn(skip + count)[skip:]]


def derive_seed(seed: int, phase: int, k: int = 0) -> int:
    """A 32-bit seed for third-party generators (e.g. networkx), derived from ``seed``."""
    return mix64(stream_key(seed, 0, phase) ^ (k & MASK64)) >> 32


# --- NumPy twin ----------------------------------------------------------------------

_G = np.uint64(GOLDEN)
_M1 = np.uint64(MUL1)
_M2 = np.uint64(MUL2)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)


MANY = 1  # u_array draws for a 1-D array of at least this many persons with compiled code


def _mix64_array(z: np.ndarray) -> np.ndarray:
    z = z + _G
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


def u_array(seed: int, day: int, phase: int, person, k=0) -> np.ndarray:
    """Vectorised :func:`u`: same bits, for arrays of persons and/or counters.

    Args:
        seed: the run seed (int), as in :func:`u`.
        day: the day (int), as in :func:`u`.
        phase: the phase number (int, a :class:`sim.codes.Phase`), as in :func:`u`.
        person: int or integer array of person indices.
        k: int or integer array of counters, broadcast against ``person``.

    Returns:
        float64 array of uniforms in [0, 1), shaped like ``person`` broadcast with ``k``.
    """
    key = np.uint64(stream_key(seed, day, phase))
    if isinstance(person, np.ndarray) and person.ndim == 1 and len(person) >= MANY \
            and np.ndim(k) == 0:  # compiled (every model uses it), 5-10x faster, same bits
        out = np.empty(len(person), np.float64)
        _u_persons_nb(key, person.astype(np.int64, copy=False), int(k), out)
        return out
    p = np.asarray(person).astype(np.int64).astype(np.uint64)
    kk = np.asarray(k).astype(np.int64).astype(np.uint64)
    with np.errstate(over="ignore"):
        h = _mix64_array(_mix64_array(key ^ p) ^ kk)
    return (h >> _S11).astype(np.float64) * TO_UNIT


# --- Numba twin -----------------------------------------------------------------------
# The same hash with explicit uint64 arithmetic (mixing int64 and uint64 in Numba would
# promote to float64). Tested bit for bit against ``u`` in tests/test_rng.py.

from .jit import cached  # noqa: E402

_S30U, _S27U, _S31U, _S11U = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)


@cached(inline="always")
def mix64_nb(z):
    """Numba twin of :func:`mix64` (``z`` uint64)."""
    z = z + _G
    z = (z ^ (z >> _S30U)) * _M1
    z = (z ^ (z >> _S27U)) * _M2
    return z ^ (z >> _S31U)


@cached(inline="always")
def stream_key_nb(seed, day, phase):
    """Numba twin of :func:`stream_key` (non-negative int arguments); returns uint64."""
    return mix64_nb(mix64_nb(mix64_nb(np.uint64(seed)) ^ np.uint64(day)) ^ np.uint64(phase))


@cached(inline="always")
def person_key_nb(key, person):
    """The part of :func:`u_key_nb` shared by all of one person's draws in a stream (uint64).

    ``u_person_nb(person_key_nb(key, i), k) == u_key_nb(key, i, k)``: a loop drawing for
    many counters of one person hashes the person once.
    """
    return mix64_nb(key ^ np.uint64(person))


@cached(inline="always")
def u_person_nb(pkey, k):
    """Draw ``k`` of the person whose :func:`person_key_nb` is ``pkey``."""
    h = mix64_nb(pkey ^ np.uint64(k))
    return np.float64(h >> _S11U) * TO_UNIT


@cached(inline="always")
def u_key_nb(key, person, k):
    """Numba twin of :func:`u_key`: ``key`` uint64, ``person`` and ``k`` non-negative ints."""
    return u_person_nb(person_key_nb(key, person), k)


@cached
def u_nb(seed, day, phase, person, k):
    """Numba twin of :func:`u`."""
    return u_key_nb(stream_key_nb(seed, day, phase), person, k)


@cached
def _u_persons_nb(key, persons, k, out):
    """``out[t] = u_key_nb(key, persons[t], k)``: :func:`u_array` for a 1-D int64 array."""
    for t in range(len(persons)):
        out[t] = u_key_nb(key, persons[t], k)
