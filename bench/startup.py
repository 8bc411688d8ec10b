"""Benchmark 9: start-up. How long `imagine-bot enqueue` takes next to bare Python, which
chat SDKs a process that serves no chat imports, and the first image after a start next to
the second, with the image workers started at the first image (cold) or with the bot
(warmed, as `imagine-bot run` does). Every figure is a ratio within this run."""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.simulator.render import render_png
from core.images import FitRules, ImageWorkers

COMMAND = str(Path(sys.executable).with_name("imagine-bot"))
SDKS = ("telegram", "discord", "redis")
SDK_PROBE = "import sys, bot.cli; print(' '.join(m for m in {sdks} if m in sys.modules))"


@dataclass(frozen=True)
class StartupConfig:
    runs: int = 7  # of each command; the median is reported


async def startup(config: StartupConfig, workdir: Path) -> dict[str, Any]:
    bare = await _median_seconds([sys.executable, "-c", "pass"], config.runs, workdir)
    enqueue = await _median_seconds([COMMAND, "enqueue", "a cat"], config.runs, workdir)
    cold = await _first_image(warmed=False, runs=config.runs)
    warm = await _first_image(warmed=True, runs=config.runs)
    return {
        "config": {"runs": config.runs},
        "bare_python_s": round(bare, 3),
        "enqueue_s": round(enqueue, 3),
        "enqueue_vs_bare_python": round(enqueue / bare, 1),
        "sdks_imported_by_the_cli": await _sdks_imported(),
        "first_image_cold": cold,
        "first_image_warmed": warm,
    }


async def _median_seconds(argv: list[str], runs: int, workdir: Path) -> float:
    times = []
    for run in range(runs):
        data = workdir / f"data-{run}"  # a fresh store each time: nothing waits in line
        env = {**_clean_env(), "DATA_DIR": str(data), "MODELSCOPE_API_TOKEN": "ms-bench"}
        started = time.perf_counter()
        process = await asyncio.create_subprocess_exec(
            *argv,
            env=env,
            cwd=workdir,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        if await process.wait() != 0:
            raise RuntimeError(f"{argv[0]} failed")
        times.append(time.perf_counter() - started)
    return statistics.median(times)


async def _sdks_imported() -> list[str]:
    probe = SDK_PROBE.format(sdks=SDKS)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", probe, env=_clean_env(), stdout=asyncio.subprocess.PIPE
    )
    out, _ = await process.communicate()
    return out.decode().split()


async def _first_image(*, warmed: bool, runs: int) -> dict[str, float]:
    """The first and the second image's fit after a start, medians over `runs` starts (a
    fit takes milliseconds: one start alone would be noise)."""
    data = render_png("a lighthouse", 1, 1024, 1024)
    firsts, seconds = [], []
    for _ in range(runs):
        first, second = await _two_fits(data, warmed)
        firsts.append(first)
        seconds.append(second)
    first, second = statistics.median(firsts), statistics.median(seconds)
    return {
        "first_s": round(first, 3),
        "second_s": round(second, 3),
        "first_vs_second": round(first / second, 1),
    }


async def _two_fits(data: bytes, warmed: bool) -> tuple[float, float]:
    rules = FitRules(max_bytes=10 * 1024 * 1024)
    workers = ImageWorkers(1)
    try:
        if warmed:
            await workers.warm()
        seconds = []
        for _ in range(2):
            started = time.perf_counter()
            await workers.fit(data, rules)
            seconds.append(time.perf_counter() - started)
    finally:
        await asyncio.to_thread(workers.close)
    return seconds[0], seconds[1]


def _clean_env() -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "PYTHONPATH")
    return {**{k: v for k, v in os.environ.items() if k in keep}, "HEALTH_PORT": "none"}
