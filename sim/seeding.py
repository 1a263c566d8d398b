"""Choosing the fry: seeding strategies (MODEL.md §4) and the mass pull (拉群).

Persons are ranked by ``(score descending, tiebreak ascending)`` with ``tiebreak =
u_array(seed, 0, Phase.TIEBREAK, person, 0)``; ``random`` ranks by
``u_array(seed, 0, Phase.SEEDING, person, 0)``: seeds are a pure function of the scenario,
the graph and the fit, and ties (e.g. on a ring) are broken by the run seed.

Strategies:
    random: uniform order.
    degree: number of neighbours (unweighted).
    fit_degree: degree × fit (the right people, not only the loud ones).
    pagerank: power iteration on the CSR (damping 0.85), edge weights used if present.
    kcore: core number (Batagelj–Zaversnik, O(n + m)); ties by degree, then tiebreak.
    betweenness: Brandes over hop distances from a seeded sample of sources (all when
        n ≤ 500, else 500, fewer when n + 2m is large: ~180 on a 100k BA m=5 graph).
    influence_max: greedy influence maximisation with IMM reverse-reachable sets,
        see :func:`influence_max`.

Well-mixed populations (``graph.well_mixed``: no edges, random daily contacts) have no
structure to rank: ``fit_degree`` then ranks by fit alone and every other strategy
falls back to the ``random`` order.
"""

from __future__ import annotations

import heapq
import math

import numpy as np
from scipy import sparse

from sim.codes import Phase
from sim.config import SEEDING_STRATEGIES
from sim.errors import ScenarioError
from sim.jit import cached
from sim.rng import stream_key, u_array, u_key_nb

STRATEGIES = SEEDING_STRATEGIES

#: IMM accuracy ε and failure exponent ℓ (success probability 1 − n^−ℓ).
IMM_EPSILON = 0.5
IMM_ELL = 1.0
#: Hard caps on the RR-set collection (the IMM bound is used below them).
MAX_RR_SETS = 1_000_000
MAX_RR_ENTRIES = 20_000_000
#: Work budget (≈ n + 2m per source) for sampled betweenness: keeps it well under 30 s.
BETWEENNESS_SOURCES = 500
BETWEENNESS_WORK = 200_000_000

# --- numba twin of sim.rng (same bits) -------------------------------------------------

# --- graph kernels ---------------------------------------------------------------------


@cached
def _core_numbers(indptr, indices, n):
    """Batagelj–Zaversnik O(n + m) core decomposition; returns int64 core numbers (n,)."""
    deg = indptr[1:] - indptr[:-1]
    bins = np.zeros(deg.max() + 2 if n else 1, np.int64)
    for v in range(n):
        bins[deg[v] + 1] += 1
    bins = np.cumsum(bins)  # bins[d] = first position of degree d in vert
    pos, vert = np.empty(n, np.int64), np.empty(n, np.int64)
    for v in range(n):
        pos[v] = bins[deg[v]]
        vert[pos[v]] = v
        bins[deg[v]] += 1
    for d in range(len(bins) - 1, 0, -1):
        bins[d] = bins[d - 1]
    bins[0] = 0
    for i in range(n):
        v = vert[i]
        for j in range(indptr[v], indptr[v + 1]):
            w = indices[j]
            if deg[w] > deg[v]:
                dw, pw = deg[w], pos[w]
                ps = bins[dw]
                x = vert[ps]
                if x != w:
                    pos[x], vert[pw], pos[w], vert[ps] = pw, x, ps, w
                bins[dw] += 1
                deg[w] -= 1
    return deg


@cached
def _brandes(indptr, indices, n, sources):
    """Brandes betweenness over hop distances, summed over ``sources`` (float64 (n,))."""
    bc, sigma, delta = np.zeros(n), np.zeros(n), np.zeros(n)
    dist, order = np.full(n, -1, np.int64), np.empty(n, np.int64)
    for s in sources:
        dist[s], sigma[s], order[0] = 0, 1.0, s
        head, tail = 0, 1
        while head < tail:
            v = order[head]
            head += 1
            for j in range(indptr[v], indptr[v + 1]):
                w = indices[j]
                if dist[w] < 0:
                    dist[w] = dist[v] + 1
                    order[tail] = w
                    tail += 1
                if dist[w] == dist[v] + 1:
                    sigma[w] += sigma[v]
        for i in range(tail - 1, -1, -1):
            w = order[i]
            for j in range(indptr[w], indptr[w + 1]):
                v = indices[j]
                if dist[v] == dist[w] - 1:
                    delta[v] += sigma[v] / sigma[w] * (1.0 + delta[w])
            if w != s:
                bc[w] += delta[w]
        for w in order[:tail]:
            dist[w], sigma[w], delta[w] = -1, 0.0, 0.0
    return bc


@cached
def _rr_sets(indptr, indices, pnode, pedge, key, n, start, stop, out, pos, offsets, mark, queue):
    """Append RR sets ``start..stop-1`` to ``out`` from ``pos``; returns (sets done, pos).

    Set ``s`` has root ``floor(u(s, 0) · n)``; the in-edge w→x (w a neighbour of x met
    while expanding x) is live when ``u(s, c) < p`` (c = 1, 2, ... per draw, drawn only for
    unvisited w with p > 0), p = ``pedge[j]`` if given else ``pnode[x]``. Stops early,
    dropping the partial set, when ``out`` is full.
    """
    weighted = pedge.size > 0
    for s in range(start, stop):
        if pos >= out.size:
            return s, pos
        root = min(int(u_key_nb(key, s, 0) * n), n - 1)
        mark[root], queue[0], out[pos] = s, root, root
        pos, cnt, head, tail = pos + 1, 1, 0, 1
        while head < tail:
            x = queue[head]
            head += 1
            if not weighted and pnode[x] <= 0.0:
                continue
            for j in range(indptr[x], indptr[x + 1]):
                w = indices[j]
                if mark[w] == s:
                    continue
                p = pedge[j] if weighted else pnode[x]
                if p <= 0.0:
                    continue
                r = u_key_nb(key, s, cnt)
                cnt += 1
                if r < p:
                    if pos >= out.size:
                        return s, offsets[s]
                    mark[w], queue[tail], out[pos] = s, w, w
                    tail, pos = tail + 1, pos + 1
        offsets[s + 1] = pos
    return stop, pos


@cached
def _greedy_cover(out, offsets, n_sets, n, k, tbrank, byrank):
    """Greedy max coverage with a lazy (CELF-style) heap; returns (chosen int64, covered).

    Heap keys encode ``gain · n + (n − 1 − tbrank)`` so the exact greedy choice is the
    highest marginal gain, ties to the smallest tiebreak rank. Gains are kept exact by
    decrementing when a set gets covered; stale heap entries are re-pushed when popped.
    """
    total = offsets[n_sets]
    nptr = np.zeros(n + 1, np.int64)
    for i in range(total):
        nptr[out[i] + 1] += 1
    for v in range(n):
        nptr[v + 1] += nptr[v]
    fill = nptr[:-1].copy()
    sets_of = np.empty(total, np.int64)
    for s in range(n_sets):
        for i in range(offsets[s], offsets[s + 1]):
            v = out[i]
            sets_of[fill[v]] = s
            fill[v] += 1
    gain = nptr[1:] - nptr[:-1]
    heap = [np.int64(0)]
    heap.pop()
    for v in range(n):
        if gain[v] > 0:
            heap.append(-(gain[v] * n + (n - 1 - tbrank[v])))
    heapq.heapify(heap)
    covered = np.zeros(n_sets, np.bool_)
    chosen = np.empty(k, np.int64)
    m, n_cov = 0, 0
    while m < k and len(heap) > 0:
        key = -heapq.heappop(heap)
        g, v = key // n, byrank[n - 1 - key % n]
        if gain[v] != g:
            if gain[v] > 0:
                heapq.heappush(heap, -(gain[v] * n + (n - 1 - tbrank[v])))
            continue
        chosen[m], m, n_cov = v, m + 1, n_cov + g
        for a in range(nptr[v], nptr[v + 1]):
            s = sets_of[a]
            if not covered[s]:
                covered[s] = True
                for i in range(offsets[s], offsets[s + 1]):
                    gain[out[i]] -= 1
    return chosen[:m], n_cov


# --- scores ----------------------------------------------------------------------------


def pagerank(graph, alpha: float = 0.85, tol: float = 1e-10, max_iter: int = 1000) -> np.ndarray:
    """PageRank by power iteration on the CSR (networkx semantics, weights if present).

    Dangling persons spread rank uniformly. Stops when the L1 change is below ``n · tol``
    (networkx's criterion) or after ``max_iter`` sweeps. Returns float64 (n,), sum 1.
    """
    n = graph.n
    w = np.ones(len(graph.indices)) if graph.weights is None else np.asarray(graph.weights, float)
    a = sparse.csr_matrix((w, graph.indices, graph.indptr), shape=(n, n))
    out = np.asarray(a.sum(axis=1)).ravel()
    inv = np.divide(1.0, out, out=np.zeros(n), where=out > 0)
    dangling = out == 0
    at = a.T.tocsr()
    x = np.full(n, 1.0 / n)
    for _ in range(max_iter):
        xn = alpha * (at @ (x * inv) + x[dangling].sum() / n) + (1.0 - alpha) / n
        err, x = np.abs(xn - x).sum(), xn
        if err < n * tol:
            break
    return x


def core_numbers(graph) -> np.ndarray:
    """Core number of every person (int64 (n,)); equals ``networkx.core_number``."""
    return _core_numbers(_i64(graph.indptr), graph.indices, graph.n)


def betweenness(graph, seed: int, n_sources: int | None = None) -> np.ndarray:
    """Sampled (unnormalised, both directions) betweenness over hop distances.

    Sources are the first ``n_sources`` persons in the order of
    ``u_array(seed, 0, Phase.SEEDING, person, 1)``; default ``min(n, 500)``, reduced so
    that ``sources · (n + nnz) ≤ BETWEENNESS_WORK`` (at least 4). With all n sources
    it is exactly twice ``networkx.betweenness_centrality(G, normalized=False)``.
    Returns float64 (n,).
    """
    n = graph.n
    if n_sources is None:
        per = n + len(graph.indices)
        n_sources = min(n, BETWEENNESS_SOURCES, max(4, BETWEENNESS_WORK // max(per, 1)))
    order = np.argsort(u_array(seed, 0, Phase.SEEDING, np.arange(n), 1), kind="stable")
    return _brandes(_i64(graph.indptr), graph.indices, n, order[:n_sources].astype(np.int64))


def live_probabilities(scenario, graph, fit) -> tuple[np.ndarray, np.ndarray]:
    """Independent-cascade live probabilities (see :func:`influence_max`).

    Returns (pnode float64 (n,), pedge float64 (nnz,) for weighted graphs, else (0,)).
    """
    r, sd = scenario.rules, scenario.seeding
    q = min(max(r.invite_rate * getattr(r.role_mult, sd.role) * sd.intimacy, 0.0), 1.0)
    days = min(scenario.steps, round(1.0 / r.churn_base)) if r.churn_base > 0 else scenario.steps
    days = max(int(days), 1)
    qc = np.clip(q * np.clip(r.convert_prob * np.asarray(fit, float), 0.0, 1.0), 0.0, 1.0)
    pnode = 1.0 - (1.0 - qc) ** days
    if graph.weights is None:
        return pnode, np.zeros(0)
    rows = np.repeat(np.arange(graph.n), np.diff(graph.indptr))
    qw = np.clip(qc[rows] * np.asarray(graph.weights, float), 0.0, 1.0)
    return pnode, 1.0 - (1.0 - qw) ** days


def influence_max(scenario, graph, fit, count: int) -> np.ndarray:
    """Greedy influence maximisation with IMM reverse-reachable (RR) sets.

    Reading of the scenario as an independent cascade: a seed w invites its neighbour x
    daily with ``q = invite_rate · role_mult[seeding.role] · seeding.intimacy`` (× edge
    weight), x converts per invitation with ``c_x = convert_prob · fit_x``, and w keeps
    inviting for ``L = min(steps, round(1 / churn_base))`` days (``steps`` if no churn), so
    the edge w→x is live with ``p = 1 − (1 − q·c_x)^L`` (clipped to [0, 1]). Every joiner is
    read as inviting like a seed (same q): intimacy growth, fatigue and roles are ignored.

    RR sets follow IMM (Tang, Shi & Xiao 2015) with ε = ``IMM_EPSILON`` and ℓ = ``IMM_ELL``:
    the sampling phase halves a guess x of OPT until the greedy coverage certifies a lower
    bound LB, then θ = λ*/LB sets are drawn. θ is capped by ``MAX_RR_SETS`` and the total
    size by ``MAX_RR_ENTRIES`` (then fewer sets are used: an approximation, only hit in
    supercritical regimes where RR sets are huge). RR set s uses the draws
    ``u(seed, 0, Phase.INFLUENCE_MAX, s, c)``. Seeds come from the exact greedy max
    coverage (lazy heap, ties by tiebreak); once every set is covered the rest are filled
    by degree.

    Returns:
        int64 array (count,) of distinct persons, in greedy order.
    """
    n, seed = graph.n, scenario.seed
    if count <= 0:
        return np.zeros(0, np.int64)
    pnode, pedge = live_probabilities(scenario, graph, fit)
    indptr, indices = _i64(graph.indptr), graph.indices
    key = np.uint64(stream_key(seed, 0, Phase.INFLUENCE_MAX))
    tb = u_array(seed, 0, Phase.TIEBREAK, np.arange(n), 0)
    byrank = np.argsort(tb, kind="stable").astype(np.int64)
    tbrank = np.empty(n, np.int64)
    tbrank[byrank] = np.arange(n)
    out = np.empty(MAX_RR_ENTRIES, np.int32 if n < 2**31 else np.int64)
    offsets, mark = np.zeros(MAX_RR_SETS + 1, np.int64), np.full(n, -1, np.int64)
    queue = np.empty(n, np.int64)
    st = {"sets": 0, "pos": 0, "full": False}

    def ensure(theta: float) -> None:  # grow the collection to theta sets (capped)
        want = int(min(math.ceil(theta), MAX_RR_SETS))
        if want > st["sets"] and not st["full"]:
            done, pos = _rr_sets(indptr, indices, pnode, pedge, key, n, st["sets"], want,
                                 out, st["pos"], offsets, mark, queue)
            st.update(sets=int(done), pos=int(pos), full=done < want or want == MAX_RR_SETS)

    def greedy() -> tuple[np.ndarray, float]:  # (seeds, estimated spread)
        chosen, cov = _greedy_cover(out, offsets, st["sets"], n, count, tbrank, byrank)
        return chosen, n * cov / max(st["sets"], 1)

    nn, k = max(n, 2), min(count, n)
    ln_n = math.log(nn)
    ell = IMM_ELL * (1.0 + math.log(2.0) / ln_n)
    ln_c = math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
    eps_p = math.sqrt(2.0) * IMM_EPSILON
    lam_p = (2 + 2 * eps_p / 3) * (ln_c + ell * ln_n + math.log(max(math.log2(nn), 1.0)))
    lam_p *= n / eps_p**2
    lb = 1.0
    for i in range(1, max(int(math.log2(nn)), 2)):
        x = n / 2.0**i
        ensure(lam_p / x)
        _, spread = greedy()
        if spread >= (1 + eps_p) * x or st["full"]:
            lb = max(lb, spread / (1 + eps_p))
            break
    e1 = 1.0 - 1.0 / math.e
    alpha = math.sqrt(ell * ln_n + math.log(2.0))
    beta = math.sqrt(e1 * (ln_c + ell * ln_n + math.log(2.0)))
    ensure(2.0 * n * (e1 * alpha + beta) ** 2 / IMM_EPSILON**2 / lb)
    chosen, _ = greedy()
    return np.concatenate([chosen, _by_degree(graph, tb, chosen, count - len(chosen))])


# --- ranking ---------------------------------------------------------------------------


def _i64(a) -> np.ndarray:
    return np.asarray(a, dtype=np.int64)


def _score_keys(score: np.ndarray, tb: np.ndarray) -> list[np.ndarray]:
    """np.lexsort keys (last = primary) for score descending, tiebreak ascending."""
    return [tb, -np.asarray(score, dtype=np.float64)]


def _by_degree(graph, tb: np.ndarray, exclude: np.ndarray, count: int) -> np.ndarray:
    """The ``count`` highest-degree persons not in ``exclude`` (int64, ties by ``tb``)."""
    keys = _score_keys(graph.degree(), tb)
    keys[-1][exclude] = np.inf
    return _top(keys, count)


def _top(keys: list[np.ndarray], count: int) -> np.ndarray:
    """First ``count`` indices of ``np.lexsort(keys)`` without a full sort (int64)."""
    primary = keys[-1]
    n = len(primary)
    if count <= 0:
        return np.zeros(0, np.int64)
    if count >= n:
        return np.lexsort(keys).astype(np.int64)
    kth = np.partition(primary, count - 1)[count - 1]
    cand = np.flatnonzero(primary <= kth)
    sub = np.lexsort([k[cand] for k in keys])
    return cand[sub[:count]].astype(np.int64)


def _rank_keys(strategy: str, graph, fit, seed: int) -> list[np.ndarray]:
    n = graph.n
    if strategy not in STRATEGIES:
        raise ScenarioError(f"seeding.strategy = {strategy!r} is unknown; use one of {STRATEGIES}")
    idx = np.arange(n)
    if strategy == "random" or (graph.well_mixed and strategy != "fit_degree"):
        return [u_array(seed, 0, Phase.SEEDING, idx, 0)]
    tb = u_array(seed, 0, Phase.TIEBREAK, idx, 0)
    if graph.well_mixed and strategy == "fit_degree":
        return _score_keys(np.asarray(fit, float), tb)
    if strategy == "degree":
        return _score_keys(graph.degree(), tb)
    if strategy == "fit_degree":
        return _score_keys(graph.degree() * np.asarray(fit, float), tb)
    if strategy == "pagerank":
        return _score_keys(pagerank(graph), tb)
    if strategy == "kcore":  # core number, then degree, then tiebreak
        return [tb, -graph.degree().astype(float), -core_numbers(graph).astype(float)]
    if strategy == "betweenness":
        return _score_keys(betweenness(graph, seed), tb)
    raise ValueError("influence_max is ranked by influence_max(), not by a score")


def rank_persons(strategy: str, graph, fit, seed: int, scenario=None) -> np.ndarray:
    """Full ranking of persons for a strategy, best first.

    Args:
        strategy: one of :data:`STRATEGIES`.
        graph: a :class:`sim.population.Graph`.
        fit: float64 array (n,).
        seed: run seed (tie-breaking and random draws).
        scenario: needed for ``influence_max`` (rules, steps, seeding; its ``seed`` should
            be ``seed``): the ``seeding.count`` greedy picks, then the rest by degree.

    Returns:
        int64 permutation of ``arange(n)``.
    """
    if strategy == "influence_max" and not graph.well_mixed:
        if scenario is None:
            raise ValueError("rank_persons('influence_max') needs the scenario")
        picks = influence_max(scenario, graph, fit, min(scenario.seeding.count, graph.n))
        tb = u_array(seed, 0, Phase.TIEBREAK, np.arange(graph.n), 0)
        return np.concatenate([picks, _by_degree(graph, tb, picks, graph.n - len(picks))])
    return np.lexsort(_rank_keys(strategy, graph, fit, seed)).astype(np.int64)


def _check_count(name: str, count: int, available: int, what: str) -> None:
    if count > available:
        raise ScenarioError(f"{name} = {count} is larger than {what} ({available})")


def choose_seeds(scenario, graph, fit) -> np.ndarray:
    """The seed members: ``scenario.seeding.count`` distinct persons, best first.

    Args:
        scenario: a :class:`sim.config.Scenario` (seeding.strategy, seeding.count, seed).
        graph: a :class:`sim.population.Graph` with ``graph.n`` persons.
        fit: float64 array (n,).

    Returns:
        int64 array (count,) of distinct person indices in rank order.

    Raises:
        ScenarioError: if ``seeding.count`` exceeds the population size.
    """
    count, n = scenario.seeding.count, graph.n
    _check_count("seeding.count", count, n, "the population size")
    if count == 0:
        return np.zeros(0, np.int64)
    strategy = scenario.seeding.strategy
    if strategy == "influence_max" and not graph.well_mixed:
        return influence_max(scenario, graph, fit, count)
    return _top(_rank_keys(strategy, graph, fit, scenario.seed), count)


def choose_mass_pull(scenario, graph, exclude) -> np.ndarray:
    """The mass pull (拉群): ``mass_pull.count`` uniformly random persons not in ``exclude``.

    Persons are taken in the order of ``u_array(seed, 0, Phase.MASS_PULL, person, 0)``.

    Args:
        scenario: a :class:`sim.config.Scenario`.
        graph: a :class:`sim.population.Graph`.
        exclude: integer array of persons who cannot be pulled (the seeds).

    Returns:
        int64 array (mass_pull.count,) of distinct persons.

    Raises:
        ScenarioError: if ``mass_pull.count`` exceeds the persons available.
    """
    count, n = scenario.mass_pull.count, graph.n
    excl = np.unique(np.asarray(exclude, dtype=np.int64))
    _check_count("mass_pull.count", count, n - len(excl),
                 f"the persons available (population size {n} minus {len(excl)} seeds)")
    if count == 0:
        return np.zeros(0, np.int64)
    key = u_array(scenario.seed, 0, Phase.MASS_PULL, np.arange(n), 0)
    key[excl] = np.inf
    return _top([key], count)
