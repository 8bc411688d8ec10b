"""Admits waiting jobs onto free ModelScope slots, fairly, and runs them."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Coroutine, Sequence
from typing import Any

from core.clock import Clock
from core.errors import TaskNotFound
from core.execution.runner import JobRunner, Outcome, final_event
from core.jobs.job import Job, JobState, QuotaState
from core.scheduling.fairqueue import FairQueue
from core.scheduling.tokens import SlotPool, TokenSlot
from core.service.policy import Policy

log = logging.getLogger("imagine.dispatcher")


class Dispatcher:
    """The `Scheduler` of one process: owns the fair queue and the running jobs."""

    def __init__(self, pool: SlotPool, runner: JobRunner, policy: Policy, clock: Clock) -> None:
        self.queue = FairQueue()
        self._pool = pool
        self._runner = runner
        self._policy = policy
        self._clock = clock
        self._running: dict[str, asyncio.Task[None]] = {}
        self._running_jobs: dict[str, Job] = {}
        self._user_busy: Counter[str] = Counter()
        self._chat_busy: Counter[str] = Counter()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._paused = False
        self._background: set[asyncio.Task[object]] = set()

    def enqueue(self, job: Job) -> None:
        self.queue.push(job)
        self._wake.set()

    def accepted(self, jobs: Sequence[Job]) -> None:
        for job in jobs:
            self.enqueue(job)

    def wake(self) -> None:
        """Look for admissible jobs now (a new day may have freed a token's budget)."""
        self._wake.set()

    async def recover(self, jobs: Sequence[Job]) -> None:
        for job in jobs:
            if job.state.terminal or job.state is JobState.DELIVERING:
                self._in_background(self._runner.deliver(job, final_event(job.state)))
            elif job.state is JobState.QUEUED:
                self.enqueue(job)
            elif not self._resume(job):
                self._orphaned(job)

    def _resume(self, job: Job) -> bool:
        """Run an accepted task again on its own token; False if that token is gone."""
        slot = self._pool.by_label(job.token)
        if slot is None:
            return False
        # Its cost is already in the token's spending loaded from the store at start.
        self._pool.hold(slot, 0.0, job.day)
        self._start(job, slot)
        return True

    def _orphaned(self, job: Job) -> None:
        # Its token is no longer configured: a task that exists cannot be polled by another
        # account, but one that was never created can run anywhere.
        if job.task_id is None:
            self.enqueue(job)
        else:
            self._in_background(self._runner.fail(job, TaskNotFound("its token was removed")))

    def _in_background(self, work: Coroutine[Any, Any, object]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    @property
    def capacity(self) -> int:
        return self._pool.capacity

    async def waiting(self) -> list[Job]:
        return list(self.queue.order())

    async def position(self, job_id: str) -> int | None:
        return self.queue.position(job_id)

    async def running_count(self) -> int:
        return len(self._running_jobs)

    async def stranded(self) -> list[Job]:
        return list(self.queue.order())  # nobody else runs this process's queue

    async def wait_idle(self) -> None:
        """Return once no job of this process is running."""
        await self._idle.wait()

    def in_flight(self) -> list[Job]:
        return list(self._running_jobs.values())

    async def cancel(self, job_id: str) -> Job | None:
        """Take a waiting job out of line (returned), or stop a running one (None)."""
        waiting = self.queue.remove(job_id)
        if waiting is None and job_id in self._running:
            self._runner.cancel_requested.add(job_id)
            self._running[job_id].cancel()
        return waiting

    async def run(self) -> None:
        """Admit jobs whenever a slot frees up or a job arrives; runs until cancelled."""
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                self._admit()
        finally:
            await self.stop()

    async def stop(self) -> None:
        """Stop the running jobs without changing their rows: the next start resumes them."""
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def pause(self) -> None:
        """Start nothing new (shutting down); running jobs go on."""
        self._paused = True

    def _admit(self) -> None:
        if self._paused:
            return
        day = self._policy.limits.day_of(self._clock.now())
        while True:
            job = self.queue.next_job(lambda j: self._may_start(j, day))
            if job is None:
                return
            slot = self._pool.acquire(job.cost, day)
            if slot is None:  # _may_start saw a slot; nothing else takes one in between
                self.queue.push(job)
                return
            self._start(job, slot)

    def _may_start(self, job: Job, day: str) -> bool:
        tier = self._policy.tier_by_level(job.tier)
        chat_cap = self._policy.chat_in_flight
        if self._user_busy[job.user] >= tier.in_flight:
            return False
        if chat_cap is not None and self._chat_busy[job.chat] >= chat_cap:
            return False
        return any(slot.can_take(job.cost, day) for slot in self._pool.slots)

    def _start(self, job: Job, slot: TokenSlot) -> None:
        self._user_busy[job.user] += 1
        self._chat_busy[job.chat] += 1
        self._running_jobs[job.id] = job
        self._idle.clear()
        self._running[job.id] = asyncio.create_task(self._run(job, slot), name=f"job-{job.id}")

    async def _run(self, job: Job, slot: TokenSlot) -> None:
        refund = 0.0
        try:
            outcome, final = await self._runner.run(job, slot)
            refund = final.cost if final.quota_state is QuotaState.REFUNDED else 0.0
            if outcome is Outcome.REQUEUED:
                refund = final.cost
                self.queue.push(final)
        except Exception:
            log.exception("job %s crashed; the next start resumes it", job.id)
        finally:
            self._user_busy[job.user] -= 1
            self._chat_busy[job.chat] -= 1
            self._running.pop(job.id, None)
            self._running_jobs.pop(job.id, None)
            self._pool.release(slot, refund)
            if not self._running:
                self._idle.set()
            self._wake.set()
