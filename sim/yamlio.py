"""Located YAML: files read with the line of every key, ``extends:``, ``--set``, one-line errors.

This is the reading layer shared by scenario files (:mod:`sim.scenario_io`) and experiment
files (:mod:`sim.experiments`). Reading uses :class:`yaml.SafeLoader` only. Every key path
remembers the file and line where it was last set (its *position*), so that a bad value is
reported as one line naming the file, the line, the key, the value and what is allowed::

    scenarios/x.yaml:14: rules.invite_rate = 1.5: must be <= 1; allowed: a number in [0, 1]

Merging rules: ``over`` is deep-merged into ``base`` (lists and scalars replace); a mapping at
one of the ``kinded`` key paths whose ``kind`` differs from the inherited one replaces it
whole, so switching kinds never leaves stale keys. ``--set`` overrides follow the same rules.

Example:
    >>> setting = parse_set("rules.invite_rate=0.01")
    >>> setting.path, setting.value, setting.nested()
    (('rules', 'invite_rate'), 0.01, {'rules': {'invite_rate': 0.01}})
"""

from __future__ import annotations

import copy
import difflib
import math
import os
import types
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from inspect import isclass
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from .errors import ScenarioError
from .parameters import bounds_text, num

MAX_FILE_BYTES = 1_000_000  # scenario and experiment files (edge lists are separate files)
MAX_DEPTH = 50  # nesting of mappings and lists in one YAML document
MAX_VALUES = 100_000  # values of a YAML document, counted after expanding its aliases (*name)

UNSET: Any = object()  # "no value to show" in a message (a missing or unknown key)
WHAT = {  # pydantic error type (or its first word) -> what is wrong, in words
    "greater_than_equal": "must be >= {ge}", "greater_than": "must be > {gt}",
    "less_than_equal": "must be <= {le}", "less_than": "must be < {lt}",
    "string_too_short": "must not be empty",
    "too_short": "too few items (at least {min_length})",
    "too_long": "too many items (at most {max_length})",
    "string_too_long": "too long (at most {max_length} characters)",
    "missing": "required key missing", "float": "not a number", "int": "not a whole number",
    "bool": "not true or false", "string": "not text (put it in quotes)", "list": "not a list",
    "model": "not a mapping", "dict": "not a mapping",
    "finite_number": "must be a finite number",
}
Where = tuple[str | None, int | None]  # (file or --set label, line)
KeysAt = Callable[[tuple, Any], list[str]]  # (key path, data) -> valid keys of the mapping there


# --- messages -------------------------------------------------------------------------------


class Problem(Exception):
    """What is wrong at a key path; :meth:`error` turns it into a ScenarioError with its place.

    Args:
        path: The key path (strings for mapping keys, ints for list items).
        value: The bad value, or :data:`UNSET` when there is none to show.
        what: What is wrong, in words.
        allowed: What is allowed instead (optional).
    """

    def __init__(self, path: tuple, value: Any, what: str, allowed: str | None = None):
        """Note what is wrong at ``path`` (see the class docstring)."""
        super().__init__(what)
        self.path, self.value, self.what, self.allowed = path, value, what, allowed

    def error(self, pos: dict, default: Where) -> ScenarioError:
        """The one-line error, placed at the longest prefix of the path found in ``pos``.

        Args:
            pos: Positions ``{key path: (label, line)}``.
            default: Where to place it when no prefix of the path has a position.

        Returns:
            The ScenarioError to raise.
        """
        where = default
        for n in range(len(self.path), 0, -1):
            if self.path[:n] in pos:
                where = pos[self.path[:n]]
                break
        return ScenarioError(message(where, self.path, self.value, self.what, self.allowed))


def message(where: Where, path: tuple, value: Any, what: str, allowed: str | None) -> str:
    """One line: ``LABEL:LINE: KEY.PATH = VALUE: what; allowed: ...``.

    Example:
        >>> message(("s.yaml", 3), ("rules", "decay"), 2, "must be <= 1", "a number in [0, 1]")
        's.yaml:3: rules.decay = 2: must be <= 1; allowed: a number in [0, 1]'
    """
    label, line = where
    head = "" if label is None else f"{label}:{line}: " if line else f"{label}: "
    key = dotted(path) + ("" if value is UNSET else f" = {show(value)}")
    text = f"{head}{key}: {what}" + (f"; allowed: {allowed}" if allowed else "")
    return text.replace("\r", " ").replace("\n", " ")


def dotted(path: tuple) -> str:
    """A key path as text: ``('milestones', 0)`` -> ``milestones[0]``.

    Example:
        >>> dotted(("population", "graph", "m"))
        'population.graph.m'
    """
    return "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in path).lstrip(".")


def show(value: Any) -> str:
    """A value as the user wrote it in YAML, cut to 80 characters.

    Example:
        >>> show(True), show("x"), show([1, 2])
        ('true', "'x'", '[1, 2]')
    """
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


def clip(text: str, width: int = 80) -> str:
    """Text cut to ``width`` characters (with "...") for echoing user input in a message.

    Example:
        >>> clip("abcdef", 5)
        'ab...'
    """
    return text if len(text) <= width else text[: width - 3] + "..."


def label(path: str | os.PathLike) -> str:
    """How a file is named in messages: relative to the working directory when below it.

    Example:
        >>> label("/")
        '/'
    """
    path = Path(path)
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if rel.startswith("..") else rel


# --- the schema, inspected ------------------------------------------------------------------


def unwrap(tp: Any, meta: list) -> tuple[Any, list, bool]:
    """Strip Annotated (collecting constraint metadata) and Optional from a type.

    Args:
        tp: A type annotation.
        meta: Constraint metadata collected so far.

    Returns:
        ``(type, metadata, optional)``.

    Example:
        >>> unwrap(int | None, [])
        (<class 'int'>, [], True)
    """
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


def union_kinds(tp: Any) -> list[str]:
    """The ``kind`` values of the models of a discriminated union, in order."""
    return [m.model_fields["kind"].default for m in get_args(tp)
            if isclass(m) and issubclass(m, BaseModel) and "kind" in m.model_fields]


def model_of(tp: Any, value: Any) -> type[BaseModel] | None:
    """The pydantic model a value of this type is validated with (a union: by ``kind``).

    Args:
        tp: A field's type annotation.
        value: The value (a mapping whose ``kind`` picks the member of a union).

    Returns:
        The model, or None when the type is not a model.
    """
    tp = unwrap(tp, [])[0]
    if isclass(tp) and issubclass(tp, BaseModel):
        return tp
    if get_origin(tp) is Union:
        kind = value.get("kind") if isinstance(value, dict) else None
        members = get_args(tp)
        return next((m for m in members if m.model_fields["kind"].default == kind), members[0])
    return None


def schema_at(root: type[BaseModel], path: tuple, data: Any) -> tuple[Any, list] | None:
    """(type, constraint metadata) of the field at ``path`` under model ``root``, or None.

    Args:
        root: The model of the whole document (e.g. Scenario).
        path: A key path.
        data: The document's data (a union's member is picked by its ``kind``).

    Returns:
        ``(annotation, metadata)``, or None when the path is not in the schema.
    """
    tp, meta, cur = root, [], data
    for seg in path:
        model = model_of(tp, cur)
        if model is not None:
            field = model.model_fields.get(seg) if isinstance(seg, str) else None
            if field is None:
                return None
            tp, meta = field.annotation, list(field.metadata)
            cur = cur.get(seg) if isinstance(cur, dict) else None
        else:
            tp, meta, _ = unwrap(tp, meta)
            if get_origin(tp) is not list or not isinstance(seg, int):
                return None
            tp, meta = get_args(tp)[0], []
            cur = cur[seg] if isinstance(cur, list) and 0 <= seg < len(cur) else None
    return tp, meta


def keys_at(root: type[BaseModel], path: tuple, data: Any) -> list[str]:
    """The valid keys of the mapping at ``path`` (empty if it is not a mapping).

    Example:
        >>> from sim.config import Scenario
        >>> keys_at(Scenario, ("population", "graph"), {})[:2]
        ['kind', 'm']
    """
    found = schema_at(root, path, data)
    cur = data
    for seg in path:
        cur = cur.get(seg) if isinstance(cur, dict) else None
    model = model_of(found[0], cur) if found else None
    return list(model.model_fields) if model else []


def describe(tp: Any, meta: Sequence) -> str:
    """Say what a field accepts, from its type and ge/gt/le/lt/min_length constraints.

    Example:
        >>> from typing import Annotated
        >>> from pydantic import Field
        >>> describe(Annotated[float, Field(ge=0, le=1)], [])
        'a number in [0, 1]'
    """
    tp, meta, optional = unwrap(tp, list(meta))
    bounds = {k: getattr(m, k) for m in meta for k in ("ge", "gt", "le", "lt")
              if getattr(m, k, None) is not None}
    if get_origin(tp) is Literal:
        text = ", ".join(str(a) for a in get_args(tp))
    elif get_origin(tp) is Union:
        text = "a mapping with kind: " + ", ".join(union_kinds(tp))
    elif tp is bool:
        text = "true or false"
    elif tp in (int, float):
        text = ("a whole number" if tp is int else "a number") + bounds_text(bounds)
    elif tp is str:
        text = "text" if not any(getattr(m, "min_length", 0) for m in meta) else "non-empty text"
    elif get_origin(tp) is list:
        text = "a list, each " + describe(get_args(tp)[0], [])
    elif isclass(tp) and issubclass(tp, BaseModel):
        text = "a mapping with keys " + ", ".join(tp.model_fields)
    else:
        text = str(tp)
    return text + " or null" if optional else text


def unknown_key(path: tuple, valid: list[str]) -> Problem:
    """The Problem of an unknown key at ``path``, suggesting the closest of ``valid``."""
    close = difflib.get_close_matches(str(path[-1]), valid, n=1)
    if close:
        return Problem(path, UNSET, f"unknown key; did you mean '{close[0]}'?")
    if not valid:
        return Problem(path, UNSET, f"unknown key; {dotted(path[:-1])} has no sub-keys")
    return Problem(path, UNSET, "unknown key", ", ".join(valid))


def first_error(err: ValidationError, union: tuple, tags: Sequence[str]) -> tuple:
    """The first pydantic error as ``(path, value, kind, ctx, msg)``.

    Inside the discriminated union at key path ``union`` pydantic puts the tag (one of
    ``tags``) into the location; it is dropped so that the path is the file's key path.
    """
    e = err.errors(include_url=False)[0]
    loc, n = list(e["loc"]), len(union)
    if tuple(loc[:n]) == tuple(union) and len(loc) > n and loc[n] in tags:
        del loc[n]
    return tuple(loc), e.get("input", UNSET), e["type"], e.get("ctx") or {}, e["msg"]


def is_nan(value: Any) -> bool:
    """Whether a value (a float, or text such as "nan") reads as NaN.

    Example:
        >>> is_nan("nan"), is_nan(1.0), is_nan("x")
        (True, False, False)
    """
    try:
        return isinstance(value, (float, str)) and math.isnan(float(value))
    except ValueError:
        return False


def what(kind: str, ctx: dict, msg: str, value: Any = None) -> str:
    """What is wrong, in words, for a pydantic error type and its context.

    Example:
        >>> what("less_than_equal", {"le": 1.0}, "")
        'must be <= 1'
    """
    if kind == "finite_number" and is_nan(value):
        return "NaN is not allowed"
    template = WHAT.get(kind, WHAT.get(kind.split("_")[0], msg))
    return template.format(**{k: num(v) for k, v in ctx.items()}) if "{" in template else template


# --- data and positions ---------------------------------------------------------------------


def leaves(obj: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    """Every ``(key path, value)`` of the scalars in nested mappings and lists.

    Example:
        >>> list(leaves({"a": {"b": 1}, "c": [2]}))
        [(('a', 'b'), 1), (('c', 0), 2)]
    """
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from leaves(v, path + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from leaves(v, path + (i,))
    else:
        yield path, obj


def nested(path: tuple, value: Any) -> dict:
    """A value placed at a key path: ``(a, b), 1`` -> ``{a: {b: 1}}``.

    Example:
        >>> nested(("rules", "decay"), 0.2)
        {'rules': {'decay': 0.2}}
    """
    for seg in reversed(path):
        value = {seg: value}
    return value


def sub_positions(pos: dict, prefix: tuple, to: tuple) -> dict:
    """The positions under ``prefix``, re-keyed under ``to``.

    Example:
        >>> sub_positions({("overrides", "steps"): ("e.yaml", 4)}, ("overrides",), ())
        {('steps',): ('e.yaml', 4)}
    """
    n = len(prefix)
    return {to + k[n:]: v for k, v in pos.items() if k[:n] == prefix}


def merge(base: dict, over: dict, base_pos: dict | None = None, over_pos: dict | None = None,
          kinded: Sequence[tuple] = ()) -> tuple[dict, dict]:
    """Deep-merge ``over`` into ``base``; positions of replaced subtrees are dropped.

    Args:
        base: The inherited data.
        over: The data that overrides it (lists and scalars replace).
        base_pos: Positions of ``base``.
        over_pos: Positions of ``over``.
        kinded: Key paths of mappings replaced whole when ``over`` gives another ``kind``.

    Returns:
        ``(merged data, merged positions)``.

    Example:
        >>> merge({"g": {"kind": "a", "m": 2}}, {"g": {"kind": "b"}}, kinded=[("g",)])[0]
        {'g': {'kind': 'b'}}
    """
    pos = dict(base_pos or {})
    over_pos = over_pos or {}
    kinded = {tuple(k) for k in kinded}
    replaced: dict[tuple, tuple] = {}

    def rec(b: dict, o: dict, path: tuple) -> dict:
        out = dict(b)
        for key, value in o.items():
            kp, old = path + (key,), out.get(key)
            new_kind = kp in kinded and isinstance(value, dict) and isinstance(old, dict) and \
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
    for kp, (value, _old) in replaced.items():  # a whole new mapping: its missing keys are
        if kp not in over_pos and isinstance(value, dict):  # the override's, not the base's
            pos.pop(kp, None)
            below = next((where for q, where in over_pos.items() if q[: len(kp)] == kp), None)
            if below is not None:
                pos[kp] = below
    return merged, pos


# --- --set KEY.PATH=VALUE -------------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    """One parsed ``--set KEY.PATH=VALUE``: its key path, YAML value and message label."""

    path: tuple[str, ...]
    value: Any
    label: str

    def nested(self) -> dict:
        """The value placed at its key path, as a mapping to merge."""
        return nested(self.path, copy.deepcopy(self.value))


def parse_set(raw: str) -> Setting:
    """Parse one ``KEY.PATH=VALUE`` (the value is YAML: a scalar, ``[a list]``, ``{a: map}``).

    Args:
        raw: The text after ``--set``.

    Returns:
        The Setting (an empty value is null).

    Raises:
        ScenarioError: ``--set RAW: expected KEY.PATH=VALUE ...``, or a value that is not YAML.

    Example:
        >>> parse_set("milestones=[10, 100]").value
        [10, 100]
    """
    where = f"--set {clip(raw)}"
    key, sep, text = raw.partition("=")
    path = tuple(part.strip() for part in key.strip().split("."))
    if not sep or not all(path):
        raise ScenarioError(f"{where}: expected KEY.PATH=VALUE, e.g. rules.invite_rate=0.01")
    try:
        value = load_yaml_value(text, where) if text.strip() else None
    except yaml.YAMLError as e:
        problem = getattr(e, "problem", None) or str(e)
        msg = f"{where}: value is not valid YAML: {problem}"
        raise ScenarioError(msg.replace("\n", " ")) from None
    return Setting(path, value, where)


def settings_data(raws: Sequence[str], kinded: Sequence[tuple] = ()) -> dict:
    """Several ``--set`` strings as one mapping of overrides, merged in order.

    Example:
        >>> settings_data(["rules.decay=0.2", "rules.fatigue=0.1"])
        {'rules': {'decay': 0.2, 'fatigue': 0.1}}
    """
    data: dict = {}
    for raw in raws:
        data = merge(data, parse_set(raw).nested(), kinded=kinded)[0]
    return data


def apply_settings(data: dict, pos: dict, raws: Sequence[str] | None, *, keys: KeysAt,
                   kinded: Sequence[tuple] = (),
                   fix: Callable[[tuple, Any], Any] | None = None) -> tuple[dict, dict]:
    """Apply ``KEY.PATH=VALUE`` strings to located data, in order, checking every key.

    Args:
        data: The document's data.
        pos: Its positions.
        raws: The ``--set`` strings.
        keys: ``keys(path, data)``: the valid keys of the mapping at a key path.
        kinded: As in :func:`merge`.
        fix: ``fix(path, value)``: the value to store (e.g. a path made absolute).

    Returns:
        ``(data, positions)``; the positions of a set value are its ``--set`` label.

    Raises:
        ScenarioError: a malformed setting or an unknown key (one line).
    """
    for raw in raws or []:
        setting = parse_set(raw)
        path, value, where = setting.path, setting.value, setting.label
        for i in range(len(path)):
            if path[i] not in keys(path[:i], data):
                raise unknown_key(path[: i + 1], keys(path[:i], data)).error(
                    {}, (where, None))
        if fix is not None:
            value = fix(path, value)
        at = {path + sub: (where, None) for sub, _ in leaves(value)} | {path: (where, None)}
        data, pos = merge(data, nested(path, value), pos, at, kinded)
    return data, pos


# --- reading --------------------------------------------------------------------------------


def positions(node: yaml.Node, where: str, path: tuple, out: dict) -> None:
    """Record ``(label, line)`` of every key path under ``node``; reject duplicate keys."""
    if len(path) > MAX_DEPTH:
        return
    if isinstance(node, yaml.MappingNode):
        seen = set()
        for knode, vnode in node.value:
            if knode.tag == "tag:yaml.org,2002:merge":
                continue
            key = path + (knode.value if isinstance(knode, yaml.ScalarNode) else str(knode.value),)
            line = knode.start_mark.line + 1
            if key[-1] in seen:
                raise ScenarioError(message((where, line), key, UNSET, "duplicate key",
                                            "each key once per mapping"))
            seen.add(key[-1])
            out[key] = (where, line)
            positions(vnode, where, key, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out[path + (i,)] = (where, item.start_mark.line + 1)
            positions(item, where, path + (i,), out)


# Parsed files, by (resolved path, label, modification time, size): building many models from
# the same files (a notebook, a benchmark) parses each file once. Callers get copies.
_PARSED: dict[tuple, tuple[dict, dict]] = {}


def read_yaml(path: str | os.PathLike, kind: str = "scenario",
              hint: str = "a mapping of keys such as name:, population:, rules:"
              ) -> tuple[dict, dict]:
    """One YAML file -> (mapping, positions), with one-line errors for every way it can fail.

    Args:
        path: The file.
        kind: What the file is, in messages ("scenario", "experiment").
        hint: What the top level should be, in messages.

    Returns:
        ``(data, positions)``: copies, the caller may change them.

    Raises:
        ScenarioError: missing, a folder, too large, not UTF-8, not YAML, not a mapping,
            a duplicate key, nested too deeply or expanding to too many values.

    Example:
        >>> from sim.scenario_io import SCENARIOS_DIR
        >>> data, pos = read_yaml(SCENARIOS_DIR / "no_feed.yaml")
        >>> label_, line = pos[("extends",)]
        >>> data["extends"], label_.endswith("no_feed.yaml"), line > 0
        ('fish_pond.yaml', True, True)
    """
    path = Path(path)
    where = label(path)
    if not path.exists():
        raise ScenarioError(f"{where}: {kind} file not found")
    if path.is_dir():
        raise ScenarioError(f"{where}: is a directory, not a {kind} file")
    try:
        stat = path.stat()
        key = (str(path.resolve()), where, stat.st_mtime_ns, stat.st_size)
    except OSError:
        key = None
    if key in _PARSED:
        return copy.deepcopy(_PARSED[key])
    data, pos = _parse(path, where, kind, hint)
    if key is not None:
        if len(_PARSED) > 256:
            _PARSED.clear()
        _PARSED[key] = copy.deepcopy((data, pos))
    return data, pos


def _check_node(node: yaml.Node, where: str) -> None:
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
            raise ScenarioError(f"{where}:{line}: the YAML expands to more than {MAX_VALUES:,} "
                                "values (aliases *name repeat what an anchor &name marks); "
                                f"allowed: at most {MAX_VALUES:,} values after expansion")
        if depth > MAX_DEPTH:
            raise ScenarioError(f"{where}:{line}: nested deeper than {MAX_DEPTH} levels; "
                                f"allowed: mappings and lists at most {MAX_DEPTH} levels deep")
        if isinstance(item, yaml.MappingNode):
            stack.extend((v, depth + 1) for pair in item.value for v in pair)
        elif isinstance(item, yaml.SequenceNode):
            stack.extend((v, depth + 1) for v in item.value)


# libyaml's parser when PyYAML has it (its wheels do): the same safe constructor, and it
# composes a scenario about 15 times faster than the pure-Python parser (measured: 3 ms against
# 50 ms for base.yaml), which was a tenth of ``fishpond validate``
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _compose(text: str, where: str) -> Any:
    """Parse YAML text with the SafeLoader, refusing bombs and deep nesting (see _check_node).

    libyaml's loader is used when PyYAML has it. Returns ``(node, data)``; node is None for
    an empty document. YAML errors propagate.
    """
    too_deep = (f"{where}: nested deeper than {MAX_DEPTH} levels; allowed: "
                f"mappings and lists at most {MAX_DEPTH} levels deep")
    loader = _SAFE_LOADER(text)
    try:
        try:
            node = loader.get_single_node()
        except RecursionError:  # the pure-Python composer
            raise ScenarioError(too_deep) from None
        except yaml.YAMLError as e:  # libyaml stops at its own depth limit
            if "maximum nesting depth" in str(e):
                raise ScenarioError(too_deep) from None
            raise
        if node is None:
            return None, None
        _check_node(node, where)
        return node, loader.construct_document(node)
    finally:
        loader.dispose()


def load_yaml_value(text: str, where: str) -> Any:
    """One YAML value (e.g. of ``--set``) with the limits of files; YAMLError as is.

    Example:
        >>> load_yaml_value("{a: [1, 2]}", "--set x")
        {'a': [1, 2]}
    """
    return _compose(text, where)[1]


def _parse(path: Path, where: str, kind: str, hint: str) -> tuple[dict, dict]:
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
        if len(raw) > MAX_FILE_BYTES:
            raise ScenarioError(f"{where}: {kind} file larger than {MAX_FILE_BYTES:,} bytes; "
                                f"allowed: {kind} files up to {MAX_FILE_BYTES // 1_000_000} MB "
                                "(data such as edge lists go in files of their own)")
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ScenarioError(f"{where}: not UTF-8 text (bad byte at offset {e.start}); "
                            "save it as UTF-8") from None
    except OSError as e:
        raise ScenarioError(f"{where}: cannot read the file: {e.strerror}") from None
    pos: dict = {}
    try:
        node, data = _compose(text, where)
        if node is not None:
            positions(node, where, (), pos)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        at = f"{where}:{mark.line + 1}" if mark else where
        if isinstance(e, yaml.constructor.ConstructorError):
            raise ScenarioError(f"{at}: cannot load: {e.problem}; allowed: plain YAML values "
                                "(mappings, lists, numbers, text, true/false), no tags") from None
        detail = (e.problem or "") + (f" ({e.context})" if e.context else "")
        raise ScenarioError(f"{at}: YAML syntax error: {detail}".replace("\n", " ")) from None
    except yaml.YAMLError as e:
        raise ScenarioError(f"{where}: YAML error: {e}".replace("\n", " ")) from None
    if data is None:
        raise ScenarioError(f"{where}: empty {kind} file; allowed: {hint}")
    if not isinstance(data, dict):
        raise ScenarioError(f"{where}:{node.start_mark.line + 1}: the top level is a "
                            f"{type(data).__name__}, not a mapping; allowed: {hint}")
    return data, pos


# --- extends: ---------------------------------------------------------------------------------


def extends_target(path: Path, parent: str, search: Path | None) -> Path:
    """The file that ``extends: PARENT`` in ``path`` names (it may not exist).

    Relative to ``path``'s folder first; else, in ``search``, by file name or by bare name
    (``fish_pond`` for ``fish_pond.yaml``).
    """
    target = path.resolve().parent / parent
    if target.is_file() or search is None:
        return target
    found = [search / parent] + ([search / f"{parent}.yaml"] if len(Path(parent).parts) == 1
                                 else [])
    return next((p for p in found if p.is_file()), target)


def extends_chain(path: str | os.PathLike, search: Path | None = None,
                  limit: int = 64) -> list[Path]:
    """A file and the files it ``extends`` (as far as they can be found and read).

    Example:
        >>> from sim.scenario_io import SCENARIOS_DIR
        >>> [p.name for p in extends_chain(SCENARIOS_DIR / "no_feed.yaml", SCENARIOS_DIR)]
        ['no_feed.yaml', 'fish_pond.yaml', 'base.yaml']
    """
    files: list[Path] = []
    p: Path | None = Path(path)
    while p is not None and p.resolve() not in files and len(files) < limit:
        files.append(p.resolve())
        try:
            data, _ = read_yaml(p)
        except ScenarioError:
            break
        parent = data.get("extends")
        if not isinstance(parent, str) or not parent.strip():
            break
        target = extends_target(p, parent, search)
        p = target if target.is_file() else None
    return files


def load_extending(path: str | os.PathLike, *, search: Path | None = None,
                   search_hint: str = "", kinded: Sequence[tuple] = (),
                   prepare: Callable[[dict, Path], None] | None = None,
                   chain: tuple[Path, ...] = ()) -> tuple[dict, dict]:
    """Read a file and, recursively, the files it ``extends``; merged data and positions.

    Args:
        path: The file.
        search: A folder where ``extends`` names are also looked up (shipped files).
        search_hint: How to name that folder in the "allowed" part of a message.
        kinded: As in :func:`merge`.
        prepare: ``prepare(data, folder)`` is called on each file's data with its folder
            (e.g. to make relative paths absolute).
        chain: The files that extend this one (to refuse cycles); leave it empty.

    Returns:
        ``(data, positions)`` of the whole chain, without ``extends``.

    Raises:
        ScenarioError: an unreadable file, a bad or missing ``extends`` target, a cycle.
    """
    path = Path(path)
    real, where = path.resolve(), label(path)
    data, pos = read_yaml(path)
    if prepare is not None:
        prepare(data, real.parent)
    if "extends" not in data:
        return data, pos
    parent = data.pop("extends")
    at = pos.pop(("extends",), (where, None))
    allowed = f"a YAML file name, relative to {path.name}" + (f", {search_hint}"
                                                              if search_hint else "")
    if not isinstance(parent, str) or not parent.strip():
        raise ScenarioError(message(at, ("extends",), parent, "not a file name", allowed))
    target = extends_target(path, parent, search)
    if not target.is_file():
        what_ = f"file not found ({target})"
        raise ScenarioError(message(at, ("extends",), parent, what_, allowed))
    if target.resolve() in chain + (real,):
        names = " -> ".join(p.name for p in chain + (real, target.resolve()))
        raise ScenarioError(message(at, ("extends",), parent, f"extends cycle: {names}",
                                    "a chain of files without loops"))
    base, base_pos = load_extending(target, search=search, search_hint=search_hint,
                                    kinded=kinded, prepare=prepare, chain=chain + (real,))
    return merge(base, data, base_pos, pos, kinded)
