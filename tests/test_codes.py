"""The enumerations of sim.codes.

Distinct codes, names that match the scenario's words, and no module of the engines or
metrics writing a code as a literal.
"""

from __future__ import annotations

import ast
import typing
from pathlib import Path

import pytest

from sim import codes
from sim.config import EntryGate, Seeding

SIM = Path(codes.__file__).parent


def test_each_enumeration_has_distinct_codes():
    groups = {
        "status": (codes.NON_USER, codes.MEMBER, codes.CHURNED),
        "role": (codes.NO_ROLE, codes.LURKER, codes.ACTIVE, codes.KOL),
        "source": (codes.NO_SOURCE, codes.SEED, codes.MASS_PULL, codes.REFERRAL, codes.ORGANIC,
                   codes.ADS),
        "gate": (codes.GATE_NONE, codes.GATE_REVIEW, codes.GATE_PAYMENT),
        "phase": tuple(codes.Phase),
    }
    for name, values in groups.items():
        assert len(set(values)) == len(values), name


def test_names_follow_the_codes():
    assert [codes.STATUS_NAMES[c] for c in (codes.NON_USER, codes.MEMBER, codes.CHURNED)] == \
        ["non_user", "member", "churned"]
    assert {codes.ROLE_NAMES[c] for c in codes.ROLE_CODES.values()} == set(codes.ROLE_CODES)
    for word, code in codes.ROLE_CODES.items():
        assert codes.ROLE_NAMES[code] == word
    assert set(codes.SOURCE_NAMES) == {codes.NO_SOURCE, codes.SEED, codes.MASS_PULL,
                                       codes.REFERRAL, codes.ORGANIC, codes.ADS}


def test_scenario_words_map_to_codes():
    gate_words = typing.get_args(EntryGate.model_fields["kind"].annotation)
    assert set(codes.GATE_KINDS) == set(gate_words)
    # Params holds the table's code of the word (its position among the choices): the same
    from sim.parameters import code
    assert {w: code("program.entry_gate.kind", w) for w in gate_words} == codes.GATE_KINDS
    assert codes.GATE_KINDS["none"] == codes.GATE_NONE == 0  # kernels test ``gate != GATE_NONE``
    role_words = typing.get_args(Seeding.model_fields["role"].annotation)
    assert set(codes.ROLE_CODES) == set(role_words)


def test_funnel_flags_are_single_bits_in_stage_order():
    flags = [flag for _, flag in codes.FUNNEL_STAGES]
    assert flags == [1 << k for k in range(len(flags))]
    assert flags == [codes.F_REACHED, codes.F_INVITED, codes.F_JOINED, codes.F_ACTIVE,
                     codes.F_PAYING]


def test_status_codes_index_a_table_of_three():
    # the invite phase keeps one probability per status code in a table of len(STATUS_NAMES)
    assert sorted((codes.NON_USER, codes.MEMBER, codes.CHURNED)) == \
        list(range(len(codes.STATUS_NAMES)))


def _literal_code_comparisons(path: Path) -> list[str]:
    """``x.gate == 1``-style comparisons: an attribute or name that holds a code, against an int."""
    coded = {"gate", "entry_gate_kind", "status", "role", "source", "src"}
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Compare):
            continue
        sides = [node.left, *node.comparators]
        named = any(
            (isinstance(s, ast.Attribute) and s.attr in coded)
            or (isinstance(s, ast.Name) and s.id in coded)
            or (isinstance(s, ast.Subscript) and isinstance(s.value, ast.Name)
                and s.value.id in coded)
            for s in sides)
        literal = any(isinstance(s, ast.Constant) and type(s.value) is int for s in sides)
        if named and literal:
            found.append(f"{path.name}:{node.lineno}")
    return found


@pytest.mark.parametrize("module", ["agents", "kernels", "metrics", "model", "params"])
def test_no_module_compares_a_code_with_a_literal(module):
    assert _literal_code_comparisons(SIM / f"{module}.py") == []


def test_the_literal_check_finds_a_literal(tmp_path):
    bad = tmp_path / "probe.py"
    bad.write_text("def f(p, status):\n    return p.entry_gate_kind == 2 or status[0] != 1\n")
    assert _literal_code_comparisons(bad) == ["probe.py:2", "probe.py:2"]


@pytest.mark.parametrize("module", ["agents", "kernels", "metrics", "state", "rng", "params"])
def test_codes_are_defined_only_in_codes(module):
    """No other module assigns a name that sim.codes defines (one place for each code)."""
    names = {n for n in dir(codes) if n.isupper()} | {"Phase"}
    tree = ast.parse((SIM / f"{module}.py").read_text())
    assigned = set()
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else []
        for t in targets:
            for leaf in ast.walk(t):
                if isinstance(leaf, ast.Name):
                    assigned.add(leaf.id)
        if isinstance(node, ast.ClassDef):
            assigned.add(node.name)
    assert assigned & names == set()
