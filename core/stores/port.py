"""The store port: everything the service persists, behind one narrow interface."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Protocol

from core.jobs.job import Job, JobState
from core.jobs.quotas import Admission, Usage


class Store(Protocol):
    """Jobs, quota usage and small settings; each backend passes tests/core/store."""

    async def add_jobs(self, jobs: Sequence[Job], admission: Admission) -> None:
        """Insert `jobs` if `admission` allows them, in one atomic step; else raise
        `CooldownActive`, `QueueFull` or `QuotaExceeded` and insert nothing."""
        ...

    async def get(self, job_id: str) -> Job | None: ...

    async def save(self, job: Job, expected: Sequence[JobState] = ()) -> bool:
        """Write `job`; with `expected`, only if the stored state is one of them (a
        compare-and-set, so a cancel and a worker never both win). True if written."""
        ...

    async def batch(self, batch_id: str) -> list[Job]:
        """The jobs of one request (`count` images), in the request's order (batch_index,
        which is also their seeds' order)."""
        ...

    async def unfinished(self) -> list[Job]:
        """Jobs not yet terminal, or terminal with their final event not yet delivered
        (`delivered_at` unset), oldest first: what a restart resumes."""
        ...

    async def history(self, user: str, limit: int) -> list[Job]:
        """The user's latest jobs, newest first."""
        ...

    async def usage(self, user: str, chat: str, day: str) -> Usage: ...

    async def token_usage(self, day: str) -> dict[str, float]:
        """Cost units per token label that `day` (reserved or committed)."""
        ...

    async def get_setting(self, namespace: str, key: str) -> dict[str, Any] | None: ...

    async def settings(self, namespace: str) -> dict[str, dict[str, Any]]:
        """Every setting of `namespace`, by key."""
        ...

    async def put_setting(self, namespace: str, key: str, value: dict[str, Any] | None) -> None:
        """Store `value` under (namespace, key); None deletes it."""
        ...

    async def purge(self, finished_before: float) -> list[Job]:
        """Delete terminal jobs created before `finished_before`; return them."""
        ...

    async def close(self) -> None: ...


def indexed_fields(job: Job) -> tuple[Any, ...]:
    """What every backend indexes besides the JSON document, in one order: id, batch,
    user, chat, day, state, quota state, token, cost, created_at, delivered_at."""
    return (
        job.id,
        job.batch_id,
        job.user,
        job.chat,
        job.day,
        job.state.value,
        job.quota_state.value,
        job.token,
        job.cost,
        job.created_at,
        job.delivered_at,
    )


def document(job: Job) -> str:
    """The job as the JSON every backend stores."""
    return json.dumps(job.to_dict(), ensure_ascii=False)


def from_document(data: str) -> Job:
    return Job.from_dict(json.loads(data))
