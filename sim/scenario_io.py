"""Scenario files: YAML in (with ``extends:`` and ``--set`` overrides), Scenario out, and back.

Reading uses :class:`yaml.SafeLoader` only. Every key path remembers the file and line where it
was last set, so a bad value is reported as one line::

    scenarios/x.yaml:14: rules.invite_rate = 1.5: must be <= 1; allowed: a number in [0, 1]

Merging rules: a file's mapping is deep-merged into the one it ``extends`` (lists and scalars
replace); a ``population.graph`` mapping whose ``kind`` differs from the inherited one replaces
it whole, so switching graph kinds never leaves stale keys. Overrides follow the same rules.
"""

from __future__ import annotations

import copy
import difflib
import math
import os
import types
from inspect import isclass
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from sim import shipped
from sim.config import GRAPH_KINDS, Scenario
from sim.errors import ScenarioError

SCENARIOS_DIR = shipped.folder("scenarios")  # the package's data, or the checkout's scenarios/
MAX_FILE_BYTES = 1_000_000  # scenario and experiment files (edge lists are separate files)
MAX_DEPTH = 50  # nesting of mappings and lists in one YAML document
MAX_VALUES = 100_000  # values of a YAML document, counted after expanding its aliases (*name)

_UNSET: Any = object()
_GRAPH = ("population", "graph")
_WHAT = {  # pydantic error type (or its first word) -> what is wrong, in words
    "greater_than_equal": "must be >= {ge}", "greater_than": "must be > {gt}",
    "less_than_equal": "must be <= {le}", "less_than": "must be < {lt}",
    "string_too_short": "must not be empty",
    "string_too_long": "too long (at most {max_length} characters)",
    "missing": "required key missing", "float": "not a number", "int": "not a whole number",
    "bool": "not true or false", "string": "not text (put it in quotes)", "list": "not a list",
    "model": "not a mapping", "dict": "not a mapping",
    "finite_number": "must be a finite number",
}
Where = tuple[str | None, int | None]  # (file or --set label, line)


class _Problem(Exception):
    """Internal: what is wrong at a key path; turned into a ScenarioError with its position."""

    def __init__(self, path: tuple, value: Any, what: str, allowed: str | None = None):
        super().__init__(what)
        self.path, self.value, self.what, self.allowed = path, value, what, allowed

    def error(self, pos: dict, default: Where) -> ScenarioError:
        where = default
        for n in range(len(self.path), 0, -1):
            if self.path[:n] in pos:
                where = pos[self.path[:n]]
                break
        return ScenarioError(_message(where, self.path, self.value, self.what, self.allowed))


def _message(where: Where, path: tuple, value: Any, what: str, allowed: str | None) -> str:
    label, line = where
    head = "" if label is None else f"{label}:{line}: " if line else f"{label}: "
    key = _dotted(path) + ("" if value is _UNSET else f" = {_show(value)}")
    text = f"{head}{key}: {what}" + (f"; allowed: {allowed}" if allowed else "")
    return text.replace("\r", " ").replace("\n", " ")


def _dotted(path: tuple) -> str:
    return "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in path).lstrip(".")


def _show(value: Any) -> str:
    if isinstance(value, str):
        text = repr(value)
    elif isinstance(value, bool) or value is None:
        text = {True: "true", False: "false", None: "null"}[value]
    elif isinstance(value, (dict, list)):
        try:
            text = yaml.safe_dump(value, default_flow_style=True, width=10**9).strip()
        except yaml.YAMLError:
            text = repr(value)
    else:
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _clip(text: str, width: int = 80) -> str:
    """Text cut to ``width`` characters (with "...") for echoing user input in a message."""
    return text if len(text) <= width else text[: width - 3] + "..."


def _num(x: float) -> str:
    return str(int(x)) if isinstance(x, float) and x.is_integer() and abs(x) < 1e15 else str(x)


def _label(path: Path) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if rel.startswith("..") else rel


# --- the schema, inspected -----------------------------------------------------------------


def _unwrap(tp: Any, meta: list) -> tuple[Any, list, bool]:
    """Strip Annotated (collecting constraint metadata) and Optional from a type."""
    optional = False
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp, *extra = get_args(tp)
            for item in extra:
                meta = meta + (list(item.metadata) if isinstance(item, FieldInfo) else [item])
        elif origin in (Union, types.UnionType):
            args = [a for a in get_args(tp) if a is not type(None)]
            optional = optional or len(args) < len(get_args(tp))
            if len(args) != 1:
                return Union[tuple(args)], meta, optional  # noqa: UP007 (built at runtime)
            tp = args[0]
        else:
            return tp, meta, optional


def _model(tp: Any, value: Any) -> type[BaseModel] | None:
    """Return the pydantic model a value of this type is validated with (graph: by kind)."""
    tp = _unwrap(tp, [])[0]
    if isclass(tp) and issubclass(tp, BaseModel):
        return tp
    if get_origin(tp) is Union:
        kind = value.get("kind") if isinstance(value, dict) else None
        members = get_args(tp)
        return next((m for m in members if m.model_fields["kind"].default == kind), members[0])
    return None


def _schema_at(path: tuple, data: Any) -> tuple[Any, list] | None:
    """(type, constraint metadata) of the field at ``path``, or None if not in the schema."""
    tp, meta, cur = Scenario, [], data
    for seg in path:
        model = _model(tp, cur)
        if model is not None:
            field = model.model_fields.get(seg) if isinstance(seg, str) else None
            if field is None:
                return None
            tp, meta = field.annotation, list(field.metadata)
            cur = cur.get(seg) if isinstance(cur, dict) else None
        else:
            tp, meta, _ = _unwrap(tp, meta)
            if get_origin(tp) is not list or not isinstance(seg, int):
                return None
            tp, meta = get_args(tp)[0], []
            cur = cur[seg] if isinstance(cur, list) and 0 <= seg < len(cur) else None
    return tp, meta


def _keys_at(path: tuple, data: Any) -> list[str]:
    """List the valid keys of the mapping at ``path`` (empty if it is not a mapping)."""
    found = _schema_at(path, data)
    cur = data
    for seg in path:
        cur = cur.get(seg) if isinstance(cur, dict) else None
    model = _model(found[0], cur) if found else None
    return list(model.model_fields) if model else []


def _describe(tp: Any, meta: list) -> str:
    """Say what a field accepts, from its type and ge/gt/le/lt/min_length constraints."""
    tp, meta, optional = _unwrap(tp, list(meta))
    bounds = {k: getattr(m, k) for m in meta for k in ("ge", "gt", "le", "lt")
              if getattr(m, k, None) is not None}
    if get_origin(tp) is Literal:
        text = ", ".join(str(a) for a in get_args(tp))
    elif get_origin(tp) is Union:
        text = "a mapping with kind: " + ", ".join(GRAPH_KINDS)
    elif tp is bool:
        text = "true or false"
    elif tp in (int, float):
        text = "a whole number" if tp is int else "a number"
        lo = next((k for k in ("ge", "gt") if k in bounds), None)
        hi = next((k for k in ("le", "lt") if k in bounds), None)
        if lo and hi:  # interval notation: [0, 1], (0, 1000]
            text += (f" in {'[' if lo == 'ge' else '('}{_num(bounds[lo])}, "
                     f"{_num(bounds[hi])}{']' if hi == 'le' else ')'}")
        elif lo or hi:
            op = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}[lo or hi]
            text += f" {op} {_num(bounds[lo or hi])}"
    elif tp is str:
        text = "text" if not any(getattr(m, "min_length", 0) for m in meta) else "non-empty text"
    elif get_origin(tp) is list:
        text = "a list, each " + _describe(get_args(tp)[0], [])
    elif isclass(tp) and issubclass(tp, BaseModel):
        text = "a mapping with keys " + ", ".join(tp.model_fields)
    else:
        text = str(tp)
    return text + " or null" if optional else text


def _allowed(path: tuple, data: Any) -> str | None:
    found = _schema_at(path, data)
    return _describe(*found) if found else None


def _unknown_key(path: tuple, data: Any, extra: tuple = ()) -> _Problem:
    valid = _keys_at(path[:-1], data) + list(extra)
    close = difflib.get_close_matches(str(path[-1]), valid, n=1)
    if close:
        return _Problem(path, _UNSET, f"unknown key; did you mean '{close[0]}'?")
    if not valid:
        return _Problem(path, _UNSET, f"unknown key; {_dotted(path[:-1])} has no sub-keys")
    return _Problem(path, _UNSET, "unknown key", ", ".join(valid))


def _first_error(err: ValidationError, union: tuple, tags) -> tuple:
    """The first pydantic error as ``(path, value, kind, ctx, msg)``.

    Inside the discriminated union at key path ``union`` pydantic puts the tag (one of
    ``tags``) into the location; it is dropped so that the path is the file's key path.
    """
    e = err.errors(include_url=False)[0]
    loc, n = list(e["loc"]), len(union)
    if tuple(loc[:n]) == tuple(union) and len(loc) > n and loc[n] in tags:
        del loc[n]
    return tuple(loc), e.get("input", _UNSET), e["type"], e.get("ctx") or {}, e["msg"]


def _is_nan(value: Any) -> bool:
    """Whether a value (a float, or text such as "nan") reads as NaN."""
    try:
        return isinstance(value, (float, str)) and math.isnan(float(value))
    except ValueError:
        return False


def _what(kind: str, ctx: dict, msg: str, value: Any = None) -> str:
    """What is wrong, in words, for a pydantic error type and its context."""
    if kind == "finite_number" and _is_nan(value):
        return "NaN is not allowed"
    template = _WHAT.get(kind, _WHAT.get(kind.split("_")[0], msg))
    return template.format(**{k: _num(v) for k, v in ctx.items()}) if "{" in template else template


def _from_pydantic(err: ValidationError, data: dict) -> _Problem:
    """Turn the first pydantic error into a _Problem (key path, bad value, what, allowed)."""
    path, value, kind, ctx, msg = _first_error(err, _GRAPH, GRAPH_KINDS)
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        value = value.get("kind", _UNSET) if isinstance(value, dict) else _UNSET
        what = "unknown graph kind" if kind == "union_tag_invalid" else "required key missing"
        return _Problem(path + ("kind",), value, what, ", ".join(GRAPH_KINDS))
    if kind == "extra_forbidden":
        return _unknown_key(path, data, ("extends",) if len(path) == 1 else ())
    if kind == "invalid_key":  # e.g. ``rules: {1: 0.5}``: a number or list used as a key
        valid = _keys_at(path[:-1], data) + (["extends"] if len(path) == 1 else [])
        what = f"key {_show(path[-1])} is not text ({type(path[-1]).__name__})"
        where = path[:-1] + (str(path[-1]),)  # positions record keys as written
        allowed = "the keys " + ", ".join(valid) if valid else "text keys"
        return _Problem(where, _UNSET, what, allowed)
    if kind == "missing":
        value = _UNSET
    if kind == "literal_error":  # e.g. "unknown seeding strategy", "unknown entry gate kind"
        what = "unknown " + " ".join(str(k) for k in path[-2:]).replace("_", " ")
    else:
        what = _what(kind, ctx, msg, value)
    return _Problem(path, value, what, _allowed(path, data))


def _leaves(obj: Any, path: tuple = ()):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _leaves(v, path + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _leaves(v, path + (i,))
    else:
        yield path, obj


def _check_numbers(data: dict) -> None:
    """Reject true/false where a number is expected (pydantic would read it as 1/0), inf, nan."""
    for path, value in _leaves(data):
        if isinstance(value, bool) or (isinstance(value, float) and not math.isfinite(value)):
            found = _schema_at(path, data)
            if found and _unwrap(found[0], [])[0] in (int, float):
                what = ("not a number" if isinstance(value, bool) else "NaN is not allowed"
                        if math.isnan(value) else "must be a finite number")
                raise _Problem(path, value, what, _describe(*found))


# --- cross-field rules ---------------------------------------------------------------------


def _cross_check(sc: Scenario) -> None:
    """Raise a _Problem for the first rule that involves more than one field."""
    n, g, r = sc.population.size, sc.population.graph, sc.rules
    seeds, pulled = sc.seeding.count, sc.mass_pull.count
    if g.kind != "edgelist" and seeds + pulled > n:
        what = f"seeding.count + mass_pull.count = {seeds + pulled} exceeds population.size = {n}"
        if seeds > n or pulled == 0:
            allowed = f"a whole number in [0, {max(0, n - pulled)}]"
            raise _Problem(("seeding", "count"), seeds, what, allowed)
        raise _Problem(("mass_pull", "count"), pulled, what, f"a whole number in [0, {n - seeds}]")
    if g.kind in ("barabasi_albert", "powerlaw_cluster") and g.m >= n:
        raise _Problem(_GRAPH + ("m",), g.m, f"must be < population.size = {n}",
                       f"a whole number in [1, {n - 1}]")
    if g.kind == "watts_strogatz" and (g.k % 2 or g.k >= n):
        what = "must be even" if g.k % 2 else f"must be < population.size = {n}"
        raise _Problem(_GRAPH + ("k",), g.k, what, f"an even whole number in [2, {n - 1}]")
    if g.kind == "well_mixed" and g.contacts >= n:
        raise _Problem(_GRAPH + ("contacts",), g.contacts, f"more contacts than the other "
                       f"{n - 1} persons", f"a whole number in [1, {n - 1}]")
    if g.kind == "circles" and g.sizes is not None and sum(g.sizes) != n:
        raise _Problem(_GRAPH + ("sizes",), g.sizes, f"sizes add up to {sum(g.sizes)}, not "
                       f"population.size = {n}", "circle sizes adding up to population.size")
    if g.kind == "circles" and g.sizes is None and g.count > n:
        raise _Problem(_GRAPH + ("count",), g.count, f"more circles than persons ({n})",
                       f"a whole number in [1, {n}]")
    for i in range(1, len(sc.milestones)):
        if sc.milestones[i] <= sc.milestones[i - 1]:
            what = f"must be greater than the previous milestone {sc.milestones[i - 1]}"
            raise _Problem(("milestones", i), sc.milestones[i], what, "strictly increasing counts")
    if r.hysteresis > r.active_threshold:
        raise _Problem(("rules", "hysteresis"), r.hysteresis, f"must be <= rules.active_threshold "
                       f"= {r.active_threshold}", f"a number in [0, {_num(r.active_threshold)}]")
    if sc.population.fit.circle_corr > 0 and g.kind != "circles":
        raise _Problem(("population", "fit", "circle_corr"), sc.population.fit.circle_corr,
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
    except _Problem as p:
        raise p.error({}, (source, None)) from None


# --- reading ---------------------------------------------------------------------------------


def _positions(node: yaml.Node, label: str, path: tuple, out: dict) -> None:
    """Record (label, line) of every key path under ``node``; reject duplicate keys."""
    if len(path) > 50:
        return
    if isinstance(node, yaml.MappingNode):
        seen = set()
        for knode, vnode in node.value:
            if knode.tag == "tag:yaml.org,2002:merge":
                continue
            key = path + (knode.value if isinstance(knode, yaml.ScalarNode) else str(knode.value),)
            line = knode.start_mark.line + 1
            if key[-1] in seen:
                raise ScenarioError(_message((label, line), key, _UNSET, "duplicate key",
                                             "each key once per mapping"))
            seen.add(key[-1])
            out[key] = (label, line)
            _positions(vnode, label, key, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out[path + (i,)] = (label, item.start_mark.line + 1)
            _positions(item, label, path + (i,), out)


# Parsed files, by (resolved path, label, modification time, size): building many models from
# the same scenario files (a notebook, a benchmark) parses each file once. Callers get copies.
_PARSED: dict[tuple, tuple[dict, dict]] = {}


def _read(path: Path, kind: str = "scenario",
          hint: str = "a mapping of keys such as name:, population:, rules:") -> tuple[dict, dict]:
    """One YAML file → (mapping, positions), with one-line errors for every way it can fail.

    ``kind`` and ``hint`` name the file in messages (sim.experiments reads experiment files).
    """
    label = _label(path)
    if not path.exists():
        raise ScenarioError(f"{label}: {kind} file not found")
    if path.is_dir():
        raise ScenarioError(f"{label}: is a directory, not a {kind} file")
    try:
        stat = path.stat()
        key = (str(path.resolve()), label, stat.st_mtime_ns, stat.st_size)
    except OSError:
        key = None
    if key in _PARSED:
        return copy.deepcopy(_PARSED[key])
    data, pos = _parse(path, label, kind, hint)
    if key is not None:
        if len(_PARSED) > 256:
            _PARSED.clear()
        _PARSED[key] = copy.deepcopy((data, pos))
    return data, pos


def _check_node(node: yaml.Node, label: str) -> None:
    """Refuse a composed YAML document that nests too deeply or expands to too many values.

    Aliases (``*name``) repeat the node they point to; counting every visit of an iterative
    walk counts the expanded document, and stops at the budget (so a "billion laughs" file
    of a few hundred bytes is refused in milliseconds instead of exhausting memory).
    """
    stack, count = [(node, 1)], 0
    while stack:
        item, depth = stack.pop()
        count += 1
        line = item.start_mark.line + 1
        if count > MAX_VALUES:
            raise ScenarioError(f"{label}:{line}: the YAML expands to more than {MAX_VALUES:,} "
                                "values (aliases *name repeat what an anchor &name marks); "
                                f"allowed: at most {MAX_VALUES:,} values after expansion")
        if depth > MAX_DEPTH:
            raise ScenarioError(f"{label}:{line}: nested deeper than {MAX_DEPTH} levels; "
                                f"allowed: mappings and lists at most {MAX_DEPTH} levels deep")
        if isinstance(item, yaml.MappingNode):
            stack.extend((v, depth + 1) for pair in item.value for v in pair)
        elif isinstance(item, yaml.SequenceNode):
            stack.extend((v, depth + 1) for v in item.value)


def _compose(text: str, label: str) -> Any:
    """Parse YAML text with the SafeLoader, refusing bombs and deep nesting (see _check_node).

    Returns ``(node, data)``; node is None for an empty document. YAML errors propagate.
    """
    loader = yaml.SafeLoader(text)
    try:
        try:
            node = loader.get_single_node()
        except RecursionError:
            raise ScenarioError(f"{label}: nested deeper than {MAX_DEPTH} levels; allowed: "
                                f"mappings and lists at most {MAX_DEPTH} levels deep") from None
        if node is None:
            return None, None
        _check_node(node, label)
        return node, loader.construct_document(node)
    finally:
        loader.dispose()


def load_yaml_value(text: str, label: str) -> Any:
    """One YAML value (e.g. of ``--set``) with the limits of scenario files; YAMLError as is."""
    return _compose(text, label)[1]


def _parse(path: Path, label: str, kind: str, hint: str) -> tuple[dict, dict]:
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
        if len(raw) > MAX_FILE_BYTES:
            raise ScenarioError(f"{label}: {kind} file larger than {MAX_FILE_BYTES:,} bytes; "
                                f"allowed: {kind} files up to {MAX_FILE_BYTES // 1_000_000} MB "
                                "(data such as edge lists go in files of their own)")
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ScenarioError(f"{label}: not UTF-8 text (bad byte at offset {e.start}); "
                            "save it as UTF-8") from None
    except OSError as e:
        raise ScenarioError(f"{label}: cannot read the file: {e.strerror}") from None
    pos: dict = {}
    try:
        node, data = _compose(text, label)
        if node is not None:
            _positions(node, label, (), pos)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"{label}:{mark.line + 1}" if mark else label
        if isinstance(e, yaml.constructor.ConstructorError):
            raise ScenarioError(f"{where}: cannot load: {e.problem}; allowed: plain YAML values "
                                "(mappings, lists, numbers, text, true/false), no tags") from None
        detail = (e.problem or "") + (f" ({e.context})" if e.context else "")
        raise ScenarioError(f"{where}: YAML syntax error: {detail}".replace("\n", " ")) from None
    except yaml.YAMLError as e:
        raise ScenarioError(f"{label}: YAML error: {e}".replace("\n", " ")) from None
    if data is None:
        raise ScenarioError(f"{label}: empty {kind} file; allowed: {hint}")
    if not isinstance(data, dict):
        raise ScenarioError(f"{label}:{node.start_mark.line + 1}: the top level is a "
                            f"{type(data).__name__}, not a mapping; allowed: {hint}")
    return data, pos


def _absolute_edge_path(data: dict, base_dir: Path) -> None:
    """Make a relative ``population.graph.path`` absolute, relative to ``base_dir``."""
    population = data.get("population")
    graph = population.get("graph") if isinstance(population, dict) else None
    if isinstance(graph, dict) and isinstance(graph.get("path"), str) and graph["path"]:
        graph["path"] = os.path.abspath(base_dir / Path(graph["path"]).expanduser())


def _merge(base: dict, over: dict, base_pos: dict, over_pos: dict) -> tuple[dict, dict]:
    """Deep-merge ``over`` into ``base``; positions of replaced subtrees are dropped."""
    pos = dict(base_pos)
    replaced: dict[tuple, tuple] = {}

    def rec(b: dict, o: dict, path: tuple) -> dict:
        out = dict(b)
        for key, value in o.items():
            kp, old = path + (key,), out.get(key)
            new_kind = kp == _GRAPH and isinstance(value, dict) and isinstance(old, dict) and \
                "kind" in value and value["kind"] != old.get("kind")
            if isinstance(old, dict) and isinstance(value, dict) and not new_kind:
                out[key] = rec(old, value, kp)
            else:
                out[key] = value
                replaced[kp] = (value, old)
                for q in [q for q in pos if len(q) > len(kp) and q[: len(kp)] == kp]:
                    del pos[q]
        return out

    merged = rec(base, over, ())
    pos.update(over_pos)
    for kp, (value, old) in replaced.items():  # a whole new graph: its missing keys are the
        if kp not in over_pos and isinstance(value, dict):  # override's, not the base file's
            pos.pop(kp, None)
            below = next((where for q, where in over_pos.items() if q[: len(kp)] == kp), None)
            if below is not None:
                pos[kp] = below
    return merged, pos


def merge_scenario_data(base: dict, over: dict) -> dict:
    """Deep-merge scenario data ``over`` into ``base`` as ``extends:`` does (a new graph kind
    replaces the whole graph mapping).

    Example:
        >>> merge_scenario_data({"rules": {"decay": 0.1, "fatigue": 0.2}}, {"rules": {"decay": 0.3}})
        {'rules': {'decay': 0.3, 'fatigue': 0.2}}
    """
    return _merge(base, over, {}, {})[0]


def _load_file(path: Path, chain: tuple[Path, ...] = ()) -> tuple[dict, dict]:
    """Read a file and, recursively, the files it extends; merged data and positions."""
    real, label = path.resolve(), _label(path)
    data, pos = _read(path)
    _absolute_edge_path(data, real.parent)
    if "extends" not in data:
        return data, pos
    parent = data.pop("extends")
    where = pos.pop(("extends",), (label, None))
    allowed = (f"a YAML file name, relative to {path.name}, or a shipped scenario in "
               f"{_label(SCENARIOS_DIR)} (e.g. fish_pond)")
    if not isinstance(parent, str) or not parent.strip():
        raise ScenarioError(_message(where, ("extends",), parent, "not a file name", allowed))
    target = real.parent / parent
    shipped = [SCENARIOS_DIR / parent] + ([SCENARIOS_DIR / f"{parent}.yaml"]
                                          if len(Path(parent).parts) == 1 else [])
    if not target.is_file():  # a shipped scenario, by file name or by name (fish_pond)
        target = next((p for p in shipped if p.is_file()), target)
    if not target.is_file():
        what = f"file not found ({target})"
        raise ScenarioError(_message(where, ("extends",), parent, what, allowed))
    if target.resolve() in chain + (real,):
        names = " -> ".join(p.name for p in chain + (real, target.resolve()))
        raise ScenarioError(_message(where, ("extends",), parent, f"extends cycle: {names}",
                                     "a chain of files without loops"))
    base, base_pos = _load_file(target, chain + (real,))
    return _merge(base, data, base_pos, pos)


def _apply_overrides(data: dict, pos: dict, overrides: list[str] | None) -> tuple[dict, dict]:
    """Apply ``KEY.PATH=VALUE`` strings in order; values are YAML (scalars, [lists], {maps})."""
    for raw in overrides or []:
        label = f"--set {_clip(raw)}"
        key, sep, text = raw.partition("=")
        path = tuple(part.strip() for part in key.strip().split("."))
        if not sep or not all(path):
            raise ScenarioError(f"{label}: expected KEY.PATH=VALUE, e.g. rules.invite_rate=0.01")
        try:
            value = load_yaml_value(text, label) if text.strip() else None
        except yaml.YAMLError as e:
            problem = getattr(e, "problem", None) or str(e)
            msg = f"{label}: value is not valid YAML: {problem}"
            raise ScenarioError(msg.replace("\n", " ")) from None
        for i in range(len(path)):
            if path[i] not in _keys_at(path[:i], data):
                raise _unknown_key(path[: i + 1], data).error({}, (label, None))
        if path[-1] == "path" and path[:-1] == _GRAPH and isinstance(value, str):
            value = os.path.abspath(Path(value).expanduser())
        nested = value
        for seg in reversed(path):
            nested = {seg: nested}
        where = {path + sub: (label, None) for sub, _ in _leaves(value)} | {path: (label, None)}
        data, pos = _merge(data, nested, pos, where)
    return data, pos


def _validate(data: dict, pos: dict, label: str, check_files: bool = False) -> Scenario:
    try:
        try:
            sc = Scenario.model_validate(data)
        except ValidationError as e:
            raise _from_pydantic(e, data) from None
        _check_numbers(data)
        _cross_check(sc)
        g = sc.population.graph
        if check_files and g.kind == "edgelist" and not Path(g.path).is_file():
            raise _Problem(_GRAPH + ("path",), g.path, "edge list file not found",
                           "a CSV or whitespace edge list, relative to the scenario file")
    except _Problem as p:
        raise p.error(pos, (label, None)) from None
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
    data, pos = _load_file(file)
    data, pos = _apply_overrides(data, pos, overrides)
    return _validate(data, pos, _label(file), check_files=True)


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
    _absolute_edge_path(data, Path.cwd())
    if "extends" in data:
        parent = data.pop("extends")
        if not isinstance(parent, (str, os.PathLike)):
            what = "not a file name"
            raise ScenarioError(_message((source, None), ("extends",), parent, what, "a path"))
        base, pos = _load_file(resolve_scenario_path(parent))
        data, pos = _merge(base, data, pos, {})
    return _validate(data, pos, source)


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
    _absolute_edge_path(data, Path.cwd())  # a relative edge list is read from the cwd
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml: same text, 10x faster
    return yaml.dump(data, Dumper=dumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=100)


def dump_scenario(sc: Scenario, path: str | os.PathLike) -> None:
    """Write :func:`scenario_to_yaml` to ``path``; :func:`load_scenario` reads it back equal."""
    Path(path).write_text(scenario_to_yaml(sc), encoding="utf-8")
