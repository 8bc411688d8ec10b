"""The notifier port: how the core tells an adapter what happened to a job."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from core.jobs.job import Job
from core.metrics import PLATFORM_ERRORS

log = logging.getLogger("imagine.notifier")


class EventKind(StrEnum):
    """What an event says; succeeded, failed and cancelled are final and are retried until
    delivered."""

    QUEUED = "queued"  # accepted; `position` in line, `estimate` seconds of wait
    STARTED = "started"  # ModelScope took the task
    PROGRESS = "progress"  # `status`, `elapsed` seconds and an `estimate` of seconds left
    SUCCEEDED = "succeeded"  # the image is at `job.result_path`
    FAILED = "failed"  # `job.error_key` / `job.error_params` say why, in words a person acts on
    CANCELLED = "cancelled"
    RESTARTING = "restarting"  # the bot stops for a restart; a waiting job stays in line

    @property
    def final(self) -> bool:
        return self in (EventKind.SUCCEEDED, EventKind.FAILED, EventKind.CANCELLED)


@dataclass(frozen=True)
class JobEvent:
    kind: EventKind
    job: Job
    position: int | None = None
    status: str | None = None
    elapsed: float | None = None
    estimate: float | None = None


class Notifier(Protocol):
    """Implemented by each adapter; raising means "not delivered, try again later"."""

    async def notify(self, event: JobEvent) -> None: ...


class PlatformNotifiers:
    """Routes each event to the notifier of the job's platform, one job's events in order."""

    def __init__(self, notifiers: Mapping[str, Notifier]) -> None:
        self._notifiers = dict(notifiers)
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    def register(self, platform: str, notifier: Notifier) -> None:
        """Add a platform's notifier (an adapter built after the core needs the service)."""
        self._notifiers[platform] = notifier

    async def send(self, event: JobEvent) -> None:
        """Deliver `event`; exceptions propagate, so final events can be retried."""
        notifier = self._notifiers.get(event.job.platform)
        if notifier is None:
            log.warning("no notifier for platform %s", event.job.platform)
            return
        lock = self._locks[event.job.id]
        async with lock:
            try:
                await notifier.notify(event)
            except Exception:
                PLATFORM_ERRORS.labels(event.job.platform).inc()
                raise
        if event.kind.final:
            self._locks.pop(event.job.id, None)

    async def send_quietly(self, event: JobEvent) -> None:
        """Deliver a passing event (queued, started, progress); a failure is only logged."""
        try:
            await self.send(event)
        except Exception:
            log.warning("could not announce %s for job %s", event.kind, event.job.id, exc_info=True)


class MemoryNotifier:
    """Keeps every event: the notifier of tests and of the CLI."""

    def __init__(self) -> None:
        self.events: list[JobEvent] = []
        self.changed = asyncio.Condition()

    async def notify(self, event: JobEvent) -> None:
        async with self.changed:
            self.events.append(event)
            self.changed.notify_all()

    def kinds(self, job_id: str) -> list[EventKind]:
        return [e.kind for e in self.events if e.job.id == job_id]

    async def wait_for(self, count: int, kinds: tuple[EventKind, ...]) -> None:
        """Wait until `count` events of `kinds` arrived (bound it with `asyncio.timeout`)."""
        async with self.changed:
            await self.changed.wait_for(lambda: sum(e.kind in kinds for e in self.events) >= count)
