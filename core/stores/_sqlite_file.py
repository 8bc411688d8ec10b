"""Opening the SQLite file safely: the schema, WAL, and a word for every way the file can
be unusable (a folder the bot cannot write, a damaged or cut-short file, an emptied one)."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from pathlib import Path

import aiosqlite

from core.errors import ConfigurationError


async def open_connection(path: str | Path) -> aiosqlite.Connection:
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
    return connection


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
