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


def test_the_interval_stretches_as_more_messages_move() -> None:
    """200 messages moving at 10 edits a second: each is edited every 20 s, not every 5,
    so progress never takes more than its share of the platform's budget."""
    clock = FakeClock()
    throttle = ProgressThrottle(5.0, clock, rate=10.0)
    shown = 0
    for _ in range(600):  # a minute: every message asks every 2 s (its polls)
        for message in range(200):
            if clock.offset % 2 == 0:
                shown += throttle.due(f"batch-{message}")
        clock.advance(0.1)
        clock.offset = round(clock.offset, 1)
    assert throttle.interval == 20.0
    assert shown / 60 <= 10 + 200 / 60  # the rate, plus the first edit of each message


def test_messages_that_stopped_asking_no_longer_count() -> None:
    clock = FakeClock()
    throttle = ProgressThrottle(5.0, clock, rate=1.0)
    for message in range(30):
        throttle.due(f"batch-{message}")
    assert throttle.interval == 30.0
    clock.advance(61)  # those jobs ended a minute ago
    assert throttle.due("batch-new")
    assert throttle.interval == 5.0
