"""benchmarks/tax.py: its bare SIR kernel is the SIR that Fishpond's pure_sir reduces to."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from tests.helpers import BENCHMARKS, load_benchmark

SCRIPT = BENCHMARKS / "tax.py"


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("tax")


def _path_graph(n: int) -> tuple[np.ndarray, np.ndarray]:
    """CSR of the path 0 - 1 - ... - n-1."""
    nbrs = [[j for j in (i - 1, i + 1) if 0 <= j < n] for i in range(n)]
    indptr = np.cumsum([0] + [len(x) for x in nbrs]).astype(np.int64)
    return indptr, np.array([j for x in nbrs for j in x], np.int32)


def test_bare_kernel_spreads_one_hop_a_day_then_recovers(bench):
    indptr, indices = _path_graph(6)
    # q = 1, gamma = 1: day d infects the persons d hops away; each is infectious one day
    c = bench.bare_sir(indptr, indices, np.array([0]), 1.0, 1.0, 7, 0)
    assert c[:, 1].tolist() == [1, 1, 1, 1, 1, 1, 0, 0]  # infected: one at a time
    assert c[:, 2].tolist() == [0, 1, 2, 3, 4, 5, 6, 6]  # recovered
    assert (c.sum(axis=1) == 6).all()
    # q = 0: nobody is infected; gamma = 0: nobody recovers
    c = bench.bare_sir(indptr, indices, np.array([2]), 0.0, 0.0, 5, 0)
    assert c[-1].tolist() == [5, 1, 0]


def test_bare_kernel_and_fishpond_have_the_same_final_size_in_distribution(bench):
    from sim import GrowthModel

    g = GrowthModel("pure_sir", rng=0, steps=1, population={
        "size": 3000, "graph": {"kind": "barabasi_albert", "m": 2}}).graph
    fish, bare = [], []
    for r in range(30):
        m = GrowthModel("pure_sir", rng=r, graph=g, steps=30,
                        seeding={"count": 5, "strategy": "random"})
        m.run()
        fish.append(m.today["members"] + m.today["churned"])
        c = bench.bare_sir(g.indptr, g.indices, np.asarray(m.seeds, np.int64), 0.05, 0.1, 30, r)
        bare.append(c[-1, 1] + c[-1, 2])
    se = np.hypot(np.std(fish, ddof=1), np.std(bare, ddof=1)) / np.sqrt(30)
    assert abs(np.mean(fish) - np.mean(bare)) < 4 * se


def test_quick_mode_prints_the_tax_with_the_final_sizes():
    import subprocess

    out = subprocess.run([sys.executable, str(SCRIPT), "--quick"], cwd=SCRIPT.parent,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    rows = [line.split() for line in out.stdout.splitlines() if line.strip().startswith("20,000")]
    assert rows, out.stdout
    for row in rows:  # persons, threads, fishpond s, bare s, tax, size +- se | size +- se
        fish, bare, tax = float(row[2]), float(row[3]), float(row[4])
        assert fish > 0 and bare > 0 and tax == pytest.approx(fish / bare, rel=0.05)  # (rounded)
        assert row[6] == "+-" and row[8] == "|"
