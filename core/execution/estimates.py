"""How long a job will take, learned from finished ones (an average per model)."""

from __future__ import annotations

# Until a model has finished a task, assume this many seconds per task.
DEFAULT_SECONDS = 20.0
SMOOTHING = 0.2


class RunTimes:
    """An exponentially weighted average of each model's seconds from submit to image."""

    def __init__(self, default: float = DEFAULT_SECONDS) -> None:
        self._default = default
        self._seconds: dict[str, float] = {}

    def observe(self, model: str, seconds: float) -> None:
        previous = self._seconds.get(model)
        self._seconds[model] = (
            seconds if previous is None else previous + SMOOTHING * (seconds - previous)
        )

    def expected(self, model: str) -> float:
        return self._seconds.get(model, self._default)

    def left(self, model: str, elapsed: float) -> float:
        return max(0.0, self.expected(model) - elapsed)

    def typical(self) -> float:
        values = list(self._seconds.values())
        return sum(values) / len(values) if values else self._default
