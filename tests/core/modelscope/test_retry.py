from __future__ import annotations

import random

import pytest

from core.errors import RateLimited
from core.modelscope.retry import Backoff


def test_delays_grow_exponentially_within_jitter_and_cap() -> None:
    backoff = Backoff(base=1, factor=2, cap=10, rng=random.Random(1))
    for failures, ceiling in [(1, 1), (2, 2), (3, 4), (4, 8), (5, 10), (9, 10)]:
        delays = [backoff.delay(failures) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert max(delays) - min(delays) > ceiling / 4  # jitter really spreads the retries


def test_retry_after_is_a_floor() -> None:
    backoff = Backoff(base=1, cap=2)
    assert backoff.delay(1, RateLimited("x", retry_after=30)) == 30
    assert backoff.delay(1, RateLimited("x", retry_after=None)) <= 1


@pytest.mark.parametrize("bad", [{"base": 0}, {"factor": 0.5}, {"cap": 0.1}, {"attempts": 0}])
def test_invalid_backoff_is_refused_at_construction(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="backoff needs"):
        Backoff(**bad)  # type: ignore[arg-type]
