"""A gateway core and a worker core that share only a Redis store (as two processes would):
the gateway queues and answers about the queue, the worker runs, and a cancel given at the
gateway stops the job the worker is polling."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

from bot.simulator import Simulator, Timing
from core.clock import SystemClock
from core.delivery.notifiers import MemoryNotifier
from core.jobs.events import EventKind
from core.jobs.job import GenerationRequest, JobState
from core.jobs.policy import Policy
from core.jobs.quotas import QuotaLimits
from core.modelscope.runtimes import RunTimes
from core.requests.catalog import load_catalog
from core.requests.validation import ParamsInput
from core.scheduling.queue import Lease
from core.secret import Sealer
from core.service.core import Core
from core.stores.backends import Backend
from core.stores.redis import RedisJobQueue, RedisStore
from tests.conftest import TOKEN, chat_client, make_engine
from tests.core.harness import member_engines

POLICY = Policy(limits=QuotaLimits(user_daily=None, global_daily=None, max_waiting=10))


def ask(user: str, prompt: str) -> GenerationRequest:
    return GenerationRequest("mem", user, user, f"r-{prompt}", ParamsInput(prompt))


class FlakyQueue(RedisJobQueue):
    """The real queue, whose first claim meets a dropped connection."""

    failures = 1

    async def claim(self, *args: Any) -> Lease | None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("Connection closed by server.")
        return await super().claim(*args)


@asynccontextmanager
async def shared_core(
    sim: Simulator,
    url: str,
    prefix: str,
    name: str,
    claiming: bool,
    out: Path,
    queue: type[RedisJobQueue] = RedisJobQueue,
    sealer: Sealer | None = None,
) -> AsyncIterator[tuple[Core, MemoryNotifier]]:
    """`sealer`: members' own tokens are taken (the key every process of a bot shares)."""
    store = await RedisStore.open(url, prefix)
    notifier = MemoryNotifier()
    async with aiohttp.ClientSession() as session:
        run_times = RunTimes()
        engine = make_engine(sim, session, out, max_seconds=30.0, token=TOKEN, run_times=run_times)
        core = Core.build(
            backend=Backend(store, queue(store, lease_seconds=2.0)),
            engines=[("token#1", engine)],
            run_times=run_times,
            notifiers={"mem": notifier},
            catalog=load_catalog(),
            policy=POLICY,
            clock=SystemClock(),
            worker=name,
            claiming=claiming,
            progress_every=0.0,
            sealer=sealer,
            member_engines=member_engines(sim, session, out, run_times) if sealer else None,
            chat_clients={"token#1": chat_client(sim, session, TOKEN)},
        )
        running = asyncio.create_task(core.run())
        try:
            yield core, notifier
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
            await store.close()


async def test_gateway_queues_worker_runs_and_a_cancel_crosses_over(
    redis_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    timing = Timing(queue_mean=0.0, run_mean=30.0, run_sd=0.0)  # runs until cancelled
    async with (
        Simulator(frozenset({TOKEN}), timing) as sim,
        shared_core(sim, redis_url, redis_prefix, "gw", False, tmp_path / "g") as (gateway, _),
    ):
        first = (await gateway.service.submit(ask("1", "a slow lantern"))).jobs[0]
        second = (await gateway.service.submit(ask("2", "a waiting crane"))).jobs[0]
        state = await gateway.service.queue_state("mem:2")
        assert (state.waiting, state.your_positions) == (2, (2,))  # nothing runs them yet

        async with shared_core(sim, redis_url, redis_prefix, "w1", True, tmp_path / "w") as (
            _,
            seen,
        ):
            async with asyncio.timeout(20):
                await seen.wait_for(1, (EventKind.STARTED,))
            assert seen.kinds(first.id) == [EventKind.STARTED]  # one token slot: first first
            state = await gateway.service.queue_state("mem:2")
            assert (state.waiting, state.running, state.your_positions) == (1, 1, (1,))

            waiting = await gateway.service.cancel("mem:2", second.id)
            assert waiting.state is JobState.CANCELLED  # never left the queue
            await gateway.service.cancel("mem:1", first.id)  # the worker holds this one
            async with asyncio.timeout(20):
                await seen.wait_for(1, (EventKind.CANCELLED,))
            stopped = await gateway.service.job(first.id)
            assert stopped is not None and stopped.state is JobState.CANCELLED
            assert stopped.task_id is not None  # it was polled, and stopped by the cancel
            async with asyncio.timeout(10):  # the worker gives the slot back after the event
                while await gateway.scheduler.running_count():  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
    assert sim.stats.accepted == 1


async def test_a_failed_claim_pauses_the_worker_and_never_stops_it(
    redis_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    async with (
        Simulator(frozenset({TOKEN}), Timing(queue_mean=0.0, run_mean=0.1)) as sim,
        shared_core(sim, redis_url, redis_prefix, "gw", False, tmp_path / "g") as (gateway, _),
        shared_core(sim, redis_url, redis_prefix, "w", True, tmp_path / "w", FlakyQueue) as (
            _,
            seen,
        ),
    ):
        job = (await gateway.service.submit(ask("1", "a patient lantern"))).jobs[0]
        async with asyncio.timeout(20):
            await seen.wait_for(1, (EventKind.SUCCEEDED,))
        assert seen.kinds(job.id)[-1] is EventKind.SUCCEEDED
