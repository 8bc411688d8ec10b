"""The shared store: Redis (`STORE_URL=redis://...`), for several bot processes at once.

Each job is a hash with its JSON document; quota usage is kept as running sums per day,
changed by the same Lua script that writes the job (_scripts.py here), so an
admission's check and the insert that spends it are one atomic step for every process.
Durability is the server's: run Redis with `appendonly yes` (compose.yaml does).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Sequence
from typing import Any, TypeVar

from redis.asyncio import Redis

from core.errors import ConfigurationError
from core.jobs.job import Job, JobState
from core.jobs.quotas import Admission, Usage, check_admission
from core.stores.port import document, from_document, indexed_fields
from core.stores.redis._scripts import ADD_JOBS, EXTEND_LEASE, PURGE, RELEASE_LEASE, SAVE

DEFAULT_PREFIX = "imagine:"
T = TypeVar("T")
log = logging.getLogger("imagine.store")


class RoleTaken(ConfigurationError):
    """Another process on the same Redis holds this role."""

    def __init__(self, role: str) -> None:
        super().__init__(
            f"another imagine-bot process already runs {role!r} on this STORE_URL, and only "
            "one may per bot token; stop it, or let only one process (`imagine-bot gateway`) "
            "take updates in (Telegram: TELEGRAM_MODE=webhook allows several)"
        )


class AdmissionMismatch(RuntimeError):
    """The script refused what `check_admission` allows: the two rule sets disagree."""


class RedisStore:
    """The `Store` port on one Redis server."""

    def __init__(self, client: Redis, prefix: str = DEFAULT_PREFIX) -> None:
        self._redis = client
        self._prefix = prefix
        self._add = client.register_script(ADD_JOBS)
        self._save = client.register_script(SAVE)
        self._purge = client.register_script(PURGE)
        self._extend = client.register_script(EXTEND_LEASE)
        self._release = client.register_script(RELEASE_LEASE)

    @classmethod
    async def open(cls, url: str, prefix: str = DEFAULT_PREFIX) -> RedisStore:
        client = Redis.from_url(url, decode_responses=True)
        await answer(client.ping())  # a wrong URL fails at start-up, not at the first request
        return cls(client, prefix)

    @property
    def client(self) -> Redis:
        return self._redis

    @property
    def prefix(self) -> str:
        return self._prefix

    async def close(self) -> None:
        await self._redis.aclose()

    async def add_jobs(self, jobs: Sequence[Job], admission: Admission) -> None:
        limits = (
            admission.user_limit,
            admission.member_limit,
            admission.chat_limit,
            admission.global_limit,
        )
        args: list[Any] = [
            self._prefix,
            admission.user,
            admission.chat,
            admission.day,
            repr(admission.now),
            repr(admission.cost),
            "1" if admission.exempt else "0",
            *("" if limit is None else repr(limit) for limit in limits),
            admission.max_waiting,
            repr(admission.cooldown_seconds),
        ]
        for job in jobs:
            args += _fields(job)
        answer = await self._add(args=args)
        if answer[0] == "ok":
            return
        waiting, last, *used = answer[1:]
        usage = Usage(*(float(value) for value in used))
        check_admission(admission, usage, int(waiting), float(last) if last else None)
        raise AdmissionMismatch(f"refused, but check_admission allows it: {answer}")

    @contextlib.asynccontextmanager
    async def exclusive(self, role: str, ttl: int = 30) -> AsyncIterator[None]:
        """Hold `role` alone among the processes on this Redis (a lease renewed every ttl/3
        seconds, so a killed holder frees it within `ttl`); `RoleTaken` if another has it.
        A lease nobody renews (its holder was killed) is waited out, saying so."""
        key, owner = self.key("lease", role), uuid.uuid4().hex
        await self._acquire(key, owner, ttl, role)
        renewal = asyncio.create_task(self._renew(key, owner, ttl))
        try:
            yield
        finally:
            renewal.cancel()
            await asyncio.gather(renewal, return_exceptions=True)
            await self._release(keys=[key], args=[owner])

    async def _acquire(self, key: str, owner: str, ttl: int, role: str) -> None:
        if await self._redis.set(key, owner, nx=True, ex=ttl):
            return
        left = await answer(self._redis.pttl(key))
        log.warning(
            "another process held %r until %.0f s ago at most; waiting for its lease to run "
            "out (a live holder renews it, and then this process stops)",
            role,
            max(0.0, ttl - left / 1000),
        )
        deadline = asyncio.get_running_loop().time() + ttl + 1
        while asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(min(1.0, ttl / 6))
            if await self._redis.set(key, owner, nx=True, ex=ttl):
                log.info("the lease of %r ran out: this process holds it now", role)
                return
            now = await answer(self._redis.pttl(key))
            if now > left + 200:  # renewed: its holder is alive
                break
            left = now
        raise RoleTaken(role)

    async def _renew(self, key: str, owner: str, ttl: int) -> None:
        while True:
            await asyncio.sleep(ttl / 3)
            if not await self._extend(keys=[key], args=[owner, ttl]):
                log.error("lost the lease %s: another process may run the same jobs", key)

    async def first_sight(self, kind: str, key: str, remember: int = 86_400) -> bool:
        """True the first time any process asks about `key` within `remember` seconds (a
        Telegram update that reached two webhook receivers is handled once)."""
        return bool(await self._redis.set(self.key("seen", kind, key), "1", nx=True, ex=remember))

    async def get(self, job_id: str) -> Job | None:
        data = await answer(self._redis.hget(self.key("job", job_id), "data"))
        return from_document(text(data)) if data else None

    async def save(self, job: Job, expected: Sequence[JobState] = ()) -> bool:
        states = [state.value for state in expected]
        args: list[str | int] = [self._prefix, len(states), *states, *_fields(job)]
        return bool(await self._save(args=args))

    async def batch(self, batch_id: str) -> list[Job]:
        jobs = await self.jobs(texts(await self._redis.zrange(self.key("batch", batch_id), 0, -1)))
        return sorted(jobs, key=lambda job: job.batch_index)  # the request's (seeds') order

    async def unfinished(self) -> list[Job]:
        return await self.jobs(texts(await self._redis.zrange(self.key("open"), 0, -1)))

    async def history(self, user: str, limit: int) -> list[Job]:
        ids = texts(await self._redis.zrevrange(self.key("user", user), 0, max(limit, 1) - 1))
        jobs = await self.jobs(ids[:limit])
        return sorted(jobs, key=lambda job: (-job.created_at, job.id))

    async def usage(self, user: str, chat: str, day: str) -> Usage:
        fields = (f"user:{user}", f"member:{chat}/{user}", f"chat:{chat}", "global")
        values = await answer(self._redis.hmget(self.key("usage", day), list(fields)))
        return Usage(*(float(value or 0) for value in values))

    async def token_usage(self, day: str) -> dict[str, float]:
        spent = {
            text(k): float(v)
            for k, v in (await answer(self._redis.hgetall(self.key("usage", day)))).items()
        }
        tokens = {k.removeprefix("token:"): v for k, v in spent.items() if k.startswith("token:")}
        return {token: total for token, total in tokens.items() if total > 1e-9}

    async def get_setting(self, namespace: str, key: str) -> dict[str, Any] | None:
        value = await answer(self._redis.hget(self.key("settings", namespace), key))
        return dict(json.loads(text(value))) if value else None

    async def settings(self, namespace: str) -> dict[str, dict[str, Any]]:
        values = await answer(self._redis.hgetall(self.key("settings", namespace)))
        return {text(key): dict(json.loads(text(value))) for key, value in values.items()}

    async def put_setting(self, namespace: str, key: str, value: dict[str, Any] | None) -> None:
        name = self.key("settings", namespace)
        if value is None:
            await answer(self._redis.hdel(name, key))
        else:
            await answer(self._redis.hset(name, key, json.dumps(value, ensure_ascii=False)))

    async def purge(self, finished_before: float) -> list[Job]:
        gone = await self._purge(args=[self._prefix, repr(finished_before)])
        return [from_document(text(data)) for data in gone]

    async def jobs(self, ids: Sequence[str]) -> list[Job]:
        if not ids:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for job_id in ids:
                pipe.hget(self.key("job", job_id), "data")
            documents = await pipe.execute()
        return [from_document(text(data)) for data in documents if data]

    def key(self, *parts: str) -> str:
        """A key under this store's prefix (the shared queue's keys too)."""
        return self._prefix + ":".join(parts)


def _fields(job: Job) -> list[str]:
    """The job as the scripts' JOB_FIELDS, in order."""
    *names, token, cost, created, delivered = indexed_fields(job)
    numbers = [repr(cost), repr(created), "" if delivered is None else repr(delivered)]
    terminal = "1" if job.state.terminal else "0"
    return [*names, token or "", *numbers, terminal, str(job.tier), document(job)]


async def answer(value: Awaitable[T] | T) -> T:
    """redis-py types each command as sync-or-async; the asyncio client's are awaitable."""
    if inspect.isawaitable(value):
        return await value
    return value


def text(value: str | bytes) -> str:
    # The client decodes replies (decode_responses=True); the types cannot know that.
    return value.decode() if isinstance(value, bytes) else value


def texts(values: Any) -> list[str]:
    return [text(value) for value in values]
