"""The benchmarks' sizes per mode, and one run of all of them."""

from __future__ import annotations

import datetime
import os
import platform
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.delivery import DeliveryConfig, delivery
from bench.fairness import FairnessConfig, fairness
from bench.footprint import footprint
from bench.images import ImageConfig, images
from bench.replies import RepliesConfig, replies
from bench.responsiveness import LoadConfig, responsiveness
from bench.scale_out import ScaleConfig, scale_out
from bench.startup import StartupConfig, startup
from bench.throughput import ThroughputConfig, throughput


@dataclass(frozen=True)
class Mode:
    delivery: DeliveryConfig
    load: LoadConfig
    footprint_jobs: int
    images: ImageConfig
    throughput: ThroughputConfig
    fairness: FairnessConfig
    scale_out: ScaleConfig
    startup: StartupConfig
    replies: RepliesConfig


MODES = {
    "quick": Mode(
        DeliveryConfig(scale=0.1, tasks=45, warmup=10, slots=15),
        LoadConfig(jobs=1000, in_flight=200, users=200, probes=100),
        1000,
        ImageConfig(repeats=2, off_loop=50, on_loop=5),
        ThroughputConfig(jobs=300, users=50, slots=32),
        FairnessConfig(run_seconds=0.15, slots=2),
        ScaleConfig(jobs=60, workers=(1, 2)),  # the full mode adds 4 workers
        StartupConfig(runs=7),
        RepliesConfig(waiting=1000, in_flight=200, probes=50),
    ),
    "full": Mode(
        DeliveryConfig(scale=0.1, tasks=300, warmup=20, slots=15),
        LoadConfig(jobs=1000, in_flight=200, users=200, probes=500),
        1000,
        ImageConfig(repeats=10, off_loop=50, on_loop=10),
        ThroughputConfig(jobs=2000, users=100, slots=32),
        FairnessConfig(run_seconds=0.5, slots=2),
        ScaleConfig(jobs=400),
        StartupConfig(runs=15),
        RepliesConfig(waiting=1000, in_flight=200, probes=200),
    ),
    # The test suite's: every benchmark end to end in seconds, numbers not meaningful.
    "smoke": Mode(
        DeliveryConfig(scale=0.02, tasks=6, warmup=5, slots=6),
        LoadConfig(jobs=40, in_flight=10, users=10, probes=10),
        40,
        ImageConfig(repeats=1, off_loop=3, on_loop=1),
        ThroughputConfig(jobs=20, users=5, slots=8),
        FairnessConfig(run_seconds=0.05, slots=2),
        ScaleConfig(jobs=6, workers=(1, 2)),
        StartupConfig(runs=1),
        RepliesConfig(waiting=10, in_flight=5, probes=5),
    ),
}


def machine() -> dict[str, Any]:
    cpu = "?"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [line for line in cpuinfo.read_text().splitlines() if line.startswith("model name")]
        cpu = names[0].split(":", 1)[1].strip() if names else cpu
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
    }


async def timed(results: dict[str, Any], name: str, work: Awaitable[dict[str, Any]]) -> None:
    started = time.perf_counter()
    results[name] = await work
    results[name]["bench_seconds"] = round(time.perf_counter() - started, 1)


async def run_all(mode: Mode, name: str, command: str, workdir: Path) -> dict[str, Any]:
    started = time.perf_counter()
    results: dict[str, Any] = {}
    await timed(results, "delivery", delivery(mode.delivery, workdir / "delivery"))
    await timed(results, "responsiveness", responsiveness(mode.load, workdir / "load"))
    await timed(results, "footprint", footprint(mode.footprint_jobs))
    await timed(results, "images", images(mode.images))
    await timed(results, "throughput", throughput(mode.throughput, workdir / "throughput"))
    await timed(results, "fairness", fairness(mode.fairness, workdir / "fairness"))
    await timed(results, "scale_out", scale_out(mode.scale_out, workdir / "scale_out"))
    await timed(results, "startup", startup(mode.startup, _made(workdir / "startup")))
    await timed(results, "replies", replies(mode.replies, workdir / "replies"))
    return {
        "mode": name,
        "command": command,
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "seconds": round(time.perf_counter() - started, 1),
        "results": results,
    }


def _made(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder
