"""Shared helpers for the tests: a 'quiet' scenario, tiny hand-made graphs, benchmark scripts."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np

from sim import GrowthModel
from sim.codes import KOL, LURKER, MEMBER, ROLE_CODES
from sim.population import from_edges
from sim.scenario_io import merge_scenario_data

# Every mechanism off, fit 1, intimacy constant: a rule under test is switched on by the test.
QUIET = {
    "name": "quiet",
    "steps": 10,
    "population": {"size": 10, "graph": {"kind": "complete"}, "fit": {"constant": 1.0},
                   "engagement": {"sigma": 0.0}},
    "seeding": {"count": 0},
    "mass_pull": {"count": 0},
    "program": {
        "content_per_week": 0,
        "activities_per_month": 0,
        "self_org_rate": 0,
        "common_task": {"days": 0},
        "empowerment": {"rate": 0},
        "recruit": {"count": 0},
        "amplification": {"enabled": False},
        "entry_gate": {"kind": "none"},
        "activity_capacity": 0,
        "ads": {"daily_budget": 0, "saturation": 0.0},
    },
    "rules": {
        "invite_rate": 0.0,
        "invite_cap": 0.0,
        "role_mult": {"lurker": 1.0, "active": 1.0, "kol": 1.0},
        "rejoin_factor": 0.0,
        "convert_prob": 1.0,
        "fatigue": 0.0,
        "organic_rate": 0.0,
        "join_intimacy": {"referral": 0.3, "organic": 0.2, "ads": 0.05},
        "interact_gain": 0.0,
        "decay": 0.0,
        "churn_base": 0.0,
        "churn_protect": 0.0,
        "misfit_penalty": 0.0,
        "trough_dropout": 0.0,
    },
    "economics": {"pay_rate": 0.0, "purchase_rate": 0.0},
}

PATH3 = (3, [0, 1], [1, 2])  # 0 - 1 - 2
STAR5 = (5, [0, 0, 0, 0], [1, 2, 3, 4])  # hub 0
TRIANGLE = (3, [0, 1, 2], [1, 2, 0])


merge = merge_scenario_data


def tiny_model(
    shape, members=(), role="kol", intimacy=1.0, engine="agents", **overrides
) -> GrowthModel:
    """A quiet model on a hand-made graph with ``members`` set by hand before day 1."""
    n, src, dst = shape
    graph = from_edges(n, np.array(src), np.array(dst))
    sc = merge(QUIET, overrides)
    model = GrowthModel(sc, graph=graph, engine=engine)
    st = model.state
    for i in members:
        st.status[i] = MEMBER
        st.role[i] = ROLE_CODES[role]
        st.intimacy[i] = intimacy
        st.join_day[i] = 0
        if ROLE_CODES[role] == KOL:
            st.kol_since[i] = 0
    return model


__all__ = ["QUIET", "PATH3", "STAR5", "TRIANGLE", "merge", "tiny_model", "LURKER"]


BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def load_benchmark(name: str) -> ModuleType:
    """``benchmarks/<name>.py`` as a module (its folder on sys.path while it loads)."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCHMARKS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCHMARKS))
    return module
