"""What the core tells an adapter about a job (`JobEvent`), and the notifier port through
which it does."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from core.jobs.job import Job


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
    HELD = "held"  # no ModelScope token works: the job waits, its place kept, for the admins

    @property
    def final(self) -> bool:
        return self in (EventKind.SUCCEEDED, EventKind.FAILED, EventKind.CANCELLED)


@dataclass(frozen=True)
class BatchState:
    """On the final event of a job of a request for several images (`count` > 1): the
    batch's images made so far and those that ended without one (failed or cancelled), each
    in the request's order, and whether to send them now (the batch's last job ended; said
    once per batch)."""

    made: tuple[Job, ...]
    total: int
    send: bool
    failed: tuple[Job, ...] = ()


Committed = Callable[[], Awaitable[None]]


async def _nothing() -> None:
    return None


@dataclass(frozen=True)
class JobEvent:
    """`delivered`: on a final event, what the adapter calls the moment the platform took the
    result (the commit point), before anything cosmetic (removing the status message), so the
    delivery is recorded with nothing in between and a failed cosmetic step resends nothing."""

    kind: EventKind
    job: Job
    position: int | None = None
    status: str | None = None
    elapsed: float | None = None
    estimate: float | None = None
    batch: BatchState | None = None
    delivered: Committed = field(default=_nothing, compare=False, repr=False)


class Notifier(Protocol):
    """Implemented by each adapter; raising means "not delivered, try again later"."""

    async def notify(self, event: JobEvent) -> None: ...


class DirectMessages(Protocol):
    """A chat adapter's private messages to one person (`user_id` as the platform knows
    them): message `key` with `params`, in the person's language where the platform knows
    it, else `locale`."""

    async def direct(self, user_id: str, key: str, locale: str, **params: object) -> None: ...
