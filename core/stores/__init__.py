"""The job and quota store: a port, with SQLite (embedded, the default) and Redis backends."""

from core.stores.port import Store

__all__ = ["Store"]
