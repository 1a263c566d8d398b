"""Start-up: ``import sim``, ``fishpond --help`` and ``fishpond validate`` stay light.

They load none of the heavy libraries (their times are measured in benchmarks/startup.py,
not asserted here).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("numba", "numpy", "pandas", "scipy", "matplotlib", "mesa", "dask", "distributed",
         "SALib", "networkx", "pyarrow", "tqdm")

PROBE = """
import sys
{code}
print("loaded:" + ",".join(m for m in {heavy!r} if m in sys.modules))
"""


@pytest.mark.parametrize(("code", "heavy"), [
    ("import sim", HEAVY + ("pydantic", "yaml")),
    ("from sim.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass",
     HEAVY + ("pydantic", "yaml")),
    ("from sim.cli import main\ntry:\n    main(['sweep', '--help'])\nexcept SystemExit:\n    pass",
     HEAVY + ("pydantic", "yaml")),
    ("from sim.cli import main\ntry:\n    main(['calibrate', '--help'])\nexcept SystemExit:\n"
     "    pass", HEAVY + ("pydantic", "yaml", "pyabc")),
    ("from sim.cli import main\nassert main(['validate', 'fish_pond', '--set', 'seed=3']) == 0",
     HEAVY),
], ids=["import", "help", "sweep-help", "calibrate-help", "validate"])
def test_fast_commands_load_no_heavy_library(code, heavy):
    proc = subprocess.run([sys.executable, "-c", PROBE.format(code=code, heavy=heavy)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "loaded:"


def test_public_names_load_on_first_use():
    import sim

    assert sim.GrowthModel.__name__ == "GrowthModel" and callable(sim.load_scenario)
    assert {"GrowthModel", "sweep", "run"} <= set(dir(sim))
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        sim.nothing  # noqa: B018
