"""A running core against the simulator: SQLite store, in-memory notifier, real HTTP."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bot.simulator import Simulator
from core.delivery.notifiers import MemoryNotifier
from core.jobs.events import EventKind
from core.jobs.job import GenerationRequest, Job
from core.jobs.policy import Policy
from core.modelscope.balance import BalanceReader
from core.modelscope.runtimes import RunTimes
from core.requests.catalog import load_catalog
from core.requests.validation import ParamsInput
from core.secret import Sealer
from core.service.core import Core
from core.service.prompts import PromptSettings
from core.stores.backends import local_backend
from core.stores.sqlite import SqliteStore
from tests.conftest import TOKEN, ShiftedClock, chat_client, make_engine, member_engines

FINAL = (EventKind.SUCCEEDED, EventKind.FAILED, EventKind.CANCELLED)


@dataclass
class Harness:
    core: Core
    notifier: MemoryNotifier
    sim: Simulator
    clock: ShiftedClock

    async def finals(self, count: int, within: float = 20.0) -> None:
        """Wait for `count` final events, and for the workers to record their delivery."""
        async with asyncio.timeout(within):
            await self.notifier.wait_for(count, FINAL)
            await self.core.scheduler.wait_idle()

    async def job(self, job_id: str) -> Job:
        job = await self.core.store.get(job_id)
        assert job is not None
        return job


def request(
    user: str = "1",
    chat: str = "-100",
    prompt: str = "a red fox",
    count: int = 1,
    roles: tuple[str, ...] = (),
    **params: object,
) -> GenerationRequest:
    return GenerationRequest(
        platform="tg",
        user_id=user,
        chat_id=chat,
        reply_target=f"r-{user}",
        params=ParamsInput(prompt, **params),  # type: ignore[arg-type]
        is_group=True,
        count=count,
        roles=roles,
    )


@contextlib.asynccontextmanager
async def running_core(
    sim: Simulator,
    session: aiohttp.ClientSession,
    tmp_path: Path,
    policy: Policy | None = None,
    tokens: tuple[str, ...] = (TOKEN,),
    db: str | Path = ":memory:",
    max_seconds: float = 10.0,
    daily_budget: float | None = None,
    progress_every: float = 0.0,
    store_class: type[SqliteStore] = SqliteStore,
    balance_readers: Mapping[str, BalanceReader] | None = None,
    sealer: Sealer | None = None,
    prompts: PromptSettings | None = None,
    chat_per_token: int = 2,
) -> AsyncIterator[Harness]:
    """`sealer`: members' own tokens are taken (run on the simulator like the others);
    `prompts` and `chat_per_token`: how the chat calls are made."""
    store = await store_class.open(db)
    run_times = RunTimes()
    engines = [
        (f"token#{i}", make_engine(sim, session, tmp_path, max_seconds, token, run_times))
        for i, token in enumerate(tokens, start=1)
    ]
    notifier, clock = MemoryNotifier(), ShiftedClock()
    core = Core.build(
        backend=local_backend(store, clock),
        engines=engines,
        run_times=run_times,
        notifiers={"tg": notifier},
        catalog=load_catalog(),
        policy=policy or Policy(),
        clock=clock,
        daily_budget=daily_budget,
        progress_every=progress_every,
        balance_readers=balance_readers,
        sealer=sealer,
        member_engines=member_engines(sim, session, tmp_path, run_times) if sealer else None,
        chat_clients={
            f"token#{i}": chat_client(sim, session, token) for i, token in enumerate(tokens, 1)
        },
        prompt_settings=prompts,
        chat_per_token=chat_per_token,
    )
    runner = asyncio.create_task(core.run())
    try:
        yield Harness(core, notifier, sim, clock)
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        await store.close()
