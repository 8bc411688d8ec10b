"""The `Scheduler` of one of several processes that share a queue (`core.shared_queue`):
it claims jobs fairly, runs them under leases it renews, takes over the jobs of a worker
that died, and stops a job that a user cancelled in another process."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from core.clock import Clock
from core.errors import TaskNotFound
from core.execution.runner import JobRunner, final_event
from core.jobs.job import Job, JobState
from core.scheduling.fairqueue import admission_order
from core.scheduling.queue import Caps, Lease, SharedQueue, TokenRoom
from core.scheduling.tokens import SlotPool
from core.service.policy import Policy
from core.stores import Store

log = logging.getLogger("imagine.dispatcher")

IDLE_WAIT_SECONDS = 0.5  # an idle worker looks again at least this often
MAX_BEAT_SECONDS = 2.0  # a cancel from another process is seen within this
RETRY_SECONDS = 1.0  # after a failed round of claims, renewals or take-overs


class SharedDispatcher:
    """`claiming=False` for a gateway: it lines jobs up and answers about the queue, and
    the workers run them."""

    def __init__(
        self,
        queue: SharedQueue,
        store: Store,
        pool: SlotPool,
        runner: JobRunner,
        policy: Policy,
        clock: Clock,
        worker: str,
        claiming: bool = True,
        max_jobs: int = 32,
    ) -> None:
        self._queue = queue
        self._store = store
        self._pool = pool
        self._runner = runner
        self._policy = policy
        self._clock = clock
        self.worker = worker
        self.claiming = claiming
        self._max_jobs = max_jobs
        self._beat = min(MAX_BEAT_SECONDS, queue.lease_seconds / 3)
        self._running: dict[str, asyncio.Task[None]] = {}
        self._running_jobs: dict[str, Job] = {}
        self._idle = asyncio.Event()
        self._idle.set()
        self._paused = False

    # --- what the service asks -------------------------------------------------------

    @property
    def capacity(self) -> int:
        return self._pool.capacity

    def accepted(self, jobs: Sequence[Job]) -> None:
        """Nothing to do: the shared store's insert already put them in line."""

    async def waiting(self) -> list[Job]:
        lines = [(line.jobs, line.arrivals, line.last_served) for line in await self._queue.lines()]
        return list(admission_order(lines))

    async def position(self, job_id: str) -> int | None:
        order = await self.waiting()
        return next((i for i, job in enumerate(order, start=1) if job.id == job_id), None)

    async def running_count(self) -> int:
        return await self._queue.held()

    async def stranded(self) -> list[Job]:
        return []  # the other processes go on running the queue

    async def cancel(self, job_id: str) -> Job | None:
        if job_id in self._running:
            self._stop(job_id, cancelled=True)
        else:
            await self._queue.request_cancel(job_id)
        return None  # a waiting job's row is cancelled by the service itself

    def in_flight(self) -> list[Job]:
        return list(self._running_jobs.values())

    # --- running ---------------------------------------------------------------------

    async def recover(self, jobs: Sequence[Job]) -> None:
        """Hold what nobody holds: a job whose delivery failed, or whose worker died before
        the queue existed. Jobs held by live workers or waiting in line are left alone."""
        if not self.claiming:
            return
        for job in jobs:
            if await self._queue.adopt(self.worker, job):
                # Read again: another worker may have finished it since `jobs` was read.
                await self._begin(Lease(job.id, job.token or ""))

    async def run(self) -> None:
        if not self.claiming:
            await asyncio.Event().wait()
        try:
            await asyncio.gather(
                self._keep_going("claiming", self._claim_round),
                self._keep_going("renewing leases", self._heartbeat),
                self._keep_going("taking over", self._take_over_round),
            )
        finally:
            await self.stop()

    async def _keep_going(self, what: str, step: Callable[[], Awaitable[None]]) -> None:
        """A lost connection to the store pauses a loop; it never ends it."""
        while True:
            try:
                await step()
            except Exception:
                log.exception("%s failed; trying again in %.0f s", what, RETRY_SECONDS)
                await self._clock.sleep(RETRY_SECONDS)

    def wake(self) -> None:
        """Claims are looked for at least every IDLE_WAIT_SECONDS anyway."""

    def pause(self) -> None:
        self._paused = True

    async def wait_idle(self) -> None:
        await self._idle.wait()

    async def stop(self) -> None:
        """Stop the running jobs without changing their rows; other workers take them over."""
        tasks = list(self._running.values())
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
            room = self._max_jobs - len(self._running)
            for lease in await self._queue.take_over(self.worker, room):
                log.warning("taking over job %s from a worker that stopped", lease.job_id)
                await self._begin(lease)
        await self._clock.sleep(self._beat)

    async def _heartbeat(self) -> None:
        await self._clock.sleep(self._beat)
        renewal = await self._queue.renew(self.worker, list(self._running))
        for job_id in renewal.lost:
            log.error("job %s was taken over by another worker; stopping here", job_id)
            self._stop(job_id, cancelled=False)
        for job_id in renewal.cancel:
            self._stop(job_id, cancelled=True)

    def _has_room(self) -> bool:
        return not self._paused and len(self._running) < self._max_jobs

    async def _begin(self, lease: Lease) -> None:
        job = await self._store.get(lease.job_id)
        if job is None:  # purged meanwhile
            await self._queue.finish(self.worker, lease.job_id)
            return
        self._start(job, lease)

    def _start(self, job: Job, lease: Lease) -> None:
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
            await self._carry(job, lease.token or job.token or "")
        except asyncio.CancelledError:
            # Shutting down, or the lease was lost: the row stays as it is; another worker
            # takes the job over (at once: abandon ends our lease now).
            await self._queue.abandon(self.worker, [job.id])
            raise
        except Exception:
            log.exception("job %s crashed; another worker takes it over later", job.id)
        else:
            await self._queue.finish(self.worker, job.id)
        finally:
            self._running.pop(job.id, None)
            self._running_jobs.pop(job.id, None)
            if not self._running:
                self._idle.set()

    async def _carry(self, job: Job, token: str) -> None:
        """Take the job on from wherever its row says it is."""
        if job.state.terminal or job.state is JobState.DELIVERING:
            if job.delivered_at is None:
                await self._runner.deliver(job, final_event(job.state))
            return
        slot = self._pool.by_label(token)
        if slot is None:
            await self._orphaned(job)
            return
        await self._runner.run(job, slot)

    async def _orphaned(self, job: Job) -> None:
        # Its token is not configured here: a task that exists cannot be polled by another
        # account, but one that was never created goes back in line for any token.
        if job.task_id is None:
            now = self._clock.now().timestamp()
            await self._store.save(job.moved(JobState.QUEUED, now, token=None), [job.state])
        else:
            await self._runner.fail(job, TaskNotFound("its token was removed"))

    def _caps(self) -> Caps:
        tiers = {0: self._policy.user_in_flight}
        tiers.update({tier.level: tier.in_flight for tier in self._policy.tiers})
        return Caps(tiers, self._policy.chat_in_flight)

    def _rooms(self) -> list[TokenRoom]:
        return [
            TokenRoom(slot.label, slot.concurrency, slot.daily_budget)
            for slot in self._pool.slots
            if not slot.disabled_reason
        ]

    def _day(self) -> str:
        return self._policy.limits.day_of(self._clock.now())
