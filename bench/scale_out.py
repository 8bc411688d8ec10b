"""Benchmark 7: jobs per second through 1, 2 and 4 `imagine-bot worker` processes sharing one
Redis queue, with a simulator whose tasks finish at once; ratios to one worker, one run.

Each round starts its workers, waits until every one answers /readyz, then queues the jobs
(terminal jobs, delivered to each worker's events file) and times from the first submit the
workers made to the last delivery, from the job rows themselves."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from adapters.cli.render import PLATFORM as CLI_PLATFORM
from bench import redis_server
from bench.common import TOKEN, open_policy, pipeline, request
from bot.simulator import Simulator, Timing
from core.jobs import Job
from core.modelscope import FixedInterval
from core.stores.redis import RedisStore, shared_backend

COMMAND = str(Path(sys.executable).with_name("imagine-bot"))


@dataclass(frozen=True)
class ScaleConfig:
    jobs: int
    workers: tuple[int, ...] = (1, 2, 4)
    slots: int = 64  # ModelScope slots (never the limit here)
    users: int = 50


async def scale_out(config: ScaleConfig, workdir: Path) -> dict[str, Any]:
    servers = redis_server.server_url(workdir / "redis")
    await asyncio.to_thread((workdir / "redis").mkdir, parents=True, exist_ok=True)
    url = next(servers)
    rounds: dict[str, dict[str, float]] = {}
    try:
        sim = Simulator(timing=Timing(run_mean=0.0), concurrency_per_token=10**6)
        async with sim:
            for count in config.workers:
                rounds[str(count)] = await one_round(sim, url, count, config, workdir)
    finally:
        servers.close()
    base = rounds[str(config.workers[0])]["jobs_per_second"]
    for row in rounds.values():
        row["vs_one_worker"] = round(row["jobs_per_second"] / base, 2)
    return {"config": config.__dict__, "cpus": os.cpu_count(), "workers": rounds}


async def one_round(
    sim: Simulator, url: str, count: int, config: ScaleConfig, workdir: Path
) -> dict[str, float]:
    prefix = redis_server.new_prefix()
    place = workdir / f"workers-{count}"
    try:
        async with workers(sim, url, prefix, count, config, place):
            jobs = await queue_and_wait(sim, url, prefix, config, place)
    finally:
        redis_server.delete_prefix(url, prefix)
    started = min(job.transitions["submitting"] for job in jobs)
    ended = max(job.delivered_at or 0.0 for job in jobs)
    return {"jobs_per_second": round(len(jobs) / (ended - started), 1)}


@contextlib.asynccontextmanager
async def workers(
    sim: Simulator, url: str, prefix: str, count: int, config: ScaleConfig, place: Path
) -> AsyncIterator[None]:
    ports = [redis_server.free_port() for _ in range(count)]
    processes = [
        await asyncio.create_subprocess_exec(
            COMMAND,
            "worker",
            env=worker_env(sim, url, prefix, config, place / f"w{i}", port),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        for i, port in enumerate(ports)
    ]
    try:
        await asyncio.gather(*(ready(port) for port in ports))
        yield
    finally:
        for process in processes:
            process.terminate()
        await asyncio.gather(*(process.wait() for process in processes))


def worker_env(
    sim: Simulator, url: str, prefix: str, config: ScaleConfig, data: Path, port: int
) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    return keep | {
        "MODELSCOPE_API_TOKEN": TOKEN,
        "MODELSCOPE_INFER_BASE": sim.base_url,
        "MODELSCOPE_DOWNLOAD_ALLOWED_HOSTS": "http://127.0.0.1:*",
        "MODELSCOPE_IMAGE_POLL_INTERVAL": "0.05",
        "MODELSCOPE_POLL_POLICY": "fixed",
        "MODELSCOPE_TOKEN_CONCURRENCY": str(min(config.slots, 16)),
        "STORE_URL": url,
        "REDIS_KEY_PREFIX": prefix,
        "DATA_DIR": str(data),
        "QUEUE_USER_IN_FLIGHT": "1000",
        "QUOTA_USER_DAILY": "none",
        "QUOTA_GLOBAL_DAILY": "none",
        "HEALTH_HOST": "127.0.0.1",
        "HEALTH_PORT": str(port),
        "PROGRESS_INTERVAL_SECONDS": "3600",
        "LOG_LEVEL": "WARNING",
    }


async def ready(port: int, within: float = 60.0) -> None:
    async with aiohttp.ClientSession() as http, asyncio.timeout(within):
        while True:
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"http://127.0.0.1:{port}/readyz") as answer:
                    if answer.status == 200:
                        return
            await asyncio.sleep(0.1)


async def queue_and_wait(
    sim: Simulator, url: str, prefix: str, config: ScaleConfig, place: Path
) -> list[Job]:
    """Queue the jobs from a gateway-like core of this process, then wait for the last."""
    store = await RedisStore.open(url, prefix)
    policy = open_policy()
    try:
        async with pipeline(
            sim.base_url,
            place / "gateway",
            lambda _: FixedInterval(1.0),
            1,
            policy,
            shared_backend(store),
            platforms=(CLI_PLATFORM,),  # the recorder hears the "queued" events
        ) as pipe:
            receipts = [
                await pipe.core.service.submit(request(i % config.users, platform=CLI_PLATFORM))
                for i in range(config.jobs)
            ]
            ids = [receipt.jobs[0].id for receipt in receipts]
            async with asyncio.timeout(600):
                while await store.client.zcard(store.key("open")):  # noqa: ASYNC110 - other processes
                    await asyncio.sleep(0.05)
            return await store.jobs(ids)
    finally:
        await store.close()
