"""When to poll a task next: the policy is a port, so it can learn (see bench/)."""

from __future__ import annotations

from typing import Protocol

from core.modelscope.tasks import TaskSnapshot


class PollPolicy(Protocol):
    """Chooses the wait before the next poll of a running task."""

    def next_delay(self, model: str, snapshot: TaskSnapshot, elapsed: float) -> float:
        """Seconds to wait after `snapshot`, seen `elapsed` seconds after the submit."""
        ...

    def observe_finished(self, model: str, snapshot: TaskSnapshot, elapsed: float) -> None:
        """Learn from a finished task (its `time_taken_ms`, when reported)."""
        ...


class FixedInterval:
    """Poll every `interval` seconds: the seed's behaviour and the baseline to beat."""

    def __init__(self, interval: float) -> None:
        if interval <= 0:
            raise ValueError("poll interval must be greater than 0")
        self.interval = interval

    def next_delay(self, model: str, snapshot: TaskSnapshot, elapsed: float) -> float:
        return self.interval

    def observe_finished(self, model: str, snapshot: TaskSnapshot, elapsed: float) -> None:
        return None
