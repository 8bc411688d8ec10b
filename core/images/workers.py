"""Where Pillow work runs: a small pool of worker processes, off the event loop.

Threads are not enough: Pillow holds the GIL for tens of milliseconds at a time while it
decodes and re-encodes a 2048px image, so with fits running in threads the event loop lagged
100 ms at p99 (bench/, 50 images); in a process pool it lags about 1 ms. The pool starts on
first use (with `spawn`: forking a process that runs threads is unsafe), and takes work as
picklable top-level functions with picklable arguments. Workers die with the bot (Linux).
"""

from __future__ import annotations

import asyncio
import ctypes
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

T = TypeVar("T")
PR_SET_PDEATHSIG = 1

_settings = {"workers": 1}
_pool: list[ProcessPoolExecutor] = []


def configure(workers: int) -> None:
    """How many processes do image work (IMAGE_WORKERS); takes effect at the next start."""
    if not 1 <= workers <= 32:
        raise ValueError("image workers must be 1..32")
    _settings["workers"] = workers
    shutdown()


async def off_loop(work: Callable[..., T], *args: object) -> T:
    """`work(*args)` in an image worker process; a pool whose worker died (say, killed for
    memory) is replaced once."""
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(_executor(), work, *args)
    except BrokenProcessPool:
        shutdown()
        return await loop.run_in_executor(_executor(), work, *args)


def shutdown() -> None:
    """Stop the worker processes (they start again on the next use)."""
    while _pool:
        _pool.pop().shutdown(wait=True, cancel_futures=True)


def _executor() -> ProcessPoolExecutor:
    if not _pool:
        context = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(_settings["workers"], context, initializer=_detach)
        _pool.append(pool)
    return _pool[0]


def _detach() -> None:
    """In each worker: let go of the bot's stdout and stderr, so whoever reads them sees
    them close when the bot ends, and die with the bot (Linux) even when it is killed."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (1, 2):
        os.dup2(devnull, stream)
    os.close(devnull)
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
