"""Telegram's send budget, spent by priority (python-telegram-bot's documented place for it:
a `BaseRateLimiter`).

Telegram allows a bot about 30 messages a second overall, about one a second in a private
chat and 20 a minute in a group. Spent first come, first served, a flood of progress edits
made a new `/quota` wait seconds; here each call waits in a line by priority instead:
answers to commands first, then results, then status and progress edits. A progress edit
still waiting is replaced by a newer one for the same message, and dropped once stale.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

log = logging.getLogger("imagine.telegram")

Answer = bool | dict[str, Any] | list[dict[str, Any]]
Call = Callable[..., Coroutine[Any, Any, Answer]]


class Priority(IntEnum):
    ANSWER = 0  # a reply to a command or a button (what a person waits for now)
    RESULT = 1  # an image, an album, a final word on a job
    STATUS = 2  # "queued", "started", removing a status message
    PROGRESS = 3  # "generating: 12 s": replaced by a newer one, dropped when stale


@dataclass(frozen=True)
class Hint:
    """What a call passes as `rate_limit_args`: its priority, and the message it edits (a
    newer edit of the same message replaces it while it waits)."""

    priority: Priority
    message: tuple[int, int] | None = None  # (chat id, message id)


MAX_CHATS = 10_000  # chats whose budget is followed at once
DEFAULT_PRIORITY = {
    "editMessageText": Priority.STATUS,
    "deleteMessage": Priority.STATUS,
    "sendPhoto": Priority.RESULT,
    "sendMediaGroup": Priority.RESULT,
    "sendDocument": Priority.RESULT,
}


class _Bucket:
    """A token bucket: `rate` tokens a second, at most `burst` saved up."""

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate, self.burst, self.tokens, self.at = rate, burst, burst, now

    def ready_in(self, now: float) -> float:
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1


@dataclass(eq=False)
class _Waiting:
    priority: Priority
    chat: int
    message: tuple[int, int] | None
    run: Callable[[], Coroutine[Any, Any, Answer]]
    since: float
    done: asyncio.Future[Answer] = field(default_factory=asyncio.Future)
    retries: int = 0


class PriorityRateLimiter(BaseRateLimiter[Hint]):
    def __init__(
        self,
        *,
        overall_per_second: float = 30.0,
        chat_per_second: float = 1.0,
        group_per_minute: float = 20.0,
        stale_after: float = 15.0,
        max_retries: int = 5,
    ) -> None:
        self._overall_rate = overall_per_second
        self._chat_rate = chat_per_second
        self._group_rate = group_per_minute / 60
        self._stale_after = stale_after
        self._max_retries = max_retries
        self._lines: list[deque[_Waiting]] = [deque() for _ in Priority]
        self._editing: dict[tuple[int, int], _Waiting] = {}
        self._chats: dict[int, _Bucket] = {}
        self._overall = _Bucket(overall_per_second, overall_per_second, time.monotonic())
        self._resume_at = 0.0  # after a RetryAfter, nothing is sent before this
        self._changed = asyncio.Event()
        self._dispatcher: asyncio.Task[None] | None = None
        self._sending: set[asyncio.Task[None]] = set()

    async def initialize(self) -> None:
        """Start the one dispatcher. python-telegram-bot initializes the bot, and so this,
        once for the application and again for its updater: the second call finds it
        running (a second dispatcher would be left running when the bot stops)."""
        if self._dispatcher is None or self._dispatcher.done():
            self._dispatcher = asyncio.create_task(self._dispatch(), name="telegram-sends")

    async def shutdown(self) -> None:
        if self._dispatcher is not None:
            self._dispatcher.cancel()
            await asyncio.gather(self._dispatcher, return_exceptions=True)
        for line in self._lines:
            for waiting in line:
                if not waiting.done.done():
                    waiting.done.cancel()
            line.clear()

    async def process_request(
        self,
        callback: Call,
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Hint | None,
    ) -> Answer:
        chat = data.get("chat_id")
        if not isinstance(chat, int) or self._dispatcher is None:
            return await callback(*args, **kwargs)  # no chat (a button's answer): at once
        hint = rate_limit_args or Hint(DEFAULT_PRIORITY.get(endpoint, Priority.ANSWER))
        waiting = _Waiting(
            hint.priority, chat, hint.message, lambda: callback(*args, **kwargs), time.monotonic()
        )
        self._line_up(waiting)
        return await waiting.done

    def _line_up(self, waiting: _Waiting) -> None:
        if waiting.message is not None:
            older = self._editing.pop(waiting.message, None)
            if older is not None and not older.done.done():
                older.done.set_result(True)  # a newer text for the same message replaces it
            self._editing[waiting.message] = waiting
        self._lines[waiting.priority].append(waiting)
        self._changed.set()

    async def _dispatch(self) -> None:
        while True:
            wait = self._send_what_may_go(time.monotonic())
            self._changed.clear()
            if wait is None:
                await self._changed.wait()
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), timeout=wait)

    def _send_what_may_go(self, now: float) -> float | None:
        """Start every call that may go now, highest priority first; answers the seconds
        until the next one may (None: nothing waits)."""
        if now < self._resume_at:
            return self._resume_at - now
        soonest: float | None = None
        for line in self._lines:
            for waiting in list(line):
                if waiting.done.done() or self._stale(waiting, now):
                    line.remove(waiting)
                    continue
                ready = max(self._overall.ready_in(now), self._chat(waiting.chat, now))
                if ready > 0:
                    if waiting.priority is Priority.PROGRESS:  # look again when it goes stale
                        ready = min(ready, waiting.since + self._stale_after - now)
                    soonest = ready if soonest is None else min(soonest, ready)
                    continue
                line.remove(waiting)
                self._overall.take()
                self._chats[waiting.chat].take()
                self._start(waiting)
        return soonest

    def _stale(self, waiting: _Waiting, now: float) -> bool:
        if waiting.priority is not Priority.PROGRESS or now - waiting.since < self._stale_after:
            return False
        waiting.done.set_result(True)  # a progress text this old would mislead: dropped
        self._forget(waiting)
        return True

    def _chat(self, chat: int, now: float) -> float:
        bucket = self._chats.get(chat)
        if bucket is None:
            if len(self._chats) > MAX_CHATS:  # forget the chats whose budget is whole again
                self._chats = {k: b for k, b in self._chats.items() if b.ready_in(now) > 0}
            group = chat < 0
            rate = self._group_rate if group else self._chat_rate
            bucket = self._chats[chat] = _Bucket(rate, 20.0 if group else 3.0, now)
        return bucket.ready_in(now)

    def _start(self, waiting: _Waiting) -> None:
        task = asyncio.create_task(self._send(waiting))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, waiting: _Waiting) -> None:
        try:
            answer = await waiting.run()
        except RetryAfter as error:
            if waiting.retries >= self._max_retries:
                self._fail(waiting, error)
                return
            pause = float(error.retry_after if isinstance(error.retry_after, int | float) else 1)
            log.warning("Telegram asks for %.0f s of quiet; sends wait", pause)
            self._resume_at = time.monotonic() + pause + 0.1
            waiting.retries += 1
            self._lines[waiting.priority].appendleft(waiting)
            self._changed.set()
            return
        except Exception as error:
            self._fail(waiting, error)
            return
        self._forget(waiting)
        if not waiting.done.done():
            waiting.done.set_result(answer)

    def _fail(self, waiting: _Waiting, error: BaseException) -> None:
        self._forget(waiting)
        if not waiting.done.done():
            waiting.done.set_exception(error)

    def _forget(self, waiting: _Waiting) -> None:
        if waiting.message is not None and self._editing.get(waiting.message) is waiting:
            del self._editing[waiting.message]
