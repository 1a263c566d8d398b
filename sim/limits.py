"""What a run or a sweep will cost, estimated from the scenario before anything is built.

A scenario that cannot fit in memory (``population.size: 2000000000``, a ``complete`` graph
of 100,000 persons) is refused with one line naming the key and the estimate, instead of
failing minutes later with an allocation traceback. The estimates are deliberately rough
(within a factor of about two of what a run uses); the limit is the memory available on
this machine, or a ``max_memory`` the caller sets (``--max-memory`` on the command line).

Example:
    >>> from sim.config import Scenario
    >>> est = estimate_run(Scenario())
    >>> est.memory < 1e9, est.seconds > 0
    (True, True)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import FishpondError, ScenarioError

if TYPE_CHECKING:  # pragma: no cover (annotations only: the command line starts without pydantic)
    from .config import Scenario

MAX_RUNS = 100_000  # runs of one sweep or compare, unless raised (--max-runs)

# Bytes per person and per (undirected) edge while a run is built and while it runs: the
# population state, the kernels' buffers, the fit draws, the edge arrays while the CSR graph
# is assembled (generators of our own) or networkx's dictionaries (powerlaw_cluster).
_PERSON_BYTES = {"numba": 250, "agents": 2_000}
_EDGE_BYTES = {"own": 64, "networkx": 1_000, "agents": 150}
_FIXED_BYTES = 200_000_000  # the interpreter, numpy, numba, pandas
# Seconds per person-day and per edge-day (an edge is looked at from both ends); rough.
_PERSON_DAY_S = {"numba": 2e-8, "agents": 2e-6}
_EDGE_DAY_S = {"numba": 2e-9, "agents": 2e-7}


@dataclass(frozen=True)
class Estimate:
    """Rough cost of one run: peak memory in bytes, time in seconds, what drives them."""

    memory: int
    seconds: float
    edges: int
    key: str


def _edges(sc: Scenario) -> tuple[int, str]:
    """Expected number of undirected edges and the key path that sets it."""
    n, g = sc.population.size, sc.population.graph
    if g.kind in ("barabasi_albert", "powerlaw_cluster"):
        return g.m * n, "population.graph.m"
    if g.kind == "watts_strogatz":
        return n * g.k // 2, "population.graph.k"
    if g.kind == "complete":
        return n * (n - 1) // 2, "population.size"
    if g.kind == "circles":
        sizes = g.sizes or [n // g.count] * g.count
        within = sum(s * (s - 1) // 2 for s in sizes)
        return int(g.p_in * within + g.p_out * (n * (n - 1) // 2 - within)), "population.graph"
    if g.kind == "edgelist":
        try:
            size = Path(g.path).stat().st_size
        except OSError:
            size = 0
        return size // 8, "population.graph.path"  # lines of about 8 bytes ("12 345\n")
    return 0, "population.size"  # well_mixed: no graph


def estimate_run(sc: Scenario, engine: str = "numba") -> Estimate:
    """Estimate the peak memory and the time of one run of ``sc``.

    Args:
        sc: A validated scenario.
        engine: ``"numba"`` or ``"agents"`` (the agents engine keeps a Python object per
            person and a Python list of neighbours per person).

    Returns:
        An :class:`Estimate`; ``key`` names the key path that dominates the memory.
    """
    engine = engine if engine in _PERSON_BYTES else "numba"
    n, g = sc.population.size, sc.population.graph
    edges, edge_key = _edges(sc)
    kind = "agents" if engine == "agents" else "networkx" if g.kind == "powerlaw_cluster" else "own"
    per_edge = _EDGE_BYTES[kind] + (_EDGE_BYTES["own"] if kind == "agents" else 0)
    if g.kind == "edgelist":
        per_edge += 100  # the file's text, its lines and the parsed columns
    person_mem, edge_mem = n * _PERSON_BYTES[engine], edges * per_edge
    memory = _FIXED_BYTES + person_mem + edge_mem
    contacts = g.contacts if g.kind == "well_mixed" else 0
    seconds = sc.steps * (n * _PERSON_DAY_S[engine] + (2 * edges + n * contacts)
                          * _EDGE_DAY_S[engine])
    dense = edge_key in ("population.graph", "population.graph.path")  # not set by the size
    key = edge_key if dense and edge_mem > person_mem else "population.size"
    return Estimate(int(memory), float(seconds), edges, key)


def available_memory() -> int:
    """Memory this process may still use, in bytes (MemAvailable; a cgroup limit if lower)."""
    found = []
    try:
        import psutil

        found.append(int(psutil.virtual_memory().available))
    except Exception:  # noqa: BLE001 (psutil missing or unsupported: fall back to /proc)
        try:
            text = Path("/proc/meminfo").read_text()
            found.append(int(re.search(r"MemAvailable:\s+(\d+) kB", text).group(1)) * 1024)
        except (OSError, AttributeError, ValueError):
            pass
    for name in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            limit = Path(name).read_text().strip()
            used_file = Path(name).with_name("memory.current" if name.endswith(".max")
                                            else "memory.usage_in_bytes")
            if limit.isdigit() and int(limit) < 2**60:
                found.append(int(limit) - int(used_file.read_text().strip()))
        except (OSError, ValueError):
            pass
    return max(min(found), 0) if found else 2**62


def format_bytes(n: float) -> str:
    """``1.5 GB`` style: decimal units, three significant digits.

    Example:
        >>> format_bytes(37_000_000_000), format_bytes(512)
        ('37 GB', '512 B')
    """
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.3g} {unit}" if n / size < 100 else f"{n / size:.0f} {unit}"
    return f"{int(n)} B"


def format_seconds(s: float) -> str:
    """``3.2 hours`` style.

    Example:
        >>> format_seconds(90), format_seconds(7200), format_seconds(3 * 86400)
        ('1.5 minutes', '2 hours', '3 days')
    """
    for unit, size in (("years", 365 * 86400), ("days", 86400), ("hours", 3600),
                       ("minutes", 60)):
        if s >= size:
            return f"{s / size:.2g} {unit}"
    return f"{s:.2g} s"


def parse_memory(text: str) -> int:
    """Parse ``--max-memory`` text (``8GB``, ``500 MB``, ``2e9``) into bytes.

    Raises:
        FishpondError: not a positive amount of memory.

    Example:
        >>> parse_memory("8GB"), parse_memory("512 MiB"), parse_memory("1e9")
        (8000000000, 536870912, 1000000000)
    """
    units = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
             "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12,
             "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]*)?(?:e[0-9]+)?)\s*([a-z]*)\s*", str(text).lower())
    value = float(m.group(1)) * units[m.group(2)] if m and m.group(2) in units else 0.0
    if not 0 < value < 2**62:
        raise FishpondError(f"--max-memory {text}: not an amount of memory; allowed: a positive "
                            "number of bytes with an optional unit, e.g. 8GB, 500MB, 16GiB")
    return int(value)


def check_run(sc: Scenario, *, engine: str = "numba", max_memory: int | None = None,
              source: str | None = None, runs_at_once: int = 1) -> Estimate:
    """Refuse a scenario whose runs would not fit in memory, before anything is built.

    Args:
        sc: A validated scenario.
        engine: the engine that will run it.
        max_memory: the limit in bytes; None is the memory available now.
        source: the scenario file (or other label) that starts the message.
        runs_at_once: runs held in memory at the same time (parallel workers).

    Returns:
        The estimate, if it fits.

    Raises:
        ScenarioError: one line naming the key, the estimate and the limit.
    """
    est = estimate_run(sc, engine)
    limit = available_memory() if max_memory is None else max_memory
    need = est.memory * max(1, runs_at_once)
    if need <= limit:
        return est
    head = f"{source}: " if source else ""
    n, g = sc.population.size, sc.population.graph
    value = {"population.size": n, "population.graph.m": getattr(g, "m", None),
             "population.graph.k": getattr(g, "k", None),
             "population.graph.path": getattr(g, "path", None)}.get(est.key)
    shown = f" = {value}" if value is not None else ""
    graph = f"a {g.kind} graph of {n:,} persons" + (f" and about {est.edges:,} edges"
                                                     if est.edges else "")
    per = f" ({runs_at_once} runs at once)" if runs_at_once > 1 else ""
    where = "the --max-memory limit" if max_memory is not None else "the memory available"
    raise ScenarioError(
        f"{head}{est.key}{shown}: {graph} needs about {format_bytes(need)} of memory{per}, "
        f"more than {where} ({format_bytes(limit)}); allowed: a smaller population or graph"
        + (", or fewer workers" if runs_at_once > 1 else "")
        + "; --max-memory sets the limit (default: the memory available)")


def design_limit_error(runs: int, points: int, replicates: int, max_runs: int,
                       seconds: float | None) -> str:
    """What is wrong with a design of more than ``max_runs`` runs, in words."""
    time = f", about {format_seconds(seconds)} of computing" if seconds else ""
    return (f"the experiment has {runs:,} runs ({points:,} design points x {replicates:,} "
            f"replicates{time}), more than the limit of {max_runs:,}")
