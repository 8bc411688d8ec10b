"""The running core, built from its parts (the bot's composition root and the tests both
build it here): the service adapters call, and the scheduler that runs the queue."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from core.clock import Clock
from core.delivery.notifiers import PlatformNotifiers
from core.delivery.progress import DEFAULT_RATE
from core.execution.engine import ImageEngine
from core.execution.runner import JobRunner
from core.execution.text_lane import TextLane
from core.execution.tokens import TokenAccount, TokenPool
from core.jobs.events import Notifier
from core.jobs.job import Job, JobKind
from core.jobs.policy import Policy
from core.modelscope.balance import BalanceReader
from core.modelscope.chat import ChatClient
from core.modelscope.memory import RunTimeMemory
from core.modelscope.runtimes import RunTimes
from core.requests.catalog import Catalog
from core.scheduling.scheduler import Scheduler
from core.secret import Sealer
from core.service.access import Access
from core.service.admin import CommunityAdmin
from core.service.balances import BalanceWatch
from core.service.generation import GenerationService
from core.service.grants import MissedGrants
from core.service.members import MemberEngines, MemberTokens
from core.service.outage import TokenWatch
from core.service.positions import PositionNews
from core.service.prompts import PromptDesk, PromptSettings
from core.service.rules import CommunityRules
from core.stores.backends import Backend
from core.stores.port import Store

log = logging.getLogger("imagine.core")


@dataclass
class Core:
    """Adapters hold `service` and `admin`, their only doors into the core; the composition
    root runs `run()` and `shutdown()`."""

    service: GenerationService
    admin: CommunityAdmin
    rules: CommunityRules
    scheduler: Scheduler
    runner: JobRunner
    tokens: TokenPool
    watch: TokenWatch
    backend: Backend
    notifiers: PlatformNotifiers
    policy: Policy
    clock: Clock
    memory: RunTimeMemory  # the run times, shared through the store
    balances: BalanceWatch  # each token's Magicubes
    members: MemberTokens  # members' own tokens, kept in step with the store
    prompts: PromptDesk  # the chat calls (describe, enhance, translate)
    # Chat calls a restart found unfinished, ended once no other process can be making them.
    _ending: set[asyncio.Task[None]] = field(default_factory=set)
    _started_at: float = 0.0  # when `run` began

    @classmethod
    def build(
        cls,
        *,
        backend: Backend,
        engines: Sequence[tuple[str, ImageEngine]],
        run_times: RunTimes,
        notifiers: Mapping[str, Notifier],
        catalog: Catalog,
        policy: Policy,
        clock: Clock,
        worker: str = "run",
        claiming: bool = True,
        max_jobs: int | None = None,
        concurrency: int = 1,
        daily_budget: float | None = None,
        progress_every: float = 5.0,
        progress_rate: float = DEFAULT_RATE,
        locale: str = "en",
        balance_readers: Mapping[str, BalanceReader] | None = None,
        sealer: Sealer | None = None,
        member_engines: MemberEngines | None = None,
        chat_clients: Mapping[str, ChatClient] | None = None,
        prompt_settings: PromptSettings | None = None,
        chat_per_token: int = 2,
    ) -> Core:
        """`engines`: (token label, engine) for each ModelScope token, each giving
        `concurrency` slots and spending at most `daily_budget` a day; `run_times`: what the
        engines learn, for the wait estimates; `worker`, `claiming`
        and `max_jobs`: this process's part in the queue (see `Scheduler`); `locale`: the
        language of what the bot tells its admins; `balance_readers`: by token label, where
        each token's Magicubes balance is read; `sealer` and `member_engines`: members' own
        tokens are taken, sealed at rest, and run on engines built for each (both or none)."""
        tokens = TokenPool(
            [TokenAccount(label, engine, concurrency, daily_budget) for label, engine in engines],
            clock,
            costliest=max(model.cost for model in catalog.models),
        )
        store = backend.store
        routed = PlatformNotifiers(notifiers, store.batch)
        runner = JobRunner(
            store=store,
            notifiers=routed,
            tokens=tokens,
            run_times=run_times,
            clock=clock,
            progress_every=progress_every,
            progress_rate=progress_rate,
        )
        scheduler = Scheduler(
            queue=backend.queue,
            store=store,
            tokens=tokens,
            runner=runner,
            policy=policy,
            clock=clock,
            worker=worker,
            claiming=claiming,
            max_jobs=max_jobs,
        )
        rules, access = CommunityRules(store, catalog, policy), Access(policy)
        positions = PositionNews(scheduler, routed, run_times, clock, backend.first_sight)
        watch = TokenWatch(
            tokens,
            scheduler,
            routed,
            positions,
            clock,
            admins=policy.admins,
            locale=locale,
            first_sight=backend.first_sight,
        )
        spent_today = lambda: store.token_usage(policy.limits.day_of(clock.now()))  # noqa: E731
        grants = MissedGrants(
            routed, policy.admins, locale, policy.limits, clock, backend.first_sight
        )
        balances = BalanceWatch(tokens, balance_readers or {}, clock, spent_today, grants=grants)
        members = MemberTokens(
            store=store,
            pool=tokens,
            runner=runner,
            scheduler=scheduler,
            notifiers=routed,
            limits=policy.limits,
            clock=clock,
            sealer=sealer,
            engines=member_engines,
        )
        prompts = PromptDesk(
            store=store,
            lane=TextLane(tokens, chat_clients or {}, clock, per_token=chat_per_token),
            settings=prompt_settings or PromptSettings(),
            catalog=catalog,
            policy=policy,
            rules=rules,
            notifiers=routed,
            clock=clock,
        )
        service = GenerationService(
            store=store,
            catalog=catalog,
            scheduler=scheduler,
            runner=runner,
            notifiers=routed,
            policy=policy,
            rules=rules,
            access=access,
            clock=clock,
            positions=positions,
            watch=watch,
            balances=balances,
            members=members,
            prompts=prompts,
        )
        admin = CommunityAdmin(rules, access, tokens)
        memory = RunTimeMemory(run_times, store)
        return cls(
            service,
            admin,
            rules,
            scheduler,
            runner,
            tokens,
            watch,
            backend,
            routed,
            policy,
            clock,
            memory,
            balances,
            members,
            prompts,
        )

    @property
    def store(self) -> Store:
        return self.backend.store

    async def run(self, purge_every: float = 3600.0) -> None:
        """Resume unfinished jobs, then run the queue until cancelled; old jobs are purged
        every `purge_every` seconds."""
        self._started_at = self.clock.now().timestamp()  # chat calls since then are ours, live
        await self.purge_old()  # before anything runs: a job ending now is kept
        await self.memory.sync()  # the first task is timed from what earlier runs learned
        await self._join_members()  # before the queue runs: their jobs wait for their tokens
        scheduler = asyncio.create_task(self.scheduler.run(), name="scheduler")
        watching = [
            asyncio.create_task(self.service.positions.run(), name="positions"),
            asyncio.create_task(self.watch.run(), name="token-watch"),
            asyncio.create_task(self.memory.run(), name="run-times"),
            asyncio.create_task(self.balances.run(), name="balances"),
            asyncio.create_task(self.members.run(), name="members"),
        ]
        await self.recover()
        try:
            while True:
                await self.clock.sleep(purge_every)
                await self.purge_old()
        finally:
            for task in (scheduler, *watching, *self._ending):
                task.cancel()
            await asyncio.gather(scheduler, *watching, *self._ending, return_exceptions=True)

    async def _join_members(self) -> None:
        try:
            await self.members.sync()
        except Exception:
            log.warning("members' tokens could not be read at start", exc_info=True)

    async def recover(self) -> int:
        """Pick up every unfinished job after a start: queue, resume or deliver each."""
        jobs = await self.store.unfinished()
        images = [job for job in jobs if job.kind is JobKind.IMAGE]
        started = self._started_at or self.clock.now().timestamp()
        for job in jobs:
            # A chat call begun before this start was cut short: told, refunded. One begun
            # since is this process's own, under way (requests are taken while it starts).
            if job.kind is not JobKind.IMAGE and job.created_at < started:
                await self._end_interrupted(job)
        await self.scheduler.recover(images)
        log.info("recovered %d unfinished jobs", len(jobs))
        return len(jobs)

    async def _end_interrupted(self, job: Job) -> None:
        if not self.backend.shared:  # this process made it: it is over
            await self.prompts.interrupted(job)
            return
        ending = asyncio.create_task(self.prompts.interrupted(job, others_may_run_it=True))
        self._ending.add(ending)
        ending.add_done_callback(self._ending.discard)

    async def purge_old(self) -> int:
        """Delete finished jobs and their images past the retention period."""
        horizon = self.clock.now().timestamp() - self.policy.retention_days * 86_400
        await self.service.purge_offers()
        gone = await self.store.purge(horizon)
        await asyncio.to_thread(_delete_files, [job.result_path for job in gone if job.result_path])
        return len(gone)

    async def shutdown(self, grace: float) -> int:
        """Take nothing new, tell the users whose jobs wait, and give running jobs up to
        `grace` seconds to finish; what still runs then keeps its row as it is, and the next
        start resumes it (a task id is polled, never resubmitted). Answers how many were told."""
        self.scheduler.pause()
        told = await self.service.drain()
        try:
            async with asyncio.timeout(grace):
                await self.scheduler.wait_idle()
        except TimeoutError:
            log.info(
                "%d jobs still running after %.0f s; the next start resumes them",
                len(self.scheduler.in_flight()),
                grace,
            )
        await self.memory.sync()  # what this run learned, for the next start
        return told


def _delete_files(paths: list[str]) -> None:
    for path in paths:
        Path(path).unlink(missing_ok=True)
