"""The imports of ``sim``, read with ``ast``: downhill layers, no loops, no private names.

Every executed import counts: at module level and inside functions (a lazy import that dodges a
loop at run time is still a loop in the design). Imports under ``if TYPE_CHECKING:`` are
annotations only, never executed: the private-name check reads them, the layers and the loop
check do not (the engines annotate their argument as the model that calls them).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SIM = Path(__file__).resolve().parents[1] / "sim"

# The layers of the package, lowest first, written down once: a module imports modules of
# its own layer or lower ones, never higher. A package (sim.charts) is in its parent's layer.
LAYERS = (
    ("foundation", ("errors", "codes", "threads", "jit", "progress", "shipped", "parameters")),
    ("inputs", ("yamlio", "config", "params", "scenario_io", "limits", "outdir", "observed")),
    ("model pieces", ("rng", "state", "rules", "generators", "population", "seeding")),
    ("engines", ("agents", "kernels")),
    ("model", ("metrics", "model")),
    ("runs", ("analysis", "sensitivity", "store", "executors", "batch", "posterior")),
    ("designs", ("experiments", "compare", "facts", "goals", "calibration_config",
                 "calibrate", "explore", "ema")),
    ("presentation", ("charts", "doctor", "optimize")),  # optimize writes its charts
    # "": the package itself (sim/__init__.py); app: the browser page, serve: its server
    ("interface", ("cli", "__main__", "", "app", "serve")),
)
LAYER = {m: i for i, (_, group) in enumerate(LAYERS) for m in group}
PEERS_APART = (("agents", "kernels"),)  # the two engines: equals, neither imports the other


def module_name(path: Path) -> str:
    parts = path.relative_to(SIM.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(SIM.rglob("*.py"))}


def resolve(importer: str, node: ast.ImportFrom) -> str:
    """The absolute module an ``from X import ...`` names."""
    if not node.level:
        return node.module or ""
    package = importer.split(".")
    if MODULES[importer].name != "__init__.py":
        package = package[:-1]
    package = package[: len(package) - node.level + 1]
    return ".".join(package + ([node.module] if node.module else []))


def imports(name: str, annotations: bool = True) -> tuple[set[str], list[tuple[str, int]]]:
    """The sim modules ``name`` imports, and its uses of other modules' private names.

    Args:
        name: A module of ``MODULES``.
        annotations: Whether to count imports under ``if TYPE_CHECKING:``.
    """
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    found: set[str] = set()
    private: list[tuple[str, int]] = []
    aliases: dict[str, str] = {}
    typing_only = {id(n) for top in ast.walk(tree) if isinstance(top, ast.If)
                   and ast.unparse(top.test).endswith("TYPE_CHECKING")
                   for stmt in top.body for n in ast.walk(stmt)}
    for node in ast.walk(tree):
        if id(node) in typing_only and not annotations:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "sim":
                    found.add(alias.name)
                    aliases[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.ImportFrom):
            base = resolve(name, node)
            if base.split(".")[0] != "sim":
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if sub in MODULES:  # from . import store
                    found.add(sub)
                    aliases[alias.asname or alias.name] = sub
                else:
                    found.add(base)
                    if alias.name.startswith("_") and base != name:
                        private.append((f"from {base} import {alias.name}", node.lineno))
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in aliases and node.attr.startswith("_")
                and not node.attr.startswith("__") and aliases[node.value.id] != name):
            private.append((f"{node.value.id}.{node.attr}", node.lineno))
    return {m for m in found if m in MODULES and m != name}, private


GRAPH = {name: imports(name, annotations=False)[0] for name in MODULES}


def layer_of(module: str) -> int:
    """The layer of a module ``sim.x`` or ``sim.x.y`` (a package's modules share its layer)."""
    parts = module.split(".")
    return LAYER[parts[1] if len(parts) > 1 else ""]


def test_the_reader_sees_imports_of_every_kind():
    # a function-level import (cli), a module import (experiments), a TYPE_CHECKING one (limits:
    # read for private names, not for layers)
    assert "sim.facts" in GRAPH["sim.cli"]
    assert {"sim.store", "sim.executors", "sim.scenario_io"} <= GRAPH["sim.experiments"]
    assert "sim.config" in imports("sim.limits")[0] and "sim.config" not in GRAPH["sim.limits"]


def test_every_module_has_a_layer():
    missing = sorted({(m.split(".") + [""])[1] for m in MODULES} - set(LAYER))
    assert missing == [], f"give these modules a layer in LAYERS: {missing}"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_uses_another_modules_private_names(name):
    assert imports(name)[1] == [], f"{name} uses private names of other modules"


def test_imports_run_downhill():
    uphill = [f"{a} ({LAYERS[layer_of(a)][0]}) imports {b} ({LAYERS[layer_of(b)][0]})"
              for a in sorted(GRAPH) for b in sorted(GRAPH[a]) if layer_of(b) > layer_of(a)]
    assert uphill == []


def test_the_engines_do_not_import_each_other():
    for a, b in PEERS_APART:
        assert f"sim.{b}" not in GRAPH[f"sim.{a}"] and f"sim.{a}" not in GRAPH[f"sim.{b}"]


def test_no_import_loop():
    def reaches(start: str, goal: str) -> bool:
        seen, stack = set(), list(GRAPH.get(start, ()))
        while stack:
            cur = stack.pop()
            if cur == goal:
                return True
            if cur not in seen:
                seen.add(cur)
                stack.extend(GRAPH.get(cur, ()))
        return False

    assert [m for m in sorted(GRAPH) if reaches(m, m)] == []


def test_the_checks_catch_an_uphill_import_and_a_loop(monkeypatch):
    """The checks themselves: an engine importing the command line, and a loop, fail."""
    graph = {k: set(v) for k, v in GRAPH.items()}
    graph["sim.kernels"].add("sim.cli")
    monkeypatch.setitem(globals(), "GRAPH", graph)
    with pytest.raises(AssertionError, match="sim.kernels"):
        test_imports_run_downhill()
    with pytest.raises(AssertionError):
        test_no_import_loop()
