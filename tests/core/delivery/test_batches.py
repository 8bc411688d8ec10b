"""BatchDelivery: a batch is sent once, after its last job, and a failed send is retried."""

from __future__ import annotations

import asyncio

import pytest

from core.delivery.batches import BatchDelivery
from core.jobs.job import Job, JobState
from tests.core.stores.test_contract import job


def batch(*states: JobState, batch_id: str = "b") -> list[Job]:
    return [
        job(batch_id=batch_id, batch_index=i, batch_size=len(states), state=s)
        for i, s in enumerate(states)
    ]


async def test_sent_once_after_the_last_job_with_only_the_good_images() -> None:
    jobs = batch(JobState.DONE, JobState.SUBMITTED, JobState.FAILED)
    sent: list[tuple[int, int]] = []
    pending: list[int] = []

    async def load(batch_id: str) -> list[Job]:
        return jobs

    async def send(made: list[Job], total: int) -> None:
        sent.append((len(made), total))

    async def waiting(made: list[Job]) -> None:
        pending.append(len(made))

    delivery = BatchDelivery(load)
    await delivery.deliver(jobs[0], send, waiting)
    assert sent == [] and pending == [1]
    jobs[1] = jobs[1].moved(JobState.DELIVERING, 2000.0)
    await asyncio.gather(*(delivery.deliver(j, send, waiting) for j in jobs))
    assert sent == [(2, 3)]  # two ended at once: one message


async def test_a_failed_send_is_sent_again_and_memory_is_bounded() -> None:
    calls = 0

    async def send(made: list[Job], total: int) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("the chat refused")

    batches = {f"b{i}": batch(JobState.DONE, batch_id=f"b{i}") for i in range(3)}

    async def load(batch_id: str) -> list[Job]:
        return batches[batch_id]

    delivery = BatchDelivery(load, remember=2)
    with pytest.raises(ConnectionError):
        await delivery.deliver(batches["b0"][0], send)
    await delivery.deliver(batches["b0"][0], send)
    await delivery.deliver(batches["b0"][0], send)
    assert calls == 2
    for name in ("b1", "b2"):
        await delivery.deliver(batches[name][0], send)
    await delivery.deliver(batches["b0"][0], send)  # forgotten: the oldest of three
    assert calls == 5
