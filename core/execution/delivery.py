"""A job's final event, sent until the platform takes it and recorded once it did.

The send of the result is the commit point: the adapter calls the event's `delivered` the
moment the platform accepted it, and the delivery is written at once (retried while the
store does not answer); what the adapter does after that (removing the status message) can
fail without sending the result again. A platform that refuses for good (`DeliveryRefused`)
ends the job: it is not retried at every start.
"""

from __future__ import annotations

import logging

from core.clock import Clock
from core.delivery.notifiers import PlatformNotifiers
from core.errors import DeliveryRefused
from core.jobs.events import EventKind, JobEvent
from core.jobs.job import Job, JobState, QuotaState
from core.jobs.rows import JobRows
from core.metrics import DELIVERIES_REFUSED, JOBS_FINISHED
from core.modelscope.retry import Backoff

log = logging.getLogger("imagine.delivery")

DELIVERY_BACKOFF = Backoff(base=1.0, cap=60.0, attempts=8)


class FinalDelivery:
    def __init__(
        self,
        *,
        store: JobRows,
        notifiers: PlatformNotifiers,
        clock: Clock,
        backoff: Backoff = DELIVERY_BACKOFF,
    ) -> None:
        self._store = store
        self._notifiers = notifiers
        self._clock = clock
        self._backoff = backoff

    async def deliver(self, job: Job, kind: EventKind) -> Job:
        """Send `kind` for `job` until the adapter takes it; answers the job as recorded
        (unchanged if every attempt failed: the next start, or another worker, tries again)."""
        recorded: list[Job] = []

        async def committed() -> None:
            if not recorded:
                recorded.append(await self._record(job, kind))

        for failures in range(1, self._backoff.attempts + 1):
            try:
                await self._notifiers.send(JobEvent(kind, job, delivered=committed))
            except DeliveryRefused as refusal:
                return recorded[0] if recorded else await self._refused(job, kind, refusal)
            except Exception:
                if recorded:  # taken, then a cosmetic step failed: never send it again
                    log.warning("job %s delivered; a step after it failed", job.id, exc_info=True)
                    return recorded[0]
                log.warning("delivery of job %s failed", job.id, exc_info=True)
                await self._clock.sleep(self._backoff.delay(failures))
                continue
            await committed()
            return recorded[0]
        log.error("job %s not delivered; it is tried again later", job.id)
        return job

    async def _record(self, job: Job, kind: EventKind) -> Job:
        state = JobState.DONE if kind is EventKind.SUCCEEDED else job.state
        delivered = job.moved(state, self._now(), delivered_at=self._now())
        await self._save(delivered)
        if kind is EventKind.SUCCEEDED:
            JOBS_FINISHED.labels(JobState.DONE.value).inc()
        return delivered

    async def _refused(self, job: Job, kind: EventKind, refusal: DeliveryRefused) -> Job:
        """The platform will never take it: the job ends (a result it refused ends FAILED,
        refunded: the user never saw it), recorded so that nobody tries again."""
        DELIVERIES_REFUSED.labels(refusal.platform).inc()
        log.warning("job %s: %s", job.id, refusal, extra={"job_id": job.id})
        if kind is not EventKind.SUCCEEDED:
            ended = job.moved(job.state, self._now(), delivered_at=self._now())
        else:
            quota = QuotaState.REFUNDED if job.quota_state is QuotaState.COMMITTED else None
            ended = job.moved(
                JobState.FAILED,
                self._now(),
                delivered_at=self._now(),
                error_key=refusal.key,
                error_params={"reason": refusal.reason},
                quota_state=quota or job.quota_state,
            )
            JOBS_FINISHED.labels(JobState.FAILED.value).inc()
        await self._save(ended)
        return ended

    async def _save(self, job: Job) -> None:
        """Write the delivery, retrying while the store does not answer: a result that was
        sent and not recorded would be sent again by the next start."""
        for failures in range(1, self._backoff.attempts + 1):
            try:
                await self._store.save(job)
                return
            except Exception:
                log.warning("recording job %s failed", job.id, exc_info=True)
                await self._clock.sleep(self._backoff.delay(failures))
        await self._store.save(job)

    def _now(self) -> float:
        return self._clock.now().timestamp()
