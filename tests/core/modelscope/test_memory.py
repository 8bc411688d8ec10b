"""Run times kept in the store: what one process learned is known after a restart and to
every other process on the same store (SQLite file, Redis), and the adaptive policy plans
the first task after a start from it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from core.modelscope import AdaptivePolicy, RunTimeMemory, RunTimes
from core.modelscope.memory import NAMESPACE
from core.modelscope.runtimes import KEEP, TaskTrack
from core.stores import Store
from core.stores.redis import RedisStore
from core.stores.sqlite import SqliteStore
from tests.core.modelscope.test_runtimes import FAST, SLOW, finished

Opener = Callable[[], Any]


@pytest.fixture(params=["sqlite-file", "redis"])
async def reopen(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Opener]:
    """Opens the same store again each time, as another process or a restart would."""
    opened: list[Store] = []

    async def open_store() -> Store:
        store: Store
        if request.param == "redis":
            url = request.getfixturevalue("redis_url")
            store = await RedisStore.open(url, request.getfixturevalue("redis_prefix"))
        else:
            store = await SqliteStore.open(tmp_path / "jobs.db")
        opened.append(store)
        return store

    yield open_store
    for store in opened:
        await store.close()


def learn(times: RunTimes, workload: str, seconds: float, tasks: int, start: int = 0) -> None:
    for i in range(start, start + tasks):
        finished(times, workload, f"{workload}-{i}", seconds)


async def test_a_restart_knows_what_the_last_run_learned(reopen: Opener) -> None:
    before = RunTimes()
    learn(before, FAST, 3.0, 8)
    learn(before, SLOW, 60.0, 6)
    assert await RunTimeMemory(before, await reopen()).save() == 14

    after = RunTimes()
    assert await RunTimeMemory(after, await reopen()).recall() == 2
    assert after.expected(FAST) == pytest.approx(before.expected(FAST))
    assert after.expected(SLOW) == pytest.approx(before.expected(SLOW))
    assert after.runs(FAST).count == 8  # type: ignore[union-attr]


async def test_the_first_task_after_a_restart_is_planned_not_polled_blindly(
    reopen: Opener,
) -> None:
    before = RunTimes()
    policy = AdaptivePolicy(before)
    learn(before, FAST, 12.0, policy.settings.warmup)
    await RunTimeMemory(before, await reopen()).save()

    cold, warm = RunTimes(), RunTimes()
    await RunTimeMemory(warm, await reopen()).recall()
    fallback = AdaptivePolicy(cold).next_delay(FAST, TaskTrack(), 0.0)
    planned = AdaptivePolicy(warm).next_delay(FAST, TaskTrack(), 0.0)
    assert fallback == AdaptivePolicy(cold).settings.fallback
    assert planned != fallback  # it waits as the learned run time says


async def test_two_processes_learn_from_each_other(reopen: Opener) -> None:
    worker, cli = RunTimes(), RunTimes()
    worker_memory = RunTimeMemory(worker, await reopen())
    cli_memory = RunTimeMemory(cli, await reopen())
    learn(worker, FAST, 4.0, 5)
    await worker_memory.sync()
    learn(cli, FAST, 4.0, 5, start=100)
    learn(cli, SLOW, 50.0, 3)
    await cli_memory.sync()
    await worker_memory.sync()
    for times in (worker, cli):
        assert times.runs(FAST).count == 10  # type: ignore[union-attr]
        assert times.expected(SLOW) == pytest.approx(50.0, rel=0.01)
    assert worker.samples(FAST) == cli.samples(FAST)


async def test_only_the_latest_samples_are_kept(reopen: Opener) -> None:
    times = RunTimes()
    memory = RunTimeMemory(times, await reopen())
    learn(times, FAST, 2.0, KEEP)
    await memory.save()
    learn(times, FAST, 8.0, 10, start=KEEP)
    await memory.save()
    stored = await (await reopen()).get_setting(NAMESPACE, FAST)
    assert stored is not None and len(stored["samples"]) == KEEP
    assert [row[2] for row in stored["samples"][-10:]] == [8.0] * 10


class Unreachable:
    async def get_setting(self, namespace: str, key: str) -> dict[str, Any] | None:
        raise ConnectionError("the store is away")

    async def put_setting(self, namespace: str, key: str, value: dict[str, Any] | None) -> None:
        raise ConnectionError("the store is away")


async def test_a_store_that_does_not_answer_keeps_the_samples_for_later(
    reopen: Opener,
) -> None:
    times = RunTimes()
    learn(times, FAST, 3.0, 4)
    await RunTimeMemory(times, Unreachable()).sync()  # logged, not raised
    assert times.expected(FAST) == pytest.approx(3.0)  # learning went on
    assert await RunTimeMemory(times, await reopen()).save() == 4  # nothing was lost
