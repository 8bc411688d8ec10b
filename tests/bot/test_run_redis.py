"""`imagine-bot run` on a Redis store: it delivers, and a second `run` on the same Redis is
refused rather than running the same jobs twice."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from core.simulator import Simulator, Timing
from tests.bot.test_recovery import delivered, environment, imagine, until
from tests.conftest import TOKEN

pytestmark = pytest.mark.timeout(120)


async def test_run_on_redis_delivers_and_a_second_run_is_refused(
    tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    async with Simulator(frozenset({TOKEN}), Timing(run_mean=0.3)) as sim:
        env = environment(sim, tmp_path / "data")
        env |= {"STORE_URL": redis_url, "REDIS_KEY_PREFIX": redis_prefix}
        queued = await imagine("enqueue", "a lantern", "--count", "2", env=env, cwd=tmp_path)
        out, err = await queued.communicate()
        assert queued.returncode == 0, err.decode()
        job_ids = out.decode().split()

        first = await imagine("run", env=env, cwd=tmp_path)
        events = tmp_path / "data" / "events.jsonl"
        await until(lambda: len(delivered(events)) == 2, within=60)
        second = await imagine("run", env=env, cwd=tmp_path)
        _, refused = await second.communicate()
        message = refused.decode()
        assert second.returncode == 3 and "already runs as 'runner'" in message, message[-1500:]
        first.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(first.wait(), timeout=20) == 0

    assert sorted(delivered(events)) == sorted(job_ids)
    assert sim.stats.accepted == 2
