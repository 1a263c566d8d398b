"""Tests of sim.generators: array-native graphs against networkx, structure, determinism."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
import scipy.stats

from sim import config
from sim.generators import barabasi_albert_csr, circles_csr, csr_from_edges, watts_strogatz_csr
from sim.population import (
    _bernoulli_positions,
    _lower_to_csr,
    _tri_decode,
    build_graph,
    from_edges,
)


def check_csr(n: int, indptr: np.ndarray, indices: np.ndarray) -> None:
    """Symmetric, no self-loops, rows strictly ascending (so no duplicates), indptr monotone."""
    assert indptr.dtype == np.int64 and indptr.shape == (n + 1,)
    assert indices.dtype == np.int32 and indices.shape == (indptr[-1],)
    assert indptr[0] == 0 and np.all(np.diff(indptr) >= 0)
    if indices.size:
        assert indices.min() >= 0 and indices.max() < n
    rows = np.repeat(np.arange(n), np.diff(indptr))
    assert not np.any(rows == indices), "self-loop"
    same_row = np.diff(rows) == 0
    assert np.all(np.diff(indices.astype(np.int64))[same_row] > 0), "row not strictly ascending"
    a = sp.csr_array((np.ones(indices.size), indices, indptr), shape=(n, n))
    assert (a - a.T).count_nonzero() == 0, "not symmetric"


def to_nx(n: int, indptr: np.ndarray, indices: np.ndarray) -> nx.Graph:
    g = nx.Graph()
    g.add_nodes_from(range(n))
    rows = np.repeat(np.arange(n), np.diff(indptr))
    g.add_edges_from(zip(rows.tolist(), indices.tolist()))
    return g


def nx_degrees(g: nx.Graph) -> np.ndarray:
    return np.array([d for _, d in sorted(g.degree())])


# --- Barabási–Albert ------------------------------------------------------------------


@pytest.mark.parametrize("m", [1, 3, 8, 12])  # 12 > 8: the marker-array path
def test_barabasi_albert_matches_networkx_in_distribution(m):
    n = 5000
    indptr, indices = barabasi_albert_csr(n, m, seed=3)
    check_csr(n, indptr, indices)
    deg = np.diff(indptr)
    ref = nx_degrees(nx.barabasi_albert_graph(n, m, seed=3))
    assert indices.size // 2 == ref.sum() // 2 == m * (n - m)
    assert deg.mean() == ref.mean()
    assert deg[m + 1 :].min() >= m and deg.min() >= 1  # newcomers make m edges; star leaves 1+
    assert scipy.stats.ks_2samp(deg, ref, method="asymp").pvalue > 0.01
    assert ref.max() / 3 < deg.max() < 3 * ref.max()  # hubs of the same order
    assert np.mean(deg >= 4 * m) == pytest.approx(np.mean(ref >= 4 * m), abs=0.02)
    assert deg[: m + 1].mean() > 5 * deg.mean()  # the first persons become the hubs


def test_barabasi_albert_small_and_star():
    indptr, indices = barabasi_albert_csr(5, 4, seed=1)  # only the initial star
    assert indptr.tolist() == [0, 4, 5, 6, 7, 8] and indices.tolist() == [1, 2, 3, 4, 0, 0, 0, 0]
    indptr, indices = barabasi_albert_csr(2, 1, seed=1)
    assert indices.tolist() == [1, 0]
    for n, m in ((6, 5), (7, 3), (50, 1), (40, 20)):
        indptr, indices = barabasi_albert_csr(n, m, seed=2)
        check_csr(n, indptr, indices)
        assert indices.size == 2 * m * (n - m)
    with pytest.raises(ValueError, match="1 <= m < n"):
        barabasi_albert_csr(5, 5, seed=1)


def test_barabasi_albert_is_preferential():
    # star 0-1, 0-2: endpoint list [0, 0, 1, 2]; newcomer 3 misses the hub 0 only if it
    # draws a leaf (1/2) and then, redrawing repeats, the other leaf (1/3): P(0) = 5/6,
    # where uniform attachment would give 2/3
    firsts = []
    for seed in range(400):
        indptr, indices = barabasi_albert_csr(4, 2, seed=seed)
        firsts.append(indices[indptr[3] : indptr[4]].tolist())  # newcomer 3 links to 2 of {0,1,2}
    has_hub = np.mean([0 in f for f in firsts])
    assert abs(has_hub - 5 / 6) < 4 * np.sqrt(5 / 6 / 6 / 400)


# --- Watts–Strogatz -------------------------------------------------------------------


@pytest.mark.parametrize("k,p", [(10, 0.1), (6, 0.3), (4, 1.0)])
def test_watts_strogatz_matches_networkx_in_distribution(k, p):
    n = 5000
    indptr, indices = watts_strogatz_csr(n, k, p, seed=4)
    check_csr(n, indptr, indices)
    ref_g = nx.watts_strogatz_graph(n, k, p, seed=4)
    deg, ref = np.diff(indptr), nx_degrees(ref_g)
    assert indices.size // 2 == ref_g.number_of_edges() == n * k // 2
    assert scipy.stats.ks_2samp(deg, ref, method="asymp").pvalue > 0.01
    assert abs(deg.max() - ref.max()) <= 4 and abs(deg.min() - ref.min()) <= 2
    if p <= 0.3:
        c, c_ref = nx.average_clustering(to_nx(n, indptr, indices)), nx.average_clustering(ref_g)
        assert c == pytest.approx(c_ref, rel=0.2)


def test_watts_strogatz_p0_is_the_ring_lattice():
    n, k = 101, 8
    indptr, indices = watts_strogatz_csr(n, k, 0.0, seed=1)
    check_csr(n, indptr, indices)
    for i in range(n):
        ring = sorted((i + d) % n for d in range(-k // 2, k // 2 + 1) if d)
        assert indices[indptr[i] : indptr[i + 1]].tolist() == ring
    assert nx.utils.graphs_equal(to_nx(n, indptr, indices), nx.watts_strogatz_graph(n, k, 0.0))


def test_watts_strogatz_dense_and_invalid():
    for n, k, p in ((7, 6, 1.0), (6, 4, 1.0), (5, 2, 0.7), (3, 2, 1.0)):
        indptr, indices = watts_strogatz_csr(n, k, p, seed=1)  # must terminate, stay simple
        check_csr(n, indptr, indices)
        assert indices.size == n * k
    indptr, _ = watts_strogatz_csr(7, 6, 1.0, seed=1)
    assert np.diff(indptr).tolist() == [6] * 7  # complete: nothing can be rewired
    for n, k, p in ((10, 5, 0.1), (10, 10, 0.1), (10, 0, 0.1), (10, 4, 1.5)):
        with pytest.raises(ValueError):
            watts_strogatz_csr(n, k, p, seed=1)


# --- circles: the Numba kernel walks the NumPy reference's positions ---------------------


def circles_reference(sizes, p_in, p_out, seed):
    """The former NumPy builder (whole position arrays, then a merge)."""
    sizes = np.asarray(sizes, dtype=np.int64)
    n = int(sizes.sum())
    circle = np.repeat(np.arange(sizes.size, dtype=np.int32), sizes)
    start = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    pair_off = np.concatenate([[0], np.cumsum(sizes * (sizes - 1) // 2)])
    x = _bernoulli_positions(int(pair_off[-1]), p_in, seed, 1)
    per = np.diff(np.searchsorted(x, pair_off))
    lo, hi = _tri_decode(x - np.repeat(pair_off[:-1], per))
    lo += np.repeat(start, per)
    hi += np.repeat(start, per)
    if sizes.size > 1 and p_out > 0:
        lo_o, hi_o = _tri_decode(_bernoulli_positions(n * (n - 1) // 2, p_out, seed, 2))
        diff = circle[lo_o] != circle[hi_o]
        lo = np.concatenate([lo, lo_o[diff]])
        hi = np.concatenate([hi, hi_o[diff]])
        order = np.argsort(hi * n + lo, kind="stable")
        lo, hi = lo[order], hi[order]
    g = _lower_to_csr(n, hi, lo)
    return g.indptr, g.indices, circle


CIRCLES = [
    ([1000, 700, 1300], 0.05, 0.004, 1),
    ([3, 2], 1.0, 0.0, 1),
    ([5, 5, 5, 5, 10], 1.0, 1.0, 2),
    ([1, 1, 1, 50], 0.3, 0.2, 3),
    ([200], 0.5, 0.5, 5),
    ([30_000, 40_000], 0.0, 1e-8, 6),  # 2.45e9 pairs, a handful of edges
]


@pytest.mark.parametrize("sizes,p_in,p_out,seed", CIRCLES)
def test_circles_kernel_equals_numpy_reference(sizes, p_in, p_out, seed):
    indptr, indices, circle = circles_csr(sizes, p_in, p_out, seed)
    check_csr(sum(sizes), indptr, indices)
    ref = circles_reference(sizes, p_in, p_out, seed)
    assert np.array_equal(indptr, ref[0]) and np.array_equal(indices, ref[1])
    assert np.array_equal(circle, ref[2])


# --- determinism and wiring -------------------------------------------------------------

GENERATORS = {
    "barabasi_albert": lambda s: barabasi_albert_csr(3000, 4, s),
    "watts_strogatz": lambda s: watts_strogatz_csr(3000, 6, 0.2, s),
    "circles": lambda s: circles_csr([1000, 2000], 0.01, 0.001, s)[:2],
}


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_same_seed_same_arrays_other_seed_other_arrays(name):
    (a_ptr, a_idx), (b_ptr, b_idx), (c_ptr, c_idx) = (GENERATORS[name](s) for s in (9, 9, 10))
    assert np.array_equal(a_ptr, b_ptr) and np.array_equal(a_idx, b_idx)
    assert not (np.array_equal(a_ptr, c_ptr) and np.array_equal(a_idx, c_idx))


def test_build_graph_uses_the_generators():
    ba = build_graph(config.Population(size=400, graph={"kind": "barabasi_albert", "m": 3}), 7)
    indptr, indices = barabasi_albert_csr(400, 3, 7)
    assert np.array_equal(ba.indptr, indptr) and np.array_equal(ba.indices, indices)
    graph = {"kind": "watts_strogatz", "k": 4, "p": 0.25}
    ws = build_graph(config.Population(size=400, graph=graph), 7)
    indptr, indices = watts_strogatz_csr(400, 4, 0.25, 7)
    assert np.array_equal(ws.indptr, indptr) and np.array_equal(ws.indices, indices)


# --- CSR from edge arrays ----------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_csr_from_edges_matches_scipy(dtype):
    rng = np.random.default_rng(5)
    n = 400
    src, dst = rng.integers(0, n, 6000).astype(dtype), rng.integers(0, n, 6000).astype(dtype)
    indptr, indices, loops, dups = csr_from_edges(n, src, dst)
    check_csr(n, indptr, indices)
    a = sp.coo_array((np.ones(src.size), (src, dst)), shape=(n, n)).tocsr()
    a = ((a + a.T) > 0).astype(np.int8).tocsr()
    a.setdiag(0)
    a.eliminate_zeros()
    a.sort_indices()
    assert np.array_equal(indptr, a.indptr) and np.array_equal(indices, a.indices)
    assert loops == int(np.sum(src == dst))
    assert dups == 6000 - loops - a.nnz // 2
    # the weighted (scipy) path of from_edges gives the same structure
    w = from_edges(n, src, dst, np.full(src.size, 0.5))
    assert np.array_equal(w.indptr, indptr) and np.array_equal(w.indices, indices)


def test_csr_from_edges_empty_and_isolated():
    indptr, indices, loops, dups = csr_from_edges(4, np.array([2]), np.array([2]))
    assert indptr.tolist() == [0] * 5 and indices.size == 0 and (loops, dups) == (1, 0)
    indptr, indices, loops, dups = csr_from_edges(5, np.array([], np.int64), np.array([], np.int64))
    assert indptr.tolist() == [0] * 6 and indices.size == 0 and (loops, dups) == (0, 0)
    indptr, indices, _, _ = csr_from_edges(6, np.array([4, 0]), np.array([0, 4]))
    assert indptr.tolist() == [0, 1, 1, 1, 1, 2, 2] and indices.tolist() == [4, 0]
