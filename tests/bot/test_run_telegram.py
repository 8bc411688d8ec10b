"""`imagine-bot run` with Telegram configured: a real process, the fake Bot API, the simulator."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from bot.simulator import Simulator, Timing
from tests.adapters.telegram.fake_api import FakeTelegram
from tests.adapters.telegram.harness import ALICE, BOT_TOKEN
from tests.bot.test_recovery import COMMAND, environment
from tests.conftest import TOKEN

pytestmark = pytest.mark.timeout(90)


async def test_run_serves_telegram_and_never_logs_a_token(tmp_path: Path) -> None:
    api = FakeTelegram(BOT_TOKEN)
    await api.start()
    try:
        async with Simulator(frozenset({TOKEN}), Timing(run_mean=0.3)) as sim:
            env = {
                **environment(sim, tmp_path / "data"),
                "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
                "TELEGRAM_API_BASE_URL": f"{api.base}/bot",
                "LOG_LEVEL": "DEBUG",
            }
            process = await asyncio.create_subprocess_exec(
                COMMAND,
                "run",
                env=env,
                cwd=tmp_path,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            await api.wait_for("getMe", within=30)
            api.push(api.command(ALICE, ALICE, "/imagine a lantern on the sea"))
            (photo,) = await api.wait_for("sendPhoto", within=30)
            assert photo.params["caption"].startswith("a lantern on the sea")
            process.send_signal(signal.SIGTERM)
            out, err = await asyncio.wait_for(process.communicate(), timeout=30)
            assert process.returncode == 0, err.decode()[-2000:]
    finally:
        await api.stop()
    logs = out.decode() + err.decode()
    assert "modelscope POST v1/images/generations -> 200" in logs
    assert BOT_TOKEN not in logs and TOKEN not in logs
    assert "***" in logs  # the library did try to log its token URL, and it was masked
