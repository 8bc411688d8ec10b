"""What the service answers: small frozen values an adapter renders (core.delivery.render)."""

from __future__ import annotations

from dataclasses import dataclass

from core.jobs.job import Job
from core.terms import Phrase


@dataclass(frozen=True)
class Receipt:
    """What `submit` answers at once: the jobs, the first one's place and a wait estimate."""

    jobs: tuple[Job, ...]
    position: int
    estimated_wait: float | None  # None: nothing measured to estimate from
    positions: tuple[int, ...] = ()  # each job's place in line


@dataclass(frozen=True)
class QueueState:
    waiting: int
    running: int
    your_positions: tuple[int, ...]
    estimated_wait: float | None  # None: nothing of yours waits, or nothing was measured


@dataclass(frozen=True)
class DefaultsChange:
    """A user's defaults as saved, and those cleared because they no longer fit."""

    saved: dict[str, str]
    cleared: dict[str, str]


@dataclass(frozen=True)
class QuotaView:
    """Cost units used and left today per scope (left None: no limit); reset time; what
    the community's ModelScope accounts have left today (None: their balances unknown)."""

    used: dict[str, float]
    left: dict[str, float | None]
    resets_at: Phrase
    exempt: bool
    community_left: float | None = None
    own_token: bool = False  # the user's own ModelScope token pays for their images


@dataclass(frozen=True)
class TokenBalance:
    """One ModelScope token as bot admins see it: its label (never the token), its last
    balance (None: not read yet) and whether ModelScope rejected it."""

    label: str
    total: float | None
    available: float | None
    frozen: float | None
    rejected: bool


@dataclass(frozen=True)
class MemberTokenView:
    """A member's own ModelScope token as its owner sees it (never the token itself): what
    it paid for them today, what the community may spend on it a day (0: not lent) and has
    spent today, and its balance when last read (None: not read)."""

    own_spent: float
    lent: float
    lent_spent: float
    available: float | None = None
