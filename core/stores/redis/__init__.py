"""The store port on Redis (`STORE_URL=redis://...`): an adapter, since it needs a server."""

from core.stores.redis.store import RedisStore, RoleTaken

__all__ = ["RedisStore", "RoleTaken"]
