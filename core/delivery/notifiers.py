"""Events to the adapter of each job's platform, one job's events in order; a batch's final
events carry its state (core.delivery._batches)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections import defaultdict
from collections.abc import Mapping
from typing import TypeGuard

from core.delivery._batches import BatchDelivery, LoadBatch
from core.jobs.events import DirectMessages, EventKind, JobEvent, Notifier
from core.metrics import PLATFORM_ERRORS

log = logging.getLogger("imagine.notifier")


class PlatformNotifiers:
    """Routes each event to the notifier of the job's platform; `load_batch` reads the jobs
    of a batch (the store's)."""

    def __init__(self, notifiers: Mapping[str, Notifier], load_batch: LoadBatch) -> None:
        self._notifiers = dict(notifiers)
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._batches = BatchDelivery(load_batch)

    async def send(self, event: JobEvent) -> None:
        """Deliver `event`; exceptions propagate, so final events can be retried."""
        notifier = self._notifiers.get(event.job.platform)
        if notifier is None:
            log.warning("no notifier for platform %s", event.job.platform)
            return
        async with self._locks[event.job.id]:
            try:
                if event.kind.final and event.job.batch_size > 1:
                    await self._batches.final(
                        event.job,
                        lambda state: notifier.notify(dataclasses.replace(event, batch=state)),
                    )
                else:
                    await notifier.notify(event)
            except Exception:
                PLATFORM_ERRORS.labels(event.job.platform).inc()
                raise
        if event.kind.final:
            self._locks.pop(event.job.id, None)

    async def direct(self, user: str, key: str, locale: str, **params: object) -> bool:
        """A private message to `user` (a `platform:id` key) on their platform, if its
        adapter sends private messages; True if it went out. A failure is only logged."""
        platform, _, user_id = user.partition(":")
        notifier = self._notifiers.get(platform)
        if not _sends_direct(notifier):
            return False
        try:
            await notifier.direct(user_id, key, locale, **params)
        except Exception:
            log.warning("could not write to %s", user, exc_info=True)
            return False
        return True

    async def send_quietly(self, event: JobEvent) -> None:
        """Deliver a passing event (queued, started, progress); a failure is only logged."""
        try:
            await self.send(event)
        except Exception:
            log.warning("could not announce %s for job %s", event.kind, event.job.id, exc_info=True)


def _sends_direct(notifier: object) -> TypeGuard[DirectMessages]:
    return callable(getattr(notifier, "direct", None))


class MemoryNotifier:
    """Keeps every event: the notifier of tests and benchmarks."""

    def __init__(self) -> None:
        self.events: list[JobEvent] = []
        self.direct_messages: list[tuple[str, str, dict[str, object]]] = []  # user, key, values
        self.changed = asyncio.Condition()

    async def direct(self, user_id: str, key: str, locale: str, **params: object) -> None:
        async with self.changed:
            self.direct_messages.append((user_id, key, params))
            self.changed.notify_all()

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
