"""Benchmark 7: jobs per second through 1, 2 and 4 `imagine-bot worker` processes sharing one
Redis queue; ratios to one worker, one run. Two series: tasks that finish at once (the
workers' CPU is the limit, so on a small machine this measures contention, not scaling), and
tasks that wait on ModelScope (`io_run_seconds`) with `io_worker_jobs` jobs a worker (a
worker's job slots are the limit, as with real tasks of 10-60 s). Each round also reports
what predicts scaling on a bigger machine: CPU per job of each process role, and Redis
commands and round trips (read events) per job.

Each round starts its workers, waits until every one answers /readyz, then queues the jobs
(terminal jobs, delivered to each worker's events file) and times from the first submit the
workers made to the last delivery, from the job rows themselves."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from redis.asyncio import Redis

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
    io_run_seconds: float = 0.5  # the I/O-bound series' task length
    io_worker_jobs: int = 4  # jobs one worker runs at once in that series (WORKER_MAX_JOBS)


async def scale_out(config: ScaleConfig, workdir: Path) -> dict[str, Any]:
    servers = redis_server.server_url(workdir / "redis")
    await asyncio.to_thread((workdir / "redis").mkdir, parents=True, exist_ok=True)
    url = next(servers)
    series: dict[str, dict[str, dict[str, float]]] = {}
    try:
        for name, timing, jobs_each in (
            ("instant", Timing(run_mean=0.0), None),
            (
                "io_bound",
                Timing(run_mean=config.io_run_seconds, run_sd=0.02),
                config.io_worker_jobs,
            ),
        ):
            async with Simulator(timing=timing, concurrency_per_token=10**6) as sim:
                place = workdir / name
                # Unreported: the simulator renders each picture once, so the first round
                # would pay for every render and the later ones for none.
                await one_round(sim, url, config.workers[0], config, place / "warm", jobs_each)
                rounds = {
                    str(count): await one_round(sim, url, count, config, place, jobs_each)
                    for count in config.workers
                }
            base = rounds[str(config.workers[0])]["jobs_per_second"]
            for row in rounds.values():
                row["vs_one_worker"] = round(row["jobs_per_second"] / base, 2)
            series[name] = rounds
    finally:
        servers.close()
    return {"config": config.__dict__, "cpus": os.cpu_count(), **series}


async def one_round(
    sim: Simulator, url: str, count: int, config: ScaleConfig, workdir: Path, jobs_each: int | None
) -> dict[str, float]:
    prefix = redis_server.new_prefix()
    place = workdir / f"workers-{count}"
    redis_before, own_cpu = await redis_counters(url), time.process_time()
    try:
        async with workers(sim, url, prefix, count, config, place, jobs_each) as cpu:
            jobs = await queue_and_wait(sim, url, prefix, config, place)
    finally:
        redis_server.delete_prefix(url, prefix)
    redis_after, own_cpu = await redis_counters(url), time.process_time() - own_cpu
    started = min(job.transitions["submitting"] for job in jobs)
    ended = max(job.delivered_at or 0.0 for job in jobs)
    per_job = {name: (redis_after[name] - redis_before[name]) / len(jobs) for name in redis_after}
    return {
        "jobs_per_second": round(len(jobs) / (ended - started), 1),
        "worker_cpu_ms_per_job": round(sum(cpu) / len(jobs) * 1000, 2),
        "gateway_and_simulator_cpu_ms_per_job": round(own_cpu / len(jobs) * 1000, 2),
        "redis_commands_per_job": round(per_job["total_commands_processed"], 1),
        "redis_round_trips_per_job": round(per_job["total_reads_processed"], 1),
    }


async def redis_counters(url: str) -> dict[str, int]:
    """The server's own counters (the benchmark's server: nothing else talks to it, unless
    REDIS_URL names a shared one)."""
    client = Redis.from_url(url, decode_responses=True)
    try:
        stats = await client.info("stats")
    finally:
        await client.aclose()
    return {
        name: int(stats[name]) for name in ("total_commands_processed", "total_reads_processed")
    }


@contextlib.asynccontextmanager
async def workers(
    sim: Simulator,
    url: str,
    prefix: str,
    count: int,
    config: ScaleConfig,
    place: Path,
    jobs_each: int | None,
) -> AsyncIterator[list[float]]:
    """`count` workers, ready; yields the list their CPU seconds from then on (with their
    image workers') are put in before they stop."""
    ports = [redis_server.free_port() for _ in range(count)]
    extra = {"WORKER_MAX_JOBS": str(jobs_each)} if jobs_each else {}
    processes = [
        await asyncio.create_subprocess_exec(
            COMMAND,
            "worker",
            env=worker_env(sim, url, prefix, config, place / f"w{i}", port) | extra,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        for i, port in enumerate(ports)
    ]
    cpu: list[float] = []
    try:
        await asyncio.gather(*(ready(port) for port in ports))
        started = [process_tree_cpu(process.pid) for process in processes]  # start-up aside
        yield cpu
        cpu += [process_tree_cpu(p.pid) - s for p, s in zip(processes, started, strict=True)]
    finally:
        for process in processes:
            process.terminate()
        await asyncio.gather(*(process.wait() for process in processes))


def process_tree_cpu(pid: int) -> float:
    """CPU seconds of a live process and its live children (Linux /proc; 0 elsewhere)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(stat.parent.name) == pid or int(fields[1]) == pid:  # itself, or a child
                total += (int(fields[11]) + int(fields[12])) / tick
    return total


def worker_env(
    sim: Simulator, url: str, prefix: str, config: ScaleConfig, data: Path, port: int
) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    return keep | {
        "MODELSCOPE_API_TOKEN": TOKEN,
        "MODELSCOPE_INFER_BASE": sim.base_url,
        "MODELSCOPE_OPENAPI_BASE": f"{sim.base_url}openapi/v1/",
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
