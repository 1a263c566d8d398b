"""Every enumeration of the model as named constants, in one place.

The population state stores small integer codes (so that compiled kernels can use them),
the parameters store the entry gate as a code, and every random draw names its stream by
a :class:`Phase`. Both engines, the parameters and the metrics read the codes from here;
no other module writes one as a literal. This module imports nothing heavy.

Example:
    >>> from sim.codes import MEMBER, STATUS_NAMES, GATE_KINDS, GATE_REVIEW
    >>> STATUS_NAMES[MEMBER], GATE_KINDS["review"] == GATE_REVIEW
    ('member', True)
"""

from __future__ import annotations

from enum import IntEnum, unique

# status of a person
NON_USER, MEMBER, CHURNED = 0, 1, 2
STATUS_NAMES = ("non_user", "member", "churned")  # indexed by status code

# role (members only; NO_ROLE otherwise)
NO_ROLE, LURKER, ACTIVE, KOL = -1, 0, 1, 2
ROLE_NAMES = {NO_ROLE: "none", LURKER: "lurker", ACTIVE: "active", KOL: "kol"}
ROLE_CODES = {"lurker": LURKER, "active": ACTIVE, "kol": KOL}  # scenario words -> codes

# source: how a member (last) joined; NO_SOURCE for persons who never joined. The join
# channels of phase 4 (REFERRAL, ORGANIC, ADS) also mark would-be joiners during the day.
NO_SOURCE, SEED, MASS_PULL, REFERRAL, ORGANIC, ADS = -1, 0, 1, 2, 3, 4
SOURCE_NAMES = {
    NO_SOURCE: "none",
    SEED: "seed",
    MASS_PULL: "mass_pull",
    REFERRAL: "referral",
    ORGANIC: "organic",
    ADS: "ads",
}

# funnel flags, one bit each (a later stage implies the earlier ones)
F_REACHED, F_INVITED, F_JOINED, F_ACTIVE, F_PAYING = 1, 2, 4, 8, 16
FUNNEL_STAGES = (
    ("reached", F_REACHED),
    ("invited", F_INVITED),
    ("joined", F_JOINED),
    ("active", F_ACTIVE),
    ("paying", F_PAYING),
)

# entry gate kinds (program.entry_gate.kind)
GATE_NONE, GATE_REVIEW, GATE_PAYMENT = 0, 1, 2
GATE_KINDS = {"none": GATE_NONE, "review": GATE_REVIEW, "payment": GATE_PAYMENT}


@unique
class Phase(IntEnum):
    """Stream identifiers of :mod:`sim.rng`: one per kind of random decision in the model."""

    GRAPH = 1
    FIT = 2
    TIEBREAK = 3
    SEEDING = 4
    MASS_PULL = 5
    INFLUENCE_MAX = 6
    ENGAGEMENT = 7
    CONTENT = 10
    ACTIVITY = 11
    SELF_ORG = 12
    SELF_ORG_ATTEND = 13
    CONTACTS = 20
    INVITE = 21
    CREDIT = 22
    CONVERT = 23
    ORGANIC = 24
    ADS_PICK = 25
    ADS_ACCEPT = 26
    GATE = 27
    TROUGH = 30
    CHURN = 31
    PAY = 32
