"""Where Pillow work runs: a small pool of worker processes, off the event loop.

Threads are not enough: Pillow holds the GIL for tens of milliseconds at a time while it
decodes and re-encodes a 2048px image, so with fits running in threads the event loop lagged
100 ms at p99 (bench/, 50 images); in a process pool it lags about 1 ms. The pool starts on
first use (with `spawn`: forking a process that runs threads is unsafe), and takes work as
picklable top-level functions with picklable arguments. Workers die with the bot (Linux).
One `ImageWorkers` is made by the composition root and handed to whoever needs it.
"""

from __future__ import annotations

import asyncio
import ctypes
import io
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

from PIL import Image

from core.errors import BadInputImage, DownloadError
from core.images.processing import (
    FitRules,
    FittedImage,
    ImageInfo,
    fit_image,
    inspect_image,
    lossless_webp,
)
from core.images.processing import to_data_uri as _to_data_uri

T = TypeVar("T")
PR_SET_PDEATHSIG = 1


class ImageWorkers:
    """`workers` processes (IMAGE_WORKERS, 1..32) do the image work."""

    def __init__(self, workers: int = 1) -> None:
        if not 1 <= workers <= 32:
            raise ValueError("image workers must be 1..32")
        self._workers = workers
        self._pool: ProcessPoolExecutor | None = None

    async def run(self, work: Callable[..., T], *args: object) -> T:
        """`work(*args)` in a worker process; a pool whose worker died (say, killed for
        memory) is replaced once."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor(), work, *args)
        except BrokenProcessPool:
            self.close()
            return await loop.run_in_executor(self._executor(), work, *args)

    async def fit(self, data: bytes, rules: FitRules) -> FittedImage:
        """The image within a chat's limits (core.images.processing.fit_image)."""
        return await self.run(fit_image, data, rules)

    async def lossless(self, data: bytes) -> bytes:
        """The image's pixels, unchanged, as a (smaller) lossless WebP."""
        return await self.run(lossless_webp, data)

    async def inspect(self, data: bytes) -> ImageInfo:
        """A checked image's format and size, or a `DownloadError`."""
        return await self.run(inspect_image, data)

    async def data_uri(self, data: bytes) -> str:
        """An input image as a data URI for ModelScope (never a platform's file URL), or
        `BadInputImage` when it is no picture we can use."""
        try:
            return await self.run(_to_data_uri, data)
        except DownloadError as error:
            raise BadInputImage(error.reason) from None

    def start(self) -> None:
        """Create the pool now (its processes start at their first work; see `warm`)."""
        self._executor()

    async def warm(self) -> None:
        """Start every worker process now, with Pillow imported, so the first image after a
        start does not wait a second for them."""
        await asyncio.gather(*(self.run(_ready) for _ in range(self._workers)))

    @property
    def running(self) -> int:
        """Worker processes alive now."""
        return len(getattr(self._pool, "_processes", None) or {})

    def close(self) -> None:
        """Stop the worker processes (they start again on the next use)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(
                self._workers, context, initializer=_detach, initargs=(os.getpid(),)
            )
        return self._pool


def _detach(bot: int) -> None:
    """In each worker: let go of the bot's stdout and stderr, so whoever reads them sees
    them close when the bot ends, and die with the bot (Linux) even when it is killed,
    including a bot killed while this worker was still starting (it ends at once)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (1, 2):
        os.dup2(devnull, stream)
    os.close(devnull)
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != bot:  # the bot died before the signal was asked for
            os._exit(0)


def _ready() -> None:
    """A worker's first work: Pillow imported (unpickling this imports the module) and its
    plugins loaded, by checking a picture of one pixel, as every image is checked."""
    buffer = io.BytesIO()
    Image.new("RGB", (1, 1)).save(buffer, "PNG")
    inspect_image(buffer.getvalue())
