"""`imagine-bot describe` and `generate --enhance`: a real subprocess against the simulator's
chat endpoint on loopback."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image

from bot.simulator import Fault, Simulator, Timing
from tests.bot.test_cli import cli, sim_env
from tests.conftest import TOKEN


@pytest.fixture
async def chat_sim() -> AsyncIterator[Simulator]:
    async with Simulator(frozenset({TOKEN}), Timing(queue_mean=0.05, run_mean=0.2)) as server:
        yield server


def a_picture(path: Path) -> Path:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 200)).save(buffer, "PNG")
    path.write_bytes(buffer.getvalue())
    return path


async def test_describe_prints_four_prompts_and_their_translations(
    chat_sim: Simulator, tmp_path: Path
) -> None:
    a_picture(tmp_path / "in.png")
    run = await cli(
        "describe", "in.png", "--lang", "zh", cwd=tmp_path, env=sim_env(chat_sim, tmp_path)
    )
    assert run.code == 0, run.err
    prompts = run.out.splitlines()
    assert len(prompts) == 4 and all(p.startswith("A ") for p in prompts)
    assert f"  1：（译）{prompts[0]}" in run.err.splitlines()
    assert chat_sim.chat.calls[0].images == ("data",)
    assert TOKEN not in run.out + run.err


async def test_describe_says_what_failed_in_words(chat_sim: Simulator, tmp_path: Path) -> None:
    a_picture(tmp_path / "in.png")
    chat_sim.faults.add(Fault("chat", "refusal"))
    run = await cli("describe", "in.png", cwd=tmp_path, env=sim_env(chat_sim, tmp_path))
    assert run.code == 1 and run.out == ""
    assert "ModelScope's content check refused this: Input data may contain" in run.err
    missing = await cli("describe", "nowhere.png", cwd=tmp_path, env=sim_env(chat_sim, tmp_path))
    assert missing.code == 2 and "nowhere.png" in missing.err


async def test_generate_enhances_and_translates_before_drawing(
    chat_sim: Simulator, tmp_path: Path
) -> None:
    env = sim_env(chat_sim, tmp_path)
    run = await cli("generate", "一只猫在雪下", "--model", "majicflus", cwd=tmp_path, env=env)
    assert run.code == 0, run.err
    assert "Prompt rewritten: a cat in snow under\n  (you wrote: 一只猫在雪下)" in run.err
    enhanced = await cli("generate", "a teapot", "--enhance", cwd=tmp_path, env=env)
    assert enhanced.code == 0, enhanced.err
    prompts = [task.body["prompt"] for task in chat_sim.tasks.values()]
    assert prompts[0] == "a cat in snow under"
    assert prompts[1].startswith("a teapot, intricate detail")
