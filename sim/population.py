"""Populations (MODEL.md §5): the social graph in CSR form, and each person's fit.

Every graph is undirected and stored in compressed sparse row form with both directions
of each edge, neighbours sorted ascending, no self-loops and no duplicate edges. Every
random choice is a function of the scenario seed. Barabási–Albert, Watts–Strogatz and
circles graphs are built at every size by the Numba kernels of :mod:`sim.generators`
(networkx's semantics, draws ``u(seed, 0, Phase.GRAPH, ...)``), straight into CSR arrays;
only powerlaw_cluster still goes through networkx, seeded with
``derive_seed(seed, Phase.GRAPH)``.

Builders are looked up by graph kind in :data:`BUILDERS`.

Example:
    >>> from sim.config import Population, BarabasiAlbert
    >>> g = build_graph(Population(size=100, graph=BarabasiAlbert(m=2)), seed=1)
    >>> g.n, g.n_edges
    (100, 196)
"""

from __future__ import annotations

import collections
import itertools
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import networkx as nx
import numpy as np
import scipy.sparse as sp
from scipy.special import betaincinv, ndtr, ndtri

from sim import config, generators
from sim.codes import Phase
from sim.errors import DataError, ScenarioError
from sim.rng import derive_seed, u_array

MAX_COMPLETE_EDGES = 200_000_000  # complete graphs above this are refused (use well_mixed)


@dataclass(frozen=True, eq=False)
class Graph:
    """Undirected social graph in CSR form (both directions stored), rows sorted ascending.

    Attributes:
        n: number of persons.
        indptr: int64, shape (n+1,); row ``i`` is ``indices[indptr[i]:indptr[i+1]]``.
        indices: int32 (int64 if n >= 2**31), shape (2 * n_edges,).
        weights: float64 per stored entry, shape like ``indices``, or None (unweighted).
        contacts: > 0 only for well_mixed graphs (no edges; members meet ``contacts``
            uniformly random persons per day).
        circle: int32 circle id per person, shape (n,), for circles graphs; else None.
        labels: original ids (edge lists; int64 or str array, shape (n,)); else None.
        notes: human-readable remarks, e.g. ``"dropped 12 self-loops"``.
    """

    n: int
    indptr: np.ndarray
    indices: np.ndarray
    weights: np.ndarray | None
    contacts: int = 0
    circle: np.ndarray | None = None
    labels: np.ndarray | None = None
    notes: tuple[str, ...] = ()

    @property
    def well_mixed(self) -> bool:
        """True when there is no graph and contacts are drawn at random each day."""
        return self.contacts > 0

    @property
    def n_edges(self) -> int:
        """Number of undirected edges."""
        return int(self.indices.shape[0]) // 2

    def degree(self) -> np.ndarray:
        """Degree of each person: int64, shape (n,)."""
        return np.diff(self.indptr)

    def neighbors(self, i: int) -> np.ndarray:
        """Neighbours of person ``i``, ascending (a view into ``indices``)."""
        return self.indices[self.indptr[i] : self.indptr[i + 1]]


def _index_dtype(n: int) -> type:
    return np.int32 if n < 2**31 else np.int64


def _lower_to_csr(n: int, hi: np.ndarray, lo: np.ndarray, w=None, **extra) -> Graph:
    """CSR from unique edges ``lo[e] < hi[e]`` sorted by ``(hi, lo)``; both directions stored.

    The given lower triangle fills the first part of each row; its transpose (a C++ counting
    sort in scipy) fills the rest, so rows come out sorted without a global sort. O(E + n).
    """
    dt, e = _index_dtype(n), hi.shape[0]
    hi, lo = hi.astype(dt, copy=False), lo.astype(dt, copy=False)
    ptr_l = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(hi, minlength=n), out=ptr_l[1:])
    data = np.ones(e, np.int8) if w is None else np.asarray(w, dtype=np.float64)
    up = sp.csr_array((data, lo, ptr_l), shape=(n, n)).tocsc()  # transpose: rows lo, cols hi
    ptr_u = up.indptr.astype(np.int64)
    idx = np.empty(2 * e, dt)
    dest_l = np.arange(e, dtype=np.int64) + np.repeat(ptr_u[:-1], np.diff(ptr_l))
    dest_u = np.arange(e, dtype=np.int64) + np.repeat(ptr_l[1:], np.diff(ptr_u))
    idx[dest_l], idx[dest_u] = lo, up.indices
    wts = None
    if w is not None:
        wts = np.empty(2 * e, np.float64)
        wts[dest_l], wts[dest_u] = data, up.data
    return Graph(n=n, indptr=ptr_l + ptr_u, indices=idx, weights=wts, **extra)


def from_edges(n: int, src, dst, weights=None, *, notes: tuple[str, ...] = (), **extra) -> Graph:
    """Build a :class:`Graph` from an edge list: symmetrise, drop self-loops, dedupe, sort.

    Args:
        n: number of persons; ids must lie in ``[0, n)``.
        src: integer array, shape (E,): one end of each edge.
        dst: integer array, shape (E,): the other end; ``(src[e], dst[e])`` is an edge,
            either direction.
        weights: optional float array, shape (E,); a duplicate edge keeps its first weight.
        notes: remarks to keep; counts of dropped self-loops/duplicates are appended.
        **extra: further :class:`Graph` fields (``circle``, ``labels``, ``contacts``).

    Returns:
        The graph; its ``notes`` say how many self-loops and duplicates were dropped.

    Raises:
        ValueError: an id is outside ``[0, n)`` or the arrays differ in length.
    """
    src, dst = np.asarray(src).ravel(), np.asarray(dst).ravel()
    if src.dtype.kind != "i" or dst.dtype.kind != "i":  # lists, unsigned or float ids
        src, dst = src.astype(np.int64), dst.astype(np.int64)
    if src.shape != dst.shape or (weights is not None and np.shape(weights) != src.shape):
        raise ValueError("src, dst (and weights) must have the same length")
    if src.size and (min(src.min(), dst.min()) < 0 or max(src.max(), dst.max()) >= n):
        raise ValueError(f"edge ids must lie in [0, {n})")
    notes = tuple(notes)
    if weights is None:  # Numba counting sort: O(E + n), about 8E + 8n bytes beyond the input
        indptr, indices, loops, dups = generators.csr_from_edges(n, src, dst)
        return Graph(n, indptr, indices, None, notes=notes + _drop_notes(loops, dups), **extra)
    keep = src != dst
    loops = int(src.size - keep.sum())
    src, dst = src[keep], dst[keep]
    lo, hi = np.minimum(src, dst), np.maximum(src, dst)
    key, first = np.unique(hi * np.int64(n) + lo, return_index=True)  # first occurrence kept
    dups = int(lo.size - key.size)
    w = np.asarray(weights, dtype=np.float64)[keep][first]
    notes += _drop_notes(loops, dups)
    return _lower_to_csr(n, hi[first], lo[first], w, notes=notes, **extra)


def _drop_notes(loops: int, dups: int) -> tuple[str, ...]:
    notes = ()
    if loops:
        notes += (f"dropped {loops} self-loop{'s' * (loops != 1)}",)
    if dups:
        notes += (f"dropped {dups} duplicate edge{'s' * (dups != 1)}",)
    return notes


# --- random graphs -------------------------------------------------------------------


def _bernoulli_positions(total: int, p: float, seed: int, stream: int) -> np.ndarray:
    """Sorted int64 positions in ``[0, total)``, each present independently with prob ``p``.

    The NumPy reference of the circles kernel in :mod:`sim.generators` (which walks the
    same positions one at a time); tests hold the two together.

    Geometric skipping: gaps between kept positions are Geometric(p), drawn by inverse CDF
    from ``u_array(seed, 0, Phase.GRAPH, stream, counter)``. Cost is linear in the output.
    """
    if total <= 0 or p <= 0.0:
        return np.empty(0, np.int64)
    if p >= 1.0:
        return np.arange(total, dtype=np.int64)
    log_q = math.log1p(-p)
    out, last, counter = [], -1, 0
    while True:
        expect = (total - 1 - last) * p
        b = int(min(max(expect * 1.02 + 6.0 * math.sqrt(expect) + 64, 64), 1 << 23))
        u = u_array(seed, 0, Phase.GRAPH, stream, np.arange(counter, counter + b))
        counter += b
        gaps = np.floor(np.log1p(-u) / log_q) + 1.0  # >= 1, float (may be huge)
        fcum = np.cumsum(gaps)
        cut = int(np.searchsorted(fcum, (total - last) * (1 + 1e-12) + 2.0, side="right"))
        pos = last + np.cumsum(gaps[:cut].astype(np.int64))
        pos = pos[pos < total]
        out.append(pos)
        if cut < b or pos.size < cut:
            return np.concatenate(out)
        last = int(pos[-1])


def _tri_decode(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pair index ``t = j(j-1)/2 + i`` (``0 <= i < j``) back to ``(i, j)``, int64 arrays.

    NumPy reference of ``sim.generators._tri_pair``.

    Ascending ``t`` gives pairs sorted by ``(j, i)``.
    """
    j = np.sqrt(8.0 * t + 1.0)
    j += 1.0
    j *= 0.5
    j = j.astype(np.int64)  # floor; float rounding leaves it off by at most one
    i = j * (j - 1)
    i >>= 1
    np.subtract(t, i, out=i)
    if (low := np.flatnonzero(i < 0)).size:
        j[low] -= 1
        i[low] += j[low]
    if (high := np.flatnonzero(i >= j)).size:
        i[high] -= j[high]
        j[high] += 1
    return i, j


def _circle_sizes(g: config.Circles, n: int) -> np.ndarray:
    if g.sizes is not None:
        if sum(g.sizes) != n:
            raise ScenarioError(
                f"population.graph.sizes add up to {sum(g.sizes)}, but population.size is {n}"
            )
        return np.asarray(g.sizes, dtype=np.int64)
    if g.count > n:
        raise ScenarioError(f"population.graph.count ({g.count}) exceeds population.size ({n})")
    sizes = np.full(g.count, n // g.count, dtype=np.int64)
    sizes[: n % g.count] += 1
    return sizes


def _build_circles(pop: config.Population, seed: int, base_dir: Path | None) -> Graph:
    """Stochastic block model; persons of circle ``c`` are a contiguous id range."""
    g, n = pop.graph, pop.size
    indptr, indices, circle = generators.circles_csr(_circle_sizes(g, n), g.p_in, g.p_out, seed)
    return Graph(n, indptr, indices, None, circle=circle)


def _check_size(name: str, value: int, n: int) -> None:
    if value >= n:
        raise ScenarioError(
            f"population.graph.{name} ({value}) must be smaller than population.size ({n})"
        )


def _build_barabasi_albert(pop: config.Population, seed: int, base_dir: Path | None) -> Graph:
    """Barabási–Albert (networkx's variant) by :func:`sim.generators.barabasi_albert_csr`."""
    _check_size("m", pop.graph.m, pop.size)
    indptr, indices = generators.barabasi_albert_csr(pop.size, pop.graph.m, seed)
    return Graph(pop.size, indptr, indices, None)


def _build_watts_strogatz(pop: config.Population, seed: int, base_dir: Path | None) -> Graph:
    """Watts–Strogatz (networkx's semantics) by :func:`sim.generators.watts_strogatz_csr`."""
    g = pop.graph
    _check_size("k", g.k, pop.size)
    if g.k % 2:
        raise ScenarioError(f"population.graph.k must be even, got {g.k}")
    indptr, indices = generators.watts_strogatz_csr(pop.size, g.k, g.p, seed)
    return Graph(pop.size, indptr, indices, None)


_NX = {
    "barabasi_albert": lambda g, n, s: nx.barabasi_albert_graph(n, g.m, seed=s),
    "watts_strogatz": lambda g, n, s: nx.watts_strogatz_graph(n, g.k, g.p, seed=s),
    "powerlaw_cluster": lambda g, n, s: nx.powerlaw_cluster_graph(n, g.m, g.p, seed=s),
}


def _build_nx(pop: config.Population, seed: int, base_dir: Path | None) -> Graph:
    """A networkx generator, converted by edge arrays: Holme–Kim (powerlaw_cluster).

    The networkx twins of the Barabási–Albert and Watts–Strogatz builders stay in
    ``_NX`` so that tests can compare the two in distribution.
    """
    g, n = pop.graph, pop.size
    name, value = ("k", g.k) if g.kind == "watts_strogatz" else ("m", g.m)
    _check_size(name, value, n)
    if name == "k" and value % 2:
        raise ScenarioError(f"population.graph.k must be even, got {value}")
    G = _NX[g.kind](g, n, derive_seed(seed, Phase.GRAPH))
    flat = np.fromiter(itertools.chain.from_iterable(G.edges()), np.int64, 2 * G.number_of_edges())
    return from_edges(n, flat[0::2], flat[1::2])


def _build_complete(pop: config.Population, seed: int, base_dir: Path | None) -> Graph:
    n = pop.size
    if n * (n - 1) // 2 > MAX_COMPLETE_EDGES:
        raise ScenarioError(
            f"a complete graph of {n} persons has {n * (n - 1) // 2} edges, more than "
            f"{MAX_COMPLETE_EDGES}; use graph kind well_mixed for large populations"
        )
    hi, lo = np.tril_indices(n, -1)  # sorted by (hi, lo)
    return _lower_to_csr(n, hi, lo)


def _build_well_mixed(pop: config.Population, seed: int, base_dir: Path | None) -> Graph:
    n = pop.size
    empty = np.empty(0, _index_dtype(n))
    return Graph(n, np.zeros(n + 1, np.int64), empty, None, contacts=pop.graph.contacts)


def _build_edgelist(pop: config.Population, seed: int, base_dir: Path | None) -> Graph:
    path = Path(pop.graph.path).expanduser()
    if base_dir is not None and not path.is_absolute():
        path = Path(base_dir) / path
    g = load_edgelist(path, pop.graph.delimiter, pop.graph.weighted)
    if g.n != pop.size:
        note = f"population.size ({pop.size}) ignored: the edge list has {g.n} persons"
        g = replace(g, notes=g.notes + (note,))
    return g


Builder = Callable[[config.Population, int, "Path | None"], Graph]
BUILDERS: dict[str, Builder] = {
    "barabasi_albert": _build_barabasi_albert,
    "watts_strogatz": _build_watts_strogatz,
    "powerlaw_cluster": _build_nx,
    "circles": _build_circles,
    "complete": _build_complete,
    "well_mixed": _build_well_mixed,
    "edgelist": _build_edgelist,
}


def build_graph(pop: config.Population, seed: int, base_dir: Path | None = None) -> Graph:
    """Build the population's social graph.

    Args:
        pop: the population section of a scenario.
        seed: the scenario seed; the same seed gives identical arrays.
        base_dir: directory that a relative edge-list path is resolved against.

    Returns:
        The :class:`Graph`. ``graph.n == pop.size`` for every kind except ``edgelist``,
        where ``n`` is the number of distinct ids in the file.

    Raises:
        ScenarioError: parameters inconsistent with the size (e.g. ``m >= size``).
        DataError: the edge-list file is missing or malformed.
    """
    return BUILDERS[pop.graph.kind](pop, seed, base_dir)


# --- edge lists ----------------------------------------------------------------------


def load_edgelist(path, delimiter: str | None = None, weighted: bool = False) -> Graph:
    """Load an undirected edge list (CSV or whitespace pairs, optional weight column).

    Lines starting with ``#`` or ``%`` are comments; blank lines are skipped. Ids may be
    integers or any other tokens; they are remapped to ``0..n-1`` in ascending order of the
    original ids (numeric order if all ids are integers), kept in ``labels``. Self-loops and
    duplicate edges (either direction; the first weight is kept) are dropped and counted
    in ``notes``.

    Args:
        path: the file.
        delimiter: column separator; None detects comma (if the first data line has one)
            or whitespace; a whitespace delimiter means any run of whitespace.
        weighted: whether a third column holds a weight in (0, 1].

    Returns:
        The :class:`Graph`, with ``weights`` (float64) when ``weighted``.

    Raises:
        DataError: one line, ``path:LINE: what is wrong: 'row'``, or
            ``edge list not found: PATH``.
    """
    path = Path(path)
    try:
        inline_marks = _scan(path)
        first = _first_data_line(path)
    except FileNotFoundError:
        raise DataError(f"edge list not found: {path}") from None
    except IsADirectoryError:
        raise DataError(f"edge list is a directory, not a file: {path}") from None
    if delimiter is None:
        delimiter = "," if "," in first else " "
    parsed = None if inline_marks else _parse_fast(path, delimiter, weighted)
    ids, w = parsed if parsed is not None else _parse_slow(path, delimiter, weighted)
    labels, inv = np.unique(ids, return_inverse=True)
    m = ids.size // 2
    g = from_edges(labels.size, inv[:m], inv[m:], w, labels=labels)
    if g.n_edges == 0:
        raise DataError(f"{path}: no edges left after dropping self-loops")
    return g


# The file is never held whole in memory: it is scanned in chunks, then parsed from disk by
# numpy's C reader (integer ids) or line by line (anything else).
_CHUNK = 1 << 20


def _scan(path: Path, chunk: int = _CHUNK) -> bool:
    """Check that ``path`` is UTF-8 text (DataError at the first NUL byte or bad byte).

    Reads ``chunk`` bytes at a time, so a huge binary file is refused after its first
    megabyte. Returns whether a comment mark (``#``, ``%``) stands anywhere but at the start
    of a line (numpy's reader would treat such marks differently from the careful pass).
    """
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    offset = 0
    inline = False
    last = "\n"  # the character before the chunk: a file starts a line
    with path.open("rb") as f:
        while block := f.read(chunk):
            k = block.find(b"\0")
            if k >= 0:
                raise DataError(f"{path}: a binary file (NUL byte at offset {offset + k}), not a "
                                "text edge list; allowed: CSV or whitespace-separated pairs of "
                                "ids, one edge per line")
            try:
                text = decoder.decode(block)
            except UnicodeDecodeError as e:
                raise DataError(f"{path}: not a UTF-8 text file ({e.reason} at byte "
                                f"{offset + e.start})") from None
            if text:
                joined = last + text
                marks = text.count("#") + text.count("%")
                inline |= marks != joined.count("\n#") + joined.count("\n%")
                last = text[-1]
            offset += len(block)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not a UTF-8 text file ({e.reason} at byte "
                        f"{offset + e.start})") from None
    return inline


def _lines(path: Path):
    """(line number, line without its end) of a UTF-8 text file, streamed."""
    with path.open(encoding="utf-8-sig", newline="\n") as f:
        for no, line in enumerate(f, 1):
            yield no, line.rstrip("\n")


def _first_data_line(path: Path) -> str:
    """The first line that is neither blank nor a comment ('' if none)."""
    return next((s for _, line in _lines(path) if (s := line.strip()) and s[0] not in "#%"), "")


def _clip(row: str, width: int = 80) -> str:
    """A row of the file as echoed in a message: repr, cut to about ``width`` characters."""
    text = repr(row)
    return text if len(text) <= width else text[: width - 3] + "..."


def _parse_fast(path: Path, delimiter: str, weighted: bool):
    """Integer ids via numpy's C parser; None whenever the careful pass must decide."""
    fields = [("s", "i8"), ("d", "i8")] + [("w", "f8")] * weighted
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            a = np.loadtxt(path, dtype=fields, comments=["#", "%"], ndmin=1,
                           encoding="utf-8-sig",
                           delimiter=None if delimiter.isspace() else delimiter)
    except (ValueError, OverflowError):
        return None
    if a.size == 0 or (weighted and not np.all((a["w"] > 0) & (a["w"] <= 1))):
        return None
    return np.concatenate([a["s"], a["d"]]), (a["w"].copy() if weighted else None)


def _parse_slow(path: Path, delimiter: str, weighted: bool):
    """Line by line: ids (int64, or str if any id is not an integer) and weights, or DataError."""
    ncol = 3 if weighted else 2
    src: list[str] = []
    dst: list[str] = []
    wts: list[str] = []
    head = None  # (line number, line) of the first data row

    def fail(no: int, line: str, what: str):
        raise DataError(f"{path}:{no}: {what}: {_clip(line.rstrip(chr(13)))}")

    for no, line in _lines(path):
        s = line.strip()
        if not s or s[0] in "#%":
            continue
        row = s.split() if delimiter.isspace() else [t.strip() for t in s.split(delimiter)]
        if head is None:
            head = (no, line, row)
        if len(row) != ncol:
            what = "(source, target, weight)" if weighted else "(source, target)"
            hint = "; set weighted: true to read a weight column" if len(row) == 3 else ""
            fail(no, line, f"expected {ncol} columns {what}, found {len(row)}"
                 f"{hint * (not weighted)}")
        if not (row[0] and row[1]):
            fail(no, line, "empty id")
        if weighted and not _is_weight(row[2]):
            fail(no, line, f"weight must be a number in (0, 1], got {_clip(row[2], 40)}")
        src.append(row[0])
        dst.append(row[1])
        if weighted:
            wts.append(row[2])
    if head is None:
        raise DataError(f"{path}: no edges (the file has only comments and blank lines)")
    ids = np.array(src + dst)
    try:
        ids = ids.astype(np.int64)
    except (ValueError, OverflowError):
        no, line, row = head
        header = not all(t.lstrip("+-").isdigit() for t in row[:2])
        if header and len(src) > 1 and _all_int(src[1:] + dst[1:]):
            fail(no, line, "looks like a header row (non-integer ids above integer ones); "
                 "comment it out with '#'")
    return ids, (np.array(wts, dtype=np.float64) if weighted else None)


def _all_int(tokens) -> bool:
    try:
        np.array(tokens).astype(np.int64)
        return True
    except (ValueError, OverflowError):
        return False


def _is_weight(t: str) -> bool:
    try:
        return 0.0 < float(t) <= 1.0
    except ValueError:
        return False


# --- fit ------------------------------------------------------------------------------


def draw_fit(fit: config.Fit, n: int, seed: int, circle: np.ndarray | None = None) -> np.ndarray:
    """Draw each person's fit with the community's positioning.

    ``fit.constant`` gives everyone that value. Otherwise fit is Beta(alpha, beta) by
    inverse CDF of ``u = u_array(seed, 0, Phase.FIT, person, 0)``. With ``circle_corr``
    rho > 0 and a circle array, a Gaussian copula correlates fit within circles:
    ``z = sqrt(rho) z_circle + sqrt(1 - rho) z_person``, where ``z_circle`` comes from
    ``u_array(seed, 0, Phase.FIT, circle_id, 1)``.

    Args:
        fit: the fit section of the population.
        n: number of persons.
        seed: the scenario seed.
        circle: int circle id per person, shape (n,), or None.

    Returns:
        float64 array, shape (n,), values in [0, 1].
    """
    if fit.constant is not None:
        return np.full(n, float(fit.constant), dtype=np.float64)
    u = u_array(seed, 0, Phase.FIT, np.arange(n), 0)
    rho = fit.circle_corr
    if rho > 0 and circle is not None and n > 0:
        circle = np.asarray(circle)
        u_circle = u_array(seed, 0, Phase.FIT, np.arange(int(circle.max()) + 1), 1)
        if rho >= 1.0:
            u = u_circle[circle]
        else:
            z = math.sqrt(rho) * ndtri(u_circle)[circle] + math.sqrt(1.0 - rho) * ndtri(u)
            u = ndtr(z)
    return np.clip(betaincinv(fit.alpha, fit.beta, u), 0.0, 1.0)


# --- engagement -----------------------------------------------------------------------


def draw_engagement(engagement: config.Engagement, n: int, seed: int) -> np.ndarray:
    """Draw each person's engagement: log-normal with a median and a log-sd (MODEL.md §5).

    ``engagement = median * exp(sigma * z)`` with ``z`` the standard normal quantile of
    ``u = u_array(seed, 0, Phase.ENGAGEMENT, person, 0)``, independent of fit. ``sigma = 0``
    gives everyone exactly ``median``.

    Args:
        engagement: the engagement section of the population.
        n: number of persons.
        seed: the scenario seed.

    Returns:
        float64 array, shape (n,), values > 0.
    """
    if engagement.sigma == 0:
        return np.full(n, float(engagement.median), dtype=np.float64)
    z = ndtri(u_array(seed, 0, Phase.ENGAGEMENT, np.arange(n), 0))
    return engagement.median * np.exp(engagement.sigma * z)


# --- one population per process and seed ---------------------------------------------------

CACHE_BYTES = 256 * 2**20  # the populations kept for reuse in one process, at most
_populations: collections.OrderedDict[tuple, tuple[Graph, np.ndarray, np.ndarray]] = (
    collections.OrderedDict()
)


def _nbytes(graph: Graph, *arrays: np.ndarray) -> int:
    parts = (graph.indptr, graph.indices, graph.weights, graph.circle, graph.labels, *arrays)
    return sum(a.nbytes for a in parts if isinstance(a, np.ndarray))


def _population_key(pop: config.Population, seed: int) -> tuple | None:
    """What a population's draws depend on; None when it cannot be told (a missing file)."""
    stamp = None
    if pop.graph.kind == "edgelist":  # the file may change between two runs
        try:
            st = Path(pop.graph.path).stat()
        except OSError:
            return None
        stamp = (st.st_mtime_ns, st.st_size)
    return pop.model_dump_json(), int(seed), stamp


def draw_population(pop: config.Population, seed: int,
                    graph: Graph | None = None) -> tuple[Graph, np.ndarray, np.ndarray]:
    """The population's graph, fit and engagement, each drawn once per process and seed.

    A sweep, a calibration or an optimisation runs many models on the same populations
    (common replicate seeds, or a fixed ``population.seed``): the graph, fit and engagement
    depend only on the population section and the seed, so the last ones drawn are kept
    (up to :data:`CACHE_BYTES`) and reused, bit for bit the same as drawn afresh.

    Args:
        pop: the population section of a scenario.
        seed: the seed of the population (``population.seed``, or the run seed).
        graph: a graph given by the caller (not kept; fit and engagement are drawn for it).

    Returns:
        ``(graph, fit, engagement)``; fit and engagement are the caller's own arrays (a
        model's state writes them), the graph is shared and must not be written.

    Raises:
        ScenarioError, DataError: as :func:`build_graph`.
    """
    if graph is not None:
        return (graph, draw_fit(pop.fit, graph.n, seed, graph.circle),
                draw_engagement(pop.engagement, graph.n, seed))
    key = _population_key(pop, seed)
    hit = _populations.get(key) if key is not None else None
    if hit is not None:
        _populations.move_to_end(key)
        g, fit, engagement = hit
        return g, fit.copy(), engagement.copy()
    g = build_graph(pop, seed)
    fit = draw_fit(pop.fit, g.n, seed, g.circle)
    engagement = draw_engagement(pop.engagement, g.n, seed)
    size = _nbytes(g, fit, engagement)
    if key is not None and size <= CACHE_BYTES // 4:
        _populations[key] = (g, fit.copy(), engagement.copy())
        total = sum(_nbytes(*v) for v in _populations.values())
        while total > CACHE_BYTES and len(_populations) > 1:
            _, old = _populations.popitem(last=False)
            total -= _nbytes(*old)
    return g, fit, engagement
