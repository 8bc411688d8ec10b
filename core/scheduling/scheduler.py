"""The scheduler: this process's part in running the queue, on either backend.

It claims jobs fairly from the queue onto free ModelScope slots and runs them, renews the
leases of the jobs it runs, takes over the jobs of a worker that died, and stops a job that
a user cancelled (here or, through the queue, in another process). With the local queue it
is the only worker; with the Redis queue it is one of several.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from core.clock import Clock
from core.errors import Crashed, TaskNotFound
from core.execution.runner import JobRunner, Outcome, final_event
from core.execution.tokens import TokenAccount, TokenPool
from core.jobs.job import Job, JobState, QuotaState
from core.jobs.policy import Policy
from core.jobs.quotas import LENT
from core.jobs.rows import JobRows
from core.scheduling.queue import Caps, JobQueue, Lease, TokenRoom

log = logging.getLogger("imagine.scheduler")

IDLE_WAIT_SECONDS = 0.5  # an idle worker looks again at least this often
MAX_BEAT_SECONDS = 2.0  # a cancel from another process is seen within this
RETRY_SECONDS = 1.0  # after a failed round of claims, renewals or take-overs
MAX_CRASHES = 3  # a job whose runner crashes this often in one process is ended


@dataclass(frozen=True)
class _Ending:
    """How a job's run ended for the queue: cost units its token gets back, and the row to
    write back in line once its hold is released (it could not start)."""

    refund: float = 0.0
    back_in_line: Job | None = None
    outlast: TokenAccount | None = None  # ModelScope still runs its task, on this account


class Scheduler:
    """Runs jobs from `queue` as `worker` (its name in leases and logs).

    Arguments (keyword-only): `queue`, `store`, `tokens`, `runner`, `policy`, `clock`;
    `worker`; `claiming` (False for a gateway or `enqueue`: it lines jobs up and answers
    about the queue, and runs none); `max_jobs` (jobs this process runs at once; None: as
    many as the tokens' slots allow).
    """

    def __init__(
        self,
        *,
        queue: JobQueue,
        store: JobRows,
        tokens: TokenPool,
        runner: JobRunner,
        policy: Policy,
        clock: Clock,
        worker: str,
        claiming: bool = True,
        max_jobs: int | None = None,
    ) -> None:
        self._queue = queue
        self._store = store
        self._tokens = tokens
        self._runner = runner
        self._policy = policy
        self._clock = clock
        self.worker = worker
        self.claiming = claiming
        self._max_jobs = max_jobs
        self._beat = min(MAX_BEAT_SECONDS, queue.lease_seconds / 3)
        self._running: dict[str, asyncio.Task[None]] = {}
        # Tasks given up on that ModelScope still runs: their slots stay held, not "running".
        self._outlasting: dict[str, asyncio.Task[None]] = {}
        self._running_jobs: dict[str, Job] = {}
        self._idle = asyncio.Event()
        self._idle.set()
        self._paused = False
        self._crashes: Counter[str] = Counter()

    # --- what the service asks -------------------------------------------------------

    @property
    def capacity(self) -> int:
        """ModelScope slots over every working token (the same in every process)."""
        return self._tokens.capacity

    async def waiting(self) -> list[Job]:
        """Waiting jobs in the order they would be admitted if every user could run."""
        return await self._queue.waiting()

    async def position(self, job_id: str) -> int | None:
        """1 for the next job to be admitted; None if it is not waiting."""
        order = await self.waiting()
        return next((i for i, job in enumerate(order, start=1) if job.id == job_id), None)

    async def running_count(self) -> int:
        """Jobs between admission and their end, in every process that shares the queue."""
        return await self._queue.held()

    async def stranded(self) -> list[Job]:
        """Waiting jobs that nobody runs while this process stops (to tell their users)."""
        return [] if self._queue.shared else await self.waiting()

    async def stop(self, job_id: str) -> bool:
        """Stop a running job, here or wherever it runs: its worker ends it cancelled.
        False if no worker holds it (it waits, or nobody runs it)."""
        if job_id in self._running:
            self._stop(job_id, cancelled=True)
            return True
        return await self._queue.request_cancel(job_id)

    def in_flight(self) -> list[Job]:
        """The jobs this process runs now."""
        return list(self._running_jobs.values())

    # --- running ---------------------------------------------------------------------

    async def recover(self, jobs: Sequence[Job]) -> None:
        """After a start: hold what nobody holds (a job whose worker died, or whose delivery
        failed) and resume it; queued jobs go back in line. Jobs held by live workers or
        waiting in line are left alone."""
        if not self.claiming:
            return
        for job in jobs:
            if await self._queue.adopt(self.worker, job):
                # Read again: another worker may have finished it since `jobs` was read.
                await self._begin(Lease(job.id, job.token or ""))

    async def run(self) -> None:
        """Claim and run jobs until cancelled; a process that does not claim just waits."""
        if not self.claiming:
            await asyncio.Event().wait()
        try:
            await asyncio.gather(
                self._keep_going("claiming", self._claim_round),
                self._keep_going("renewing leases", self._heartbeat),
                self._keep_going("taking over", self._take_over_round),
            )
        finally:
            await self._stop_all()

    def pause(self) -> None:
        """Start nothing new (shutting down); running jobs go on."""
        self._paused = True

    async def wait_idle(self) -> None:
        """Return once no job of this process is running."""
        await self._idle.wait()

    async def _keep_going(self, what: str, step: Callable[[], Awaitable[None]]) -> None:
        """A lost connection to the store pauses a loop; it never ends it."""
        while True:
            try:
                await step()
            except Exception:
                log.exception("%s failed; trying again in %.0f s", what, RETRY_SECONDS)
                await self._clock.sleep(RETRY_SECONDS)

    async def _stop_all(self) -> None:
        """Stop the running jobs without changing their rows: the next start (or another
        worker) resumes them."""
        tasks = [*self._running.values(), *self._outlasting.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _claim_round(self) -> None:
        while self._has_room():
            lease = await self._queue.claim(self.worker, self._caps(), self._rooms(), self._day())
            if lease is None:
                break
            await self._begin(lease)
        await self._queue.wait_for_work(IDLE_WAIT_SECONDS)

    async def _take_over_round(self) -> None:
        if self._has_room():
            for lease in await self._queue.take_over(self.worker, self._room()):
                log.warning("taking over job %s from a worker that stopped", lease.job_id)
                await self._begin(lease)
        await self._clock.sleep(self._beat)

    async def _heartbeat(self) -> None:
        await self._clock.sleep(self._beat)
        held = [*self._running, *self._outlasting]
        if not held:
            return
        renewal = await self._queue.renew(self.worker, held)
        for job_id in renewal.lost:
            log.error("job %s was taken over by another worker; stopping here", job_id)
            self._stop(job_id, cancelled=False)
        for job_id in renewal.cancel:
            self._stop(job_id, cancelled=True)

    def _has_room(self) -> bool:
        return not self._paused and self._room() > 0

    def _room(self) -> int:
        if self._max_jobs is None:
            return 1_000_000
        return self._max_jobs - len(self._running)

    async def _begin(self, lease: Lease) -> None:
        job = lease.job or await self._store.get(lease.job_id)
        if job is None:  # purged meanwhile
            await self._queue.finish(self.worker, lease.job_id)
            return
        self._running_jobs[job.id] = job
        self._idle.clear()
        task = asyncio.create_task(self._execute(job, lease), name=f"job-{job.id}")
        self._running[job.id] = task

    def _stop(self, job_id: str, cancelled: bool) -> None:
        task = self._running.get(job_id)
        if task is None:
            return
        if cancelled:
            self._runner.cancel_requested.add(job_id)
        task.cancel()

    async def _execute(self, job: Job, lease: Lease) -> None:
        try:
            ending = await self._carry(job, lease.token or job.token or "")
        except asyncio.CancelledError:
            # Shutting down, or the lease was lost: the row stays as it is; another worker
            # (or the next start) takes the job over (at once: abandon ends our lease now).
            await self._queue.abandon(self.worker, [job.id])
            raise
        except Exception:
            await self._crashed(job)
        else:
            if ending.outlast is not None:
                self._outlast(job, ending.outlast)
                return
            await self._queue.finish(self.worker, job.id, ending.refund)
            if ending.back_in_line is not None:  # after letting go: nobody claims it early
                await self._store.save(ending.back_in_line, [JobState.SUBMITTING, JobState.QUEUED])
        finally:
            self._running.pop(job.id, None)
            self._running_jobs.pop(job.id, None)
            if not self._running:
                self._idle.set()

    async def _crashed(self, job: Job) -> None:
        """Its runner died (the store did not answer, say): hand the job back at once, to be
        resumed from its row by a take-over; the third time here, end it (not the user's
        failure: refunded) rather than loop."""
        self._crashes[job.id] += 1
        log.exception("job %s crashed (%d times here)", job.id, self._crashes[job.id])
        try:
            if self._crashes[job.id] >= MAX_CRASHES:
                del self._crashes[job.id]
                await self._runner.fail(job, Crashed("its runner failed again and again"))
                await self._queue.finish(self.worker, job.id, job.cost)
            else:
                await self._queue.abandon(self.worker, [job.id])
        except Exception:
            log.exception("job %s: its lease runs out instead", job.id)

    async def _carry(self, job: Job, token: str) -> _Ending:
        """Take the job on from wherever its row says it is."""
        if job.state.terminal or job.state is JobState.DELIVERING:
            if job.delivered_at is None:
                await self._runner.deliver(job, final_event(job.state))
            return _Ending()
        account = self._tokens.by_label(token)
        if account is None:
            return await self._orphaned(job)
        outcome, final = await self._runner.run(job, account, token)
        if outcome is Outcome.REQUEUED:
            return _Ending(final.cost, back_in_line=final)
        if outcome is Outcome.GAVE_UP:
            return _Ending(outlast=account)
        return _Ending(final.cost if final.quota_state is QuotaState.REFUNDED else 0.0)

    def _outlast(self, job: Job, account: TokenAccount) -> None:
        """Keep the job's slot until ModelScope ends the task we gave up on (it counts against
        the account till then), polling slowly; then let go of it."""

        async def outlast() -> None:
            try:
                failed = await self._store.get(job.id) or job
                await self._runner.outlast(failed, account)
                await self._queue.finish(self.worker, job.id)
            finally:
                self._outlasting.pop(job.id, None)

        self._outlasting[job.id] = asyncio.create_task(outlast(), name=f"outlast-{job.id}")

    async def _orphaned(self, job: Job) -> _Ending:
        # Its token is not configured here: a task that exists cannot be polled by another
        # account, but one that was never created goes back in line for any token.
        if job.task_id is None:
            now = self._clock.now().timestamp()
            return _Ending(back_in_line=job.moved(JobState.QUEUED, now, token=None))
        await self._runner.fail(job, TaskNotFound("its token was removed"))
        return _Ending()

    def _caps(self) -> Caps:
        tiers = {0: self._policy.user_in_flight}
        tiers.update({tier.level: tier.in_flight for tier in self._policy.tiers})
        return Caps(tiers, self._policy.chat_in_flight)

    def _rooms(self) -> list[TokenRoom]:
        rooms = [
            TokenRoom(account.label, account.concurrency, limit)
            for account, limit in self._tokens.spend_limits()
        ]
        # Members' tokens: each its owner's, and lent to the community up to its daily cap.
        for member in self._tokens.members_working():
            rooms.append(TokenRoom(member.label, member.concurrency, owner=member.owner))
            if member.lent > 0:
                rooms.append(TokenRoom(member.label + LENT, member.concurrency, member.lent))
        return rooms

    def _day(self) -> str:
        return self._policy.limits.day_of(self._clock.now())
