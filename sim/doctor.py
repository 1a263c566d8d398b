"""``fishpond doctor``: which Numba cache the kernels use, whether they load, and clearing it.

The compiled kernels are cached on disk by Numba (in ``NUMBA_CACHE_DIR`` if set, else in
``__pycache__`` beside the package, else in a per-user folder). :func:`check` runs a tiny
model in a child process, so that a crash there (a segmentation fault from a damaged cache)
is reported instead of ending this process; :func:`clear` deletes the cache entries of
Fishpond's kernels (never anything else) while holding the compile lock of sim/jit.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from .jit import compile_lock

CHECK_TIMEOUT = 1800.0  # seconds; a first compile takes minutes on a busy machine

# A few days of a small model on each kind of population the engine handles differently
_CHECK = """
from sim.model import GrowthModel
for graph in ({"kind": "barabasi_albert", "m": 2}, {"kind": "well_mixed", "contacts": 5}):
    GrowthModel(None, rng=0, population={"size": 200, "graph": graph}, seeding={"count": 5},
                steps=3).run()
"""


def cache_folder() -> Path:
    """The folder holding the cache entries of Fishpond's kernels."""
    from .jit import cache_folder as folder_of
    from .kernels import day_kernel

    return folder_of(day_kernel)


def entries(folder: Path) -> list[Path]:
    """Numba's index (.nbi) and data (.nbc) files in ``folder``."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in (".nbi", ".nbc") and p.is_file())


def describe(folder: Path) -> str:
    """Lines saying which cache is in use and what it holds."""
    import numba

    files = entries(folder)
    env = os.environ.get("NUMBA_CACHE_DIR")
    size = sum(p.stat().st_size for p in files)
    kernels = len([p for p in files if p.suffix == ".nbi"])
    return "\n".join([
        f"Numba {numba.__version__}, {numba.get_num_threads()} thread(s)",
        f"NUMBA_CACHE_DIR: {env if env else 'not set (cache beside the package, or per user)'}",
        f"cache folder: {folder}",
        f"cached kernels: {kernels} ({len(files)} files, {size / 2**20:.1f} MiB)",
    ])


def check(timeout: float = CHECK_TIMEOUT) -> tuple[bool, str]:
    """Run a tiny model in a child process (loading or compiling the kernels).

    Returns (healthy, a sentence saying what happened).
    """
    try:
        proc = subprocess.run([sys.executable, "-c", _CHECK], capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, f"a tiny model did not finish within {timeout:.0f} s"
    if proc.returncode == 0:
        return True, "a tiny model ran: the kernels load and run"
    if proc.returncode < 0:
        name = signal.Signals(-proc.returncode).name
        return False, (f"a tiny model crashed ({name}) in the compiled kernels: the cache is "
                       "probably damaged; run 'fishpond doctor --clear'")
    last = (proc.stderr.strip().splitlines() or ["no message"])[-1]
    return False, f"a tiny model failed (exit {proc.returncode}): {last}"


def clear(folder: Path) -> int:
    """Delete the cache entries in ``folder`` (under the compile lock); returns how many."""
    files = entries(folder)
    if not files:
        return 0
    with compile_lock(folder):
        files = entries(folder)
        for p in files:
            p.unlink(missing_ok=True)
    return len(files)
