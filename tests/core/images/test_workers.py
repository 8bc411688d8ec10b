"""Image work runs in a worker process, and its errors come back whole."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Iterator

import pytest

from bot.simulator.render import render_png
from core.errors import DownloadError
from core.images.processing import FitRules, fit_image
from core.images.workers import ImageWorkers


@pytest.fixture
def images() -> Iterator[ImageWorkers]:
    workers = ImageWorkers(1)
    yield workers
    workers.close()


async def test_work_runs_in_another_process_and_gives_the_same_answer(
    images: ImageWorkers,
) -> None:
    data = render_png("a red fox", 1, 512, 512)
    assert await images.run(os.getpid) != os.getpid()
    fitted = await images.fit(data, FitRules(max_bytes=64 * 1024))
    assert fitted == fit_image(data, FitRules(max_bytes=64 * 1024))


async def test_a_download_error_comes_back_with_its_fields(images: ImageWorkers) -> None:
    with pytest.raises(DownloadError) as raised:
        await images.inspect(b"not an image")
    assert (raised.value.reason, raised.value.detail) == ("not_image", "UnidentifiedImageError")
    assert raised.value.url_host == ""


def test_the_number_of_workers_is_checked() -> None:
    with pytest.raises(ValueError, match=r"1\.\.32"):
        ImageWorkers(0)


async def test_warming_starts_every_worker_before_the_first_image() -> None:
    workers = ImageWorkers(2)
    try:
        assert workers.running == 0  # nothing runs until asked
        await workers.warm()
        assert workers.running == 2
    finally:
        workers.close()
    assert workers.running == 0


BOT_KILLED_WHILE_WORKERS_START = """
import asyncio, sys
from core.images.workers import ImageWorkers

async def main():
    workers = ImageWorkers(2)
    asyncio.get_running_loop().create_task(workers.warm())
    await asyncio.sleep(0.2)  # the workers are spawned, still importing
    print("spawned", flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""


async def test_workers_of_a_bot_killed_while_they_start_end_with_it() -> None:
    """A worker still starting when the bot is SIGKILLed ends too, rather than living on
    holding the bot's stdout (whoever reads it would wait forever)."""
    bot = await asyncio.create_subprocess_exec(
        sys.executable, "-c", BOT_KILLED_WHILE_WORKERS_START, stdout=asyncio.subprocess.PIPE
    )
    assert bot.stdout is not None
    assert await bot.stdout.readline() == b"spawned\n"
    bot.send_signal(signal.SIGKILL)
    async with asyncio.timeout(60):
        assert await bot.stdout.read() == b""  # every holder of the pipe is gone
    assert await bot.wait() == -signal.SIGKILL
