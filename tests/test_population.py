"""Tests of sim.population: CSR graphs, every graph kind, edge-list files and fit."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.stats

from sim import config
from sim.errors import DataError, ScenarioError
from sim.population import (
    Graph,
    _bernoulli_positions,
    _tri_decode,
    build_graph,
    draw_engagement,
    draw_fit,
    from_edges,
    load_edgelist,
)

FACEBOOK = Path(__file__).resolve().parents[1] / "scenarios" / "data" / "facebook_combined.txt"


def pop(size: int, **graph) -> config.Population:
    return config.Population(size=size, graph=graph)


def check_csr(g: Graph) -> None:
    """Structure every graph must have: symmetric, no self-loops, strictly sorted rows."""
    assert g.indptr.dtype == np.int64 and g.indptr.shape == (g.n + 1,)
    assert g.indices.dtype == np.int32 and g.indices.shape == (g.indptr[-1],)
    assert g.indptr[0] == 0 and np.all(np.diff(g.indptr) >= 0)
    if g.indices.size:
        assert g.indices.min() >= 0 and g.indices.max() < g.n
    rows = np.repeat(np.arange(g.n), g.degree())
    assert not np.any(rows == g.indices), "self-loop"
    same_row = np.diff(rows) == 0
    assert np.all(np.diff(g.indices.astype(np.int64))[same_row] > 0), "row not strictly ascending"
    w = g.weights if g.weights is not None else np.ones(g.indices.size)
    a = sp.csr_array((w, g.indices, g.indptr), shape=(g.n, g.n))
    assert (a - a.T).count_nonzero() == 0, "not symmetric"
    assert g.degree().dtype == np.int64 and g.degree().sum() == 2 * g.n_edges


# --- from_edges -----------------------------------------------------------------------


def test_path_star_triangle_exact_csr():
    g = from_edges(3, [1, 0], [2, 1])  # path 0-1-2, given out of order
    assert g.indptr.tolist() == [0, 1, 3, 4] and g.indices.tolist() == [1, 0, 2, 1]
    assert g.n == 3 and g.n_edges == 2 and g.degree().tolist() == [1, 2, 1]
    assert g.neighbors(1).tolist() == [0, 2] and g.notes == () and g.weights is None
    assert not g.well_mixed and g.contacts == 0 and g.circle is None and g.labels is None
    star = from_edges(5, [4, 0, 2, 0], [0, 3, 0, 1])
    assert star.indptr.tolist() == [0, 4, 5, 6, 7, 8]
    assert star.indices.tolist() == [1, 2, 3, 4, 0, 0, 0, 0]
    tri = from_edges(3, [0, 1, 2], [1, 2, 0])
    assert tri.indptr.tolist() == [0, 2, 4, 6] and tri.indices.tolist() == [1, 2, 0, 2, 0, 1]
    for h in (g, star, tri):
        check_csr(h)


def test_self_loops_and_duplicates_dropped_and_noted():
    g = from_edges(4, [0, 1, 1, 2, 2, 3, 0], [1, 0, 1, 2, 3, 2, 1])
    assert g.n_edges == 2 and g.indices.tolist() == [1, 0, 3, 2]
    assert g.notes == ("dropped 2 self-loops", "dropped 3 duplicate edges")
    one = from_edges(3, [0, 0, 1], [0, 1, 0])
    assert one.notes == ("dropped 1 self-loop", "dropped 1 duplicate edge")
    check_csr(g)


def test_weights_follow_edges_and_first_duplicate_wins():
    g = from_edges(4, [2, 0, 1, 2], [0, 1, 0, 3], weights=[0.2, 0.5, 0.9, 0.7])
    assert g.weights.dtype == np.float64 and g.weights.shape == g.indices.shape
    weight = {
        (i, int(j)): float(w)
        for i in range(4)
        for j, w in zip(g.neighbors(i), g.weights[g.indptr[i] : g.indptr[i + 1]])
    }
    assert weight == {(0, 1): 0.5, (1, 0): 0.5, (0, 2): 0.2, (2, 0): 0.2, (2, 3): 0.7, (3, 2): 0.7}
    check_csr(g)


def test_from_edges_rejects_bad_ids_and_handles_empty():
    with pytest.raises(ValueError):
        from_edges(3, [0, 3], [1, 1])
    with pytest.raises(ValueError):
        from_edges(3, [0], [1, 2])
    g = from_edges(3, [1], [1])
    assert g.n_edges == 0 and g.indptr.tolist() == [0, 0, 0, 0]
    assert g.notes == ("dropped 1 self-loop",)


def test_random_edges_match_scipy():
    rng = np.random.default_rng(3)
    src, dst = rng.integers(0, 300, 5000), rng.integers(0, 300, 5000)
    g = from_edges(300, src, dst)
    a = sp.coo_array((np.ones(src.size), (src, dst)), shape=(300, 300)).tocsr()
    a = ((a + a.T) > 0).astype(np.int8).tocsr()
    a.setdiag(0)
    a.eliminate_zeros()
    a.sort_indices()
    assert np.array_equal(g.indptr, a.indptr) and np.array_equal(g.indices, a.indices)
    check_csr(g)


# --- graph kinds ----------------------------------------------------------------------

KINDS = {
    "barabasi_albert": (500, {"m": 3}, 3 * 497),
    "watts_strogatz": (500, {"k": 6, "p": 0.2}, 500 * 3),
    "powerlaw_cluster": (500, {"m": 3, "p": 0.5}, 3 * 497),
    "complete": (40, {}, 40 * 39 // 2),
    "circles": (600, {"count": 3, "p_in": 0.1, "p_out": 0.01}, 3 * 19900 * 0.1 + 120000 * 0.01),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_builds_a_valid_graph(kind):
    n, params, edges = KINDS[kind]
    g = build_graph(pop(n, kind=kind, **params), seed=5)
    check_csr(g)
    assert g.n == n and not g.well_mixed
    if kind == "powerlaw_cluster":
        assert 0.97 * edges <= g.n_edges <= edges
    elif kind == "circles":
        assert abs(g.n_edges - edges) < 6 * np.sqrt(edges)
    else:
        assert g.n_edges == edges


RANDOM_KINDS = ["barabasi_albert", "watts_strogatz", "powerlaw_cluster", "circles"]


@pytest.mark.parametrize("kind", RANDOM_KINDS)
def test_same_seed_same_graph_other_seed_other_graph(kind):
    n, params, _ = KINDS[kind]
    a, b, c = (build_graph(pop(n, kind=kind, **params), seed=s) for s in (11, 11, 12))
    assert np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)
    assert not (np.array_equal(a.indptr, c.indptr) and np.array_equal(a.indices, c.indices))


def test_well_mixed_has_no_edges():
    g = build_graph(pop(1000, kind="well_mixed", contacts=7), seed=1)
    assert g.well_mixed and g.contacts == 7 and g.n == 1000 and g.n_edges == 0
    assert g.indptr.tolist() == [0] * 1001 and g.indices.size == 0 and g.degree().sum() == 0
    check_csr(g)


def test_parameters_inconsistent_with_size_are_scenario_errors():
    for graph in ({"kind": "barabasi_albert", "m": 10}, {"kind": "powerlaw_cluster", "m": 12},
                  {"kind": "watts_strogatz", "k": 5}, {"kind": "watts_strogatz", "k": 10},
                  {"kind": "circles", "sizes": [4, 5]}, {"kind": "circles", "count": 11}):
        with pytest.raises(ScenarioError):
            build_graph(pop(10, **graph), seed=1)
    with pytest.raises(ScenarioError, match="well_mixed"):
        build_graph(pop(100_000, kind="complete"), seed=1)


# --- circles (own SBM generator) -----------------------------------------------------


def within_between(g: Graph) -> tuple[int, int]:
    rows = np.repeat(np.arange(g.n), g.degree())
    same = g.circle[rows] == g.circle[g.indices]
    return int(same.sum()) // 2, int((~same).sum()) // 2


def test_circle_sizes_and_remainder():
    g = build_graph(pop(103, kind="circles", count=10, p_in=0.5, p_out=0.01), seed=1)
    assert g.circle.dtype == np.int32 and g.circle.shape == (103,)
    assert np.bincount(g.circle).tolist() == [11, 11, 11] + [10] * 7
    assert np.all(np.diff(g.circle) >= 0)
    h = build_graph(pop(10, kind="circles", sizes=[2, 5, 3], p_in=1.0, p_out=0.0), seed=1)
    assert np.bincount(h.circle).tolist() == [2, 5, 3]
    assert h.n_edges == 1 + 10 + 3 and within_between(h) == (14, 0)  # cliques, nothing between
    full = build_graph(pop(30, kind="circles", count=4, p_in=1.0, p_out=1.0), seed=1)
    assert full.n_edges == 30 * 29 // 2


@pytest.mark.parametrize("seed", [1, 2])
def test_circle_edge_density_matches_p_in_p_out(seed):
    sizes = [1000, 700, 1300]
    g = build_graph(pop(3000, kind="circles", sizes=sizes, p_in=0.05, p_out=0.004), seed=seed)
    check_csr(g)
    pairs_in = sum(s * (s - 1) // 2 for s in sizes)
    pairs_out = 3000 * 2999 // 2 - pairs_in
    win, btw = within_between(g)
    for k, pairs, p in ((win, pairs_in, 0.05), (btw, pairs_out, 0.004)):
        assert abs(k - pairs * p) < 5 * np.sqrt(pairs * p * (1 - p))
    # every circle gets its share of within edges
    rows = np.repeat(np.arange(g.n), g.degree())
    per = np.bincount(g.circle[rows][g.circle[rows] == g.circle[g.indices]]) // 2
    for k, s in zip(per, sizes):
        mean = s * (s - 1) / 2 * 0.05
        assert abs(k - mean) < 5 * np.sqrt(mean)


def test_circles_100k_is_fast_and_right():
    t = time.perf_counter()
    g = build_graph(pop(100_000, kind="circles", count=10, p_in=0.002, p_out=2e-5), seed=3)
    elapsed = time.perf_counter() - t
    assert elapsed < 10, elapsed  # about 0.1 s on a laptop
    win, btw = within_between(g)
    exp_in, exp_out = 10 * 10_000 * 9_999 / 2 * 0.002, 90 * 10_000**2 / 2 * 2e-5
    assert abs(win - exp_in) < 5 * np.sqrt(exp_in) and abs(btw - exp_out) < 5 * np.sqrt(exp_out)
    check_csr(g)


def test_tri_decode_and_bernoulli_positions():
    t = np.array([0, 1, 2, 3, 4, 5], dtype=np.int64)
    i, j = _tri_decode(t)
    assert list(zip(i.tolist(), j.tolist())) == [(0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3)]
    big_j = np.array([2**31 - 1, 2_000_000_000, 94_906_267, 94_906_266], dtype=np.int64)
    big_i = big_j - 1
    i, j = _tri_decode(big_j * (big_j - 1) // 2 + big_i)
    assert np.array_equal(i, big_i) and np.array_equal(j, big_j)
    i, j = _tri_decode(big_j * (big_j - 1) // 2)
    assert np.array_equal(i, 0 * big_j) and np.array_equal(j, big_j)
    x = _bernoulli_positions(10**7, 0.01, 1, 1)
    assert np.all(np.diff(x) > 0) and x[0] >= 0 and x[-1] < 10**7
    assert abs(x.size - 10**5) < 5 * np.sqrt(10**5)
    assert np.array_equal(x, _bernoulli_positions(10**7, 0.01, 1, 1))
    assert _bernoulli_positions(10, 1.0, 1, 1).tolist() == list(range(10))
    assert _bernoulli_positions(10, 0.0, 1, 1).size == 0
    huge = _bernoulli_positions(2 * 10**18, 1e-16, 1, 1)  # gaps near 2**63 must not overflow
    assert huge.size < 1000 and np.all(huge < 2 * 10**18) and np.all(np.diff(huge) > 0)


# --- edge lists -----------------------------------------------------------------------


def test_facebook_loads_fast():
    t = time.perf_counter()
    g = load_edgelist(FACEBOOK)
    elapsed = time.perf_counter() - t
    assert elapsed < 5, elapsed  # well under 1 s normally
    assert g.n == 4039 and g.n_edges == 88234 and g.notes == ()
    assert g.labels.dtype == np.int64 and np.array_equal(g.labels, np.arange(4039))
    check_csr(g)


def write(tmp_path: Path, text: str, name: str = "e.txt") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_comments_blank_lines_csv_and_string_ids(tmp_path):
    p = write(tmp_path, "# header\n%also\n\n  b, a \nc,a\r\na,b\n\n   # indented comment\nc,c\n")
    g = load_edgelist(p)
    assert g.labels.tolist() == ["a", "b", "c"] and g.n_edges == 2
    assert g.neighbors(0).tolist() == [1, 2]
    assert g.notes == ("dropped 1 self-loop", "dropped 1 duplicate edge")
    q = write(tmp_path, "10\t30\n30 20  \n", "ws.txt")
    h = load_edgelist(q)
    assert h.labels.tolist() == [10, 20, 30] and h.indices.tolist() == [2, 2, 0, 1]
    big = load_edgelist(write(tmp_path, "99999999999999999999 1\n1 2\n", "big.txt"))
    assert big.labels.tolist() == ["1", "2", "99999999999999999999"]  # too big for int64: text


def test_weighted_file(tmp_path):
    p = write(tmp_path, "1 2 0.5\n2 3 1\n3 1 0.25\n2 1 0.9\n")
    g = load_edgelist(p, weighted=True)
    assert g.weights.tolist() == [0.5, 0.25, 0.5, 1.0, 0.25, 1.0]
    assert g.notes == ("dropped 1 duplicate edge",)
    check_csr(g)
    assert load_edgelist(write(tmp_path, "1;2;0.5\n", "s.txt"), delimiter=";", weighted=True).n == 2


def test_build_graph_edgelist_relative_path_and_size_note(tmp_path):
    write(tmp_path, "5 6\n6 7\n", "net.txt")
    p = config.Population(size=3, graph={"kind": "edgelist", "path": "net.txt"})
    g = build_graph(p, seed=1, base_dir=tmp_path)
    assert g.n == 3 and g.notes == ()
    g = build_graph(p.model_copy(update={"size": 99}), seed=1, base_dir=tmp_path)
    assert g.n == 3 and "ignored" in g.notes[0]


BAD = [
    ("1 2\n# c\n\n3\n", False, 4, "expected 2 columns (source, target), found 1"),
    ("1 2\n3 4 5 6\n", False, 2, "expected 2 columns (source, target), found 4"),
    ("1 2\n3 4 0.5\n", False, 2, "set weighted: true"),
    ("1 2 0.5\n3 4\n", True, 2, "expected 3 columns (source, target, weight), found 2"),
    ("1 2 0.5\n3 4 0.1 7\n", True, 2, "found 4"),
    ("%x\n1 2 0.5\n3 4 abc\n", True, 3, "weight must be a number in (0, 1], got 'abc'"),
    ("1 2 0.5\n3 4 0\n", True, 2, "weight must be a number in (0, 1], got '0'"),
    ("1 2 1.5\n", True, 1, "got '1.5'"),
    ("1 2 nan\n", True, 1, "got 'nan'"),
    ("1,2\n3,\n", False, 2, "empty id"),
    ("source target\n1 2\n2 3\n", False, 1, "header row"),
    ("1 2 # inline\n3\n", False, 1, "found 4"),
]


@pytest.mark.parametrize("text,weighted,line,what", BAD)
def test_malformed_rows_give_one_line_errors(tmp_path, text, weighted, line, what):
    p = write(tmp_path, text)
    with pytest.raises(DataError) as e:
        load_edgelist(p, weighted=weighted)
    msg = str(e.value)
    row = text.split("\n")[line - 1]
    assert msg.startswith(f"{p}:{line}: ") and what in msg and msg.endswith(repr(row)), msg
    assert "\n" not in msg


def test_missing_empty_and_edgeless_files(tmp_path):
    missing = tmp_path / "nope.txt"
    with pytest.raises(DataError) as e:
        load_edgelist(missing)
    assert str(e.value) == f"edge list not found: {missing}"
    for text in ("", "# only a comment\n\n"):
        with pytest.raises(DataError, match="no edges"):
            load_edgelist(write(tmp_path, text))
    with pytest.raises(DataError, match="no edges left"):
        load_edgelist(write(tmp_path, "1 1\n2 2\n"))
    with pytest.raises(DataError, match="directory"):
        load_edgelist(tmp_path)
    with pytest.raises(DataError, match="not found"):
        build_graph(config.Population(graph={"kind": "edgelist", "path": "nope.txt"}), 1, tmp_path)


# --- fit ------------------------------------------------------------------------------


def test_constant_fit():
    f = draw_fit(config.Fit(constant=0.7), 50, seed=1)
    assert f.dtype == np.float64 and f.shape == (50,) and np.all(f == 0.7)


def test_beta_fit_distribution_and_determinism():
    fit = config.Fit(alpha=2.0, beta=3.0)
    f = draw_fit(fit, 20_000, seed=42)
    assert f.dtype == np.float64 and f.shape == (20_000,) and f.min() >= 0 and f.max() <= 1
    assert abs(f.mean() - 0.4) < 0.01
    assert scipy.stats.kstest(f, "beta", args=(2.0, 3.0)).pvalue > 0.001
    assert np.array_equal(f, draw_fit(fit, 20_000, seed=42))
    assert not np.array_equal(f, draw_fit(fit, 20_000, seed=43))
    assert np.array_equal(f[:100], draw_fit(fit, 100, seed=42))  # a person's fit ignores n


def test_fit_correlated_within_circles():
    circle = np.repeat(np.arange(1000, dtype=np.int32), 20)
    fit = config.Fit(alpha=2.0, beta=3.0, circle_corr=0.5)

    def within_corr(f):
        return np.corrcoef(f[0::2], f[1::2])[0, 1]  # persons 2k, 2k+1 share a circle

    f = draw_fit(fit, circle.size, seed=1, circle=circle)
    assert within_corr(f) > 0.3
    one_per_circle = f[::20]  # independent draws: the marginal is still Beta(2, 3)
    assert scipy.stats.kstest(one_per_circle, "beta", args=(2.0, 3.0)).pvalue > 0.001
    assert abs(within_corr(draw_fit(fit, circle.size, 1))) < 0.05  # no circles: no correlation
    same = draw_fit(fit.model_copy(update={"circle_corr": 1.0}), circle.size, 1, circle)
    assert np.all(same.reshape(1000, 20) == same.reshape(1000, 20)[:, :1])


def test_engagement_is_log_normal_with_its_median_and_sigma():
    eng = config.Engagement(median=2.0, sigma=1.1)
    e = draw_engagement(eng, 100_000, seed=5)
    assert np.median(e) == pytest.approx(2.0, rel=0.02)
    assert np.std(np.log(e)) == pytest.approx(1.1, rel=0.02)
    assert (e > 0).all()
    # heavy tail: the top 10% hold a large share of all engagement
    top = np.sort(e)[-10_000:].sum() / e.sum()
    assert top > 0.4
    assert np.array_equal(e, draw_engagement(eng, 100_000, seed=5))
    assert not np.array_equal(e, draw_engagement(eng, 100_000, seed=6))


def test_engagement_sigma_zero_is_everyone_equal_and_independent_of_fit():
    e = draw_engagement(config.Engagement(median=1.0, sigma=0.0), 1000, seed=5)
    assert (e == 1.0).all()
    fit = draw_fit(config.Fit(alpha=2.0, beta=3.0), 50_000, seed=5)
    e = draw_engagement(config.Engagement(sigma=1.0), 50_000, seed=5)
    assert abs(np.corrcoef(fit, np.log(e))[0, 1]) < 0.02


# --- draw_population: one population per process and seed --------------------------------------


def test_draw_population_reuses_bit_for_bit_and_hands_out_own_arrays():
    from sim import population

    p = pop(3000, kind="barabasi_albert", m=3)
    population._populations.clear()
    g1, f1, e1 = population.draw_population(p, 5)
    g2, f2, e2 = population.draw_population(p, 5)
    assert g2 is g1  # built once
    assert np.array_equal(f1, f2) and np.array_equal(e1, e2)
    assert f1 is not f2 and e1 is not e2  # each model writes its own state
    f2[:] = -1.0
    _, f3, _ = population.draw_population(p, 5)
    assert np.array_equal(f3, f1)
    fresh = build_graph(p, 5)
    assert np.array_equal(g1.indices, fresh.indices) and np.array_equal(g1.indptr, fresh.indptr)
    assert np.array_equal(f1, draw_fit(p.fit, 3000, 5, None))
    g4, f4, _ = population.draw_population(p, 6)
    assert g4 is not g1 and not np.array_equal(f4, f1)


def test_draw_population_sees_a_changed_edge_list(tmp_path):
    from sim import population

    path = tmp_path / "edges.txt"
    path.write_text("0 1\n1 2\n")
    p = config.Population(graph={"kind": "edgelist", "path": str(path)})
    assert population.draw_population(p, 1)[0].n == 3
    path.write_text("0 1\n1 2\n2 3\n3 4\n")
    assert population.draw_population(p, 1)[0].n == 5


def test_population_seed_fixes_the_population_across_run_seeds():
    from sim import GrowthModel

    kw = dict(steps=5, population={"size": 500, "seed": 9})
    a, b = GrowthModel("fish_pond", rng=1, **kw), GrowthModel("fish_pond", rng=2, **kw)
    assert np.array_equal(a.graph.indices, b.graph.indices)
    assert np.array_equal(a.state.fit, b.state.fit)
    c = GrowthModel("fish_pond", rng=1, steps=5, population={"size": 500})
    assert not np.array_equal(a.state.fit, c.state.fit)  # null: the run seed draws it
    d = GrowthModel("fish_pond", rng=9, steps=5, population={"size": 500})
    assert np.array_equal(a.state.fit, d.state.fit)
