"""`imagine-bot run` with Telegram configured: a real process, the fake Bot API, the simulator."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import aiohttp
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


async def test_a_rejected_token_is_said_at_once_to_users_admins_and_readyz(
    tmp_path: Path, unused_tcp_port: int
) -> None:
    api = FakeTelegram(BOT_TOKEN)
    await api.start()
    admin = 5151
    try:
        async with Simulator(frozenset({TOKEN}), Timing(run_mean=0.3)) as sim:
            env = {
                **environment(sim, tmp_path / "data"),
                "MODELSCOPE_API_TOKEN": "ms-not-a-token-modelscope-knows",
                "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
                "TELEGRAM_API_BASE_URL": f"{api.base}/bot",
                "BOT_ADMIN_IDS": f"telegram:{admin}",
                "HEALTH_PORT": str(unused_tcp_port),
            }
            process = await asyncio.create_subprocess_exec(
                COMMAND, "run", env=env, cwd=tmp_path, stderr=asyncio.subprocess.PIPE
            )
            told = await api.wait_text("sendMessage", "imagine-bot can't make images", within=30)
            assert told.params["chat_id"] == str(admin)
            async with aiohttp.ClientSession() as http:
                url = f"http://127.0.0.1:{unused_tcp_port}/readyz"
                async with http.get(url) as ready:
                    assert ready.status == 503
                    assert (await ready.json())["checks"]["modelscope_tokens"] is False
            api.push(api.command(ALICE, ALICE, "/imagine a lantern on the sea"))
            await api.wait_text("editMessageText", "The bot can't make images right now", 30)
            assert sim.stats.submits == 0
            process.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(process.communicate(), timeout=30)
            assert process.returncode == 0, err.decode()[-2000:]
    finally:
        await api.stop()
    assert "ms-not-a-token" not in err.decode()
