"""A batch (`count` > 1) goes to the chat as one message, once, after its last job ended."""

from __future__ import annotations

import asyncio
from collections import OrderedDict, defaultdict
from collections.abc import Awaitable, Callable

from core.jobs.events import BatchState
from core.jobs.job import Job, JobState

FINISHED_WELL = (JobState.DONE, JobState.DELIVERING)
LoadBatch = Callable[[str], Awaitable[list[Job]]]  # a batch's jobs, in order


class BatchDelivery:
    """Two jobs of a batch may end together: each waits for the other, and only one is told
    to send the batch. A failed send is not remembered, so the worker's retry sends again."""

    def __init__(self, load: LoadBatch, remember: int = 10_000) -> None:
        self._load = load
        self._remember = remember
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._sent: OrderedDict[str, None] = OrderedDict()

    async def final(self, job: Job, deliver: Callable[[BatchState], Awaitable[None]]) -> None:
        """Call `deliver` with the state of `job`'s batch as of `job`'s end."""
        batch = job.batch_id
        async with self._locks[batch]:
            jobs = [job if j.id == job.id else j for j in await self._load(batch)]
            made = tuple(j for j in jobs if j.state in FINISHED_WELL)
            failed = tuple(j for j in jobs if j.state.terminal and j.state is not JobState.DONE)
            ended = all(j.state.terminal or j.state in FINISHED_WELL for j in jobs)
            send = ended and batch not in self._sent
            await deliver(BatchState(made, len(jobs), send, failed))
            if send:
                self._sent[batch] = None
                if len(self._sent) > self._remember:
                    self._sent.popitem(last=False)
        if ended:
            self._locks.pop(batch, None)
