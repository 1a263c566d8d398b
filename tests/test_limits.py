"""Tests of sim.limits: run estimates, memory and time in words, the memory check."""

from __future__ import annotations

import pytest

from sim import limits
from sim.config import Scenario
from sim.errors import FishpondError, ScenarioError
from sim.limits import (
    check_run,
    design_limit_error,
    estimate_run,
    format_bytes,
    format_seconds,
    parse_memory,
)

FIXED = 200_000_000


def _sc(size: int, graph: dict | None = None, steps: int = 100) -> Scenario:
    pop = {"size": size} | ({"graph": graph} if graph else {})
    return Scenario.model_validate({"population": pop, "steps": steps})


def test_estimate_barabasi_albert_by_hand():
    est = estimate_run(_sc(1000, {"kind": "barabasi_albert", "m": 5}))
    assert est.edges == 5000
    assert est.memory == FIXED + 1000 * 250 + 5000 * 64
    assert est.seconds == pytest.approx(100 * (1000 * 2e-8 + 2 * 5000 * 2e-9))
    assert est.key == "population.size"


def test_estimate_agents_engine_costs_more():
    est = estimate_run(_sc(1000, {"kind": "barabasi_albert", "m": 5}), engine="agents")
    assert est.memory == FIXED + 1000 * 2000 + 5000 * (150 + 64)
    assert est.seconds == pytest.approx(100 * (1000 * 2e-6 + 2 * 5000 * 2e-7))


def test_estimate_unknown_engine_is_the_compiled_one():
    sc = _sc(1000)
    assert estimate_run(sc, engine="nope") == estimate_run(sc)


def test_estimate_graph_kinds_edges():
    assert estimate_run(_sc(100, {"kind": "complete"})).edges == 4950
    assert estimate_run(_sc(100, {"kind": "watts_strogatz", "k": 6})).edges == 300
    assert estimate_run(_sc(100, {"kind": "well_mixed", "contacts": 5})).edges == 0
    circles = _sc(100, {"kind": "circles", "count": 4, "p_in": 0.5, "p_out": 0.0})
    assert estimate_run(circles).edges == int(0.5 * 4 * (25 * 24 // 2))


def test_estimate_well_mixed_counts_contacts_in_time():
    est = estimate_run(_sc(1000, {"kind": "well_mixed", "contacts": 5}))
    assert est.seconds == pytest.approx(100 * (1000 * 2e-8 + 1000 * 5 * 2e-9))


def test_dense_circles_name_the_graph_key():
    est = estimate_run(_sc(10_000, {"kind": "circles", "count": 1, "p_in": 1.0, "p_out": 0.0}))
    assert est.key == "population.graph"


@pytest.mark.parametrize("n, text", [
    (0, "0 B"), (512, "512 B"), (1000, "1 kB"), (1_500_000, "1.5 MB"),
    (37_000_000_000, "37 GB"), (123_000_000, "123 MB"), (2e12, "2 TB"),
])
def test_format_bytes(n, text):
    assert format_bytes(n) == text


@pytest.mark.parametrize("s, text", [
    (0.5, "0.5 s"), (59, "59 s"), (90, "1.5 minutes"), (7200, "2 hours"),
    (3 * 86400, "3 days"), (2 * 365 * 86400, "2 years"),
])
def test_format_seconds(s, text):
    assert format_seconds(s) == text


@pytest.mark.parametrize("text, n", [
    ("8GB", 8 * 10**9), ("500 MB", 500 * 10**6), ("1e9", 10**9), ("16GiB", 16 * 2**30),
    ("2k", 2000), ("1.5 kib", 1536), ("  7  ", 7),
])
def test_parse_memory(text, n):
    assert parse_memory(text) == n


@pytest.mark.parametrize("text", ["plenty", "0", "-5GB", "8 XB", "", "1e30"])
def test_parse_memory_refuses_non_amounts(text):
    with pytest.raises(FishpondError) as err:
        parse_memory(text)
    msg = str(err.value)
    assert msg.startswith(f"--max-memory {text}: not an amount of memory; allowed:")
    assert "\n" not in msg


def test_check_run_fits_returns_the_estimate():
    sc = _sc(1000)
    assert check_run(sc, max_memory=10**12) == estimate_run(sc)


def test_check_run_refuses_with_one_line():
    with pytest.raises(ScenarioError) as err:
        check_run(_sc(100_000, {"kind": "barabasi_albert", "m": 5}), max_memory=10**6,
                  source="big.yaml")
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith("big.yaml: population.size = 100000: a barabasi_albert graph of "
                          "100,000 persons and about 500,000 edges needs about ")
    assert "the --max-memory limit (1 MB)" in msg and "allowed: a smaller" in msg
    assert "fewer workers" not in msg


def test_check_run_counts_runs_at_once():
    sc = _sc(1000)
    one = estimate_run(sc).memory
    check_run(sc, max_memory=2 * one, runs_at_once=2)
    with pytest.raises(ScenarioError) as err:
        check_run(sc, max_memory=2 * one, runs_at_once=3)
    assert "(3 runs at once)" in str(err.value) and "or fewer workers" in str(err.value)


def test_check_run_default_limit_is_the_memory_available(monkeypatch):
    monkeypatch.setattr(limits, "available_memory", lambda: 1000)
    with pytest.raises(ScenarioError, match=r"more than the memory available \(1 kB\)"):
        check_run(_sc(10))


def test_available_memory_is_a_positive_amount():
    assert limits.available_memory() > 0


def test_design_limit_error():
    assert design_limit_error(200_000, 1000, 200, 100_000, None) == (
        "the experiment has 200,000 runs (1,000 design points x 200 replicates), "
        "more than the limit of 100,000")
    assert "about 2 hours of computing" in design_limit_error(10, 5, 2, 1, 7200)
