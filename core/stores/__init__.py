"""The job and quota store: a port with two backends, SQLite (embedded, the default, one
process) and Redis (core.stores.redis, shared by several processes), each with its queue;
`open_backend` picks them from STORE_URL."""

from core.stores.backends import Backend, local_backend, open_backend
from core.stores.port import Store
from core.stores.sqlite import SqliteStore

__all__ = ["Backend", "SqliteStore", "Store", "local_backend", "open_backend"]
