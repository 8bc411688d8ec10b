"""The port of a queue that several processes share (the Redis adapter implements it).

A job is *waiting* from the moment the store accepts it until a worker claims it; then it is
*held* under a lease that its worker renews. A lease that runs out (its worker died) is taken
over by another worker, which resumes the job from its row: a job with a task id is polled,
never submitted again. Claims are fair across every process: least recently served user
first, FIFO within a user, in-flight caps per user and chat, and one slot per job on a token
that has room today.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from core.jobs.job import Job


@dataclass(frozen=True)
class Lease:
    """A claimed job and the token whose slot it holds."""

    job_id: str
    token: str


@dataclass(frozen=True)
class TokenRoom:
    """One token as a claim sees it: its slots and what it may spend a day."""

    label: str
    concurrency: int
    daily_budget: float | None = None


@dataclass(frozen=True)
class Caps:
    """In-flight caps: per tier level (0 is everyone's), and per chat (None: no cap)."""

    user_by_tier: Mapping[int, int]
    chat: int | None = None


@dataclass(frozen=True)
class Renewal:
    """What a heartbeat learned: leases lost to another worker, and cancels asked for."""

    lost: frozenset[str] = frozenset()
    cancel: frozenset[str] = frozenset()


@dataclass(frozen=True)
class WaitingLine:
    """One user's waiting jobs, oldest first, with their arrival numbers and the user's last
    turn (-1: never served)."""

    jobs: list[Job]
    arrivals: list[int]
    last_served: int = -1


class SharedQueue(Protocol):
    lease_seconds: float  # a lease not renewed for this long is taken over

    async def claim(
        self, worker: str, caps: Caps, tokens: Sequence[TokenRoom], day: str
    ) -> Lease | None:
        """The next job by fairness that may run now, held for `worker`; None if none may."""
        ...

    async def renew(self, worker: str, job_ids: Sequence[str]) -> Renewal:
        """Extend the worker's leases; say which it lost and which are to be cancelled."""
        ...

    async def take_over(self, worker: str, limit: int) -> list[Lease]:
        """Leases that ran out (their worker is gone), now held for `worker`."""
        ...

    async def adopt(self, worker: str, job: Job) -> bool:
        """Hold an unfinished job that is neither waiting nor held (after a crash or a
        failed delivery); a queued one goes back in line instead. True if now held."""
        ...

    async def finish(self, worker: str, job_id: str) -> None:
        """Give the job's slot and caps back; nothing if another worker holds it now."""

    async def abandon(self, worker: str, job_ids: Sequence[str]) -> None:
        """Let other workers take these over at once (this one stops)."""

    async def request_cancel(self, job_id: str) -> bool:
        """Ask the worker holding the job to stop it; False if nobody holds it."""
        ...

    async def wait_for_work(self, seconds: float) -> None:
        """Return when a job may have become claimable, or after `seconds`."""

    async def lines(self) -> list[WaitingLine]:
        """Every user's waiting jobs, for the admission order."""
        ...

    async def held(self) -> int:
        """How many jobs are held by workers."""
        ...
