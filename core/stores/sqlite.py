"""The embedded store: SQLite through aiosqlite, WAL, synchronous=FULL, one writer.

Each job is a JSON document plus the columns that quotas and recovery query. Every write
runs in `BEGIN IMMEDIATE`, so the check of a quota and the insert that spends it are one
step, also between processes sharing the file (busy_timeout makes the others wait).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from core.jobs.job import Job, JobState, QuotaState
from core.jobs.quotas import Admission, Usage, check_admission
from core.stores._sqlite_file import open_connection
from core.stores.port import document, from_document, indexed_fields

T = TypeVar("T")
COUNTED = (QuotaState.RESERVED.value, QuotaState.COMMITTED.value)
# Admins' jobs are exempt from the limits but still spend the account's daily allowance.
SPENT = (*COUNTED, QuotaState.EXEMPT.value)
TERMINAL = tuple(s.value for s in JobState if s.terminal)
# Built once from "?" placeholders only; the values always travel as parameters.
IN_TERMINAL = f"state IN ({', '.join('?' * len(TERMINAL))})"
UNFINISHED_SQL = (
    f"SELECT data FROM jobs WHERE NOT {IN_TERMINAL} OR delivered_at IS NULL"  # noqa: S608
    " ORDER BY created_at, id"
)
PURGED_SQL = f"SELECT data FROM jobs WHERE {IN_TERMINAL} AND created_at < ?"  # noqa: S608
PURGE_SQL = f"DELETE FROM jobs WHERE {IN_TERMINAL} AND created_at < ?"  # noqa: S608


class SqliteStore:
    """The `Store` port on one SQLite file (or `:memory:` for tests)."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._db = connection
        self._write_lock = asyncio.Lock()
        self._watchers: list[Callable[[Job], None]] = []

    def watch(self, callback: Callable[[Job], None]) -> None:
        """Call `callback` with every job this store writes, once the write is committed
        (the local queue keeps its line in step with the rows this way)."""
        self._watchers.append(callback)

    def _written(self, jobs: Iterable[Job]) -> None:
        for job in jobs:
            for callback in self._watchers:
                callback(job)

    @classmethod
    async def open(cls, path: str | Path) -> SqliteStore:
        """Open (or create) the file; a `ConfigurationError` in words when it cannot be used:
        a folder that cannot be written, a file that is not a sound database, or an empty
        file where one was (never silently started afresh on it)."""
        return cls(await open_connection(path))

    async def close(self) -> None:
        await self._db.close()

    async def _write(self, work: Callable[[aiosqlite.Connection], Awaitable[T]]) -> T:
        async with self._write_lock:
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                result = await work(self._db)
            except BaseException:
                await self._db.execute("ROLLBACK")
                raise
            await self._db.execute("COMMIT")
            return result

    async def add_jobs(self, jobs: Sequence[Job], admission: Admission) -> None:
        async def insert(db: aiosqlite.Connection) -> None:
            usage = await _usage(db, admission.user, admission.chat, admission.day)
            waiting = await _scalar(
                db,
                "SELECT COUNT(*) FROM jobs WHERE user_key = ? AND state = ?",
                (admission.user, JobState.QUEUED.value),
            )
            last = await _scalar(
                db, "SELECT MAX(created_at) FROM jobs WHERE user_key = ?", (admission.user,)
            )
            check_admission(admission, usage, int(waiting or 0), last)
            await db.executemany(
                "INSERT INTO jobs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [_row(j) for j in jobs],
            )

        await self._write(insert)
        self._written(jobs)

    async def get(self, job_id: str) -> Job | None:
        async with self._db.execute("SELECT data FROM jobs WHERE id = ?", (job_id,)) as cursor:
            row = await cursor.fetchone()
        return from_document(row[0]) if row else None

    async def save(self, job: Job, expected: Sequence[JobState] = ()) -> bool:
        row = _row(job)
        sql = (
            "UPDATE jobs SET batch_id = ?, user_key = ?, chat_key = ?, day = ?, state = ?,"
            " quota_state = ?, token = ?, cost = ?, created_at = ?, delivered_at = ?, data = ?"
            " WHERE id = ?"
        )
        values: tuple[Any, ...] = (*row[1:], job.id)
        if expected:
            sql += f" AND state IN ({', '.join('?' * len(expected))})"
            values += tuple(state.value for state in expected)

        async def update(db: aiosqlite.Connection) -> bool:
            cursor = await db.execute(sql, values)
            return cursor.rowcount == 1

        written = await self._write(update)
        if written:
            self._written([job])
        return written

    async def batch(self, batch_id: str) -> list[Job]:
        jobs = await self._jobs("SELECT data FROM jobs WHERE batch_id = ?", (batch_id,))
        return sorted(jobs, key=lambda job: job.batch_index)  # the request's (seeds') order

    async def unfinished(self) -> list[Job]:
        return await self._jobs(UNFINISHED_SQL, TERMINAL)

    async def queued_ids(self) -> list[str]:
        sql = "SELECT id FROM jobs WHERE state = ?"
        async with self._db.execute(sql, (JobState.QUEUED.value,)) as cursor:
            return [str(row[0]) for row in await cursor.fetchall()]

    async def queued_jobs(self, ids: Sequence[str]) -> list[Job]:
        found: list[Job] = []
        for start in range(0, len(ids), 500):  # SQLite caps the number of parameters
            chunk = list(ids[start : start + 500])
            marks = ", ".join("?" * len(chunk))
            sql = f"SELECT data FROM jobs WHERE state = ? AND id IN ({marks})"  # noqa: S608
            found += await self._jobs(sql, (JobState.QUEUED.value, *chunk))
        return sorted(found, key=lambda job: (job.created_at, job.id))

    async def history(self, user: str, limit: int) -> list[Job]:
        return await self._jobs(
            "SELECT data FROM jobs WHERE user_key = ? ORDER BY created_at DESC, id LIMIT ?",
            (user, limit),
        )

    async def usage(self, user: str, chat: str, day: str) -> Usage:
        return await _usage(self._db, user, chat, day)

    async def token_usage(self, day: str) -> dict[str, float]:
        sql = (
            "SELECT token, SUM(cost) FROM jobs WHERE day = ? AND token IS NOT NULL AND "
            "quota_state IN (?, ?, ?, ?) GROUP BY token"
        )
        async with self._db.execute(sql, (day, *SPENT, QuotaState.OWN.value)) as cursor:
            return {str(token): float(total) for token, total in await cursor.fetchall()}

    async def get_setting(self, namespace: str, key: str) -> dict[str, Any] | None:
        sql = "SELECT value FROM settings WHERE namespace = ? AND key = ?"
        async with self._db.execute(sql, (namespace, key)) as cursor:
            row = await cursor.fetchone()
        return dict(json.loads(row[0])) if row else None

    async def settings(self, namespace: str) -> dict[str, dict[str, Any]]:
        sql = "SELECT key, value FROM settings WHERE namespace = ?"
        async with self._db.execute(sql, (namespace,)) as cursor:
            return {str(key): dict(json.loads(value)) for key, value in await cursor.fetchall()}

    async def put_setting(self, namespace: str, key: str, value: dict[str, Any] | None) -> None:
        async def put(db: aiosqlite.Connection) -> None:
            if value is None:
                await db.execute(
                    "DELETE FROM settings WHERE namespace = ? AND key = ?", (namespace, key)
                )
            else:
                await db.execute(
                    "INSERT OR REPLACE INTO settings VALUES (?, ?, ?)",
                    (namespace, key, json.dumps(value, ensure_ascii=False)),
                )

        await self._write(put)

    async def purge(self, finished_before: float) -> list[Job]:
        values = (*TERMINAL, finished_before)

        async def delete(db: aiosqlite.Connection) -> list[Job]:
            async with db.execute(PURGED_SQL, values) as cursor:
                gone = [from_document(row[0]) for row in await cursor.fetchall()]
            await db.execute(PURGE_SQL, values)
            return gone

        return await self._write(delete)

    async def _jobs(self, sql: str, values: Sequence[Any]) -> list[Job]:
        async with self._db.execute(sql, tuple(values)) as cursor:
            return [from_document(row[0]) for row in await cursor.fetchall()]


async def _usage(db: aiosqlite.Connection, user: str, chat: str, day: str) -> Usage:
    base = "SELECT COALESCE(SUM(cost), 0) FROM jobs WHERE day = ? AND quota_state IN "
    counted, spent = base + "(?, ?)", base + "(?, ?, ?)"
    both = " AND user_key = ? AND chat_key = ?"
    return Usage(
        user=float(await _scalar(db, counted + " AND user_key = ?", (day, *COUNTED, user)) or 0),
        member=float(await _scalar(db, counted + both, (day, *COUNTED, user, chat)) or 0),
        chat=float(await _scalar(db, counted + " AND chat_key = ?", (day, *COUNTED, chat)) or 0),
        global_=float(await _scalar(db, spent, (day, *SPENT)) or 0),
    )


async def _scalar(db: aiosqlite.Connection, sql: str, values: tuple[Any, ...]) -> Any:
    async with db.execute(sql, values) as cursor:
        row = await cursor.fetchone()
    return row[0] if row else None


def _row(job: Job) -> tuple[Any, ...]:
    return (*indexed_fields(job), document(job))
