"""How often a chat hears of a job's progress: at most once per `every` seconds for each
status message (the jobs of one request share one), since chats rate-limit edits; and, when
many jobs run at once, less often, so that all progress edits together stay within `rate`
a second and leave the platform's budget to answers and results (Telegram allows a bot about
30 messages a second in all). With 200 status messages moving and 10 edits a second, each
is edited every 20 s."""

from __future__ import annotations

from collections import OrderedDict

from core.clock import Clock

REMEMBER = 10_000  # status messages followed at once (the oldest is forgotten)
ACTIVE_SECONDS = 60.0  # a message whose job asked within this long counts as moving
DEFAULT_RATE = 10.0  # progress edits a second, all messages together


class ProgressThrottle:
    def __init__(self, every: float, clock: Clock, rate: float = DEFAULT_RATE) -> None:
        if every < 0 or rate <= 0:
            raise ValueError("the progress interval must be 0 or more seconds, the rate above 0")
        self._every = every
        self._rate = rate
        self._clock = clock
        self._last: OrderedDict[str, float] = OrderedDict()  # when each was last shown
        self._asked: OrderedDict[str, float] = OrderedDict()  # when each last asked

    def due(self, message: str) -> bool:
        """True if progress may be shown on `message` now (and the time is noted)."""
        now = self._clock.monotonic()
        self._note_asked(message, now)
        last = self._last.get(message)
        if last is not None and now - last < self.interval:
            return False
        self._last[message] = now
        self._last.move_to_end(message)
        if len(self._last) > REMEMBER:
            self._last.popitem(last=False)
        return True

    @property
    def interval(self) -> float:
        """Seconds between two edits of one message now: `every`, or longer when so many
        messages move that `every` would spend more than `rate` edits a second."""
        return max(self._every, len(self._asked) / self._rate)

    def forget(self, message: str) -> None:
        self._last.pop(message, None)
        self._asked.pop(message, None)

    def _note_asked(self, message: str, now: float) -> None:
        self._asked[message] = now
        self._asked.move_to_end(message)
        while self._asked:
            at = next(iter(self._asked.values()))
            if now - at <= ACTIVE_SECONDS and len(self._asked) <= REMEMBER:
                break
            self._asked.popitem(last=False)
