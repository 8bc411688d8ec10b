"""`imagine-bot generate`: run validated tasks on every token's engine, report as they go."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TextIO

import aiohttp

from bot.composition import open_store_backend
from bot.config import EngineConfig, build_engines
from bot.settings import Settings
from bot.simulator import Simulator, Timing
from bot.startup import EXIT_CONFIG, EXIT_FAILED, EXIT_OK
from core.clock import SystemClock
from core.delivery import Translator
from core.errors import ImagineError, Unauthorized
from core.execution import GeneratedImage, ImageEngine, Progress
from core.images import ImageWorkers
from core.modelscope import RunTimeMemory, RunTimes
from core.requests import GenerationParams, ModelSpec
from core.secret import Secret

log = logging.getLogger("imagine.generate")
SIMULATED_TOKEN = "ms-simulated-demo-token"  # noqa: S105 - only the local simulator takes it
DEMO_TIMING = Timing(queue_mean=0.6, run_mean=2.0, run_sd=0.3)


@dataclass
class Reporter:
    """Writes progress to stderr and saved paths to stdout, in the user's language."""

    translator: Translator
    locale: str
    total: int
    out: TextIO = sys.stdout
    err: TextIO = sys.stderr

    def say(self, key: str, stream: TextIO | None = None, **params: object) -> None:
        text = self.translator.text(self.locale, key, **{"total": self.total, **params})
        print(text, file=stream or self.err, flush=True)

    def status(self, status: str) -> str:
        return self.translator.text(self.locale, f"status.{status}") if status else "?"

    def error(self, error: ImagineError) -> str:
        return self.translator.error(self.locale, error)


@contextlib.asynccontextmanager
async def simulated(
    config: EngineConfig, reporter: Reporter, models: Iterable[ModelSpec]
) -> AsyncIterator[EngineConfig]:
    """A built-in simulator that knows `models`, and the config that points the engines at
    it."""
    async with Simulator(frozenset({SIMULATED_TOKEN}), DEMO_TIMING, models=models) as sim:
        reporter.say("cli.simulating", url=sim.base_url)
        yield replace(
            config,
            base_url=sim.base_url,
            tokens=[Secret(SIMULATED_TOKEN, "token#sim")],
            allowed_hosts=[*config.allowed_hosts, sim.base_url.rstrip("/")],
            poll_interval=min(config.poll_interval, 0.5),
        )


@contextlib.asynccontextmanager
async def shared_run_times(settings: Settings) -> AsyncIterator[RunTimes]:
    """The run times the bot's processes learned (the store of STORE_URL), so the terminal
    polls each task as well timed as the bot does, and what it learns is kept for them. A
    store that cannot be opened costs only that: the tasks run with nothing learned."""
    run_times = RunTimes()
    try:
        backend = await open_store_backend(settings)
    except (ImagineError, OSError) as error:
        log.warning("run times not shared (the store did not open: %s)", error)
        yield run_times
        return
    memory = RunTimeMemory(run_times, backend.store)
    await memory.sync()
    syncing = asyncio.create_task(memory.run())
    try:
        yield run_times
    finally:
        syncing.cancel()
        await asyncio.gather(syncing, return_exceptions=True)
        await memory.sync()
        await backend.close()


async def run_tasks(
    tasks: Sequence[GenerationParams],
    config: EngineConfig,
    reporter: Reporter,
    run_times: RunTimes | None = None,
) -> int:
    """Run every task; the exit code says whether all of them produced an image."""
    queue: asyncio.Queue[tuple[int, GenerationParams]] = asyncio.Queue()
    for index, params in enumerate(tasks, start=1):
        queue.put_nowait((index, params))
    images = ImageWorkers()
    try:
        async with aiohttp.ClientSession() as session:
            engines = build_engines(
                config,
                session=session,
                clock=SystemClock(),
                run_times=run_times or RunTimes(),
                images=images,
            )
            outcomes = await asyncio.gather(*(_drain(e, queue, reporter) for e in engines))
    finally:
        await asyncio.to_thread(images.close)
    done = sum(result.done for result in outcomes)
    reporter.say("cli.summary", done=done, total=len(tasks))
    if done == len(tasks):
        return EXIT_OK
    return EXIT_CONFIG if all(result.unauthorized for result in outcomes) else EXIT_FAILED


@dataclass
class _Outcome:
    done: int = 0
    unauthorized: bool = False


async def _drain(
    engine: ImageEngine, queue: asyncio.Queue[tuple[int, GenerationParams]], reporter: Reporter
) -> _Outcome:
    # One task at a time per token: the service grants each account one concurrent task.
    outcome = _Outcome()
    while not queue.empty():
        index, params = queue.get_nowait()
        try:
            image = await engine.generate(params, ProgressPrinter(index, reporter))
        except Unauthorized as error:
            reporter.say("cli.failed", index=index, message=reporter.error(error))
            reporter.say("cli.check_token")  # here, the reader is the one to fix it
            outcome.unauthorized = True
            break  # this token is out; the other tokens' engines take the rest
        except ImagineError as error:
            reporter.say("cli.failed", index=index, message=reporter.error(error))
            continue
        outcome.done += 1
        _report_saved(index, image, reporter)
    return outcome


class ProgressPrinter:
    """Prints a task's status each time it changes, with the seconds since submit."""

    def __init__(self, index: int, reporter: Reporter) -> None:
        self._index = index
        self._reporter = reporter
        self._last = ""

    async def __call__(self, progress: Progress) -> None:
        if progress.status == self._last:
            return
        self._last = progress.status
        self._reporter.say(
            "cli.progress",
            index=self._index,
            task_id=progress.task_id,
            status=self._reporter.status(progress.status),
            elapsed=progress.elapsed,
        )


def _report_saved(index: int, image: GeneratedImage, reporter: Reporter) -> None:
    reporter.say(
        "cli.saved",
        index=index,
        path=image.path,
        width=image.info.width,
        height=image.info.height,
        seed=image.params.seed,
    )
    print(image.path, file=reporter.out, flush=True)
