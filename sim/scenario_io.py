"""Scenario files: YAML in (with ``extends:`` and ``--set`` overrides), Scenario out, and back.

Reading, positions, ``extends:``, ``--set`` and the one-line messages are
:mod:`sim.yamlio`'s; this module adds the scenario's schema, its cross-field rules and the
shipped scenarios folder. A bad value is reported as one line::

    scenarios/x.yaml:14: rules.invite_rate = 1.5: must be <= 1; allowed: a number in [0, 1]

Merging rules: a file's mapping is deep-merged into the one it ``extends`` (lists and scalars
replace); a ``population.graph`` mapping whose ``kind`` differs from the inherited one replaces
it whole, so switching graph kinds never leaves stale keys. Overrides follow the same rules.
"""

from __future__ import annotations

import copy
import math
import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from . import shipped
from . import yamlio as yio
from .config import GRAPH_KINDS, Scenario
from .errors import ScenarioError
from .parameters import num
from .yamlio import UNSET, Problem, describe, leaves, message, unwrap

SCENARIOS_DIR = shipped.folder("scenarios")  # the package's data, or the checkout's scenarios/
MAX_FILE_BYTES = yio.MAX_FILE_BYTES  # scenario and experiment files (edge lists are separate)
MAX_DEPTH = yio.MAX_DEPTH  # nesting of mappings and lists in one YAML document
MAX_VALUES = yio.MAX_VALUES  # values of a YAML document, counted after expanding aliases
GRAPH_PATH = ("population", "graph")  # a new graph kind replaces the whole graph mapping
_GRAPH = GRAPH_PATH
_KINDED = (GRAPH_PATH,)


def schema_at(path: tuple, data: Any) -> tuple[Any, list] | None:
    """(type, constraint metadata) of the scenario field at ``path``, or None if not in it.

    Example:
        >>> schema_at(("seeding", "count"), {})[0]
        <class 'int'>
    """
    return yio.schema_at(Scenario, path, data)


def scenario_keys(path: tuple, data: Any) -> list[str]:
    """The valid keys of the scenario mapping at ``path`` (empty if it is not a mapping).

    Example:
        >>> "count" in scenario_keys(("seeding",), {}), scenario_keys(("seed",), {})
        (True, [])
    """
    return yio.keys_at(Scenario, path, data)


def field_type(path: tuple, data: Any) -> Any:
    """The plain type (``int``, ``float``, ...) of the scenario field at ``path``, or None.

    Example:
        >>> field_type(("rules", "invite_rate"), {})
        <class 'float'>
    """
    found = schema_at(path, data)
    return unwrap(found[0], [])[0] if found else None


def _allowed(path: tuple, data: Any) -> str | None:
    found = schema_at(path, data)
    return describe(*found) if found else None


def _unknown_key(path: tuple, data: Any, extra: tuple = ()) -> Problem:
    return yio.unknown_key(path, scenario_keys(path[:-1], data) + list(extra))


def _from_pydantic(err: ValidationError, data: dict) -> Problem:
    """Turn the first pydantic error into a Problem (key path, bad value, what, allowed)."""
    path, value, kind, ctx, msg = yio.first_error(err, _GRAPH, GRAPH_KINDS)
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        value = value.get("kind", UNSET) if isinstance(value, dict) else UNSET
        what = "unknown graph kind" if kind == "union_tag_invalid" else "required key missing"
        return Problem(path + ("kind",), value, what, ", ".join(GRAPH_KINDS))
    if kind == "extra_forbidden":
        return _unknown_key(path, data, ("extends",) if len(path) == 1 else ())
    if kind == "invalid_key":  # e.g. ``rules: {1: 0.5}``: a number or list used as a key
        valid = scenario_keys(path[:-1], data) + (["extends"] if len(path) == 1 else [])
        what = f"key {yio.show(path[-1])} is not text ({type(path[-1]).__name__})"
        where = path[:-1] + (str(path[-1]),)  # positions record keys as written
        allowed = "the keys " + ", ".join(valid) if valid else "text keys"
        return Problem(where, UNSET, what, allowed)
    if kind == "missing":
        value = UNSET
    if kind == "literal_error":  # e.g. "unknown seeding strategy", "unknown entry gate kind"
        what = "unknown " + " ".join(str(k) for k in path[-2:]).replace("_", " ")
    else:
        what = yio.what(kind, ctx, msg, value)
    return Problem(path, value, what, _allowed(path, data))


def _check_numbers(data: dict) -> None:
    """Reject true/false where a number is expected (pydantic would read it as 1/0), inf, nan."""
    for path, value in leaves(data):
        if isinstance(value, bool) or (isinstance(value, float) and not math.isfinite(value)):
            found = schema_at(path, data)
            if found and unwrap(found[0], [])[0] in (int, float):
                what = ("not a number" if isinstance(value, bool) else "NaN is not allowed"
                        if math.isnan(value) else "must be a finite number")
                raise Problem(path, value, what, describe(*found))


# --- cross-field rules ---------------------------------------------------------------------


def _cross_check(sc: Scenario) -> None:
    """Raise a Problem for the first rule that involves more than one field."""
    n, g, r = sc.population.size, sc.population.graph, sc.rules
    seeds, pulled = sc.seeding.count, sc.mass_pull.count
    if g.kind != "edgelist" and seeds + pulled > n:
        what = f"seeding.count + mass_pull.count = {seeds + pulled} exceeds population.size = {n}"
        if seeds > n or pulled == 0:
            allowed = f"a whole number in [0, {max(0, n - pulled)}]"
            raise Problem(("seeding", "count"), seeds, what, allowed)
        raise Problem(("mass_pull", "count"), pulled, what, f"a whole number in [0, {n - seeds}]")
    if g.kind in ("barabasi_albert", "powerlaw_cluster") and g.m >= n:
        raise Problem(_GRAPH + ("m",), g.m, f"must be < population.size = {n}",
                       f"a whole number in [1, {n - 1}]")
    if g.kind == "watts_strogatz" and (g.k % 2 or g.k >= n):
        what = "must be even" if g.k % 2 else f"must be < population.size = {n}"
        raise Problem(_GRAPH + ("k",), g.k, what, f"an even whole number in [2, {n - 1}]")
    if g.kind == "well_mixed" and g.contacts >= n:
        raise Problem(_GRAPH + ("contacts",), g.contacts, f"more contacts than the other "
                       f"{n - 1} persons", f"a whole number in [1, {n - 1}]")
    if g.kind == "circles" and g.sizes is not None and sum(g.sizes) != n:
        raise Problem(_GRAPH + ("sizes",), g.sizes, f"sizes add up to {sum(g.sizes)}, not "
                       f"population.size = {n}", "circle sizes adding up to population.size")
    if g.kind == "circles" and g.sizes is None and g.count > n:
        raise Problem(_GRAPH + ("count",), g.count, f"more circles than persons ({n})",
                       f"a whole number in [1, {n}]")
    for i in range(1, len(sc.milestones)):
        if sc.milestones[i] <= sc.milestones[i - 1]:
            what = f"must be greater than the previous milestone {sc.milestones[i - 1]}"
            raise Problem(("milestones", i), sc.milestones[i], what, "strictly increasing counts")
    if r.hysteresis > r.active_threshold:
        raise Problem(("rules", "hysteresis"), r.hysteresis, f"must be <= rules.active_threshold "
                       f"= {r.active_threshold}", f"a number in [0, {num(r.active_threshold)}]")
    if sc.population.fit.circle_corr > 0 and g.kind != "circles":
        raise Problem(("population", "fit", "circle_corr"), sc.population.fit.circle_corr,
                       f"only applies to circles graphs, not {g.kind}",
                       "0 unless the graph is circles")


def check_scenario(sc: Scenario, source: str | None = None) -> None:
    """Check the rules that involve more than one field (sizes, graph parameters, order).

    Args:
        sc: A validated scenario (field-level ranges are already enforced by pydantic).
        source: Optional prefix for the message (e.g. a file name).

    Raises:
        ScenarioError: One line naming the key path, the bad value and what is allowed.
    """
    try:
        _cross_check(sc)
    except Problem as p:
        raise p.error({}, (source, None)) from None


# --- reading ---------------------------------------------------------------------------------


def read_yaml(path: str | os.PathLike) -> tuple[dict, dict]:
    """One scenario file -> (mapping, positions); see :func:`sim.yamlio.read_yaml`."""
    return yio.read_yaml(path)


load_yaml_value = yio.load_yaml_value


def absolute_edge_path(data: dict, base_dir: Path) -> None:
    """Make a relative ``population.graph.path`` absolute, relative to ``base_dir`` (in place).

    Example:
        >>> data = {"population": {"graph": {"kind": "edgelist", "path": "e.csv"}}}
        >>> absolute_edge_path(data, Path("/data"))
        >>> data["population"]["graph"]["path"]
        '/data/e.csv'
    """
    population = data.get("population")
    graph = population.get("graph") if isinstance(population, dict) else None
    if isinstance(graph, dict) and isinstance(graph.get("path"), str) and graph["path"]:
        graph["path"] = os.path.abspath(base_dir / Path(graph["path"]).expanduser())


def merge_located(base: dict, over: dict, base_pos: dict, over_pos: dict) -> tuple[dict, dict]:
    """Deep-merge scenario data with positions, as ``extends:`` does.

    See :func:`merge_scenario_data`; positions of replaced subtrees are dropped.

    Returns:
        ``(merged data, merged positions)``.
    """
    return yio.merge(base, over, base_pos, over_pos, _KINDED)


def merge_scenario_data(base: dict, over: dict) -> dict:
    """Deep-merge scenario data ``over`` into ``base`` as ``extends:`` does.

    A new graph kind replaces the whole graph mapping.

    Example:
        >>> merge_scenario_data(
        ...     {"rules": {"decay": 0.1, "fatigue": 0.2}}, {"rules": {"decay": 0.3}}
        ... )
        {'rules': {'decay': 0.3, 'fatigue': 0.2}}
    """
    return merge_located(base, over, {}, {})[0]


def settings_data(overrides: list[str]) -> dict:
    """``--set KEY.PATH=VALUE`` strings as one mapping of scenario overrides (keys unchecked).

    Example:
        >>> settings_data(["rules.decay=0.2", "population.graph={kind: complete}"])
        {'rules': {'decay': 0.2}, 'population': {'graph': {'kind': 'complete'}}}
    """
    return yio.settings_data(overrides, _KINDED)


def scenario_files(path: str | os.PathLike) -> list[Path]:
    """A scenario file and the files it ``extends`` (as far as they can be found).

    Example:
        >>> [p.name for p in scenario_files(resolve_scenario_path("no_feed"))]
        ['no_feed.yaml', 'fish_pond.yaml', 'base.yaml']
    """
    return yio.extends_chain(path, SCENARIOS_DIR)


def scenario_inputs(path: str | os.PathLike, scenario: Scenario) -> list[Path]:
    """Every file a scenario was read from: itself, what it extends, its edge list.

    ``--overwrite`` never deletes a folder holding one of them.
    """
    files = scenario_files(path)
    graph = scenario.population.graph
    if graph.kind == "edgelist" and graph.path:
        files.append(Path(graph.path))
    return files


def load_scenario_data(path: str | os.PathLike) -> tuple[dict, dict]:
    """A scenario file and what it extends, merged and not yet validated: (data, positions).

    Relative edge-list paths are made absolute (relative to the file naming them).

    Raises:
        ScenarioError: an unreadable file, or a bad ``extends`` (one line).
    """
    hint = f"or a shipped scenario in {yio.label(SCENARIOS_DIR)} (e.g. fish_pond)"
    return yio.load_extending(path, search=SCENARIOS_DIR, search_hint=hint, kinded=_KINDED,
                              prepare=absolute_edge_path)


def _fix_set(path: tuple, value: Any) -> Any:
    if path[-1] == "path" and path[:-1] == _GRAPH and isinstance(value, str):
        return os.path.abspath(Path(value).expanduser())
    return value


def apply_overrides(data: dict, pos: dict, overrides: list[str] | None) -> tuple[dict, dict]:
    """Apply ``KEY.PATH=VALUE`` strings in order; values are YAML (scalars, [lists], {maps}).

    Returns:
        ``(data, positions)``.

    Raises:
        ScenarioError: a malformed override or an unknown key (one line naming the --set).
    """
    return yio.apply_settings(data, pos, overrides, keys=scenario_keys, kinded=_KINDED,
                              fix=_fix_set)


def validate_scenario_data(data: dict, pos: dict, source: str,
                           check_files: bool = False) -> Scenario:
    """Validate located scenario data; a problem is one line placed by ``pos``.

    Args:
        data: The merged scenario data.
        pos: Its positions (``{key path: (file, line)}``).
        source: The label used where a key has no position.
        check_files: Also check that an edge list file exists.

    Returns:
        The validated Scenario.

    Raises:
        ScenarioError: ``FILE:LINE: KEY.PATH = VALUE: what is wrong; allowed: ...``.
    """
    try:
        try:
            sc = Scenario.model_validate(data)
        except ValidationError as e:
            raise _from_pydantic(e, data) from None
        _check_numbers(data)
        _cross_check(sc)
        g = sc.population.graph
        if check_files and g.kind == "edgelist" and not Path(g.path).is_file():
            raise Problem(_GRAPH + ("path",), g.path, "edge list file not found",
                          "a CSV or whitespace edge list, relative to the scenario file")
    except Problem as p:
        raise p.error(pos, (source, None)) from None
    return sc


def load_scenario(path: str | os.PathLike, overrides: list[str] | None = None) -> Scenario:
    """Load a scenario file (or a shipped scenario's name), apply overrides, validate.

    Args:
        path: A YAML file, or a bare name such as ``fish_pond`` looked up in ``scenarios/``.
        overrides: ``KEY.PATH=VALUE`` strings (``--set``), applied in order after ``extends``.

    Returns:
        The validated, frozen Scenario (edge-list paths made absolute).

    Raises:
        ScenarioError: One line ``FILE:LINE: KEY.PATH = VALUE: what is wrong; allowed: ...``.

    Example:
        >>> sc = load_scenario("fish_pond", ["rules.invite_rate=0.01", "milestones=[10, 100]"])
        >>> sc.rules.invite_rate, sc.milestones, sc.seeding.count
        (0.01, [10, 100], 100)
    """
    file = resolve_scenario_path(path)
    data, pos = load_scenario_data(file)
    data, pos = apply_overrides(data, pos, overrides)
    return validate_scenario_data(data, pos, yio.label(file), check_files=True)


_loaded: dict[Path, tuple[tuple[Path, ...], tuple, Scenario]] = {}


def _stamps(files: tuple[Path, ...]) -> tuple:
    out = []
    for f in files:
        try:
            st = f.stat()
        except OSError:
            out.append(None)
        else:
            out.append((st.st_mtime_ns, st.st_size))
    return tuple(out)


def load_scenario_once(path: str | os.PathLike) -> Scenario:
    """:func:`load_scenario` without overrides, read again only when one of its files changed.

    Many models built from one scenario name (a loop of replicates, a calibration) read
    and validate its YAML files once per process; a change to the file, to what it
    ``extends`` or to its edge list is seen on the next call.
    """
    file = resolve_scenario_path(path)
    hit = _loaded.get(file)
    if hit is not None and _stamps(hit[0]) == hit[1]:
        return hit[2]
    sc = load_scenario(file)
    files = tuple(scenario_inputs(file, sc))
    _loaded[file] = (files, _stamps(files), sc)
    return sc


def scenario_from_dict(data: dict, source: str = "<dict>") -> Scenario:
    """Validate a plain mapping like a scenario file (no line numbers in errors).

    Args:
        data: Nested mapping with the scenario's keys; ``extends`` is relative to the cwd.
        source: Name used as the message prefix.

    Returns:
        The validated Scenario.

    Example:
        >>> scenario_from_dict({"rules": {"invite_rate": 0.01}}).rules.invite_rate
        0.01
    """
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}: not a mapping (got {type(data).__name__})")
    data = copy.deepcopy(data)
    pos: dict = {}
    absolute_edge_path(data, Path.cwd())
    if "extends" in data:
        parent = data.pop("extends")
        if not isinstance(parent, (str, os.PathLike)):
            what = "not a file name"
            raise ScenarioError(message((source, None), ("extends",), parent, what, "a path"))
        base, pos = load_scenario_data(resolve_scenario_path(parent))
        data, pos = merge_located(base, data, pos, {})
    return validate_scenario_data(data, pos, source)


def resolve_scenario_path(name: str | os.PathLike) -> Path:
    """Find a scenario file: a path as given, or a bare name (``fish_pond``) in SCENARIOS_DIR.

    Example:
        >>> resolve_scenario_path("fish_pond").name
        'fish_pond.yaml'
    """
    p = Path(name).expanduser()
    if p.is_file():
        return p
    if p.is_dir():
        raise ScenarioError(f"{name}: is a directory, not a scenario file")
    if len(p.parts) == 1:
        for candidate in (SCENARIOS_DIR / p.name, SCENARIOS_DIR / f"{p.name}.yaml"):
            if candidate.is_file():
                return candidate
    raise ScenarioError(f"{name}: scenario file not found; allowed: a YAML file path or a "
                        f"shipped scenario name: {', '.join(shipped.names('scenarios'))}")


def scenario_to_yaml(sc: Scenario) -> str:
    """Render the fully resolved scenario as block-style YAML, keys in schema order.

    Example:
        >>> scenario_to_yaml(Scenario()).splitlines()[0]
        'name: base'
    """
    data = sc.model_dump(mode="python")
    absolute_edge_path(data, Path.cwd())  # a relative edge list is read from the cwd
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml: same text, 10x faster
    return yaml.dump(data, Dumper=dumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=100)


def dump_scenario(sc: Scenario, path: str | os.PathLike) -> None:
    """Write :func:`scenario_to_yaml` to ``path``; :func:`load_scenario` reads it back equal."""
    Path(path).write_text(scenario_to_yaml(sc), encoding="utf-8")
