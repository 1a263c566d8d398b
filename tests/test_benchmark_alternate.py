"""benchmarks/alternate.py: checkouts alternated run by run in warm workers."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from tests.helpers import BENCHMARKS, load_benchmark

SCRIPT = BENCHMARKS / "alternate.py"


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("alternate")


def test_cases_are_q_gamma_steps_and_a_seed_or_r(bench):
    assert bench.parse_case("0.05,0.1,50,1") == (0.05, 0.1, 50, "1")
    assert bench.parse_case("0.2,1,200,r") == (0.2, 1.0, 200, "r")
    for bad in ("0.05,0.1,50", "0.05,0.1,fifty,1", "0.05,0.1,50,x"):
        with pytest.raises(argparse.ArgumentTypeError, match="allowed: q,gamma,steps,seed"):
            bench.parse_case(bad)
    assert all(bench.parse_case(c) for c in bench.CASES)


def test_a_checkout_against_itself_gives_identical_final_sizes():
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--against", str(BENCHMARKS.parent), "--size", "3000",
         "--repeats", "3", "--case", "0.3,1,30,r", "--case", "0.05,0.2,20,4",
         "--pond", "1000,20"],
        capture_output=True, text=True, cwd=BENCHMARKS, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = [x for x in out.stdout.splitlines() if x.startswith("q=")]
    assert len(lines) == 2 and all("final sizes identical" in x for x in lines), out.stdout
    assert "q=0.3 gamma=1.0 steps=30 seed=r: here " in lines[0] and "/here " in lines[0]
    pond = [x for x in out.stdout.splitlines() if x.startswith("fish pond ")]
    assert len(pond) == 1 and "fish pond 1,000 x 20 seed=r: here " in pond[0], out.stdout
    assert "final sizes identical" in pond[0]


def test_ponds_are_size_and_steps(bench):
    assert bench.parse_pond("5000,180") == ("pond", 5000, 180, "r")
    for bad in ("5000", "5000,180,1", "five,180"):
        with pytest.raises(argparse.ArgumentTypeError, match="allowed: size,steps"):
            bench.parse_pond(bad)
