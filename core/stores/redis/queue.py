"""The queue on Redis (`core.scheduling.queue.JobQueue`), shared by every process on it: the
store's waiting sets are the line; claims, leases and take-overs are Lua scripts
(_queue_scripts.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis

from core.jobs.job import Job, JobState
from core.scheduling.fairqueue import admission_order
from core.scheduling.queue import NEEDS_SLOT, Caps, Lease, Renewal, TokenRoom
from core.stores.redis._queue_scripts import (
    ABANDON,
    ADOPT,
    CLAIM,
    FINISH,
    RENEW,
    REQUEST_CANCEL,
    TAKE_OVER,
)
from core.stores.redis.store import RedisStore, answer, texts

DEFAULT_LEASE_SECONDS = 30.0

# One user's waiting jobs, oldest first, their arrival numbers, and the user's last turn.
Line = tuple[list[Job], list[int], int]


class RedisJobQueue:
    """Leases last `lease_seconds` unless renewed; a dead worker's jobs are taken over after."""

    shared = True

    shared = True

    def __init__(self, store: RedisStore, lease_seconds: float = DEFAULT_LEASE_SECONDS) -> None:
        self._store = store
        self._redis: Redis = store.client
        self._prefix = store.prefix
        self.lease_seconds = lease_seconds
        register = self._redis.register_script
        self._claim, self._renew, self._take_over = (
            register(CLAIM),
            register(RENEW),
            register(TAKE_OVER),
        )
        self._adopt, self._finish, self._abandon = (
            register(ADOPT),
            register(FINISH),
            register(ABANDON),
        )
        self._request_cancel = register(REQUEST_CANCEL)

    async def claim(
        self, worker: str, caps: Caps, tokens: Sequence[TokenRoom], day: str
    ) -> Lease | None:
        tiers = ",".join(f"{level}={cap}" for level, cap in sorted(caps.user_by_tier.items()))
        args: list[Any] = [self._prefix, worker, self._ttl, day, tiers, _blank(caps.chat)]
        for room in tokens:
            args += [room.label, room.concurrency, _blank(room.daily_budget), room.owner]
        answer = await self._claim(args=args)
        if not answer:
            return None
        job_id, token = texts(answer)
        return Lease(job_id, token)

    async def renew(self, worker: str, job_ids: Sequence[str]) -> Renewal:
        if not job_ids:
            return Renewal()
        lost, cancel = await self._renew(args=[self._prefix, worker, self._ttl, *job_ids])
        return Renewal(frozenset(texts(lost)), frozenset(texts(cancel)))

    async def take_over(self, worker: str, limit: int) -> list[Lease]:
        taken = texts(await self._take_over(args=[self._prefix, worker, self._ttl, limit]))
        return [Lease(job_id, token) for job_id, token in zip(taken[::2], taken[1::2], strict=True)]

    async def adopt(self, worker: str, job: Job) -> bool:
        queued = job.state is JobState.QUEUED
        # A job past its image (delivering, or ended) needs no slot, only its delivery.
        token = (job.token or "") if job.state in NEEDS_SLOT else ""
        args = [self._prefix, worker, self._ttl, job.id, job.user, job.chat, token]
        return bool(await self._adopt(args=[*args, "1" if queued else "0"]))

    async def finish(self, worker: str, job_id: str, refund: float = 0.0) -> None:
        # A token's spending is summed from the rows by the store's scripts: no refund here.
        await self._finish(args=[self._prefix, worker, job_id])

    async def abandon(self, worker: str, job_ids: Sequence[str]) -> None:
        if job_ids:
            await self._abandon(args=[self._prefix, worker, *job_ids])

    async def request_cancel(self, job_id: str) -> bool:
        return bool(await self._request_cancel(args=[self._prefix, job_id]))

    async def wait_for_work(self, seconds: float) -> None:
        await answer(self._redis.blpop([self._store.key("wake")], timeout=seconds))

    async def waiting(self) -> list[Job]:
        return list(admission_order(await self.lines()))

    async def lines(self) -> list[Line]:
        """Every user's waiting jobs, for the admission order."""
        users = sorted(texts(await answer(self._redis.smembers(self._store.key("waiters")))))
        if not users:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for user in users:
                pipe.zrange(self._store.key("waiting", user), 0, -1, withscores=True)
            pipe.hmget(self._store.key("served"), users)
            *waiting, served = await pipe.execute()
        ids = [texts(job_id for job_id, _ in line) for line in waiting]
        jobs = {job.id: job for job in await self._store.jobs([i for line in ids for i in line])}
        return [
            (
                [jobs[i] for i in line_ids if i in jobs],
                [int(seq) for i, (_, seq) in zip(line_ids, line, strict=True) if i in jobs],
                int(turn) if turn is not None else -1,
            )
            for line_ids, line, turn in zip(ids, waiting, served, strict=True)
        ]

    async def held(self) -> int:
        return int(await self._redis.zcard(self._store.key("running")))

    @property
    def _ttl(self) -> str:
        return repr(self.lease_seconds)


def _blank(value: float | None) -> str:
    return "" if value is None else repr(value)
