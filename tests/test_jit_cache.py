"""First use of the Numba cache, under recompilation and concurrent compilers.

Kernels recompiled against cached callees, and several processes compiling into one empty
cache at once (one killed mid-compile).

Both tests start fresh processes (tests/first_use.py) on a private ``NUMBA_CACHE_DIR``, so
each compiles the kernels from nothing: they take minutes. The digests they print are
compared with the same models run in this process, whose kernels come from its own cache.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sim.jit import LOCK_NAME
from tests.first_use import CASES, digest

SCRIPT = Path(__file__).with_name("first_use.py")
NO_THREADS = [c for c in CASES if c != "threaded"]
# Kernels called from Python only on the threaded path (day_kernel calls them too)
THREADED_STAGES = ("kernels._day_invite", "kernels._day_join", "kernels._day_close")
FULL_CACHE: list[Path] = []  # a cache holding every kernel, once a test has made one


@pytest.fixture(scope="module")
def reference() -> dict[str, str]:
    return {case: digest(case) for case in CASES}


def _start(cache: Path, cases: list[str]) -> subprocess.Popen:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    return subprocess.Popen([sys.executable, str(SCRIPT), *cases], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _finish(proc: subprocess.Popen, what: str, timeout: float = 1200) -> dict:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, f"{what}: exit {proc.returncode}\n{err[-3000:]}"
    return json.loads(out.strip().splitlines()[-1])


def _entries(cache: Path) -> set[str]:
    """Cached functions, as 'module.function' (from the index files)."""
    return {p.name.split("-")[0] for p in cache.rglob("*.nbi")}


def _delete(cache: Path, names: set[str]) -> None:
    for p in cache.rglob("*.nb[ic]"):
        if p.name.split("-")[0] in names:
            p.unlink()


def _lock_holder(lock: Path) -> int | None:
    """The pid holding an flock on ``lock`` (from /proc/locks), if any."""
    try:
        inode = lock.stat().st_ino
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        f = line.split()
        if len(f) >= 6 and f[1] == "FLOCK" and f[5].split(":")[-1] == str(inode) and "->" not in f:
            return int(f[4])
    return None


def test_concurrent_first_use_with_a_compiler_killed(tmp_path, reference):
    """A compiler killed on an empty cache leaves the others, and later processes, correct.

    Four processes start on an empty cache at once (below and above the threading
    threshold, an edge list, well-mixed); the one compiling is killed with SIGKILL; the
    others finish, and two fresh processes then run everything correctly.
    """
    cache = tmp_path / "numba"
    groups = [["serial"], ["threaded"], ["edgelist"], ["well_mixed"]]
    procs = {}
    for g in groups:
        p = _start(cache, g)
        procs[p.pid] = (p, g)
    killed = None
    deadline = time.monotonic() + 600
    while killed is None and time.monotonic() < deadline:
        locks = list(cache.rglob(LOCK_NAME))
        holder = _lock_holder(locks[0]) if locks else None
        # mid-compile: the lock is held and some kernels are already written
        if holder in procs and _entries(cache) and procs[holder][0].poll() is None:
            os.kill(holder, signal.SIGKILL)
            killed = holder
        time.sleep(0.2)
    assert killed is not None, "no process was seen compiling"
    for pid, (p, g) in procs.items():
        if pid == killed:
            p.communicate(timeout=60)
            assert p.returncode == -signal.SIGKILL
        else:
            assert _finish(p, f"concurrent {g}") == {c: reference[c] for c in g}
    # Two fresh processes, at once, then run everything (they compile the other kernels; the
    # threaded twins are never cached, so one process runs them).
    fresh = [_start(cache, ["all"]), _start(cache, NO_THREADS)]
    assert _finish(fresh[0], "fresh process 0") == reference
    assert _finish(fresh[1], "fresh process 1") == {c: reference[c] for c in NO_THREADS}
    FULL_CACHE.append(cache)


def test_kernels_recompiled_against_cached_callees_load_from_the_cache(tmp_path, reference):
    """The sequence that corrupted the cache now loads correctly.

    A kernel's entry goes stale, a process recompiles it while its callees come from the
    cache, and the next process loads it (this crashed with exit 139 while the day kernel
    called threaded functions).
    """
    if FULL_CACHE:  # the cache the concurrent first use filled (saves compiling it again)
        cache = FULL_CACHE[0]
    else:
        cache = tmp_path / "numba"
        assert _finish(_start(cache, ["all"]), "first use") == reference
    entries = _entries(cache)
    assert "kernels.day_kernel" in entries and len(entries) >= 15, entries
    roots = {e for e in entries if not e.startswith("kernels.")} | {"kernels.day_kernel"}
    stages = set(THREADED_STAGES)
    callees = entries - roots - stages
    # No function of a round calls another of the same round, so each is recompiled in a
    # process where everything it calls comes from the cache. The process that recompiles a
    # round also loads the round before from the cache (as recompiled by the process before);
    # a last process loads the last round.
    rounds = [(roots, NO_THREADS), (stages, ["serial", "threaded"]), (callees, NO_THREADS),
              (set(), NO_THREADS)]
    before: tuple[set[str], list[str]] = (set(), [])
    for names, cases in rounds:
        _delete(cache, names)
        run = [c for c in CASES if c in cases or c in before[1]]  # (this round's and the last's)
        got = _finish(
            _start(cache, run), f"recompiling {sorted(names)}, loading {sorted(before[0])}"
        )
        assert got == {c: reference[c] for c in run}, sorted(names)
        if names and names is not callees:  # (callees only: their callers came from the cache)
            assert names <= _entries(cache)
        before = (names, cases)
