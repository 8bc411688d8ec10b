"""A batch (`count` > 1) goes to the chat as one message, once, after its last job ended."""

from __future__ import annotations

import asyncio
from collections import OrderedDict, defaultdict
from collections.abc import Awaitable, Callable

from core.jobs.job import Job, JobState

FINISHED_WELL = (JobState.DONE, JobState.DELIVERING)
Send = Callable[[list[Job], int], Awaitable[None]]  # the images made, and the batch's size
Pending = Callable[[list[Job]], Awaitable[None]]  # the images made so far


class BatchDelivery:
    """Two jobs of a batch may end together: each waits for the other, and the batch is sent
    once. A failed send is not remembered, so the worker's retry sends it again."""

    def __init__(self, load: Callable[[str], Awaitable[list[Job]]], remember: int = 10_000) -> None:
        self._load = load
        self._remember = remember
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._sent: OrderedDict[str, None] = OrderedDict()

    async def deliver(self, job: Job, send: Send, pending: Pending | None = None) -> None:
        """Call `send` with the images made once every job of `job`'s batch has ended;
        until then call `pending` (if given) with those made so far."""
        batch = job.batch_id
        async with self._locks[batch]:
            if batch in self._sent:
                return
            jobs = [job if j.id == job.id else j for j in await self._load(batch)]
            made = [j for j in jobs if j.state in FINISHED_WELL]
            if not all(j.state.terminal or j.state in FINISHED_WELL for j in jobs):
                if pending is not None:
                    await pending(made)
                return
            if made:
                await send(made, len(jobs))
            self._sent[batch] = None
            if len(self._sent) > self._remember:
                self._sent.popitem(last=False)
        self._locks.pop(batch, None)
