"""benchmarks/calibrate.py: its independent Bass fit, and its quick mode runs."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from tests.helpers import BENCHMARKS, load_benchmark

SCRIPT = BENCHMARKS / "calibrate.py"


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("calibrate")


def test_bass_least_squares_recovers_a_known_curve(bench):
    years = np.arange(1.0, 14.0)
    exact = bench.bass_curve(years, 16_000.0, 0.01, 0.42)
    m, p, q = bench.bass_least_squares(years, exact)
    assert m == pytest.approx(16_000, rel=1e-3)
    assert p == pytest.approx(0.01, rel=1e-3) and q == pytest.approx(0.42, rel=1e-3)
    noisy = exact * np.random.default_rng(0).normal(1, 0.02, len(years))
    m, p, q = bench.bass_least_squares(years, noisy)
    assert p == pytest.approx(0.01, rel=0.25) and q == pytest.approx(0.42, rel=0.1)


def _quick(case: str) -> tuple[list[str], str]:
    """Run the script's quick mode on one case; its output lines (and all of it, for messages)."""
    proc = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--case", case],
                          capture_output=True, text=True, timeout=600,
                          cwd=SCRIPT.parents[1])
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout.splitlines(), proc.stdout


def test_quick_mode_runs_the_partial_window_case():
    lines, out = _quick("partial")
    assert lines[0].startswith("machine: ")
    assert any(line.startswith("partial draw 0: week 26 members ") for line in lines)
    assert any(line.startswith("RESULT partial: week 26 inside the 90% band in ")
               for line in lines), out


def test_quick_mode_runs_the_identifiability_case():
    lines, out = _quick("identifiability")
    for key in ("rules.invite_rate", "rules.churn_base"):
        assert any(line.startswith(f"identifiability {key} on members (day 84): mu_star ")
                   for line in lines), out
    assert any(line.startswith("RESULT identifiability (") for line in lines), out
