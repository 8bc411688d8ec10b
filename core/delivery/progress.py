"""How often a chat hears of a job's progress: at most once per `every` seconds for each
status message (the jobs of one request share one), since chats rate-limit edits."""

from __future__ import annotations

from collections import OrderedDict

from core.clock import Clock

REMEMBER = 10_000  # status messages followed at once (the oldest is forgotten)


class ProgressThrottle:
    def __init__(self, every: float, clock: Clock) -> None:
        if every < 0:
            raise ValueError("the progress interval must be 0 or more seconds")
        self._every = every
        self._clock = clock
        self._last: OrderedDict[str, float] = OrderedDict()

    def due(self, message: str) -> bool:
        """True if progress may be shown on `message` now (and the time is noted)."""
        now = self._clock.monotonic()
        last = self._last.get(message)
        if last is not None and now - last < self._every:
            return False
        self._last[message] = now
        self._last.move_to_end(message)
        if len(self._last) > REMEMBER:
            self._last.popitem(last=False)
        return True

    def forget(self, message: str) -> None:
        self._last.pop(message, None)
