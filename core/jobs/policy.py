"""Who may run how much at once: caps, priority tiers and admins, validated where built."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.jobs.quotas import QuotaLimits
from core.requests.moderation import PromptFilter


@dataclass(frozen=True)
class Tier:
    """Caps for a group of users (by user key or by a role the adapter reports)."""

    level: int
    in_flight: int
    waiting: int
    users: frozenset[str] = frozenset()
    roles: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.level < 0 or self.in_flight < 1 or self.waiting < 1:
            raise ValueError("a tier needs level >= 0, in_flight >= 1 and waiting >= 1")


@dataclass(frozen=True)
class Policy:
    """Everything the service enforces besides the catalog's own limits."""

    limits: QuotaLimits = field(default_factory=QuotaLimits)
    user_in_flight: int = 1
    chat_in_flight: int | None = None
    tiers: tuple[Tier, ...] = ()
    admins: frozenset[str] = frozenset()
    prompt_filter: PromptFilter = field(default_factory=PromptFilter)
    max_count: int = 4
    retention_days: float = 30.0

    def __post_init__(self) -> None:
        if self.user_in_flight < 1 or (self.chat_in_flight is not None and self.chat_in_flight < 1):
            raise ValueError("in-flight caps must be at least 1")
        if not 1 <= self.max_count <= 10 or self.retention_days <= 0:
            raise ValueError("max_count must be 1..10 and retention_days positive")

    def base_tier(self) -> Tier:
        return Tier(0, self.user_in_flight, self.limits.max_waiting)

    def tier_for(self, user: str, roles: tuple[str, ...]) -> Tier:
        """The highest tier that names the user or one of their roles."""
        matching = [t for t in self.tiers if user in t.users or t.roles.intersection(roles)]
        return max(matching, key=lambda t: t.level, default=self.base_tier())

    def tier_by_level(self, level: int) -> Tier:
        return next((t for t in self.tiers if t.level == level), self.base_tier())

    def is_admin(self, user: str) -> bool:
        return user in self.admins
