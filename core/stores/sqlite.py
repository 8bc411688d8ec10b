"""The embedded store: SQLite through aiosqlite, WAL, synchronous=FULL, one writer.

Each job is a JSON document plus the columns that quotas and recovery query. Every write
runs in `BEGIN IMMEDIATE`, so the check of a quota and the insert that spends it are one
step, also between processes sharing the file (busy_timeout makes the others wait).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from core.errors import ConfigurationError
from core.jobs.job import Job, JobState, QuotaState
from core.jobs.quotas import Admission, Usage, check_admission
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

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    batch_id TEXT NOT NULL,
    user_key TEXT NOT NULL,
    chat_key TEXT NOT NULL,
    day TEXT NOT NULL,
    state TEXT NOT NULL,
    quota_state TEXT NOT NULL,
    token TEXT,
    cost REAL NOT NULL,
    created_at REAL NOT NULL,
    delivered_at REAL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_user_day ON jobs (user_key, day);
CREATE INDEX IF NOT EXISTS jobs_chat_day ON jobs (chat_key, day);
CREATE INDEX IF NOT EXISTS jobs_day ON jobs (day, token);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state, created_at);
CREATE INDEX IF NOT EXISTS jobs_batch ON jobs (batch_id);
CREATE TABLE IF NOT EXISTS settings (
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (namespace, key)
);
"""


async def _prepare(connection: aiosqlite.Connection) -> None:
    await connection.execute("PRAGMA busy_timeout=10000")
    await _switch_to_wal(connection)
    await connection.execute("PRAGMA synchronous=FULL")
    await connection.execute("PRAGMA foreign_keys=ON")
    await connection.executescript(SCHEMA)


async def _switch_to_wal(connection: aiosqlite.Connection, attempts: int = 100) -> None:
    """SQLite answers "database is locked" at once, without waiting out busy_timeout, when
    another process opens a new file at the same moment; so wait and try again here."""
    for attempt in range(attempts):
        try:
            await connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError:
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(0.05)


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
        if str(path) != ":memory:":
            _check_place(Path(path))
        try:
            connection = await aiosqlite.connect(str(path), isolation_level=None)
        except sqlite3.Error as error:
            raise _unusable(path, error) from None
        try:
            await _prepare(connection)
            await _check_sound(connection, path)
            if str(path) != ":memory:":
                _mark(Path(path))
        except BaseException as error:
            await connection.close()  # its thread would otherwise keep the process alive
            if isinstance(error, sqlite3.Error):
                raise _unusable(path, error) from None
            raise
        return cls(connection)

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
        return await self._jobs(
            "SELECT data FROM jobs WHERE batch_id = ? ORDER BY created_at, id", (batch_id,)
        )

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
            "quota_state IN (?, ?, ?) GROUP BY token"
        )
        async with self._db.execute(sql, (day, *SPENT)) as cursor:
            return {str(token): float(total) for token, total in await cursor.fetchall()}

    async def get_setting(self, namespace: str, key: str) -> dict[str, Any] | None:
        sql = "SELECT value FROM settings WHERE namespace = ? AND key = ?"
        async with self._db.execute(sql, (namespace, key)) as cursor:
            row = await cursor.fetchone()
        return dict(json.loads(row[0])) if row else None

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


def _marker(path: Path) -> Path:
    """Written beside a store once it holds its tables: the store existed here."""
    return path.with_name(path.name + ".id")


def _check_place(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigurationError(
            f"the store's folder {path.parent} cannot be created or written "
            f"({error.strerror}); set DATA_DIR (or STORE_URL) to a folder the bot may write"
        ) from None
    gone = not path.exists() or path.stat().st_size == 0
    if gone and _marker(path).exists():
        raise ConfigurationError(
            f"the store {path} is empty or missing, but {_marker(path).name} says it held the "
            "bot's jobs: restore it from a backup; to start afresh with no jobs, delete "
            f"{_marker(path).name} as well"
        )


def _mark(path: Path) -> None:
    marker = _marker(path)
    if not marker.exists():
        marker.write_text(uuid.uuid4().hex + "\n", encoding="utf-8")


async def _check_sound(connection: aiosqlite.Connection, path: str | Path) -> None:
    async with connection.execute("PRAGMA quick_check") as cursor:
        answer = await cursor.fetchone()
    if answer is None or answer[0] != "ok":
        raise sqlite3.DatabaseError(f"quick_check: {answer[0] if answer else 'no answer'}")


def _unusable(path: str | Path, error: sqlite3.Error) -> ConfigurationError:
    return ConfigurationError(
        f"the store {path} cannot be used ({error}): if the file is damaged or cut short, "
        "restore it from a backup, or move it away to start afresh with no jobs; if its "
        "folder is read-only, set DATA_DIR to one the bot may write"
    )


async def _usage(db: aiosqlite.Connection, user: str, chat: str, day: str) -> Usage:
    base = "SELECT COALESCE(SUM(cost), 0) FROM jobs WHERE day = ? AND quota_state IN "
    counted, spent = base + "(?, ?)", base + "(?, ?, ?)"
    return Usage(
        user=float(await _scalar(db, counted + " AND user_key = ?", (day, *COUNTED, user)) or 0),
        chat=float(await _scalar(db, counted + " AND chat_key = ?", (day, *COUNTED, chat)) or 0),
        global_=float(await _scalar(db, spent, (day, *SPENT)) or 0),
    )


async def _scalar(db: aiosqlite.Connection, sql: str, values: tuple[Any, ...]) -> Any:
    async with db.execute(sql, values) as cursor:
        row = await cursor.fetchone()
    return row[0] if row else None


def _row(job: Job) -> tuple[Any, ...]:
    return (*indexed_fields(job), document(job))
