"""The queue port: where waiting jobs stand in line and running jobs are held.

Two backends implement it and pass one contract suite (tests/core/scheduling): the local
queue of one process over SQLite (`core.scheduling.local_queue`) and the Redis queue that
several processes share (`core.stores.redis.queue`). In both, the job rows are the queue: a
row written `queued` stands in its user's line, and a row written in any other state leaves
it; the queue holds what a worker claimed until the worker finishes it.

A job is *waiting* from the moment the store accepts it until a worker claims it; then it is
*held* under a lease that its worker renews. A lease that runs out (its worker died) is taken
over by another worker, which resumes the job from its row: a job with a task id is polled,
never submitted again. Claims are fair: least recently served user first, FIFO within a user,
in-flight caps per user and chat, and one slot per job on a token that has room today and
takes the job (`TokenRoom.takes`; the same rules as `core.scheduling.fairqueue`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from core.jobs.job import Job, JobState, QuotaState

# A job in these states runs on a token's slot; past them it only needs delivering.
NEEDS_SLOT = (JobState.SUBMITTING, JobState.SUBMITTED, JobState.DOWNLOADING)


@dataclass(frozen=True)
class Lease:
    """A claimed job and the token whose slot it holds ('' for none); `job` is the row as
    the queue knew it, when the backend has it at hand (else the worker reads it)."""

    job_id: str
    token: str
    job: Job | None = None


@dataclass(frozen=True)
class TokenRoom:
    """One token as a claim sees it: its slots, what it may spend a day, and whose jobs it
    takes: a member's own token (`owner`, a user key) only their jobs that it pays for
    (`QuotaState.OWN`), the community's ('') every other job."""

    label: str
    concurrency: int
    daily_budget: float | None = None
    owner: str = ""

    def takes(self, job: Job) -> bool:
        if job.quota_state is QuotaState.OWN:
            return self.owner == job.user
        return not self.owner


@dataclass(frozen=True)
class Caps:
    """In-flight caps: per tier level (0 is everyone's), and per chat (None: no cap)."""

    user_by_tier: Mapping[int, int]
    chat: int | None = None

    def user_cap(self, tier: int) -> int:
        return self.user_by_tier.get(tier, self.user_by_tier[0])


@dataclass(frozen=True)
class Renewal:
    """What a heartbeat learned: leases lost to another worker, and cancels asked for."""

    lost: frozenset[str] = frozenset()
    cancel: frozenset[str] = frozenset()


class JobQueue(Protocol):
    """Every call is one atomic step: two workers never claim the same job, a slot or an
    in-flight turn past its cap."""

    lease_seconds: float  # a lease not renewed for this long is taken over
    shared: bool  # other processes claim from it too (then a stopping process strands none)

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

    async def finish(self, worker: str, job_id: str, refund: float = 0.0) -> None:
        """Give the job's slot and caps back, and `refund` cost units to its token's day (a
        backend that counts spending from the rows ignores it); nothing if another worker
        holds the job now."""

    async def abandon(self, worker: str, job_ids: Sequence[str]) -> None:
        """Let other workers take these over at once (this one stops)."""

    async def request_cancel(self, job_id: str) -> bool:
        """Ask the worker holding the job to stop it; False if nobody holds it."""
        ...

    async def wait_for_work(self, seconds: float) -> None:
        """Return when a job may have become claimable, or after `seconds`."""

    async def waiting(self) -> list[Job]:
        """Every waiting job in the order it would be admitted if every user could run."""
        ...

    async def held(self) -> int:
        """How many jobs are held by workers."""
        ...
