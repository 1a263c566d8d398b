"""The machine line every benchmark prints, built on the helpers of ``_measure``."""

from __future__ import annotations

import os
import sys

from _measure import Stopwatch, maxrss_mb, versions
from _measure import machine as _machine

peak_rss_mib = maxrss_mb
Timer = Stopwatch  # ``with Timer() as t: ...`` then ``t.s`` (wall) and ``t.cpu``

__all__ = ["Timer", "machine", "peak_rss_mib"]


def machine() -> str:
    """CPU, cores, memory, load, Python and key package versions, and the command line."""
    m = _machine()
    v = versions(("fishpond", "numba", "numpy", "mesa", "networkx"))
    return (
        f"machine: {m['cpu']}, {m['cores']} cores, {m['mem_gib']:.0f} GiB RAM, "
        f"load average {m['loadavg'][0]}; {m['platform']}\n"
        f"python {m['python']}; {', '.join(f'{k} {x}' for k, x in v.items())}\n"
        f"command: {' '.join([os.path.basename(sys.executable)] + sys.argv)}"
    )
