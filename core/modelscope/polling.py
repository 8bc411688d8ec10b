"""When to poll a task next: the policy is a port, so it can plan from what was learned
(`core.modelscope.adaptive_polling`); what is learned lives in `core.modelscope.runtimes`."""

from __future__ import annotations

from typing import Protocol

from core.modelscope.runtimes import TaskTrack


class PollPolicy(Protocol):
    """Chooses the wait before the next poll of a running task."""

    def next_delay(self, workload: str, track: TaskTrack, elapsed: float) -> float:
        """Seconds to wait after a poll `elapsed` seconds after the task's submit; `track`
        holds what this task's polls have shown so far (that one included)."""
        ...


class FixedInterval:
    """Poll every `interval` seconds: the seed's behaviour and the baseline to beat."""

    def __init__(self, interval: float) -> None:
        if interval <= 0:
            raise ValueError("poll interval must be greater than 0")
        self.interval = interval

    def next_delay(self, workload: str, track: TaskTrack, elapsed: float) -> float:
        return self.interval
