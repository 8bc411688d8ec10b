"""The store and the queue on Redis (`STORE_URL=redis://...`), shared by several processes."""

from __future__ import annotations

from core.stores.backends import Backend
from core.stores.redis.queue import RedisJobQueue
from core.stores.redis.store import DEFAULT_PREFIX, RedisStore, RoleTaken

__all__ = ["RedisJobQueue", "RedisStore", "RoleTaken", "redis_backend", "shared_backend"]


async def redis_backend(
    url: str, *, key_prefix: str = DEFAULT_PREFIX, lease_seconds: float = 30.0
) -> Backend:
    """Connect to the server at `url` (a wrong URL fails here, at start-up)."""
    return shared_backend(await RedisStore.open(url, key_prefix), lease_seconds)


def shared_backend(store: RedisStore, lease_seconds: float = 30.0) -> Backend:
    return Backend(
        store,
        RedisJobQueue(store, lease_seconds),
        exclusive=store.exclusive,
        first_sight=store.first_sight,
    )
