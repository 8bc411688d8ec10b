"""`imagine-bot doctor` against the simulator, the fake Telegram and the fake Discord."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.simulator import Simulator
from tests.adapters.discord.fake_discord import FakeDiscord
from tests.adapters.discord.harness import BOT_TOKEN as DISCORD_TOKEN
from tests.adapters.telegram.fake_api import FakeTelegram
from tests.adapters.telegram.harness import BOT_TOKEN as TELEGRAM_TOKEN
from tests.bot.test_recovery import environment, imagine
from tests.conftest import FAST_TIMING, OTHER_TOKEN, TOKEN

pytestmark = pytest.mark.timeout(60)


async def test_doctor_names_each_problem_and_its_fix(tmp_path: Path) -> None:
    telegram, discord = FakeTelegram(TELEGRAM_TOKEN), FakeDiscord(DISCORD_TOKEN)
    await telegram.start()
    await discord.start()
    try:
        async with Simulator(frozenset({TOKEN}), FAST_TIMING) as sim:
            env = {
                **environment(sim, tmp_path / "data"),
                "MODELSCOPE_API_TOKEN": f"{TOKEN},{OTHER_TOKEN}",  # the simulator knows one
                "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
                "TELEGRAM_API_BASE_URL": f"{telegram.base}/bot",
                "DISCORD_BOT_TOKEN": "not-the-right-token",
                "DISCORD_API_BASE_URL": discord.api_url,
                "MODELSCOPE_VISION_MODEL": "Qwen/Qwen-VL-Retired",  # not served any more
            }
            sick = await imagine("doctor", env=env, cwd=tmp_path)
            out, err = await sick.communicate()
            env.update(MODELSCOPE_API_TOKEN=TOKEN, DISCORD_BOT_TOKEN=DISCORD_TOKEN)
            env.pop("MODELSCOPE_VISION_MODEL")
            well = await imagine("doctor", "--lang", "zh", env=env, cwd=tmp_path)
            well_out, _ = await well.communicate()
            submits = sim.stats.submits
    finally:
        await telegram.stop()
        await discord.stop()
    report = out.decode()
    assert sick.returncode == 1, err.decode()
    assert "✓ ModelScope token#1: accepted." in report
    assert "✗ ModelScope token#2: rejected" in report and "bind an Alibaba Cloud" in report
    assert "✓ ModelScope token#1: 200 Magicubes available of 200 (0 held by running" in report
    assert "✓ ModelScope token#2: the balance could not be read" in report  # said, not judged
    assert "✓ Telegram: the token belongs to @ImagineTestBot." in report
    assert "✗ Discord: DISCORD_BOT_TOKEN is rejected. Reset it" in report
    assert "✓ ModelScope serves Qwen/Qwen3.5-35B-A3B (enhancing and translating prompts)." in report
    assert (
        "✗ MODELSCOPE_VISION_MODEL: ModelScope does not serve Qwen/Qwen-VL-Retired now, so "
        "/describe will fail." in report
    )
    assert "see the lines marked ✗" in err.decode()
    for secret in (TOKEN, OTHER_TOKEN, TELEGRAM_TOKEN):
        assert secret not in report + err.decode()
    assert well.returncode == 0
    assert "✓ Discord：令牌属于 imagine。" in well_out.decode()
    assert "ModelScope token#1：可用额度 200（共 200" in well_out.decode()
    assert "✓ ModelScope 提供 Qwen/Qwen3-VL-235B-A22B-Instruct（/describe 图片描述）。" in (
        well_out.decode()
    )
    assert submits == 0  # a check never starts a task
