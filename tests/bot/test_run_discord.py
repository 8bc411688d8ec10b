"""`imagine-bot run` with Discord configured: a real process, the fake Discord, the simulator."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from bot.simulator import Simulator, Timing
from tests.adapters.discord.fake_discord import FakeDiscord
from tests.adapters.discord.harness import BOT_TOKEN
from tests.adapters.discord.payloads import GUILD, options
from tests.bot.test_recovery import COMMAND, environment
from tests.conftest import TOKEN

pytestmark = pytest.mark.timeout(90)


async def test_run_serves_discord_and_never_logs_a_token(tmp_path: Path) -> None:
    fake = FakeDiscord(BOT_TOKEN)
    await fake.start()
    try:
        async with Simulator(frozenset({TOKEN}), Timing(run_mean=0.3)) as sim:
            env = {
                **environment(sim, tmp_path / "data"),
                "DISCORD_BOT_TOKEN": BOT_TOKEN,
                "DISCORD_API_BASE_URL": fake.api_url,
                "DISCORD_GATEWAY_URL": fake.gateway_url,
                "DISCORD_DEV_GUILD_ID": str(GUILD),
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
            (synced,) = await fake.wait_for("sync_guild", within=30)
            sent = await fake.command("imagine", options=options(prompt="a lantern on the sea"))
            await fake.wait_until(lambda: bool(fake.original(sent["token"]).get("attachments")), 30)
            process.send_signal(signal.SIGTERM)
            out, err = await asyncio.wait_for(process.communicate(), timeout=30)
            assert process.returncode == 0, err.decode()[-2000:]
    finally:
        await fake.stop()
    assert synced.path.endswith(f"/guilds/{GUILD}/commands")
    logs = out.decode() + err.decode()
    assert "modelscope POST v1/images/generations -> 200" in logs
    assert BOT_TOKEN not in logs and TOKEN not in logs
    for line in logs.splitlines():
        assert sent["token"] not in line, line[:3000]
    assert "/webhooks/" in logs  # discord.py did log those URLs, masked
