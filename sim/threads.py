"""When the per-person loops run on threads: the one knob shared by the kernels and metrics.

The compiled engine (:mod:`sim.kernels`) and the census of :mod:`sim.metrics` compile
each long per-person loop twice, serial and threaded (``prange``). Threads pay off only
when a day's loop is long: below :data:`PARALLEL_MIN` persons (or on one thread) the
serial twin runs. Threaded loops over persons or lists run in :data:`CHUNKS` fixed parts,
so that sums are added in the same order whatever the thread count. Numba is imported
only when a function here is called.

Example:
    >>> from sim.threads import use_threads
    >>> use_threads(1000)
    False
"""

from __future__ import annotations

PARALLEL_MIN = 500_000  # persons: smaller populations run their loops serially
CHUNKS = 64  # threaded loops run in this many parts


def use_threads(n: int) -> bool:
    """Whether a population of ``n`` persons runs its per-person loops on threads.

    Args:
        n: number of persons.

    Returns:
        True if ``n >= PARALLEL_MIN`` and Numba has more than one thread.
    """
    if n < PARALLEL_MIN:
        return False
    import numba

    return numba.get_num_threads() > 1


def single_threaded() -> None:
    """Use one Numba thread in this process (for worker processes: they already fill the cores)."""
    import numba

    numba.set_num_threads(1)
