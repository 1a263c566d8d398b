"""Array-native random graphs (MODEL.md §5): Numba kernels that write CSR arrays directly.

networkx holds a graph as dicts of dicts, hundreds of bytes per edge, so it cannot build
the 10⁷–10⁸-person populations of the large runs. The Barabási–Albert and Watts–Strogatz
generators here follow networkx's semantics (same initial graph, same attachment and
rewiring rules); the circles generator walks the same positions as the NumPy reference
``sim.population._bernoulli_positions``. Every random number comes from :mod:`sim.rng`,
keyed by ``key = stream_key(seed, 0, Phase.GRAPH)``, and the undirected graph goes straight
into CSR form: both directions stored, rows sorted ascending, no self-loops, no duplicate
edges. For the same seed the arrays are identical on every machine; they differ from
networkx's graphs edge by edge but match them in distribution (tests/test_generators.py).

Memory (``E`` edges, ``n`` persons, int32 ids): the final CSR takes ``8E + 8n`` bytes. The
builders peak at about ``12E + 8n`` (Barabási–Albert, Watts–Strogatz: one id per edge
while growing), ``8E + 12n`` (circles: no edge list, the positions are drawn twice) and
``8E + 8n`` beyond their input (:func:`csr_from_edges`).

Draws:
    * Barabási–Albert: attempt ``a`` (0, 1, ...) of newcomer ``v`` is ``u_key(key, v, a)``.
    * Watts–Strogatz: for ring edge ``(u, u + j)``, ``j = 1..k/2``, the rewiring coin is
      ``u_key(key, u, j << 32)`` and the ``a``-th candidate target (``a >= 1``) is
      ``u_key(key, u, (j << 32) + a)``.
    * circles: the gap before the ``c``-th linked pair is drawn from ``u_key(key, 1, c)``
      (within circles) or ``u_key(key, 2, c)`` (between).

Example:
    >>> indptr, indices = barabasi_albert_csr(100, 2, seed=1)
    >>> indptr.shape, indices.shape  # 2 * m * (n - m) stored entries
    ((101,), (392,))
"""

from __future__ import annotations

import math

import numpy as np

from sim.codes import Phase
from sim.jit import cached
from sim.rng import stream_key, u_key_nb


def _index_dtype(n: int) -> type:
    return np.int32 if n < 2**31 else np.int64


def _key(seed: int) -> np.uint64:
    return np.uint64(stream_key(seed, 0, Phase.GRAPH))


# --- small helpers (inlined into the kernels) -------------------------------------------


@cached(inline="always")
def _sort_small(a, lo, hi):
    """Sort ``a[lo:hi]`` in place: insertion sort for short runs, else NumPy's sort."""
    if hi - lo > 32:
        a[lo:hi].sort()
        return
    for i in range(lo + 1, hi):
        x = a[i]
        j = i - 1
        while j >= lo and a[j] > x:
            a[j + 1] = a[j]
            j -= 1
        a[j + 1] = x


@cached(inline="always")
def _draw_below(key, person, k, bound):
    """An integer uniform in ``[0, bound)`` from the draw ``u_key(key, person, k)``."""
    r = np.int64(u_key_nb(key, person, k) * bound)
    return r if r < bound else bound - 1


# --- Barabási–Albert ------------------------------------------------------------------


@cached(inline="always")
def _ba_hi(e, m):
    """The newer endpoint of edge ``e`` (the star's leaf for ``e < m``, else the newcomer)."""
    return e + 1 if e < m else e // m + m


@cached
def _ba_targets(n, m, key, lo, mark):
    """Grow the graph: ``lo[e]`` is the older endpoint of edge ``e``, shape (m(n-m),).

    Edges ``0..m-1`` are the initial star ``(0, e+1)``; newcomer ``v = m+1..n-1`` owns
    edges ``m(v-m) .. m(v-m)+m-1``. The endpoints of the edges made so far are
    networkx's "repeated nodes" list, so a uniform draw of one endpoint slot picks a
    person with probability proportional to degree; the newer endpoint of each edge is a
    function of its index and needs no storage. ``mark`` (shape (n,), filled with -1, or
    empty when ``m`` is small) flags targets already taken by the current newcomer.
    """
    for e in range(m):
        lo[e] = 0
    use_mark = mark.shape[0] > 0
    for v in range(m + 1, n):
        base = m * (v - m)  # edges made so far, and index of v's first edge
        slots = 2 * base
        a = 0
        for j in range(m):
            while True:
                r = _draw_below(key, v, a, slots)
                a += 1
                e = r >> 1
                x = _ba_hi(e, m) if r & 1 else lo[e]
                if use_mark:
                    if mark[x] == v:
                        continue
                    mark[x] = v
                    break
                dup = False
                for i in range(base, base + j):
                    if lo[i] == x:
                        dup = True
                        break
                if not dup:
                    break
            lo[base + j] = x


@cached
def _ba_csr(n, m, lo, indptr, indices):
    """CSR of the grown graph, rows sorted, without a global sort.

    Row ``i`` holds first its older neighbours (the edges ``i`` made, a block of ``lo``,
    sorted here) and then its newer ones (edges ``e`` with ``lo[e] == i``, met in
    ascending order of their newer endpoint when ``e`` ascends). The newer ones are placed
    back to front by decrementing ``indptr[i+1]`` (no cursor array), then ``indptr`` is
    shifted into place.
    """
    n_e = lo.shape[0]
    indptr[:] = 0
    for e in range(n_e):
        indptr[_ba_hi(e, m) + 1] += 1
        indptr[lo[e] + 1] += 1
    for i in range(n):
        indptr[i + 1] += indptr[i]
    for e in range(n_e - 1, -1, -1):
        x = lo[e] + 1
        indptr[x] -= 1
        indices[indptr[x]] = _ba_hi(e, m)
    # now indptr[i+1] = start of row i + own(i), own(i) = number of edges i made
    for i in range(n):
        own = 0 if i == 0 else (1 if i <= m else m)
        first = i - 1 if i <= m else m * (i - m)
        start = indptr[i + 1] - own
        for q in range(own):
            indices[start + q] = lo[first + q]
        _sort_small(indices, start, start + own)
        indptr[i] = start  # reads indptr[i+1] before it is overwritten
    indptr[n] = 2 * n_e


def barabasi_albert_csr(n: int, m: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Barabási–Albert preferential attachment as CSR arrays (networkx's variant).

    The graph starts as a star: person 0 linked to persons 1..m. Each later person
    ``v = m+1..n-1`` links to ``m`` distinct earlier persons, each chosen with
    probability proportional to degree (by drawing from the list of edge endpoints and
    redrawing a person already chosen). This is ``networkx.barabasi_albert_graph(n, m)``:
    ``m (n - m)`` edges; every newcomer has degree >= ``m`` (a star leaf never chosen
    keeps degree 1, as in networkx).

    Args:
        n: number of persons, ``n > m``.
        m: edges made by each newcomer, ``m >= 1``.
        seed: the scenario seed.

    Returns:
        ``(indptr, indices)``: int64 shape (n+1,), and int32 (int64 if n >= 2**31)
        shape (2 m (n-m),).

    Raises:
        ValueError: unless ``1 <= m < n``.

    Example:
        >>> indptr, indices = barabasi_albert_csr(10, 3, seed=7)
        >>> indices.size // 2, int(np.diff(indptr)[3 + 1 :].min())  # newcomers: degree >= m
        (21, 3)
    """
    if not 1 <= m < n:
        raise ValueError(f"Barabási–Albert needs 1 <= m < n, got m = {m}, n = {n}")
    dt = _index_dtype(n)
    lo = np.empty(m * (n - m), dt)
    mark = np.full(n if m > 8 else 0, -1, dt)
    _ba_targets(n, m, _key(seed), lo, mark)
    del mark
    indptr = np.empty(n + 1, np.int64)
    indices = np.empty(2 * lo.shape[0], dt)
    _ba_csr(n, m, lo, indptr, indices)
    return indptr, indices


# --- Watts–Strogatz -------------------------------------------------------------------


@cached
def _ws_rewire(n, h, p, key, tgt, deg):
    """Ring lattice and rewiring; ``tgt[u*h + j-1]`` is the far end of ``u``'s edge ``j``.

    networkx's order: for ``j = 1..h``, for ``u = 0..n-1``, with probability ``p`` the
    edge ``(u, u+j)`` is moved to ``(u, w)``, ``w`` uniform, redrawn while ``w == u`` or
    ``u`` and ``w`` are already linked (skipped when ``u`` is linked to everyone). Each
    edge is held by exactly one slot (of its owner ``u``), so ``u`` and ``w`` are linked
    iff a slot of ``u`` points at ``w`` or a slot of ``w`` points at ``u``.
    """
    for u in range(n):
        for j in range(1, h + 1):
            v = u + j
            tgt[u * h + j - 1] = v - n if v >= n else v
    deg[:] = 2 * h
    for j in range(1, h + 1):
        kj = np.int64(j) << 32
        for u in range(n):
            if u_key_nb(key, u, kj) >= p or deg[u] >= n - 1:
                continue
            a = 1
            while True:
                w = _draw_below(key, u, kj + a, n)
                a += 1
                if w == u:
                    continue
                linked = False
                for q in range(h):
                    if tgt[u * h + q] == w or tgt[w * h + q] == u:
                        linked = True
                        break
                if not linked:
                    break
            s = u * h + j - 1
            deg[tgt[s]] -= 1
            deg[w] += 1
            tgt[s] = w


@cached
def _slots_csr(n, h, tgt, indptr, indices):
    """CSR of the edges ``(s // h, tgt[s])``, both directions, rows sorted; no duplicates."""
    indptr[:] = 0
    for s in range(tgt.shape[0]):
        indptr[s // h + 1] += 1
        indptr[tgt[s] + 1] += 1
    for i in range(n):
        indptr[i + 1] += indptr[i]
    for s in range(tgt.shape[0]):
        u = s // h
        w = tgt[s]
        indptr[u + 1] -= 1
        indices[indptr[u + 1]] = w
        indptr[w + 1] -= 1
        indices[indptr[w + 1]] = u
    for i in range(n):  # indptr[i+1] is now the start of row i
        indptr[i] = indptr[i + 1]
        if i > 0:
            _sort_small(indices, indptr[i - 1], indptr[i])
    indptr[n] = 2 * tgt.shape[0]
    if n > 0:
        _sort_small(indices, indptr[n - 1], indptr[n])


def watts_strogatz_csr(n: int, k: int, p: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Watts–Strogatz small world as CSR arrays (networkx's semantics).

    A ring where each person links to the ``k/2`` nearest on each side; then each ring
    edge ``(u, u+j)`` in turn (``j`` outer, ``u`` inner) is, with probability ``p``,
    moved to ``(u, w)`` with ``w`` uniform among persons other than ``u`` not yet linked
    to it. ``n k / 2`` edges; ``p = 0`` is the ring lattice.

    Args:
        n: number of persons.
        k: ring neighbours per person, even, ``2 <= k < n``.
        p: rewiring probability in [0, 1].
        seed: the scenario seed.

    Returns:
        ``(indptr, indices)``: int64 shape (n+1,), and int32 (int64 if n >= 2**31)
        shape (n k,).

    Raises:
        ValueError: ``k`` odd, or not ``2 <= k < n``, or ``p`` outside [0, 1].

    Example:
        >>> indptr, indices = watts_strogatz_csr(8, 2, 0.0, seed=1)
        >>> indices[indptr[0] : indptr[1]].tolist()
        [1, 7]
    """
    if k % 2 or not 2 <= k < n:
        raise ValueError(f"Watts–Strogatz needs an even k with 2 <= k < n, got k = {k}, n = {n}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"Watts–Strogatz needs 0 <= p <= 1, got p = {p}")
    dt, h = _index_dtype(n), k // 2
    tgt = np.empty(n * h, dt)
    deg = np.empty(n, dt)
    _ws_rewire(n, h, float(p), _key(seed), tgt, deg)
    del deg
    indptr = np.empty(n + 1, np.int64)
    indices = np.empty(2 * tgt.shape[0], dt)
    _slots_csr(n, h, tgt, indptr, indices)
    return indptr, indices


# --- circles (stochastic block model) ---------------------------------------------------


@cached(inline="always")
def _next_kept(key, stream, counter, last, p, log_q, total):
    """The next position after ``last`` kept with probability ``p``, or ``total`` if none.

    Geometric skipping, one draw ``u_key(key, stream, counter)`` per kept position (none
    when ``p >= 1``): the twin of :func:`sim.population._bernoulli_positions`, one
    position at a time. Returns ``(position, next counter)``.
    """
    if p <= 0.0:
        return total, counter
    if p >= 1.0:
        return (last + 1 if last + 1 < total else total), counter
    u = u_key_nb(key, stream, counter)
    gap = math.floor(math.log1p(-u) / log_q) + 1.0
    if gap >= 4.0e18:
        return total, counter + 1
    pos = last + np.int64(gap)
    return (pos if pos < total else total), counter + 1


@cached(inline="always")
def _tri_pair(t):
    """Pair index ``t = j(j-1)/2 + i`` (``0 <= i < j``) back to ``(i, j)``; as ``_tri_decode``."""
    j = np.int64((math.sqrt(8.0 * t + 1.0) + 1.0) * 0.5)
    i = t - j * (j - 1) // 2
    if i < 0:
        j -= 1
        i += j
    elif i >= j:
        i -= j
        j += 1
    return i, j


@cached
def _circles_edges(n, key, p_in, p_out, start, pair_off, circle, indptr, indices, fill):
    """Walk the edges in ``(hi, lo)`` order: count degrees, or fill rows (``fill``).

    Within-circle pairs (circle ``c``'s pairs are positions ``pair_off[c]..`` of stream 1)
    and all pairs at ``p_out`` (stream 2, positions in ``[0, n(n-1)/2)``, same-circle
    ones discarded) are two ascending streams, merged so that each row receives its
    lower neighbours, then its higher ones, in ascending order. Counting adds to
    ``indptr[i+1]``; filling uses ``indptr[i]`` as the cursor of row ``i``.
    """
    n_c = start.shape[0]
    total_in = pair_off[n_c]
    total_out = n * (n - 1) // 2 if (n_c > 1 and p_out > 0.0) else 0
    lq_in = math.log1p(-p_in) if 0.0 < p_in < 1.0 else 0.0
    lq_out = math.log1p(-p_out) if 0.0 < p_out < 1.0 else 0.0
    big = np.int64(n) * n  # larger than every edge key hi * n + lo
    x_in, k_in = _next_kept(key, 1, 0, np.int64(-1), p_in, lq_in, total_in)
    x_out, k_out = _next_kept(key, 2, 0, np.int64(-1), p_out, lq_out, total_out)
    c = 0
    lo_in = hi_in = lo_out = hi_out = np.int64(0)
    while True:
        key_in = big
        if x_in < total_in:
            while x_in >= pair_off[c + 1]:
                c += 1
            i, j = _tri_pair(x_in - pair_off[c])
            lo_in, hi_in = start[c] + i, start[c] + j
            key_in = hi_in * n + lo_in
        key_out = big
        while x_out < total_out:
            lo_out, hi_out = _tri_pair(x_out)
            if circle[lo_out] != circle[hi_out]:
                key_out = hi_out * n + lo_out
                break
            x_out, k_out = _next_kept(key, 2, k_out, x_out, p_out, lq_out, total_out)
        if key_in == big and key_out == big:
            break
        if key_in < key_out:
            lo, hi = lo_in, hi_in
            x_in, k_in = _next_kept(key, 1, k_in, x_in, p_in, lq_in, total_in)
        else:
            lo, hi = lo_out, hi_out
            x_out, k_out = _next_kept(key, 2, k_out, x_out, p_out, lq_out, total_out)
        if fill:
            indices[indptr[hi]] = lo
            indptr[hi] += 1
            indices[indptr[lo]] = hi
            indptr[lo] += 1
        else:
            indptr[hi + 1] += 1
            indptr[lo + 1] += 1
    if fill:  # each cursor ended at the next row's start: shift them into place
        for r in range(n, 0, -1):
            indptr[r] = indptr[r - 1]
        indptr[0] = 0


def circles_csr(
    sizes, p_in: float, p_out: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stochastic block model (interest circles) as CSR arrays; circles are id ranges.

    Each pair within a circle is linked with probability ``p_in``, each pair in different
    circles with ``p_out``. Positions of linked pairs come by geometric skipping, drawn
    with ``u_key(key, 1, counter)`` (within: circle by circle, pairs ordered by
    ``(j, i)``) and ``u_key(key, 2, counter)`` (all ``n(n-1)/2`` pairs at ``p_out``,
    same-circle ones discarded): the same draws as
    :func:`sim.population._bernoulli_positions`, one position at a time, walked twice
    (count, then fill) so that no edge list is stored.

    Args:
        sizes: int array, shape (circles,), each >= 1; ``n = sizes.sum()``.
        p_in: link probability of a pair within one circle, in [0, 1].
        p_out: link probability of a pair in different circles, in [0, 1].
        seed: the scenario seed.

    Returns:
        ``(indptr, indices, circle)``: int64 shape (n+1,); int32 (int64 if n >= 2**31)
        shape (2 * edges,); int32 circle id per person, shape (n,).

    Example:
        >>> indptr, indices, circle = circles_csr([3, 2], 1.0, 0.0, seed=1)
        >>> np.diff(indptr).tolist(), circle.tolist()
        ([2, 2, 2, 1, 1], [0, 0, 0, 1, 1])
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    n = int(sizes.sum())
    dt = _index_dtype(n)
    circle = np.repeat(np.arange(sizes.size, dtype=np.int32), sizes)
    start = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    pair_off = np.concatenate([[0], np.cumsum(sizes * (sizes - 1) // 2)]).astype(np.int64)
    key, p_in, p_out = _key(seed), float(p_in), float(p_out)
    indptr = np.zeros(n + 1, np.int64)
    empty = np.empty(0, dt)
    _circles_edges(n, key, p_in, p_out, start, pair_off, circle, indptr, empty, False)
    np.cumsum(indptr, out=indptr)
    indices = np.empty(int(indptr[-1]), dt)
    _circles_edges(n, key, p_in, p_out, start, pair_off, circle, indptr, indices, True)
    return indptr, indices, circle


# --- CSR from an edge list --------------------------------------------------------------


@cached
def _edges_csr(n, src, dst, indptr, indices):
    """Symmetrise, drop self-loops, sort rows and drop duplicates in place.

    Returns ``(stored entries, self-loops dropped)``; ``indices[:entries]`` is the result.
    """
    loops = 0
    indptr[:] = 0
    for e in range(src.shape[0]):
        a, b = src[e], dst[e]
        if a == b:
            loops += 1
            continue
        indptr[a + 1] += 1
        indptr[b + 1] += 1
    for i in range(n):
        indptr[i + 1] += indptr[i]
    for e in range(src.shape[0]):
        a, b = src[e], dst[e]
        if a == b:
            continue
        indptr[a + 1] -= 1
        indices[indptr[a + 1]] = b
        indptr[b + 1] -= 1
        indices[indptr[b + 1]] = a
    # indptr[i+1] is the start of row i; sort each row and compact away repeats
    total = 2 * (src.shape[0] - loops)
    out = 0
    for i in range(n):
        start = indptr[i + 1]
        stop = indptr[i + 2] if i + 1 < n else total
        _sort_small(indices, start, stop)
        indptr[i] = out
        prev = -1
        for q in range(start, stop):
            x = indices[q]
            if x != prev:
                indices[out] = x
                out += 1
                prev = x
    indptr[n] = out
    return out, loops


def csr_from_edges(n: int, src, dst) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Unweighted CSR from an edge list: symmetrise, drop self-loops and duplicates, sort.

    A counting sort by person (O(E + n), no global sort), then each row sorted and
    de-duplicated in place.

    Args:
        n: number of persons; ids must lie in ``[0, n)`` (not checked here).
        src: integer array, shape (E,): one end of each edge.
        dst: integer array, shape (E,): the other end; ``(src[e], dst[e])`` is an edge,
            either direction.

    Returns:
        ``(indptr, indices, self_loops, duplicates)``: int64 shape (n+1,); int32 (int64
        if n >= 2**31) shape (2 * edges,); counts of dropped self-loops and of dropped
        duplicate undirected edges.

    Example:
        >>> indptr, indices, loops, dups = csr_from_edges(3, [0, 1, 1, 2], [1, 0, 1, 1])
        >>> indptr.tolist(), indices.tolist(), loops, dups
        ([0, 1, 3, 4], [1, 0, 2, 1], 1, 1)
    """
    src, dst = np.asarray(src), np.asarray(dst)
    dt = _index_dtype(n)
    indptr = np.empty(n + 1, np.int64)
    indices = np.empty(2 * src.shape[0], dt)
    size, loops = _edges_csr(n, src, dst, indptr, indices)
    dups = (indices.shape[0] - 2 * loops - size) // 2
    if size < indices.shape[0]:
        indices = indices[:size].copy()
    return indptr, indices, int(loops), int(dups)
