"""Small measuring helpers shared by the benchmark scripts (no simulator imports here).

Everything in this module is cheap and import-light so that a worker process's memory
baseline is not inflated by the helpers themselves.
"""

from __future__ import annotations

import hashlib
import os
import platform
import resource
import sys
import time
from importlib import metadata

import numpy as np


def maxrss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (Linux: ru_maxrss is KiB)."""
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024.0 if sys.platform != "darwin" else kb / 2**20


def cpu_model() -> str:
    """CPU model name from /proc/cpuinfo (or platform.processor() elsewhere)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict:
    """Machine and interpreter facts to print with every benchmark."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    try:
        load = os.getloadavg()
    except OSError:
        load = (float("nan"),) * 3
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        mem = float("nan")
    return {
        "cpu": cpu_model(),
        "mem_gib": round(mem, 1),
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "loadavg": tuple(round(x, 2) for x in load),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def versions(dists) -> dict[str, str]:
    """Installed versions of the given distributions ("-" when absent)."""
    out = {}
    for d in dists:
        try:
            out[d] = metadata.version(d)
        except metadata.PackageNotFoundError:
            out[d] = "-"
    return out


def graph_fingerprint(src, dst) -> str:
    """Order-independent fingerprint of an undirected simple graph's edge set."""
    src = np.asarray(src, np.int64)
    dst = np.asarray(dst, np.int64)
    lo, hi = np.minimum(src, dst), np.maximum(src, dst)
    key = np.unique(hi * np.int64(2**32) + lo)
    return hashlib.sha1(key.tobytes()).hexdigest()[:12]


def edge_visits(deg, infected_on, recovered_on, days: int) -> int:
    """Neighbour visits of the transmission step.

    The sum over days t of the degrees of the nodes infectious on day t.

    A node infected on day ``a`` (seeds: 0) is infectious on days ``a+1 .. r`` where ``r``
    is its recovery day (it transmits on day r, then recovers) or ``days`` if it never
    recovered; ``infected_on = -1`` means never infected.
    """
    deg = np.asarray(deg, np.int64)
    a = np.asarray(infected_on, np.int64)
    r = np.asarray(recovered_on, np.int64)
    hit = a >= 0
    last = np.where(r >= 0, r, days)
    return int(np.sum(deg[hit] * (last[hit] - a[hit])))


class Stopwatch:
    """Wall and CPU time of a ``with`` block.

    ``with Stopwatch() as sw: ...`` then ``sw.s`` is the elapsed wall time and ``sw.cpu``
    the CPU time (user + system) of this process, in seconds.
    """

    s = 0.0
    cpu = 0.0

    def __enter__(self):
        self._t0, self._c0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.s = time.perf_counter() - self._t0
        self.cpu = time.process_time() - self._c0
        return False
