"""BatchDelivery: a batch is sent once, after its last job, and a failed send is retried."""

from __future__ import annotations

import asyncio

import pytest

from core.delivery._batches import BatchDelivery
from core.jobs.events import BatchState
from core.jobs.job import Job, JobState
from tests.core.stores.test_contract import job


def batch(*states: JobState, batch_id: str = "b") -> list[Job]:
    return [
        job(batch_id=batch_id, batch_index=i, batch_size=len(states), state=s)
        for i, s in enumerate(states)
    ]


async def test_sent_once_after_the_last_job_with_only_the_good_images() -> None:
    jobs = batch(JobState.DONE, JobState.SUBMITTED, JobState.FAILED)
    told: list[tuple[int, int, bool]] = []

    async def load(batch_id: str) -> list[Job]:
        return jobs

    async def deliver(state: BatchState) -> None:
        told.append((len(state.made), state.total, state.send))

    delivery = BatchDelivery(load)
    await delivery.final(jobs[0], deliver)
    assert told == [(1, 3, False)]  # one made so far, the batch goes on
    jobs[1] = jobs[1].moved(JobState.DELIVERING, 2000.0)
    told.clear()
    await asyncio.gather(*(delivery.final(j, deliver) for j in jobs))
    assert sorted(told) == [(2, 3, False), (2, 3, False), (2, 3, True)]  # one sends: one message


async def test_the_images_come_in_the_requests_order() -> None:
    jobs = batch(JobState.DONE, JobState.DONE, JobState.DONE)
    sent: list[list[int]] = []

    async def load(batch_id: str) -> list[Job]:
        return jobs

    async def deliver(state: BatchState) -> None:
        if state.send:
            sent.append([one.batch_index for one in state.made])

    await BatchDelivery(load).final(jobs[1], deliver)
    assert sent == [[0, 1, 2]]


async def test_a_failed_send_is_sent_again_and_memory_is_bounded() -> None:
    calls = 0

    async def deliver(state: BatchState) -> None:
        nonlocal calls
        if not state.send:
            return
        calls += 1
        if calls == 1:
            raise ConnectionError("the chat refused")

    batches = {f"b{i}": batch(JobState.DONE, batch_id=f"b{i}") for i in range(3)}

    async def load(batch_id: str) -> list[Job]:
        return batches[batch_id]

    delivery = BatchDelivery(load, remember=2)
    with pytest.raises(ConnectionError):
        await delivery.final(batches["b0"][0], deliver)
    await delivery.final(batches["b0"][0], deliver)
    await delivery.final(batches["b0"][0], deliver)
    assert calls == 2
    for name in ("b1", "b2"):
        await delivery.final(batches[name][0], deliver)
    await delivery.final(batches["b0"][0], deliver)  # forgotten: the oldest of three
    assert calls == 5
