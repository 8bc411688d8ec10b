"""`imagine-bot run` on a Redis store: two runs share one queue and each job runs once; a
second process that would poll Telegram with the same bot token is refused in words."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from pathlib import Path

import pytest

from bot.simulator import Simulator, Timing
from tests.adapters.telegram.fake_api import FakeTelegram
from tests.adapters.telegram.harness import BOT_TOKEN
from tests.bot.test_recovery import delivered, environment, imagine
from tests.conftest import TOKEN, until

pytestmark = pytest.mark.timeout(120)


async def stop(process: asyncio.subprocess.Process) -> None:
    process.send_signal(signal.SIGTERM)
    _, err = await asyncio.wait_for(process.communicate(), timeout=20)
    assert process.returncode == 0, err.decode()[-2000:]


async def test_two_runs_on_one_redis_share_the_queue(
    tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    async with Simulator(frozenset({TOKEN}), Timing(run_mean=0.3)) as sim:
        env = environment(sim, tmp_path / "data")
        env |= {"STORE_URL": redis_url, "REDIS_KEY_PREFIX": redis_prefix}
        env |= {"MODELSCOPE_TOKEN_CONCURRENCY": "2", "QUEUE_USER_IN_FLIGHT": "2"}
        queued = await imagine("enqueue", "a lantern", "--count", "4", env=env, cwd=tmp_path)
        out, err = await queued.communicate()
        assert queued.returncode == 0, err.decode()
        job_ids = out.decode().split()

        # Each run writes its own events file, so the two never share one.
        places = [tmp_path / "one", tmp_path / "two"]
        runs = [await imagine("run", env=env | {"DATA_DIR": str(p)}, cwd=tmp_path) for p in places]

        def both() -> Counter[str]:
            return sum((delivered(p / "events.jsonl") for p in places), Counter())

        await until(lambda: sum(both().values()) >= 4, within=60)
        await asyncio.sleep(0.5)  # time for a second delivery, if there were one
        for run in runs:
            await stop(run)

    assert both() == Counter({job_id: 1 for job_id in job_ids})
    assert sim.stats.accepted == 4


async def test_a_second_telegram_poller_on_one_redis_is_refused(
    tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    api = FakeTelegram(BOT_TOKEN)
    await api.start()
    try:
        async with Simulator(frozenset({TOKEN})) as sim:
            env = environment(sim, tmp_path / "data")
            env |= {"STORE_URL": redis_url, "REDIS_KEY_PREFIX": redis_prefix}
            env |= {"TELEGRAM_BOT_TOKEN": BOT_TOKEN, "TELEGRAM_API_BASE_URL": f"{api.base}/bot"}
            first = await imagine("run", env=env, cwd=tmp_path)
            await api.wait_for("getMe", within=30)
            second = await imagine("run", env=env, cwd=tmp_path)
            _, refused = await asyncio.wait_for(second.communicate(), timeout=30)
            message = refused.decode()
            assert second.returncode == 3, message[-2000:]
            assert "'telegram-polling'" in message and "TELEGRAM_MODE=webhook" in message
            assert BOT_TOKEN not in message
            await stop(first)
    finally:
        await api.stop()
