"""The store and the queue over it, chosen once from `STORE_URL`.

SQLite (`sqlite:///PATH`, the default) is one process's: the local queue runs beside it.
Redis (`redis://`, `rediss://`, `unix://`) is shared by every process on it: the queue, a
lease that keeps a one-per-bot role (Telegram's getUpdates, Discord's gateway session) to one
process, and a memory of updates already handled by another webhook receiver.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from core.clock import Clock
from core.errors import ConfigurationError
from core.scheduling.local_queue import LocalQueue
from core.scheduling.queue import JobQueue
from core.stores.port import Store
from core.stores.sqlite import SqliteStore

FirstSight = Callable[[str, str], Awaitable[bool]]
Exclusive = Callable[[str], contextlib.AbstractAsyncContextManager[None]]


def _anyone(role: str) -> contextlib.AbstractAsyncContextManager[None]:
    return contextlib.nullcontext()


@dataclass(frozen=True)
class Backend:
    """`exclusive(role)` holds a role alone among the processes on the store (a
    `RoleTaken` error if another has it); `first_sight(kind, key)` is True the first time
    any process asks (None: there is only this process)."""

    store: Store
    queue: JobQueue
    exclusive: Exclusive = field(default=_anyone)
    first_sight: FirstSight | None = None

    @property
    def shared(self) -> bool:
        return self.queue.shared

    async def close(self) -> None:
        await self.store.close()


def local_backend(store: SqliteStore, clock: Clock | None = None) -> Backend:
    return Backend(store, LocalQueue(store, clock=clock))


async def open_backend(
    url: str, *, key_prefix: str, lease_seconds: float, clock: Clock | None = None
) -> Backend:
    """Open what `url` names; a `ConfigurationError` for a scheme it does not know."""
    if url.startswith("sqlite:///"):
        return local_backend(await SqliteStore.open(url.removeprefix("sqlite:///")), clock)
    if url.startswith(("redis://", "rediss://", "unix://")):
        # Imported here: a bot on SQLite never loads the Redis client.
        from core.stores.redis import redis_backend

        return await redis_backend(url, key_prefix=key_prefix, lease_seconds=lease_seconds)
    scheme = url.partition(":")[0]  # never the whole URL: it may hold a password
    raise ConfigurationError(
        f"STORE_URL: expected sqlite:///PATH or redis://HOST:PORT/DB, got a {scheme!r} URL"
    )
