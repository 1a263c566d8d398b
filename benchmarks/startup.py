"""Benchmark 4: start-up time, first run (compiling the kernels) and warm run (cached).

Each measurement is a fresh Python process running a tiny fish pond (``fishpond run``-like:
import, build, 2 days). The first uses an empty Numba cache directory (``NUMBA_CACHE_DIR``),
as on a fresh install; the warm ones reuse it.

    python benchmarks/startup.py [--quick]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

from common import machine

SNIPPET = (
    "from sim import GrowthModel; "
    "m = GrowthModel('fish_pond', rng=1, population={'size': 2000}, steps=2); m.run()"
)


def timed(env) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", SNIPPET], check=True, env=env)
    return time.perf_counter() - t


def main() -> None:
    print(machine())
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        first = timed(env)
        warm = [timed(env) for _ in range(2 if "--quick" in sys.argv else 5)]
    imp = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import sim"], check=True)
    imp = time.perf_counter() - imp
    print(f"first run (empty cache, compiles):  {first:6.2f} s")
    print(f"warm run (cached kernels), median: {sorted(warm)[len(warm) // 2]:6.2f} s  (all: "
          f"{', '.join(f'{w:.2f}' for w in warm)})")
    print(f"of which 'import sim':             {imp:6.2f} s")
    print(f"ratio first / warm: {first / sorted(warm)[len(warm) // 2]:.1f}x")


if __name__ == "__main__":
    main()
