"""One progress throttle: at most one update per status message per interval."""

from __future__ import annotations

from core.delivery.progress import ProgressThrottle
from tests.conftest import FakeClock


def test_one_update_per_message_per_interval() -> None:
    clock = FakeClock()
    throttle = ProgressThrottle(5.0, clock)
    assert throttle.due("batch-a") and not throttle.due("batch-a")
    assert throttle.due("batch-b")  # another message has its own interval
    clock.advance(4.9)
    assert not throttle.due("batch-a")
    clock.advance(0.2)
    assert throttle.due("batch-a")
    throttle.forget("batch-a")
    assert throttle.due("batch-a")
