"""The population state: one structure of equal-length numpy arrays.

Both engines read and write these arrays; :class:`sim.agents.Person` exposes one row of
them as attributes. Statuses, roles, sources and funnel flags are the small integer codes
of :mod:`sim.codes`, so that compiled kernels can use them.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from .codes import NO_ROLE, NO_SOURCE, NON_USER
from .jit import cached

# A pass over everyone may read one-byte arrays (statuses, flags) eight persons at a time
# as 64-bit words and skip the words in which nothing can count: in a sparse population
# (a cascade, the first months of a large community) most persons are non-users, and the
# pass then costs a test per eight of them (sim.kernels._sync_members). Exact: a word is
# skipped only when its eight bytes say so.
_ONES = np.uint64(0x0101010101010101)
_HIGHS = np.uint64(0x8080808080808080)


@cached(inline="always")
def byte_words(a):
    """A one-byte array's first ``len(a) // 8 * 8`` entries as 64-bit words, 8 per word.

    The persons ``8 w .. 8 w + 7`` are word ``w``; the last ``len(a) % 8`` persons are in
    no word (a caller's pass takes them one by one).
    """
    return a[:len(a) // 8 * 8].view(np.uint64)


@cached(inline="always")
def has_byte(word, value):
    """Whether one of the eight bytes of ``word`` (uint64) is ``value`` (an int in 0..255)."""
    x = word ^ (np.uint64(value) * _ONES)  # the bytes equal to value become 0
    return ((x - _ONES) & ~x & _HIGHS) != np.uint64(0)  # (exact for "some byte is 0")


@dataclass
class PopulationState:
    """Per-person state, every array of shape (n,).

    Attributes:
        status: int8, NON_USER / MEMBER / CHURNED.
        role: int8, LURKER / ACTIVE / KOL for members, NO_ROLE otherwise.
        fit: float64 in [0, 1], fixed.
        engagement: float64 >= 0, fixed: propensity to take part (MODEL.md §2).
        intimacy: float64 in [0, 1] (亲密度).
        influence: float64 >= 1, audience multiplier.
        source: int8, how the member (last) joined, NO_SOURCE if never.
        referrer: int64, person credited with the referral, -1 if none.
        exposures: int32, failed invitations received (fatigue).
        paying: bool, paying member.
        join_day: int32, day of the last join (0 = before day 1), -1 if never.
        kol_since: int32, day the person became KOL, -1 if not a KOL.
        referrals: int64, referral joins credited to this person.
        kol_referrals: int64, referral joins credited while a KOL.
        funnel: uint8, funnel flags F_* reached so far.
    """

    status: np.ndarray
    role: np.ndarray
    fit: np.ndarray
    engagement: np.ndarray
    intimacy: np.ndarray
    influence: np.ndarray
    source: np.ndarray
    referrer: np.ndarray
    exposures: np.ndarray
    paying: np.ndarray
    join_day: np.ndarray
    kol_since: np.ndarray
    referrals: np.ndarray
    kol_referrals: np.ndarray
    funnel: np.ndarray

    @classmethod
    def empty(cls, fit: np.ndarray, engagement: np.ndarray | None = None) -> PopulationState:
        """Everybody a non-user, with the given fit and engagement (float64, shape (n,)).

        Engagement defaults to 1 for everyone (revision 1's model).
        """
        n = len(fit)
        return cls(
            status=np.full(n, NON_USER, np.int8),
            role=np.full(n, NO_ROLE, np.int8),
            fit=np.ascontiguousarray(fit, dtype=np.float64),
            engagement=(np.ones(n, np.float64) if engagement is None
                        else np.ascontiguousarray(engagement, dtype=np.float64)),
            intimacy=np.zeros(n, np.float64),
            influence=np.ones(n, np.float64),
            source=np.full(n, NO_SOURCE, np.int8),
            referrer=np.full(n, -1, np.int64),
            exposures=np.zeros(n, np.int32),
            paying=np.zeros(n, np.bool_),
            join_day=np.full(n, -1, np.int32),
            kol_since=np.full(n, -1, np.int32),
            referrals=np.zeros(n, np.int64),
            kol_referrals=np.zeros(n, np.int64),
            funnel=np.zeros(n, np.uint8),
        )

    @property
    def n(self) -> int:
        """Number of persons."""
        return len(self.status)

    def arrays(self) -> dict[str, np.ndarray]:
        """All arrays by field name (for comparing states and saving them)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def copy(self) -> PopulationState:
        """A deep copy."""
        return PopulationState(**{k: v.copy() for k, v in self.arrays().items()})
