"""Two processes reserve at the same moment against one store: never past the limit."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import pytest

from core.stores.redis import RedisStore
from core.stores.sqlite import SqliteStore
from tests.core.stores.test_contract import DAY

ROOT = Path(__file__).resolve().parents[3]


async def reserve_in(url: str, prefix: str, name: str, start_at: float) -> int:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.core.stores.reserve",
        url,
        prefix,
        "40",
        name,
        str(start_at),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        out, _ = await asyncio.wait_for(process.communicate(), timeout=40)
    finally:
        if process.returncode is None:  # a hung child fails the test instead of hanging it
            process.kill()
            await process.wait()
    assert process.returncode == 0
    return int(out.decode().split()[-1])


@pytest.mark.parametrize("backend", ["redis", "sqlite"])
async def test_two_processes_never_spend_past_the_global_limit(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if backend == "redis":
        url, prefix = request.getfixturevalue("redis_url"), request.getfixturevalue("redis_prefix")
    else:
        url, prefix = f"sqlite:///{tmp_path / 'shared.db'}", ""
    start_at = time.time() + 2.0  # after both have started and opened the store
    accepted = await asyncio.gather(
        reserve_in(url, prefix, "a", start_at), reserve_in(url, prefix, "b", start_at)
    )
    assert sum(accepted) == 10, accepted
    store = (
        await RedisStore.open(url, prefix)
        if backend == "redis"
        else await SqliteStore.open(url.removeprefix("sqlite:///"))
    )
    assert (await store.usage("tg:a0", "tg:-100", DAY)).global_ == 10
    await store.close()
