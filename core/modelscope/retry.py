"""Exponential backoff with jitter, honouring the service's Retry-After."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from core.errors import RateLimited, UpstreamError


@dataclass(frozen=True)
class Backoff:
    """Delays of `base * factor**n`, capped, with "equal jitter" (half fixed, half random).

    Equal jitter keeps a floor under each wait, so a burst of clients never retries at
    once, and no retry comes back after almost no wait.
    """

    base: float = 1.0
    factor: float = 2.0
    cap: float = 30.0
    attempts: int = 5
    rng: random.Random = field(default_factory=random.Random, compare=False)

    def __post_init__(self) -> None:
        if self.base <= 0 or self.factor < 1 or self.cap < self.base or self.attempts < 1:
            raise ValueError("backoff needs base > 0, factor >= 1, cap >= base, attempts >= 1")

    def delay(self, failures: int, error: UpstreamError | None = None) -> float:
        """How long to wait after the `failures`-th failure in a row (1 for the first)."""
        ceiling = min(self.cap, self.base * self.factor ** max(0, failures - 1))
        wait = ceiling / 2 + self.rng.uniform(0, ceiling / 2)
        if isinstance(error, RateLimited) and error.retry_after is not None:
            wait = max(wait, error.retry_after)
        return wait
