"""When to poll a task next: the policy is a port, so it can learn (core.adaptive_polling).

A workload is a model and an image size: tasks of one workload take about as long.
"""

from __future__ import annotations

from typing import Protocol

from core.modelscope.tasks import TaskSnapshot


class PollPolicy(Protocol):
    """Chooses the wait before the next poll of a running task."""

    def next_delay(self, workload: str, snapshot: TaskSnapshot, elapsed: float) -> float:
        """Seconds to wait after `snapshot`, seen `elapsed` seconds after the task's submit."""
        ...

    def observe_finished(self, workload: str, snapshot: TaskSnapshot, elapsed: float) -> None:
        """Learn from a finished task (its `time_taken_ms`, when reported)."""
        ...


class FixedInterval:
    """Poll every `interval` seconds: the seed's behaviour and the baseline to beat."""

    def __init__(self, interval: float) -> None:
        if interval <= 0:
            raise ValueError("poll interval must be greater than 0")
        self.interval = interval

    def next_delay(self, workload: str, snapshot: TaskSnapshot, elapsed: float) -> float:
        return self.interval

    def observe_finished(self, workload: str, snapshot: TaskSnapshot, elapsed: float) -> None:
        return None


def workload_of(model: str, size: object) -> str:
    """The key a policy learns run times under."""
    return f"{model} {size}"
