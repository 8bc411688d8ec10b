"""What one process does: everything (`run`), take updates in (`gateway`), or run jobs and
deliver them over the platforms' REST APIs (`worker`). Gateways and workers share one queue
through Redis; `run` does too when STORE_URL names Redis, so several may run side by side."""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class Role:
    name: str
    claiming: bool = True  # runs jobs (a gateway and `enqueue` only line them up)
    receives: frozenset[str] | None = None  # platforms taken in; None: every configured one
    needs_shared_store: bool = False

    @property
    def talks_to_modelscope(self) -> bool:
        """Runs jobs, or checks tokens and balances for a chat it serves (`enqueue` only
        lines a request up: it opens no HTTP session, and imports no HTTP client)."""
        return self.claiming or self.receives != frozenset()

    def receives_from(self, platform: str) -> bool:
        return self.receives is None or platform in self.receives


RUN = Role("run")
WORKER = Role("worker", receives=frozenset(), needs_shared_store=True)
ENQUEUE = Role("enqueue", claiming=False, receives=frozenset())


def gateway(platform: str) -> Role:
    return Role("gateway", claiming=False, receives=frozenset({platform}), needs_shared_store=True)


def process_name(role: Role) -> str:
    """Unique among every process on the store, and telling in a log: role@host:pid/random."""
    return f"{role.name}@{socket.gethostname()}:{os.getpid()}/{uuid.uuid4().hex[:6]}"
