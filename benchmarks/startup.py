"""Benchmark 4: start-up time, first run (compiling the kernels) and warm run (cached).

Each measurement is a fresh Python process running a tiny fish pond (``fishpond run``-like:
import, build, 2 days). The first uses an empty Numba cache directory (``NUMBA_CACHE_DIR``),
as on a fresh install; the warm ones reuse it. Then the commands that must start fast:
``import sim``, ``fishpond --help`` and ``fishpond validate fish_pond`` (median of 5 warm
starts each), for this checkout and, with ``--against DIR``, for another checkout of the
package side by side (e.g. ``git worktree add /tmp/old <commit>``).

    python benchmarks/startup.py [--quick] [--against DIR]
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


COMMANDS = {
    "import sim": ["-c", "import sim"],
    "fishpond --help": ["-m", "sim", "--help"],
    "fishpond validate fish_pond": ["-m", "sim", "validate", "fish_pond"],
}


def command_times(source: str, repeats: int = 5) -> dict[str, float]:
    """Median wall time of each of COMMANDS with ``source`` first on the path (warm starts)."""
    env = {**os.environ, "PYTHONPATH": source}
    out = {}
    for name, args in COMMANDS.items():
        times = []
        for _ in range(repeats + 1):  # the first start warms the file cache; not counted
            t = time.perf_counter()
            subprocess.run([sys.executable, *args], check=True, env=env, cwd=source,
                           stdout=subprocess.DEVNULL)
            times.append(time.perf_counter() - t)
        out[name] = sorted(times[1:])[repeats // 2]
    return out


def main() -> None:
    print(machine())
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sources = {"this checkout": here}
    if "--against" in sys.argv:
        sources["--against " + sys.argv[sys.argv.index("--against") + 1]] = (
            sys.argv[sys.argv.index("--against") + 1])
    for label, source in sources.items():
        print(f"warm start, median of 5 ({label}):")
        for name, t in command_times(source).items():
            print(f"  {name:30s} {t:6.2f} s")
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
