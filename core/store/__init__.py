"""The job and quota store: a port, with SQLite (embedded) as its first backend."""

from core.store.port import Store

__all__ = ["Store"]
