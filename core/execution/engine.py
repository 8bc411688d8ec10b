"""One image from parameters to a file on disk: submit, poll, download, keep.

The steps are separate methods so a durable worker can record the task id between
`submit` and `finish`, and resume a task after a crash with `finish` alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from core.clock import Clock
from core.images.download import ImageFetcher
from core.images.processing import ImageInfo, save_original
from core.modelscope.client import ModelScopeClient, SubmittedTask
from core.modelscope.polling import FixedInterval, PollPolicy
from core.modelscope.runtimes import RunTimes, workload_of
from core.modelscope.tasks import TaskSnapshot
from core.requests.params import GenerationParams

# A task given up on is still polled, this slowly, until ModelScope ends it (or this passes).
OUTLAST_EVERY = 30.0
OUTLAST_SECONDS = 6 * 3600.0


@dataclass(frozen=True)
class Progress:
    """A task as last seen: its status and the seconds since it was submitted."""

    task_id: str
    status: str
    elapsed: float


@dataclass(frozen=True)
class GeneratedImage:
    """A finished image, kept on disk with its parameters embedded."""

    task_id: str
    params: GenerationParams
    path: Path
    info: ImageInfo
    size_bytes: int
    time_taken_ms: float | None
    elapsed: float


ProgressCallback = Callable[[Progress], Awaitable[None]]


class ImageEngine:
    """Runs tasks on one ModelScope client and keeps the outputs in `output_dir`.

    Arguments (keyword-only): `client` (one token's), `fetcher` (downloads the outputs),
    `output_dir`, `policy` (when to poll), `run_times` (learns from every finished task),
    `max_seconds` (a task's deadline from its first poll), `clock`.
    """

    def __init__(
        self,
        *,
        client: ModelScopeClient,
        fetcher: ImageFetcher,
        output_dir: Path,
        policy: PollPolicy,
        run_times: RunTimes,
        max_seconds: float,
        clock: Clock,
    ) -> None:
        self.client = client
        self._fetcher = fetcher
        self._output_dir = output_dir
        self._policy = policy
        self._run_times = run_times
        self._max_seconds = max_seconds
        self._clock = clock

    async def generate(
        self, params: GenerationParams, on_progress: ProgressCallback | None = None
    ) -> GeneratedImage:
        """Submit once, then `finish`."""
        task = await self.submit(params)
        if on_progress is not None:
            await on_progress(Progress(task.task_id, "SUBMITTED", 0.0))
        return await self.finish(task.task_id, params, on_progress)

    async def submit(
        self, params: GenerationParams, *, wait_out_rate_limits: bool = True
    ) -> SubmittedTask:
        return await self.client.submit(params, wait_out_rate_limits=wait_out_rate_limits)

    async def finish(
        self,
        task_id: str,
        params: GenerationParams,
        on_progress: ProgressCallback | None = None,
    ) -> GeneratedImage:
        """Poll an accepted task to its end, download its image and keep it."""
        started = self._clock.monotonic()
        final = await self.wait(task_id, params, on_progress)
        return await self.keep(final, params, self._clock.monotonic() - started)

    async def wait(
        self,
        task_id: str,
        params: GenerationParams,
        on_progress: ProgressCallback | None = None,
        since_submit: float = 0.0,
    ) -> TaskSnapshot:
        """Poll until the task succeeds (its snapshot) or fails (an `UpstreamError`);
        `since_submit`: seconds between the task's submit and this call."""

        async def report(snapshot: TaskSnapshot, elapsed: float) -> None:
            if on_progress is not None:
                await on_progress(Progress(task_id, snapshot.raw_status, elapsed))

        return await self.client.wait_for_task(
            task_id,
            workload=workload_of(params.model, params.size),
            policy=self._policy,
            run_times=self._run_times,
            max_seconds=self._max_seconds,
            on_poll=report,
            since_submit=since_submit,
        )

    async def outlast(self, task_id: str, params: GenerationParams) -> None:
        """Poll every OUTLAST_EVERY seconds until the task ends (at most OUTLAST_SECONDS)."""
        await self.client.wait_for_task(
            task_id,
            workload=workload_of(params.model, params.size),
            policy=FixedInterval(OUTLAST_EVERY),
            run_times=self._run_times,
            max_seconds=OUTLAST_SECONDS,
        )

    async def keep(
        self, final: TaskSnapshot, params: GenerationParams, elapsed: float, stem: str = ""
    ) -> GeneratedImage:
        """Download the finished task's image and keep it under `stem` (default gen_<task>)."""
        data, info = await self._fetcher.fetch(final.images[0])
        text = {**params.describe(), "task_id": final.task_id, "software": "imagine-bot"}
        stem = stem or f"gen_{_safe_stem(final.task_id)}"
        path = await asyncio.to_thread(save_original, data, self._output_dir, stem, text, info)
        return GeneratedImage(
            final.task_id, params, path, info, len(data), final.time_taken_ms, elapsed
        )


def _safe_stem(task_id: str) -> str:
    # Task ids are opaque strings from the network: never let one name a path.
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in task_id)[:80]
