"""Benchmark 4: fitting a 2048x2048 PNG to a 10 MB and a 1 MB budget (per image), and the
event loop's lag while 50 images are fitted the way the adapters do it (`core.images.ImageWorkers`,
a worker process), against a thread pool (`asyncio.to_thread`) and the loop itself. And the
CPU the images of one job cost (the check of the download, then the fit for Telegram, which
the image passes as it is), with the check as it is against a full decode, as it was."""

from __future__ import annotations

import asyncio
import io
import time
from dataclasses import dataclass
from typing import Any

from PIL import Image

from bench.common import LoopLag, median, ms, percentile
from bot.simulator.render import render_png
from core.images import ImageWorkers
from core.images.processing import FitRules, fit_image, inspect_image

MIB = 1024 * 1024
PICTURES = {"photo-like": 24, "noisy": 120}  # grain: the noisy one is above 10 MB as a PNG
BUDGETS = {"10MB": 10 * MIB, "1MB": 1 * MIB}


@dataclass(frozen=True)
class ImageConfig:
    repeats: int  # timed fits per picture and budget
    off_loop: int  # images fitted in threads while the loop's lag is measured
    on_loop: int  # images fitted on the loop, the baseline


def timed_fits(data: bytes, budget: int, repeats: int) -> dict[str, Any]:
    took, fitted = [], data
    for _ in range(repeats):
        started = time.perf_counter()
        fitted = fit_image(data, FitRules(max_bytes=budget)).data
        took.append(time.perf_counter() - started)
    return {"median_ms": ms(median(took)), "output_mib": round(len(fitted) / MIB, 2)}


async def lag_while(fits: int, data: bytes, where: str) -> dict[str, float]:
    rules = FitRules(max_bytes=BUDGETS["1MB"])
    images = ImageWorkers()
    await images.fit(data, rules)  # the worker process is up before timing
    started = time.perf_counter()
    async with LoopLag() as lag:
        if where == "process":
            await asyncio.gather(*(images.fit(data, rules) for _ in range(fits)))
        elif where == "threads":
            await asyncio.gather(*(asyncio.to_thread(fit_image, data, rules) for _ in range(fits)))
        else:
            for _ in range(fits):
                await asyncio.sleep(0.01)
                fit_image(data, rules)
    return {
        "images": fits,
        "wall_s": round(time.perf_counter() - started, 2),
        "loop_lag_p99_ms": ms(percentile(lag.samples, 99)),
        "loop_lag_max_ms": ms(max(lag.samples, default=0.0)),
    }


def full_decode_check(data: bytes) -> None:
    """How every image was checked before issue 18: verified, then decoded in full."""
    with Image.open(io.BytesIO(data)) as probe:
        probe.verify()
    with Image.open(io.BytesIO(data)) as image:
        image.load()


def job_images_before(data: bytes) -> None:
    full_decode_check(data)  # the download's check
    full_decode_check(data)  # the fit's own check; the image then fits as it is


def job_images_now(data: bytes) -> None:
    inspect_image(data)
    fit_image(data, FitRules(max_bytes=10 * MIB))


def cpu_ms_per_job(data: bytes, repeats: int) -> dict[str, float]:
    """Process CPU per job of each way, in one run, the same picture (a 1024x1024 output)."""
    took = {}
    for name, work in (("before", job_images_before), ("now", job_images_now)):
        started = time.process_time()
        for _ in range(repeats):
            work(data)
        took[name] = ms((time.process_time() - started) / repeats)
    return {**took, "now_vs_before": round(took["now"] / took["before"], 3)}


async def images(config: ImageConfig) -> dict[str, Any]:
    pictures = {
        name: await asyncio.to_thread(render_png, "a red fox", 1, 2048, 2048, grain)
        for name, grain in PICTURES.items()
    }
    fits: dict[str, Any] = {}
    for name, data in pictures.items():
        fits[name] = {"input_mib": round(len(data) / MIB, 2)}
        for label, budget in BUDGETS.items():
            fits[name][label] = await asyncio.to_thread(timed_fits, data, budget, config.repeats)
    photo = pictures["photo-like"]
    return {
        "fit_2048_png": fits,
        "worker_process": await lag_while(config.off_loop, photo, "process"),
        "thread_pool": await lag_while(config.off_loop, photo, "threads"),
        "on_the_loop": await lag_while(config.on_loop, photo, "loop"),
        "image_cpu_per_job": cpu_ms_per_job(
            await asyncio.to_thread(render_png, "a red fox", 1, 1024, 1024), config.repeats * 4
        ),
    }
