"""Run as a process by test_processes.py: many concurrent reservations against one store.
Prints how many were accepted."""

from __future__ import annotations

import asyncio
import sys
import time

from core.errors import QuotaExceeded
from core.stores import Store
from core.stores.redis import RedisStore
from core.stores.sqlite import SqliteStore
from tests.core.stores.test_contract import admission, job


async def open_store(url: str, prefix: str) -> Store:
    if url.startswith("redis://"):
        return await RedisStore.open(url, prefix)
    return await SqliteStore.open(url.removeprefix("sqlite:///"))


async def reserve(url: str, prefix: str, attempts: int, name: str, start_at: float) -> int:
    store = await open_store(url, prefix)
    await asyncio.sleep(max(0.0, start_at - time.time()))  # both processes fire together

    async def attempt(i: int) -> bool:
        user = f"tg:{name}{i % 5}"
        try:
            await store.add_jobs([job(user=user)], admission(user=user, global_limit=10.0))
        except QuotaExceeded:
            return False
        return True

    try:
        return sum(await asyncio.gather(*(attempt(i) for i in range(attempts))))
    finally:
        await store.close()


if __name__ == "__main__":
    url, prefix, attempts, name = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    print(asyncio.run(reserve(url, prefix, attempts, name, float(sys.argv[5]))))
