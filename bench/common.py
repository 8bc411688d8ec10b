"""What every benchmark shares: a whole core on the simulator, a recording notifier,
an event-loop lag probe and small statistics."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import statistics
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bot.config import EngineConfig, build_engines
from core.clock import SystemClock
from core.delivery import MemoryNotifier
from core.images import ImageWorkers
from core.jobs import EventKind, GenerationRequest, Job, JobEvent, Policy, QuotaLimits
from core.modelscope import PollPolicy, RunTimes
from core.requests import ParamsInput, load_catalog
from core.scheduling import FairQueue, LocalQueue
from core.secret import Secret
from core.service import Core
from core.stores import Backend, SqliteStore

PLATFORM = "bench"
TOKEN = "ms-bench-token"  # noqa: S105 (the simulator takes any ms- token)
MODEL = "Tongyi-MAI/Z-Image-Turbo"
FINAL = tuple(kind for kind in EventKind if kind.final)
PollFactory = Callable[[RunTimes], PollPolicy]  # a poll policy over the pipeline's run times


class Recorder(MemoryNotifier):
    """The tests' notifier, also noting when each job's final event arrives (monotonic)."""

    def __init__(self) -> None:
        super().__init__()
        self.finals: dict[str, tuple[Job, float]] = {}

    async def notify(self, event: JobEvent) -> None:
        if event.kind.final:
            self.finals[event.job.id] = (event.job, time.monotonic())
        await super().notify(event)

    async def finished(self, count: int, within: float) -> None:
        """Wait until `count` jobs have had their final event."""
        async with asyncio.timeout(within):
            await self.wait_for(count, FINAL)


@dataclass
class Pipeline:
    core: Core
    recorder: Recorder

    async def waiting(self) -> int:
        return len(await self.core.scheduler.waiting())

    async def submit(self, user: int, prompt: str = "a red fox") -> Job:
        receipt = await self.core.service.submit(request(user, prompt))
        return receipt.jobs[0]


def open_policy(user_in_flight: int = 100_000) -> Policy:
    """No budget, cooldown or waiting cap gets in a benchmark's way (unless it asks)."""
    limits = QuotaLimits(user_daily=None, global_daily=None, max_waiting=100_000)
    return Policy(limits=limits, user_in_flight=user_in_flight)


def request(user: int, prompt: str = "a red fox", platform: str = PLATFORM) -> GenerationRequest:
    # One seed for all: the simulator renders the picture once, so its Pillow work does
    # not compete with the bot's for the CPU.
    params = ParamsInput(prompt, model=MODEL, size="1024x1024", seed=1)
    return GenerationRequest(platform, str(user), "-1", f"r{user}", params, is_group=True)


def engine_config(base_url: str, token: Secret, poll_every: float, workdir: Path) -> EngineConfig:
    """The engines of a benchmark: one token on a simulator on loopback, a fixed interval."""
    return EngineConfig(
        base_url=base_url,
        tokens=[token],
        poll_interval=poll_every,
        poll_policy="fixed",
        poll_max_seconds=3600.0,
        request_timeout=30.0,
        max_attempts=5,
        allowed_hosts=["http://127.0.0.1:*"],
        max_download_bytes=32 * 1024 * 1024,
        output_dir=workdir / "out",
    )


@contextlib.asynccontextmanager
async def pipeline(
    base_url: str,
    workdir: Path,
    poll: PollFactory,
    slots: int,
    policy: Policy | None = None,
    shared: Backend | None = None,
    line: FairQueue | None = None,
    platforms: tuple[str, ...] = (PLATFORM,),
) -> AsyncIterator[Pipeline]:
    """The real core (SQLite file, engines over aiohttp, scheduler, runners) on the
    simulator at `base_url`, its queue in `line` order (default: fair); or on a `shared`
    backend as a gateway, which lines jobs up for other processes to run."""
    await asyncio.to_thread(workdir.mkdir, parents=True, exist_ok=True)
    if shared is None:
        store = await SqliteStore.open(workdir / "bot.sqlite3")
        backend = Backend(store, LocalQueue(store, line=line))
    config = engine_config(base_url, Secret(TOKEN, "modelscope"), 3.0, workdir)
    clock = SystemClock()
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        run_times, images = RunTimes(), ImageWorkers()
        engines = build_engines(
            config,
            session=session,
            clock=clock,
            run_times=run_times,
            images=images,
            policy=poll(run_times),
        )
        recorder = Recorder()
        core = Core.build(
            backend=shared or backend,
            engines=[("token#1", engines[0])],
            run_times=run_times,
            notifiers=dict.fromkeys(platforms, recorder),
            catalog=load_catalog(),
            policy=policy or open_policy(),
            clock=clock,
            worker="bench-gateway" if shared else "bench",
            claiming=shared is None,
            concurrency=slots,
            progress_every=3600.0,
        )
        await images.warm()  # as the bot does when it starts
        runner = asyncio.create_task(core.run())
        try:
            yield Pipeline(core, recorder)
        finally:
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)
            await asyncio.to_thread(images.close)
            if shared is None:
                await backend.close()


class LoopLag:
    """Samples how late the event loop wakes a task that sleeps `interval` seconds."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.samples: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _probe(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(self.interval)
            self.samples.append(max(0.0, time.perf_counter() - before - self.interval))

    async def __aenter__(self) -> LoopLag:
        self._task = asyncio.create_task(self._probe())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


def percentile(values: Sequence[float], q: float) -> float:
    """The `q`-th percentile (0..100), nearest rank; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


def mean(values: Sequence[float]) -> float:
    return statistics.fmean(values) if values else math.nan


def rss_bytes(pid: int | None = None) -> int:
    """Resident memory of a process (Linux /proc)."""
    status = Path(f"/proc/{pid or os.getpid()}/status").read_text()
    line = next(row for row in status.splitlines() if row.startswith("VmRSS:"))
    return int(line.split()[1]) * 1024


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def verdict(met: bool) -> str:
    return "met" if met else "**missed**"
