"""Runs one job through its states: submit, poll, download, deliver.

Every change is written to the job row before it is announced. Quota safety: the task id
is written right after the POST; a job that has one is polled, never submitted again; a
job caught in `submitting` (its POST's answer lost) is submitted once more at most.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from enum import Enum
from typing import Any

from core.clock import Clock
from core.delivery.notifiers import PlatformNotifiers
from core.delivery.progress import DEFAULT_RATE, ProgressThrottle
from core.errors import (
    ContentRefused,
    ImagineError,
    MemberTokenGone,
    ModelUnavailable,
    OwnTokenDry,
    QuotaExhausted,
    RateLimited,
    TaskTimedOut,
    TransportError,
    Unauthorized,
)
from core.execution.delivery import DELIVERY_BACKOFF, FinalDelivery
from core.execution.engine import Progress
from core.execution.health import ModelHealth
from core.execution.tokens import TokenAccount, TokenPool
from core.jobs.events import EventKind, JobEvent
from core.jobs.job import Job, JobState, QuotaState
from core.jobs.rows import JobRows
from core.metrics import DELIVERY_DELAY, JOBS_FINISHED, POLLS_PER_JOB
from core.modelscope.retry import Backoff
from core.modelscope.runtimes import RunTimes, workload_of
from core.terms import to_plain

log = logging.getLogger("imagine.worker")

FINAL_STATUSES = ("SUCCEED", "FAILED")
MAX_SUBMITS = 2  # the first POST, and one more if its answer was lost (DESIGN.md)
EXHAUSTED_COOL_SECONDS = 1800.0  # a token whose balance ran out is tried again after this


class Outcome(Enum):
    FINISHED = "finished"  # done, failed or cancelled: the row says which
    REQUEUED = "requeued"  # refused before a task existed (401, 429): the job, back in line
    GAVE_UP = "gave_up"  # failed past our deadline, but ModelScope still holds its task


@dataclass
class _Run:
    job: Job
    account: TokenAccount
    room: str  # the claim's label: the account's, or its lent room's (core.jobs.quotas.LENT)
    polls: int = 0


class JobRunner:
    """Moves jobs through the state machine; one `run` per admitted job."""

    def __init__(
        self,
        *,
        store: JobRows,
        notifiers: PlatformNotifiers,
        tokens: TokenPool,
        run_times: RunTimes,
        clock: Clock,
        progress_every: float = 5.0,
        progress_rate: float = DEFAULT_RATE,
        delivery_backoff: Backoff = DELIVERY_BACKOFF,
    ) -> None:
        """`progress_every`: least seconds between two progress events for one status
        message, stretched to keep all of them under `progress_rate` a second;
        `delivery_backoff`: how often and how long a final event is retried."""
        self._store = store
        self._notifiers = notifiers
        self._pool = tokens
        self._run_times = run_times
        self._clock = clock
        self._progress = ProgressThrottle(progress_every, clock, progress_rate)
        self._final = FinalDelivery(
            store=store, notifiers=notifiers, clock=clock, backoff=delivery_backoff
        )
        self.cancel_requested: set[str] = set()
        self.health = ModelHealth(clock)

    async def run(self, job: Job, account: TokenAccount, room: str = "") -> tuple[Outcome, Job]:
        """Take the job as far as it goes, on `account` (its spending counted to `room`, the
        label it was claimed by; the account's by default). REQUEUED answers the job as it
        is to be written back in line (by the scheduler, once it let go of its slot);
        GAVE_UP, the job ended FAILED whose task ModelScope still runs."""
        run = _Run(job, account, room or account.label)
        try:
            await self._produce(run)
            if run.job.result_path is not None:  # it made an image: the model works
                self.health.worked(job.params.model)
        except (Unauthorized, RateLimited) as error:
            if self._model_failing(run, error):
                run.job = await self.fail(run.job, self._unavailable(job.params.model))
            elif (own := self._own_token_failed(run, error)) is not None:
                run.job = await self.fail(run.job, own)
            elif run.job.task_id is None and self._refused_token(account, error):
                return Outcome.REQUEUED, self._back_in_line(run.job)
            else:
                run.job = await self.fail(run.job, error)
        except TaskTimedOut as error:
            run.job = await self.fail(run.job, error)
            return Outcome.GAVE_UP, run.job
        except ImagineError as error:
            failing = self._model_failing(run, error)
            run.job = await self.fail(
                run.job, self._unavailable(job.params.model) if failing else error
            )
        except asyncio.CancelledError:
            if run.job.id not in self.cancel_requested:
                raise  # shutting down: the row stays as it is, and the next start resumes it
            await self.end_cancelled(run.job)
            return Outcome.FINISHED, await self._latest(run.job)
        return Outcome.FINISHED, run.job

    def _model_failing(self, run: _Run, error: ImagineError) -> bool:
        """The model, not the token nor the user, is at fault (core.execution.health)."""
        return self.health.judge(run.job.params.model, error, run.account, run.job.cost)

    def _unavailable(self, model: str) -> ModelUnavailable:
        return ModelUnavailable(model, self.health.minutes_left(model) or 1)

    def _refused_token(self, account: TokenAccount, error: Unauthorized | RateLimited) -> bool:
        """The token said no before a task existed: take it out (401) or let it cool off
        (429). True if the job may go back in line: never the user's failure, unless no
        token is left for an exhausted balance (then it ends, in words, refunded)."""
        if isinstance(error, Unauthorized):
            self._pool.disable(account, error.message)
            return True
        if isinstance(error, QuotaExhausted):
            self._pool.cool(account, EXHAUSTED_COOL_SECONDS)
            return bool(self._pool.working())
        self._pool.cool(account, error.retry_after)
        return True

    def _own_token_failed(
        self, run: _Run, error: Unauthorized | RateLimited
    ) -> ImagineError | None:
        """A member's own token said no to their job (before a task existed): rejected (it
        leaves the pool, core.service.members drops it) or dry, the job ends in words. A
        mere 429 sends it back in line to wait for the token, like any other."""
        if run.job.quota_state is not QuotaState.OWN or run.job.task_id is not None:
            return None
        if isinstance(error, Unauthorized):
            self._pool.disable(run.account, error.message)
            return MemberTokenGone("ModelScope rejected the member's token")
        if isinstance(error, QuotaExhausted):
            return OwnTokenDry(error.message, error.status, error.request_id)
        return None

    async def fail_waiting(self, job: Job, error: ImagineError) -> bool:
        """End a job that waits in line and can never start (its own token is gone), if it
        still waits; True if this call ended it."""
        failed = job.moved(
            JobState.FAILED, self._now(), error_key=error.key, error_params=_plain(error.params())
        )
        if not await self._store.save(failed, expected=[JobState.QUEUED]):
            return False
        JOBS_FINISHED.labels(JobState.FAILED.value).inc()
        await self.deliver(failed, EventKind.FAILED)
        return True

    def _back_in_line(self, job: Job) -> Job:
        # A definite "no" (401, 429): no task exists, so that POST is not an attempt.
        attempts = max(0, job.submit_attempts - 1)
        return job.moved(JobState.QUEUED, self._now(), token=None, submit_attempts=attempts)

    async def outlast(self, job: Job, account: TokenAccount) -> None:
        """Poll a task we gave up on, slowly, until ModelScope ends it: until then it
        counts against its account, so the token's slot stays taken."""
        try:
            await account.engine.outlast(str(job.task_id), job.params)
        except ImagineError as error:
            log.info("task %s of job %s: %s", job.task_id, job.id, error)

    async def _produce(self, run: _Run) -> None:
        if run.job.task_id is None and not await self._submit(run):
            return  # cancelled while it waited for its slot: nothing was sent
        params = run.job.params
        final = await run.account.engine.wait(
            str(run.job.task_id), params, lambda p: self._report(run, p), self._since_submit(run)
        )
        finished_at = self._clock.monotonic()
        POLLS_PER_JOB.observe(run.polls)
        elapsed = self._since_submit(run)
        await self._move(run, JobState.DOWNLOADING)
        image = await run.account.engine.keep(final, params, elapsed, stem=f"gen_{run.job.id}")
        quota = run.job.quota_state
        await self._move(
            run,
            JobState.DELIVERING,
            result_path=str(image.path),
            time_taken_ms=image.time_taken_ms,
            quota_state=QuotaState.COMMITTED if quota is QuotaState.RESERVED else quota,
        )
        delivered = await self.deliver(run.job, EventKind.SUCCEEDED)
        if delivered.delivered_at is not None:
            DELIVERY_DELAY.observe(self._clock.monotonic() - finished_at)

    def _since_submit(self, run: _Run) -> float:
        submitted = run.job.transitions.get("submitted", self._now())
        return max(0.0, self._now() - submitted)

    async def _submit(self, run: _Run) -> bool:
        attempts = run.job.submit_attempts
        if attempts >= MAX_SUBMITS:
            raise TransportError("the submit's outcome is unknown", maybe_delivered=True)
        expected = (JobState.QUEUED, JobState.SUBMITTING)
        if not await self._move(
            run,
            JobState.SUBMITTING,
            expected,
            submit_attempts=attempts + 1,
            token=run.room,
        ):
            return False
        task = await run.account.engine.submit(run.job.params, wait_out_rate_limits=False)
        self._pool.submitted(run.account)
        await self._move(run, JobState.SUBMITTED, task_id=task.task_id)
        await self._notifiers.send_quietly(JobEvent(EventKind.STARTED, run.job))
        return True

    async def _report(self, run: _Run, progress: Progress) -> None:
        run.polls += 1
        if progress.status in FINAL_STATUSES:
            return  # the final event follows at once
        if not self._progress.due(run.job.batch_id):
            return  # chats rate-limit edits: a batch's jobs share one status message
        params = run.job.params
        estimate = self._run_times.left(workload_of(params.model, params.size), progress.elapsed)
        event = JobEvent(
            EventKind.PROGRESS,
            run.job,
            status=progress.status,
            elapsed=progress.elapsed,
            estimate=estimate,
        )
        await self._notifiers.send_quietly(event)

    async def fail(self, job: Job, error: ImagineError) -> Job:
        """End `job` FAILED with `error` (quota refunded unless the user caused it), and
        announce it; also for a job that cannot run at all, e.g. its token is gone."""
        log.warning("job %s failed: %s", job.id, error, extra={"job_id": job.id})
        failed = job.moved(
            JobState.FAILED,
            self._now(),
            error_key=error.key,
            error_params=_plain(error.params()),
            quota_state=_after_failure(job.quota_state, error),
        )
        await self._store.save(failed)
        JOBS_FINISHED.labels(JobState.FAILED.value).inc()
        return await self.deliver(failed, EventKind.FAILED)

    async def end_cancelled(self, job: Job) -> Job:
        """End a job cancelled (one that waits, or that this runner was running); charged
        only if ModelScope already took its task."""
        latest = await self._latest(job)
        if latest.state.terminal:
            return latest
        charged = latest.task_id is not None and latest.quota_state is QuotaState.RESERVED
        quota = QuotaState.COMMITTED if charged else _refund(latest.quota_state)
        cancelled = latest.moved(JobState.CANCELLED, self._now(), quota_state=quota)
        if not await self._store.save(cancelled, expected=[latest.state]):
            return await self.end_cancelled(job)  # it moved on meanwhile: look again
        self.cancel_requested.discard(job.id)
        JOBS_FINISHED.labels(JobState.CANCELLED.value).inc()
        await self.deliver(cancelled, EventKind.CANCELLED)
        return cancelled

    async def deliver(self, job: Job, kind: EventKind) -> Job:
        """Send a final event until the adapter takes it, and record the delivery."""
        return await self._final.deliver(job, kind)

    async def _move(
        self, run: _Run, state: JobState, expected: tuple[JobState, ...] = (), **changes: Any
    ) -> bool:
        moved = run.job.moved(state, self._now(), **changes)
        if not await self._store.save(moved, expected):
            return False
        run.job = moved
        context = {"job_id": moved.id, "user": moved.user, "task_id": moved.task_id}
        log.info("job %s is %s", moved.id, state.value, extra=context)
        return True

    async def _latest(self, job: Job) -> Job:
        return await self._store.get(job.id) or job

    def _now(self) -> float:
        return self._clock.now().timestamp()


def _after_failure(quota: QuotaState, error: ImagineError) -> QuotaState:
    # Only a refusal of the content (moderation) is the user's; everything else is not.
    if quota is not QuotaState.RESERVED:
        return quota
    return QuotaState.COMMITTED if isinstance(error, ContentRefused) else QuotaState.REFUNDED


def _refund(quota: QuotaState) -> QuotaState:
    return QuotaState.REFUNDED if quota is QuotaState.RESERVED else quota


def _plain(params: dict[str, object]) -> dict[str, Any]:
    return {name: to_plain(value) for name, value in params.items()}


def final_event(state: JobState) -> EventKind:
    """The event that announces a job's end, from the state it ended (or is ending) in."""
    return {
        JobState.DONE: EventKind.SUCCEEDED,
        JobState.DELIVERING: EventKind.SUCCEEDED,
        JobState.FAILED: EventKind.FAILED,
    }.get(state, EventKind.CANCELLED)
