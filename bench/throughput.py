"""Benchmark 5: jobs per second through the whole pipeline (submit, admit, POST, poll,
download, keep, deliver) with a simulator whose tasks finish at once."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import pipeline
from bot.simulator import Simulator, Timing
from core.modelscope import FixedInterval


@dataclass(frozen=True)
class ThroughputConfig:
    jobs: int
    users: int
    slots: int  # tasks in flight at once (ModelScope accounts x their concurrency)


async def throughput(config: ThroughputConfig, workdir: Path) -> dict[str, Any]:
    sim = Simulator(timing=Timing(run_mean=0.0), concurrency_per_token=10**6)
    workers_before = _children_cpu()
    async with (
        sim,
        pipeline(sim.base_url, workdir, lambda _: FixedInterval(0.05), config.slots) as pipe,
    ):
        started, cpu = time.perf_counter(), time.process_time()
        for index in range(config.jobs):
            await pipe.submit(index % config.users)
        await pipe.recorder.finished(config.jobs, within=600)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    workers = _children_cpu() - workers_before  # the image workers, ended with the pipeline
    return {
        "config": config.__dict__,
        "jobs_per_second": round(config.jobs / wall, 1),
        "cpu_ms_per_job": round(cpu / config.jobs * 1000, 2),
        "image_worker_cpu_ms_per_job": round(workers / config.jobs * 1000, 2),
        "polls_per_job": round(sim.stats.polls / config.jobs, 2),
    }


def _children_cpu() -> float:
    times = os.times()
    return times.children_user + times.children_system
