"""Benchmark 6: one user submits 50 jobs, then 10 users submit one each. How long the light
users wait against the heavy user, with our scheduler and with plain FIFO (same slots, same
per-user cap, same tasks; only the order of admission differs). The same for chat calls
(describe, enhance) in the `TextLane`: one user's 20 calls, then 5 users' one each, on one
token's chat slot; FIFO is the same lane with every call under one name."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import engine_config, mean, open_policy, pipeline
from bot.prompts_cli import text_lane
from bot.simulator import Simulator, Timing
from core.modelscope import ChatMessage, FixedInterval
from core.scheduling.fairqueue import FairQueue, _UserLine
from core.secret import Secret

HEAVY_JOBS, LIGHT_USERS = 50, 10
HEAVY_CALLS, LIGHT_CALLERS = 20, 5
CHAT_TOKEN = "ms-bench-chat-token"  # noqa: S105 - the simulator's
ASK = [ChatMessage("system", "Rewrite the prompt."), ChatMessage("user", "a paper crane")]


class FifoQueue(FairQueue):
    """The baseline: first come, first served, whoever asks."""

    def _rank(self, line: _UserLine) -> tuple[int, int]:
        return 0, self._arrival_of[line.jobs[0].id]


@dataclass(frozen=True)
class FairnessConfig:
    run_seconds: float  # every task takes this long
    slots: int
    answer_seconds: float = 0.05  # every chat call takes this long


async def scenario(fifo: bool, config: FairnessConfig, workdir: Path) -> dict[str, float]:
    sim = Simulator(timing=Timing(run_mean=config.run_seconds), concurrency_per_token=10**6)
    interval = config.run_seconds / 20
    policy = open_policy(user_in_flight=config.slots)
    line = FifoQueue() if fifo else None
    async with (
        sim,
        pipeline(
            sim.base_url,
            workdir,
            lambda _: FixedInterval(interval),
            config.slots,
            policy,
            line=line,
        ) as pipe,
    ):
        heavy = [(await pipe.submit(0)).id for _ in range(HEAVY_JOBS)]
        light = [(await pipe.submit(user)).id for user in range(1, LIGHT_USERS + 1)]
        await pipe.recorder.finished(HEAVY_JOBS + LIGHT_USERS, within=600)
    finals = pipe.recorder.finals

    def waits(ids: list[str]) -> list[float]:
        # From the request to its POST to ModelScope.
        jobs = [finals[job_id][0] for job_id in ids]
        return [j.transitions["submitting"] - j.created_at for j in jobs]

    light_waits, heavy_waits = waits(light), waits(heavy)
    return {
        "light_mean_wait_s": round(mean(light_waits), 2),
        "light_max_wait_s": round(max(light_waits), 2),
        "heavy_mean_wait_s": round(mean(heavy_waits), 2),
        "light_vs_heavy": round(mean(light_waits) / mean(heavy_waits), 3),
    }


async def chat_scenario(fifo: bool, config: FairnessConfig, workdir: Path) -> dict[str, float]:
    async with Simulator(frozenset({CHAT_TOKEN})) as sim:
        sim.chat.answer_seconds = config.answer_seconds
        token = Secret(CHAT_TOKEN, "token#1")
        async with text_lane(engine_config(sim.base_url, token, 1.0, workdir)) as lane:

            async def waited(user: str) -> float:
                started = time.perf_counter()
                await lane.call("everyone" if fifo else user, "Qwen/Qwen3-32B", ASK)
                return time.perf_counter() - started

            heavy = [asyncio.create_task(waited("heavy")) for _ in range(HEAVY_CALLS)]
            await asyncio.sleep(0)  # the heavy user's calls are in line first
            light = [waited(f"light{i}") for i in range(LIGHT_CALLERS)]
            light_waits = await asyncio.gather(*light)
            heavy_waits = await asyncio.gather(*heavy)
    return {
        "light_mean_wait_s": round(mean(light_waits), 3),
        "heavy_mean_wait_s": round(mean(heavy_waits), 3),
        "light_vs_heavy": round(mean(light_waits) / mean(heavy_waits), 3),
    }


async def fairness(config: FairnessConfig, workdir: Path) -> dict[str, Any]:
    ours = await scenario(False, config, workdir / "fair")
    fifo = await scenario(True, config, workdir / "fifo")
    chat_ours = await chat_scenario(False, config, workdir / "chat")
    chat_fifo = await chat_scenario(True, config, workdir / "chat")
    return {
        "config": config.__dict__,
        "fair_queue": ours,
        "fifo": fifo,
        "light_wait_fair_vs_fifo": round(ours["light_mean_wait_s"] / fifo["light_mean_wait_s"], 3),
        "chat": {
            "fair_lane": chat_ours,
            "fifo": chat_fifo,
            "light_wait_fair_vs_fifo": round(
                chat_ours["light_mean_wait_s"] / chat_fifo["light_mean_wait_s"], 3
            ),
        },
    }
