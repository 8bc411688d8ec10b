"""A store that cannot be used stops `imagine-bot run` at once, in words, with exit code 3:
never a traceback, and never a silent start on an empty file that replaced a real one."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from bot.simulator import Simulator
from core.stores.sqlite import SqliteStore
from tests.bot.test_recovery import environment, imagine
from tests.conftest import TOKEN

pytestmark = pytest.mark.timeout(60)


async def garbage(data: Path) -> None:
    (data / "imagine.db").write_bytes(b"this is not a database, " * 100)


async def cut_short(data: Path) -> None:
    path = data / "imagine.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE filler (x TEXT)")
        db.executemany("INSERT INTO filler VALUES (?)", [("x" * 500,)] * 200)
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])


async def emptied(data: Path) -> None:
    """A store the bot used, emptied (a bad copy, a volume mixed up)."""
    store = await SqliteStore.open(data / "imagine.db")
    await store.close()
    (data / "imagine.db").write_bytes(b"")


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        (garbage, "cannot be used"),
        (cut_short, "cannot be used"),
        (emptied, "is empty or missing"),
    ],
    ids=["not-a-database", "cut-short", "empty"],
)
async def test_a_damaged_store_is_refused_in_words(
    tmp_path: Path, damage: Callable[[Path], Awaitable[None]], words: str
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    await damage(data)
    before = (data / "imagine.db").read_bytes()
    async with Simulator(frozenset({TOKEN})) as sim:
        code, err = await run_once(environment(sim, data), tmp_path)
    assert code == 3, err
    assert words in err and "Traceback" not in err
    assert (data / "imagine.db").read_bytes() == before  # left as it was found


async def test_a_data_dir_that_cannot_be_written_is_refused_in_words(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    async with Simulator(frozenset({TOKEN})) as sim:
        code, err = await run_once(environment(sim, blocker / "data"), tmp_path)
    assert code == 3, err
    assert "DATA_DIR" in err and "cannot write" in err and "Traceback" not in err


async def run_once(env: dict[str, str], cwd: Path) -> tuple[int, str]:
    process = await imagine("run", env=env, cwd=cwd)
    _, err = await asyncio.wait_for(process.communicate(), timeout=30)
    return process.returncode or 0, err.decode()
