"""A task cancelled while it talks to Redis ends cancelled, wherever the cancel lands: the
bot's shutdown relies on it (redis-py 8.0-8.1 swallowed some cancels, and `imagine-bot run`
then never exited; pyproject.toml keeps us below 8)."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis


async def test_cancelling_a_command_loop_always_cancels(redis_url: str, redis_prefix: str) -> None:
    client = Redis.from_url(redis_url, decode_responses=True)
    await client.ping()
    finished = []

    async def commands() -> None:
        for _ in range(200):
            await client.zrange(f"{redis_prefix}nothing", 0, -1)
        finished.append(True)
        await asyncio.sleep(60)  # a cancel swallowed above would leave the task here

    try:
        for steps in range(30):  # land the cancel at every point of a command's life
            task = asyncio.create_task(commands())
            for _ in range(steps):
                await asyncio.sleep(0)
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=5)
            assert done and task.cancelled(), f"cancel after {steps} steps was swallowed"
        assert not finished
    finally:
        await client.aclose()
