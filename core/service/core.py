"""Putting the core together from its parts (the bot's wiring and the tests both use it)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from core.clock import Clock
from core.execution.engine import ImageEngine
from core.execution.estimates import RunTimes
from core.execution.runner import JobRunner
from core.jobs.events import Notifier, PlatformNotifiers
from core.requests.catalog import Catalog
from core.scheduling.dispatcher import Dispatcher
from core.scheduling.protocol import Scheduler
from core.scheduling.queue import SharedQueue
from core.scheduling.scheduler import SharedDispatcher
from core.scheduling.tokens import SlotPool, TokenSlot
from core.service.generation import GenerationService
from core.service.policy import Policy
from core.stores import Store

log = logging.getLogger("imagine.core")


@dataclass
class Core:
    """The running core: adapters hold `service`; the composition root runs `run()`."""

    service: GenerationService
    dispatcher: Scheduler
    runner: JobRunner
    pool: SlotPool
    store: Store
    notifiers: PlatformNotifiers

    async def run(self, tick: float = 60.0, purge_every: float = 3600.0) -> None:
        """Resume unfinished jobs, then admit jobs until cancelled. Every `tick` seconds the
        dispatcher looks again (a new day frees token budgets); old jobs are purged hourly."""
        day = self.service.policy.limits.day_of(self.service.clock.now())
        self.pool.load_spending(await self.store.token_usage(day), day)
        runner = asyncio.create_task(self.dispatcher.run(), name="dispatcher")
        await self.service.recover()
        try:
            await self._housekeeping(tick, purge_every)
        finally:
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)

    async def shutdown(self, grace: float) -> int:
        """Take nothing new, tell the users whose jobs wait, and give running jobs up to
        `grace` seconds to finish; what still runs then keeps its row as it is, and the next
        start resumes it (a task id is polled, never resubmitted). Answers how many were told."""
        self.dispatcher.pause()
        told = await self.service.drain()
        try:
            async with asyncio.timeout(grace):
                await self.dispatcher.wait_idle()
        except TimeoutError:
            log.info(
                "%d jobs still running after %.0f s; the next start resumes them",
                len(self.dispatcher.in_flight()),
                grace,
            )
        return told

    async def _housekeeping(self, tick: float, purge_every: float) -> None:
        clock, since_purge = self.service.clock, purge_every
        while True:
            if since_purge >= purge_every:
                await self.service.purge_old()
                since_purge = 0.0
            await clock.sleep(tick)
            since_purge += tick
            self.dispatcher.wake()


@dataclass(frozen=True)
class Sharing:
    """How this process takes part in a queue that several processes share."""

    queue: SharedQueue
    worker: str  # this process's name in leases and logs
    claiming: bool = True  # False: a gateway, which lines jobs up and runs none
    max_jobs: int = 32  # jobs this process runs at once


def assemble(
    store: Store,
    engines: Sequence[tuple[str, ImageEngine]],
    notifiers: Mapping[str, Notifier],
    catalog: Catalog,
    policy: Policy,
    clock: Clock,
    concurrency: int = 1,
    daily_budget: float | None = None,
    progress_every: float = 5.0,
    sharing: Sharing | None = None,
) -> Core:
    pool = SlotPool(
        [TokenSlot(label, engine, concurrency, daily_budget) for label, engine in engines]
    )
    run_times = RunTimes()
    routed = PlatformNotifiers(notifiers)
    runner = JobRunner(store, routed, pool, run_times, clock, progress_every)
    dispatcher: Scheduler = Dispatcher(pool, runner, policy, clock)
    if sharing is not None:
        dispatcher = SharedDispatcher(
            sharing.queue,
            store,
            pool,
            runner,
            policy,
            clock,
            sharing.worker,
            sharing.claiming,
            sharing.max_jobs,
        )
    service = GenerationService(
        store, catalog, dispatcher, runner, routed, policy, clock, run_times
    )
    return Core(service, dispatcher, runner, pool, store, routed)
