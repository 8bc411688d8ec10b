"""Image work runs in a worker process, and its errors come back whole."""

from __future__ import annotations

import os
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
