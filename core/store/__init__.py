"""The job and quota store: a port, with SQLite (embedded, the default) and Redis backends."""

from core.store.port import Store

__all__ = ["Store"]
