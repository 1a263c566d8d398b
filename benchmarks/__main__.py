"""Run the benchmarks one after the other: ``python benchmarks [--quick]``.

``fishpond bench`` runs this too.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = ("engines.py", "startup.py", "scale.py", "peers.py", "sweep.py", "tax.py")


def main() -> int:
    quick = ["--quick"] if "--quick" in sys.argv[1:] else []
    status = 0
    for script in SCRIPTS:
        if not (HERE / script).exists():
            continue
        print(f"\n=== {script} {' '.join(quick)} ===", flush=True)
        status |= subprocess.call([sys.executable, str(HERE / script), *quick], cwd=HERE)
    return status


if __name__ == "__main__":
    sys.exit(main())
