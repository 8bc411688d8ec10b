"""Telegram's send budget spent by priority: answers before results before status and
progress edits; a waiting progress edit is replaced by a newer one, and dropped when stale."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from adapters.telegram.ratelimit import Hint, Priority, PriorityRateLimiter
from bot.simulator import Simulator, Timing
from tests.adapters.telegram.harness import reply_to, telegram_world


class Sender:
    """Records the order in which the limiter lets calls through."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def call(self, name: str) -> Any:
        async def send() -> bool:
            self.sent.append(name)
            return True

        return send


async def through(
    limiter: PriorityRateLimiter, sender: Sender, name: str, chat: int, hint: Hint | None
) -> Any:
    return await limiter.process_request(
        sender.call(name), (), {}, "editMessageText", {"chat_id": chat}, hint
    )


async def test_an_answer_goes_before_a_backlog_of_progress_edits() -> None:
    limiter, sender = PriorityRateLimiter(overall_per_second=20.0), Sender()
    await limiter.initialize()
    try:
        edits = [
            through(limiter, sender, f"edit{i}", i, Hint(Priority.PROGRESS, (i, 1)))
            for i in range(1, 41)
        ]
        waiting = [asyncio.ensure_future(edit) for edit in edits]
        await asyncio.sleep(0.05)  # the budget's first burst is spent on edits
        await through(limiter, sender, "answer", 999, Hint(Priority.ANSWER))
        assert sender.sent.index("answer") < 30  # not after the 40 edits queued before it
        await asyncio.gather(*waiting)
    finally:
        await limiter.shutdown()


async def test_a_newer_progress_edit_replaces_the_waiting_one() -> None:
    limiter, sender = PriorityRateLimiter(chat_per_second=2.0), Sender()
    await limiter.initialize()
    try:
        message = (5, 77)
        first = asyncio.ensure_future(
            through(limiter, sender, "busy", 5, Hint(Priority.ANSWER))  # spends the chat's burst
        )
        for _ in range(3):
            await through(limiter, sender, "filler", 5, Hint(Priority.ANSWER))
        older = asyncio.ensure_future(
            through(limiter, sender, "12 s", 5, Hint(Priority.PROGRESS, message))
        )
        await asyncio.sleep(0)
        newer = asyncio.ensure_future(
            through(limiter, sender, "15 s", 5, Hint(Priority.PROGRESS, message))
        )
        assert await older is True and "12 s" not in sender.sent  # replaced, never sent
        await asyncio.gather(first, newer)
        assert sender.sent[-1] == "15 s"
    finally:
        await limiter.shutdown()


async def test_a_stale_progress_edit_is_dropped() -> None:
    limiter, sender = PriorityRateLimiter(chat_per_second=0.2, stale_after=0.3), Sender()
    await limiter.initialize()
    try:
        for _ in range(3):  # the chat's burst, spent
            await through(limiter, sender, "answer", 6, Hint(Priority.ANSWER))
        late = await through(limiter, sender, "3 s", 6, Hint(Priority.PROGRESS, (6, 1)))
        assert late is True and "3 s" not in sender.sent
    finally:
        await limiter.shutdown()


async def test_a_command_is_answered_ahead_of_the_status_edits_queued_before_it(
    simulator: Simulator, session, tmp_path: Path
) -> None:
    simulator.timing = Timing(run_mean=30.0)  # nothing finishes: only statuses flow
    async with telegram_world(simulator, session, tmp_path, messages_per_second=5.0) as world:
        users = range(100, 112)
        for user in users:
            world.imagine(f"/imagine lantern {user}", chat=user, user=user)
        await world.api.wait_for("sendMessage", len(users))  # every "Got it" went first
        world.imagine("/queue", chat=7, user=7)
        await world.api.wait_for("sendMessage", len(users) + 1)
        await world.api.wait_for("editMessageText", len(users))
        calls = world.api.calls
        (answer,) = [c for c in calls if c.method == "sendMessage" and c.params["chat_id"] == "7"]
        queued = [c for c in calls if str(c.params.get("text", "")).startswith("Queued")]
        # The statuses of the 12 requests were waiting before /queue came, yet went after it.
        assert len(queued) == len(users)
        assert calls.index(answer) < min(calls.index(status) for status in queued)


def dispatchers() -> list[asyncio.Task[Any]]:
    return [t for t in asyncio.all_tasks() if t.get_name() == "telegram-sends" and not t.done()]


async def test_the_running_bot_has_one_dispatcher_and_none_once_stopped(
    simulator: Simulator, session, tmp_path: Path
) -> None:
    """python-telegram-bot initializes the limiter twice (for the application and for its
    updater): one dispatcher runs all the same, and none is left behind when the bot stops."""
    async with telegram_world(simulator, session, tmp_path) as world:
        await reply_to(world, "/help")
        assert len(dispatchers()) == 1
    assert dispatchers() == []
