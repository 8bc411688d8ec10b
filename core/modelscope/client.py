"""Submit a task, poll it to the end: the two calls of ModelScope's async image API.

Quota safety: `submit` is the only call that costs quota, and nothing here calls it twice
for one accepted task. Polls retry on their own and never fall back to a new submit.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from core.clock import Clock
from core.errors import (
    RateLimited,
    TaskNotFound,
    TaskTimedOut,
    TransportError,
    Unauthorized,
    UpstreamError,
)
from core.modelscope.failures import task_failure
from core.modelscope.http import ModelScopeHttp
from core.modelscope.polling import PollPolicy
from core.modelscope.retry import Backoff
from core.modelscope.runtimes import RunTimes
from core.modelscope.tasks import TaskSnapshot, TaskStatus, parse_task
from core.requests.params import GenerationParams

log = logging.getLogger("imagine.modelscope")

SUBMIT_PATH = "v1/images/generations"
TASK_PATH = "v1/tasks/{task_id}"
ASYNC_HEADER = {"X-ModelScope-Async-Mode": "true"}
TASK_TYPE_HEADER = {"X-ModelScope-Task-Type": "image_generation"}
PROBE_TASK = "imagine-bot-probe"  # no such task: a 404 proves the token was accepted

# The answer to a submit may be lost after the service accepted it; resubmitting then may
# cost a second task, so such an ambiguous failure is retried once at most (DESIGN.md).
AMBIGUOUS_SUBMIT_RETRIES = 1

ProgressHook = Callable[[TaskSnapshot, float], Awaitable[None]]


@dataclass(frozen=True)
class SubmittedTask:
    """An accepted task: from now on it is polled, never submitted again."""

    task_id: str
    request_id: str


class ModelScopeClient:
    """One token's view of the image API."""

    def __init__(self, http: ModelScopeHttp, backoff: Backoff, clock: Clock) -> None:
        self._http = http
        self._backoff = backoff
        self._clock = clock

    @property
    def token_label(self) -> str:
        return self._http.token_label

    async def submit(
        self, params: GenerationParams, *, wait_out_rate_limits: bool = True
    ) -> SubmittedTask:
        """Create the task, retrying only failures after which it cannot have been created
        (plus one retry of an ambiguous one). A 429 is waited out here unless the caller
        has better to do (the bot's scheduler: another token, or the job back in line)."""
        failures = ambiguous = 0
        while True:
            try:
                answer = await self._http.request(
                    "POST", SUBMIT_PATH, headers=ASYNC_HEADER, payload=params.to_payload()
                )
            except UpstreamError as error:
                failures += 1
                ambiguous += isinstance(error, TransportError) and error.maybe_delivered
                if isinstance(error, RateLimited) and not wait_out_rate_limits:
                    raise
                if not _may_retry(error, failures, self._backoff.attempts, ambiguous):
                    raise
                await self._clock.sleep(self._backoff.delay(failures, error))
                continue
            return _submitted(answer.data, answer.request_id)

    async def accepts_token(self) -> bool | None:
        """Whether ModelScope takes this token, asked with a call that starts no task (the
        poll of a task that does not exist): True, False (401), or None when there is no
        telling now (unreachable, busy, a server error)."""
        try:
            await self.fetch_task(PROBE_TASK)
        except TaskNotFound:
            return True
        except Unauthorized:
            return False
        except UpstreamError:
            return None
        return True

    async def fetch_task(self, task_id: str) -> TaskSnapshot:
        """One poll, no retry."""
        answer = await self._http.request(
            "GET", TASK_PATH.format(task_id=task_id), headers=TASK_TYPE_HEADER
        )
        return parse_task(answer.data, task_id)

    async def wait_for_task(
        self,
        task_id: str,
        *,
        workload: str,
        policy: PollPolicy,
        run_times: RunTimes,
        max_seconds: float,
        on_poll: ProgressHook | None = None,
        since_submit: float = 0.0,
    ) -> TaskSnapshot:
        """Poll until SUCCEED (returned), FAILED (`TaskFailed`) or `max_seconds` pass
        (`TaskTimedOut`). Transient poll errors are retried under the same deadline. The
        elapsed time given to `policy` and `on_poll` counts from the submit, `since_submit`
        seconds before this call (a task resumed after a restart); `run_times` learns from
        every task that ends."""
        started = self._clock.monotonic()
        last_status, failures = "not polled", 0
        track = run_times.track(task_id)
        while True:
            elapsed = since_submit + self._clock.monotonic() - started
            try:
                snapshot = await self.fetch_task(task_id)
            except UpstreamError as error:
                if not error.retryable:
                    raise
                failures += 1
                delay = self._backoff.delay(failures, error)
                log.warning("poll of task %s failed (%s); retrying", task_id, error)
            else:
                failures, last_status = 0, snapshot.raw_status
                if on_poll is not None:
                    await on_poll(snapshot, elapsed)
                if snapshot.status.finished:
                    run_times.finished(workload, snapshot, elapsed)
                    return _final(snapshot)
                track.saw(snapshot.status, elapsed)
                delay = policy.next_delay(workload, track, elapsed)
            remaining = started + max_seconds - self._clock.monotonic()
            if remaining <= 0:
                raise TaskTimedOut(task_id, self._clock.monotonic() - started, last_status)
            await self._clock.sleep(min(delay, remaining))


def _may_retry(error: UpstreamError, failures: int, attempts: int, ambiguous: int) -> bool:
    if not error.retryable or failures >= attempts:
        return False
    return ambiguous <= AMBIGUOUS_SUBMIT_RETRIES


def _submitted(data: dict[str, object], request_id: str) -> SubmittedTask:
    task_id = data.get("task_id")
    if not isinstance(task_id, str | int) or isinstance(task_id, bool) or not str(task_id):
        # Nothing says the task exists, so this is a failed submit, not an accepted one.
        raise TransportError(
            "submit answer without task_id", maybe_delivered=True, request_id=request_id
        )
    log.info("submitted task %s", task_id, extra={"request_id": request_id, "task_id": task_id})
    return SubmittedTask(str(task_id), request_id)


def _final(snapshot: TaskSnapshot) -> TaskSnapshot:
    if snapshot.status is TaskStatus.FAILED:
        message = snapshot.error_message or "the task failed without a reason"
        raise task_failure(message, snapshot.error_code, snapshot.request_id)
    if not snapshot.images:
        raise UpstreamError("the task succeeded without an image", None, snapshot.request_id)
    return snapshot
