"""Run by bench.footprint in a fresh process: the core and both chat adapters loaded (built,
not connected), then `jobs` jobs in flight on the simulator at `base_url`. Prints JSON."""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import tempfile
from pathlib import Path

from adapters.discord.config import DiscordConfig
from adapters.discord.lifecycle import DiscordAdapter
from adapters.telegram.config import TelegramConfig
from adapters.telegram.lifecycle import TelegramAdapter
from bench.common import pipeline, rss_bytes
from core.delivery import load_translator
from core.images import ImageWorkers
from core.modelscope import AdaptivePolicy
from core.secret import Secret


async def settled_rss() -> int:
    gc.collect()
    await asyncio.sleep(0.5)
    return rss_bytes()


async def measure(base_url: str, jobs: int, workdir: Path) -> dict[str, int]:
    async with pipeline(base_url, workdir, AdaptivePolicy, slots=jobs) as pipe:
        translator = load_translator()
        core, images = pipe.core, ImageWorkers()
        telegram = TelegramAdapter(TelegramConfig(Secret("123456:bench")), translator, images)
        discord = DiscordAdapter(DiscordConfig(Secret("bench")), translator, core.clock, images)
        for adapter in (telegram, discord):
            adapter.handle(core.service, core.admin)
        idle = await settled_rss()
        for index in range(jobs):
            await pipe.submit(index)
        for _ in range(600):
            if len(pipe.core.scheduler.in_flight()) >= jobs:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(3.5)  # each task polled at least once (the fallback interval is 3 s)
        loaded = await settled_rss()
        del telegram, discord  # kept alive until measured
        return {"idle_rss": idle, "loaded_rss": loaded, "in_flight": jobs}


def main() -> None:
    base_url, jobs = sys.argv[1], int(sys.argv[2])
    with tempfile.TemporaryDirectory() as workdir:
        print(json.dumps(asyncio.run(measure(base_url, jobs, Path(workdir)))))


if __name__ == "__main__":
    main()
