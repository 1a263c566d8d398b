"""Shared helpers of the benchmark scripts: machine description and timing."""

from __future__ import annotations

import os
import platform
import resource
import sys
import time
from importlib import metadata


def machine() -> str:
    """CPU model, cores, memory, Python and key package versions, as one line each."""
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        mem = float("nan")
    versions = []
    for pkg in ("fishpond", "numba", "numpy", "mesa", "networkx"):
        try:
            versions.append(f"{pkg} {metadata.version(pkg)}")
        except metadata.PackageNotFoundError:
            pass
    return (
        f"machine: {cpu}, {os.cpu_count()} cores, {mem:.0f} GiB RAM, {platform.system()} {platform.release()}\n"
        f"python {platform.python_version()}; {', '.join(versions)}\n"
        f"command: {' '.join([os.path.basename(sys.executable)] + sys.argv)}"
    )


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Timer:
    """``with Timer() as t: ...`` then ``t.seconds``."""

    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start
