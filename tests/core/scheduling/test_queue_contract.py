"""One contract for both queue backends: the local queue over SQLite and the Redis queue.
Fair claims (in exactly `FairQueue`'s order), caps, slots and budgets, leases, take-overs,
cancels and adoption behave the same on both."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.jobs.job import Job, JobState
from core.scheduling.fairqueue import FairQueue
from core.scheduling.local_queue import LocalQueue
from core.scheduling.queue import Caps, JobQueue, TokenRoom
from core.stores.port import Store
from core.stores.redis import RedisJobQueue, RedisStore
from core.stores.sqlite import SqliteStore
from tests.core.stores.test_contract import DAY, admission, job

ONE_AT_A_TIME = Caps({0: 1})
PLENTY = [TokenRoom("t1", 100)]


@dataclass
class Backend:
    store: Store
    queue: JobQueue
    with_lease: Callable[[float], JobQueue]  # another view of the same queue
    reopen: Callable[[], Awaitable[Store]]  # another connection to the same data


@pytest.fixture(params=["local", "redis"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    if request.param == "redis":
        url, prefix = request.getfixturevalue("redis_url"), request.getfixturevalue("redis_prefix")
        redis = await RedisStore.open(url, prefix)
        yield Backend(
            redis,
            RedisJobQueue(redis, 30.0),
            lambda s: RedisJobQueue(redis, s),
            lambda: RedisStore.open(url, prefix),
        )
        await redis.close()
        return
    path = tmp_path / "jobs.db"
    sqlite = await SqliteStore.open(path)
    local = LocalQueue(sqlite, lease_seconds=30.0, sync_every=0.1)
    yield Backend(sqlite, local, lambda s: _same_queue(local, s), lambda: _sqlite(path))
    await sqlite.close()


async def _sqlite(path: Path) -> Store:
    return await SqliteStore.open(path)


def _same_queue(local: LocalQueue, lease_seconds: float) -> LocalQueue:
    # One process has one local queue: a "second view" is the same one with shorter leases.
    local.lease_seconds = lease_seconds
    return local


@pytest.fixture
def store(backend: Backend) -> Store:
    return backend.store


@pytest.fixture
def queue(backend: Backend) -> JobQueue:
    return backend.queue


async def add(store: Store, *jobs: Job) -> None:
    for one in jobs:
        await store.add_jobs([one], admission(user=one.user, max_waiting=100, chat_limit=None))


async def claim_all(queue: JobQueue, caps: Caps = ONE_AT_A_TIME) -> list[str]:
    """Claim until nothing is left, finishing each job at once (so caps never block)."""
    claimed = []
    while (lease := await queue.claim("w1", caps, PLENTY, DAY)) is not None:
        claimed.append(lease.job_id)
        await queue.finish("w1", lease.job_id)
    return claimed


async def test_claims_follow_the_in_process_fair_queue(store: Store, queue: JobQueue) -> None:
    arrivals = [("a", 0)] * 5 + [("b", 0), ("c", 1), ("b", 0), ("d", 0), ("c", 1), ("a", 0)]
    jobs = [job(user=f"tg:{name}", tier=tier) for name, tier in arrivals]
    await add(store, *jobs)
    local = FairQueue()
    for one in jobs:
        local.push(one)
    predicted = [one.id for one in await queue.waiting()]
    expected = []
    while (admitted := local.next_job(lambda _: True)) is not None:
        expected.append(admitted.id)
    assert await claim_all(queue, Caps({0: 1, 1: 1})) == expected == predicted
    assert await queue.waiting() == [] and await queue.held() == 0


async def test_a_user_at_the_cap_keeps_the_turn_for_later(store: Store, queue: JobQueue) -> None:
    a1, a2, b1 = job(user="tg:a"), job(user="tg:a"), job(user="tg:b")
    await add(store, a1, a2, b1)
    first = await queue.claim("w1", ONE_AT_A_TIME, PLENTY, DAY)
    second = await queue.claim("w1", ONE_AT_A_TIME, PLENTY, DAY)
    assert (first and first.job_id, second and second.job_id) == (a1.id, b1.id)
    assert await queue.claim("w1", ONE_AT_A_TIME, PLENTY, DAY) is None  # a is at its cap
    await queue.finish("w1", a1.id)
    third = await queue.claim("w1", ONE_AT_A_TIME, PLENTY, DAY)
    assert third is not None and third.job_id == a2.id


async def test_slots_per_token_and_daily_budgets(store: Store, queue: JobQueue) -> None:
    jobs = [job(user=f"tg:{i}") for i in range(4)]
    await add(store, *jobs)
    rooms = [TokenRoom("t1", 1), TokenRoom("t2", 1)]
    leases = [await queue.claim("w1", ONE_AT_A_TIME, rooms, DAY) for _ in range(3)]
    assert [lease and lease.token for lease in leases] == ["t1", "t2", None]
    assert leases[0] is not None
    await queue.finish("w1", leases[0].job_id)
    # t1's slot is free again, but its budget is spent for today.
    spent = jobs[0].moved(JobState.SUBMITTING, 3.0, token="t1")
    assert await store.save(spent)
    budgets = [TokenRoom("t1", 1, daily_budget=1.0), TokenRoom("t2", 1)]
    assert await queue.claim("w1", ONE_AT_A_TIME, budgets, DAY) is None
    lease = await queue.claim("w1", ONE_AT_A_TIME, [TokenRoom("t1", 1, 2.0)], DAY)
    assert lease is not None and lease.token == "t1"


async def test_an_unrenewed_lease_is_taken_over_and_its_holder_told(backend: Backend) -> None:
    store, short = backend.store, backend.with_lease(0.3)
    kept, dropped = job(user="tg:a"), job(user="tg:b")
    await add(store, kept, dropped)
    await short.claim("w1", ONE_AT_A_TIME, PLENTY, DAY)
    await short.claim("w1", ONE_AT_A_TIME, PLENTY, DAY)
    assert await short.take_over("w2", 10) == []
    for _ in range(4):
        await asyncio.sleep(0.1)
        await short.renew("w1", [kept.id])  # only one of the two stays alive
    taken = await short.take_over("w2", 10)
    assert [(lease.job_id, lease.token) for lease in taken] == [(dropped.id, "t1")]
    renewal = await short.renew("w1", [kept.id, dropped.id])
    assert renewal.lost == {dropped.id} and not renewal.cancel
    await short.finish("w1", dropped.id)  # no longer w1's: nothing happens
    assert await short.held() == 2
    await short.finish("w2", dropped.id)
    assert await short.held() == 1


async def test_abandoned_leases_are_taken_over_at_once(store: Store, queue: JobQueue) -> None:
    one = job()
    await add(store, one)
    await queue.claim("w1", ONE_AT_A_TIME, PLENTY, DAY)
    await queue.abandon("w1", [one.id])
    assert [lease.job_id for lease in await queue.take_over("w2", 10)] == [one.id]


async def test_a_cancel_reaches_the_holder_at_its_next_heartbeat(
    store: Store, queue: JobQueue
) -> None:
    held, waiting = job(user="tg:a"), job(user="tg:b")
    await add(store, held, waiting)
    await queue.claim("w1", ONE_AT_A_TIME, [TokenRoom("t1", 1)], DAY)
    assert await queue.request_cancel(held.id)
    assert not await queue.request_cancel(waiting.id)  # nobody holds it
    assert (await queue.renew("w1", [held.id])).cancel == {held.id}


async def test_adopting_what_nobody_holds(store: Store, queue: JobQueue) -> None:
    polled = job(user="tg:a")
    lost_in_line = job(user="tg:b")
    await add(store, polled, lost_in_line)
    await queue.claim("w1", ONE_AT_A_TIME, PLENTY, DAY)
    await queue.claim("w1", ONE_AT_A_TIME, PLENTY, DAY)
    submitted = polled.moved(JobState.SUBMITTED, 3.0, token="t1", task_id="42")
    await store.save(submitted)
    assert not await queue.adopt("w2", submitted)  # w1 holds it
    await queue.finish("w1", polled.id)
    await queue.finish("w1", lost_in_line.id)
    assert await queue.adopt("w2", submitted)
    assert not await queue.adopt("w3", submitted)
    # A queued job that is in no line goes back in line instead of being held.
    assert not await queue.adopt("w2", lost_in_line)
    lease = await queue.claim("w2", ONE_AT_A_TIME, PLENTY, DAY)
    assert lease is not None and lease.job_id == lost_in_line.id


async def test_two_workers_claiming_at_once_never_share_a_job(
    store: Store, queue: JobQueue
) -> None:
    jobs = [job(user=f"tg:{i % 8}") for i in range(40)]
    await add(store, *jobs)
    caps = Caps({0: 100})

    async def worker(name: str) -> list[str]:
        got = []
        while (lease := await queue.claim(name, caps, PLENTY, DAY)) is not None:
            got.append(lease.job_id)
        return got

    first, second = await asyncio.gather(*(worker(f"w{i}") for i in range(2)))
    assert sorted(first + second) == sorted(one.id for one in jobs)
    assert not set(first) & set(second)


async def test_a_job_sent_back_in_line_is_counted_once(store: Store, queue: JobQueue) -> None:
    one = job(user="tg:a")
    await add(store, one)
    two_each = Caps({0: 2})
    await queue.claim("w1", two_each, PLENTY, DAY)
    # Its token answered 401 before a task existed: the runner puts it back in line, and
    # another worker may claim it before the first one has let go of it.
    assert await store.save(one.moved(JobState.QUEUED, 3.0, token=None))
    again = await queue.claim("w2", two_each, PLENTY, DAY)
    assert again is not None and again.job_id == one.id
    await queue.finish("w1", one.id)  # w1 no longer holds it: nothing changes
    assert await queue.held() == 1
    # Counted once: with a cap of one in flight, the user's next job may not start...
    other = job(user="tg:a")
    await add(store, other)
    assert await queue.claim("w2", ONE_AT_A_TIME, PLENTY, DAY) is None
    await queue.finish("w2", one.id)
    # ...and once it is finished, nothing of it is left counted.
    assert await queue.held() == 0
    third = await queue.claim("w2", ONE_AT_A_TIME, PLENTY, DAY)
    assert third is not None and third.job_id == other.id


async def test_a_job_whose_row_leaves_the_queued_state_leaves_the_line(
    store: Store, queue: JobQueue
) -> None:
    cancelled, kept = job(user="tg:a"), job(user="tg:b")
    await add(store, cancelled, kept)
    assert await store.save(cancelled.moved(JobState.CANCELLED, 3.0), [JobState.QUEUED])
    assert [one.id for one in await queue.waiting()] == [kept.id]
    assert await claim_all(queue) == [kept.id]


async def test_a_job_another_process_adds_is_claimed_within_seconds(backend: Backend) -> None:
    other = await backend.reopen()  # the same data, as another process sees it
    try:
        late = job(user="tg:late")
        await add(other, late)
        async with asyncio.timeout(5):
            while (lease := await backend.queue.claim("w1", ONE_AT_A_TIME, PLENTY, DAY)) is None:
                await backend.queue.wait_for_work(0.2)
        assert lease.job_id == late.id
    finally:
        await other.close()


async def test_a_job_that_could_not_start_gets_its_place_and_turn_back(
    store: Store, queue: JobQueue
) -> None:
    first, second, other = job(user="tg:a"), job(user="tg:a"), job(user="tg:b")
    await add(store, first, second, other)
    lease = await queue.claim("w1", ONE_AT_A_TIME, PLENTY, DAY)
    assert lease is not None and lease.job_id == first.id
    # Its token said 429 before a task existed: the worker lets go, then writes it back.
    await queue.finish("w1", first.id)
    assert await store.save(first.moved(JobState.QUEUED, 3.0, token=None))
    assert [one.id for one in await queue.waiting()] == [first.id, other.id, second.id]
    assert await claim_all(queue) == [first.id, other.id, second.id]
