"""The store port on Redis (`STORE_URL=redis://...`): an adapter, since it needs a server."""

from adapters.redis_store.store import RedisStore, RoleTaken

__all__ = ["RedisStore", "RoleTaken"]
