"""Benchmark 2: with 1,000 jobs waiting or in flight, how fast `submit` and the queue view
answer, and how late the event loop runs (its lag), on the production poll policy."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import LoopLag, Pipeline, ms, percentile, pipeline
from bot.simulator import Simulator, Timing
from core.modelscope import AdaptivePolicy


@dataclass(frozen=True)
class LoadConfig:
    jobs: int  # waiting or in flight before the probes start
    in_flight: int  # of those, running on ModelScope (polled)
    users: int
    probes: int  # submits (and queue views) timed under that load


async def fill(pipe: Pipeline, config: LoadConfig) -> list[float]:
    took = []
    for index in range(config.jobs):
        started = time.perf_counter()
        await pipe.submit(index % config.users)
        took.append(time.perf_counter() - started)
    return took


async def probe(pipe: Pipeline, config: LoadConfig) -> tuple[list[float], list[float]]:
    submits, views = [], []
    for index in range(config.probes):
        # Half from users who have jobs waiting already (their new job queues last), half
        # from new users.
        user = index % config.users if index % 2 else config.users + index
        started = time.perf_counter()
        await pipe.submit(user)
        submits.append(time.perf_counter() - started)
        started = time.perf_counter()
        await pipe.core.service.queue_state(f"bench:{user}")
        views.append(time.perf_counter() - started)
        await asyncio.sleep(0.01)
    return submits, views


async def responsiveness(config: LoadConfig, workdir: Path) -> dict[str, Any]:
    sim = Simulator(timing=Timing(run_mean=3600.0), concurrency_per_token=10**6)
    async with sim, pipeline(sim.base_url, workdir, AdaptivePolicy, config.in_flight) as pipe:
        filling = await fill(pipe, config)
        await asyncio.sleep(3.5)  # every running task has been polled at least once
        async with LoopLag() as lag:
            submits, views = await probe(pipe, config)
        waiting, running = await pipe.waiting(), len(pipe.core.scheduler.in_flight())
    return {
        "config": config.__dict__,
        "waiting": waiting,
        "in_flight": running,
        "polls_during_run": sim.stats.polls,
        "fill_submit_p99_ms": ms(percentile(filling, 99)),
        "submit_p50_ms": ms(percentile(submits, 50)),
        "submit_p99_ms": ms(percentile(submits, 99)),
        "queue_view_p50_ms": ms(percentile(views, 50)),
        "queue_view_p99_ms": ms(percentile(views, 99)),
        "loop_lag_p99_ms": ms(percentile(lag.samples, 99)),
        "loop_lag_max_ms": ms(max(lag.samples, default=0.0)),
    }
