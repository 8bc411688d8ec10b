"""One contract for every store backend: SQLite (a file and in memory) and Redis."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.errors import CooldownActive, QueueFull, QuotaExceeded
from core.jobs.job import Job, JobState, QuotaState, new_id
from core.jobs.quotas import Admission
from core.requests.params import GenerationParams, LoraWeight, Size
from core.stores import Store
from core.stores.redis import RedisStore, RoleTaken
from core.stores.sqlite import SqliteStore
from core.terms import Phrase

DAY = "2026-11-21"
PARAMS = GenerationParams(
    "Qwen/Qwen-Image",
    "一只猫",
    Size(1024, 768),
    5,
    steps=30,
    guidance=4.0,
    loras=(LoraWeight("a/b", 1.0),),
)


@pytest.fixture(params=["sqlite-file", "sqlite-memory", "redis"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    backend: Store
    if request.param == "redis":
        url, prefix = request.getfixturevalue("redis_url"), request.getfixturevalue("redis_prefix")
        backend = await RedisStore.open(url, prefix)
    else:
        backend = await SqliteStore.open(
            tmp_path / "jobs.db" if request.param == "sqlite-file" else ":memory:"
        )
    yield backend
    await backend.close()


def job(
    user: str = "tg:1",
    chat: str = "tg:-100",
    cost: float = 1.0,
    at: float = 1000.0,
    **changes: object,
) -> Job:
    base = Job(
        id=new_id(),
        batch_id="b",
        batch_index=0,
        batch_size=1,
        user=user,
        chat=chat,
        is_group=True,
        reply_target="chat=-100;msg=5",
        locale="zh",
        params=PARAMS,
        cost=cost,
        day=DAY,
        created_at=at,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def admission(
    user: str = "tg:1",
    chat: str = "tg:-100",
    cost: float = 1.0,
    now: float = 2000.0,
    **limits: object,
) -> Admission:
    values: dict[str, object] = {
        "user_limit": 10.0,
        "member_limit": None,
        "chat_limit": 30.0,
        "global_limit": 100.0,
        "max_waiting": 5,
        "cooldown_seconds": 0.0,
        "exempt": False,
        **limits,
    }
    reset = Phrase("resets", time="00:00")
    return Admission(user=user, chat=chat, day=DAY, now=now, cost=cost, resets_at=reset, **values)  # type: ignore[arg-type]


async def test_a_job_round_trips(store: Store) -> None:
    original = job(task_id="5075521", transitions={"queued": 1.5}, error_params={"x": 1})
    await store.add_jobs([original], admission())
    assert await store.get(original.id) == original
    assert await store.get("nope") is None


async def test_save_is_a_compare_and_set_when_asked(store: Store) -> None:
    queued = job()
    await store.add_jobs([queued], admission())
    cancelled = queued.moved(JobState.CANCELLED, 2.0)
    assert await store.save(cancelled, expected=[JobState.QUEUED])
    submitting = queued.moved(JobState.SUBMITTING, 3.0)
    assert not await store.save(submitting, expected=[JobState.QUEUED])
    assert (await store.get(queued.id)).state is JobState.CANCELLED  # type: ignore[union-attr]
    assert await store.save(submitting)  # an unconditional save always writes


async def test_unfinished_and_history(store: Store) -> None:
    jobs = [job(at=float(i)) for i in range(4)]
    await store.add_jobs(jobs, admission(max_waiting=10))
    await store.save(jobs[1].moved(JobState.DONE, 9.0, delivered_at=9.0))
    await store.save(jobs[2].moved(JobState.SUBMITTED, 9.0, task_id="7"))
    assert [j.id for j in await store.unfinished()] == [jobs[0].id, jobs[2].id, jobs[3].id]
    await store.save(jobs[3].moved(JobState.FAILED, 9.0))  # its notice not yet delivered
    assert jobs[3].id in [j.id for j in await store.unfinished()]
    assert [j.id for j in await store.history("tg:1", 2)] == [jobs[3].id, jobs[2].id]
    assert await store.history("tg:2", 5) == []


async def test_usage_counts_reserved_and_committed_per_scope(store: Store) -> None:
    await store.add_jobs([job(cost=2)], admission(cost=2))
    await store.add_jobs([job(user="tg:2", cost=1)], admission(user="tg:2"))
    await store.add_jobs(
        [job(user="tg:3", chat="tg:-200", cost=0.5)],
        admission(user="tg:3", chat="tg:-200", cost=0.5),
    )
    refunded = job(cost=4, quota_state=QuotaState.REFUNDED)
    exempt = job(user="tg:9", cost=3, quota_state=QuotaState.EXEMPT)
    await store.add_jobs([refunded, exempt], admission(max_waiting=10, exempt=True))
    usage = await store.usage("tg:1", "tg:-100", DAY)
    assert (usage.user, usage.member, usage.chat, usage.global_) == (2.0, 2.0, 3.0, 6.5)
    assert (await store.usage("tg:1", "tg:-100", "2026-11-22")).global_ == 0


async def test_a_members_usage_counts_that_chat_only(store: Store) -> None:
    await store.add_jobs([job(chat="tg:1", cost=2)], admission(chat="tg:1", cost=2))
    await store.add_jobs([job(chat="tg:-100", cost=1)], admission(cost=1))
    here = await store.usage("tg:1", "tg:-100", DAY)
    assert (here.user, here.member) == (3.0, 1.0)
    assert (await store.usage("tg:1", "tg:-200", DAY)).member == 0
    await store.add_jobs([job()], admission(member_limit=2.0))  # 1 + 1 within 2 here
    with pytest.raises(QuotaExceeded) as caught:
        await store.add_jobs([job()], admission(member_limit=2.0))
    assert (caught.value.scope, caught.value.used) == ("member", 2.0)


async def test_token_usage_includes_admins_jobs(store: Store) -> None:
    await store.add_jobs(
        [
            job(token="token#1", cost=2),
            job(token="token#1", cost=1, quota_state=QuotaState.EXEMPT),
            job(token="token#2", cost=1, quota_state=QuotaState.REFUNDED),
        ],
        admission(cost=3),
    )
    assert await store.token_usage(DAY) == {"token#1": 3.0}


@pytest.mark.parametrize(
    ("limits", "error", "scope"),
    [
        ({"user_limit": 2.0}, QuotaExceeded, "user"),
        ({"member_limit": 2.0}, QuotaExceeded, "member"),
        ({"chat_limit": 2.0}, QuotaExceeded, "chat"),
        ({"global_limit": 2.0}, QuotaExceeded, "global"),
        ({"max_waiting": 2}, QueueFull, None),
        ({"cooldown_seconds": 60.0}, CooldownActive, None),
    ],
)
async def test_refusals_insert_nothing(store: Store, limits, error, scope) -> None:
    await store.add_jobs([job(), job()], admission(cost=2))
    with pytest.raises(error) as caught:
        await store.add_jobs([job()], admission(now=1010.0, **limits))
    if scope:
        assert caught.value.scope == scope and caught.value.left == 0
    if error is CooldownActive:
        assert caught.value.seconds_left == pytest.approx(50)
    assert len(await store.history("tg:1", 10)) == 2


async def test_exempt_skips_limits_but_not_the_waiting_cap(store: Store) -> None:
    await store.add_jobs([job(cost=50)], admission(cost=50, exempt=True))
    with pytest.raises(QueueFull):
        await store.add_jobs([job()], admission(exempt=True, max_waiting=1))


async def test_concurrent_reservations_never_spend_past_the_limit(store: Store) -> None:
    async def attempt(i: int) -> bool:
        try:
            await store.add_jobs(
                [job(user=f"tg:{i % 7}")], admission(user=f"tg:{i % 7}", global_limit=10.0)
            )
        except QuotaExceeded:
            return False
        return True

    accepted = await asyncio.gather(*(attempt(i) for i in range(60)))
    assert sum(accepted) == 10
    assert (await store.usage("tg:0", "tg:-100", DAY)).global_ == 10


async def test_settings(store: Store) -> None:
    assert await store.get_setting("user", "tg:1") is None
    await store.put_setting("user", "tg:1", {"model": "qwen", "size": "1024x768"})
    await store.put_setting("user", "tg:1", {"model": "flux"})
    assert await store.get_setting("user", "tg:1") == {"model": "flux"}
    await store.put_setting("user", "tg:1", None)
    assert await store.get_setting("user", "tg:1") is None


async def test_purge_removes_old_finished_jobs_only(store: Store) -> None:
    old_done, old_queued, new_done = job(at=10.0), job(at=11.0), job(at=5000.0)
    await store.add_jobs([old_done, old_queued, new_done], admission(max_waiting=10))
    for finished in (old_done, new_done):
        await store.save(finished.moved(JobState.DONE, 1.0))
    gone = await store.purge(finished_before=1000.0)
    assert [j.id for j in gone] == [old_done.id]
    assert await store.get(old_done.id) is None
    assert await store.get(old_queued.id) is not None


async def test_jobs_survive_a_reopen(tmp_path: Path) -> None:
    first = await SqliteStore.open(tmp_path / "data" / "jobs.db")
    kept = job()
    await first.add_jobs([kept], admission())
    await first.close()
    second = await SqliteStore.open(tmp_path / "data" / "jobs.db")
    assert await second.get(kept.id) == kept
    await second.close()


async def test_redis_jobs_survive_a_reconnect(redis_url: str, redis_prefix: str) -> None:
    first = await RedisStore.open(redis_url, redis_prefix)
    kept = job()
    await first.add_jobs([kept], admission())
    await first.close()
    second = await RedisStore.open(redis_url, redis_prefix)
    assert await second.get(kept.id) == kept
    assert (await second.usage("tg:1", "tg:-100", DAY)).user == 1.0
    await second.close()


async def test_jobs_of_one_batch_come_in_the_requests_order(store: Store) -> None:
    # One request's jobs share their creation time; their ids are random.
    ordered = [job(batch_id="b1", batch_index=i) for i in range(6)]
    await store.add_jobs([*reversed(ordered), job(batch_id="b2")], admission(cost=7))
    assert [j.id for j in await store.batch("b1")] == [j.id for j in ordered]
    assert await store.batch("none") == []


async def test_a_redis_role_is_held_by_one_process_at_a_time(
    redis_url: str, redis_prefix: str
) -> None:
    first = await RedisStore.open(redis_url, redis_prefix)
    second = await RedisStore.open(redis_url, redis_prefix)
    async with first.exclusive("telegram-polling", ttl=2):
        with pytest.raises(RoleTaken, match="already runs 'telegram-polling'"):
            async with second.exclusive("telegram-polling"):
                pass
        await asyncio.sleep(2.5)  # renewed every ttl/3: still held past the first ttl
        with pytest.raises(RoleTaken):
            async with second.exclusive("telegram-polling"):
                pass
    async with second.exclusive("telegram-polling"):  # released on the way out
        pass
    await first.close()
    await second.close()


async def test_a_lease_nobody_renews_is_waited_out(redis_url: str, redis_prefix: str) -> None:
    """A receiver SIGKILLed a moment ago left its lease: a new one waits, it does not exit."""
    store = await RedisStore.open(redis_url, redis_prefix)
    await store.client.set(store.key("lease", "discord-gateway"), "killed", ex=2)
    async with store.exclusive("discord-gateway", ttl=2):  # no RoleTaken: it waited
        assert await store.client.get(store.key("lease", "discord-gateway")) != "killed"
    await store.close()
