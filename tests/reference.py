"""Slow, obviously-correct twins of the model's reductions, written independently of sim/.

They use NumPy's own generator (not the model's counter RNG): they are references to
compare with in distribution, not in bits.
"""

from __future__ import annotations

import math

import numpy as np


def discrete_sir(
    indptr, indices, initial, beta: float, gamma: float, steps: int, rng
) -> np.ndarray:
    """Textbook discrete-time SIR on a graph; returns the number ever infected per day.

    A node infected on day t transmits from day t+1 on: each day every infectious node
    infects each susceptible neighbour with probability ``beta``, then recovers with
    probability ``gamma``.
    """
    n = len(indptr) - 1
    SUS, INF, REC = 0, 1, 2
    state = np.zeros(n, np.int8)
    state[np.asarray(initial)] = INF
    ever = [int(len(initial))]
    for _ in range(steps):
        infectious = np.flatnonzero(state == INF)
        new = set()
        for i in infectious:
            for j in indices[indptr[i] : indptr[i + 1]]:
                if state[j] == SUS and rng.random() < beta:
                    new.add(int(j))
        for i in infectious:
            if rng.random() < gamma:
                state[i] = REC
        for j in new:
            state[j] = INF
        ever.append(int((state != SUS).sum()))
    return np.array(ever)


def bass_F(t, p: float, q: float):
    """Closed-form Bass adoption fraction F(t) = (1 - e^{-(p+q)t}) / (1 + (q/p) e^{-(p+q)t})."""
    t = np.asarray(t, dtype=np.float64)
    e = np.exp(-(p + q) * t)
    return (1 - e) / (1 + (q / p) * e)


def bass_discrete(steps: int, p: float, q: float) -> np.ndarray:
    """The daily Bass recursion of MODEL.md §3, F(0) = 0, for days 0..steps.

    ``F(t+1) = F(t) + (1 - F(t)) (1 - (1 - p) e^{-q F(t)})``: a non-adopter stays one only if
    the innovation channel (p) and every contact's invitation (q F in all, Poisson) fail.
    """
    F = np.zeros(steps + 1)
    for t in range(steps):
        F[t + 1] = F[t] + (1 - F[t]) * (1 - (1 - p) * math.exp(-q * F[t]))
    return F


def bass_half_time(p: float, q: float) -> float:
    """Time at which the Bass curve reaches F = 1/2."""
    return math.log(2 + q / p) / (p + q)
