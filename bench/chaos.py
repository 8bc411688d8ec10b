"""Benchmark 8, chaos: real processes SIGKILLed at random moments over a stream of jobs,
with upstream faults mixed in, on SQLite (`imagine-bot run`) and on Redis (two `imagine-bot
worker`s beside a gateway). Per 100 jobs: lost, double submits (each must be explained by a
submit whose outcome was unknown: its answer lost to a fault, or to a kill between the POST
and the write of its task id), double deliveries, wrongly charged; and the time from a
restart to the first delivery after it.

The jobs come from a core in this process on the same store (as `imagine-bot enqueue` or a
gateway would), and reach the terminal's "chat": each process's events file."""

from __future__ import annotations

import asyncio
import json
import random
import signal
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapters.cli.render import PLATFORM as CLI
from bench import redis_server
from bench.common import open_policy, pipeline
from bench.scale_out import ScaleConfig, ready, worker_env
from bot.simulator import Fault, Simulator, Timing
from core.jobs import GenerationRequest, Job, JobState, QuotaState
from core.modelscope import FixedInterval
from core.requests import ParamsInput
from core.service import Core
from core.stores import Backend, SqliteStore, local_backend
from core.stores.redis import RedisStore, shared_backend

COMMAND = str(Path(sys.executable).with_name("imagine-bot"))
USERS = 12


@dataclass(frozen=True)
class ChaosConfig:
    jobs: int  # in each round
    kills: int  # SIGKILLs in each round
    feed_seconds: float  # the jobs arrive over this long
    seed: int = 11


@dataclass
class Process:
    """One `imagine-bot` process this benchmark kills and starts again."""

    command: str
    env: dict[str, str]
    port: int
    handle: asyncio.subprocess.Process | None = None
    started: float = 0.0

    async def start(self) -> None:
        self.handle = await asyncio.create_subprocess_exec(
            COMMAND,
            self.command,
            env=self.env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        self.started = time.time()
        await ready(self.port)

    async def kill(self) -> None:
        if self.handle is not None and self.handle.returncode is None:
            self.handle.send_signal(signal.SIGKILL)
            await self.handle.wait()

    async def stop(self) -> None:
        if self.handle is not None and self.handle.returncode is None:
            self.handle.terminate()
            await asyncio.wait_for(self.handle.wait(), timeout=30)


async def chaos(config: ChaosConfig, workdir: Path) -> dict[str, Any]:
    return {
        "config": config.__dict__,
        "sqlite": await sqlite_round(config, workdir / "sqlite"),
        "redis": await redis_round(config, workdir / "redis"),
    }


async def sqlite_round(config: ChaosConfig, place: Path) -> dict[str, Any]:
    sim = simulator(config)
    async with sim:
        env = environment(sim, place, "run")
        env.pop("STORE_URL")
        run = Process("run", env, redis_server.free_port())
        env["HEALTH_PORT"] = str(run.port)
        await run.start()
        store = await SqliteStore.open(place / "data" / "imagine.db")
        try:
            return await ordeal(config, sim, local_backend(store), [run], place / "data")
        finally:
            await run.stop()
            await store.close()


async def redis_round(config: ChaosConfig, place: Path) -> dict[str, Any]:
    await asyncio.to_thread((place / "redis").mkdir, parents=True, exist_ok=True)
    servers = redis_server.server_url(place / "redis")
    url, prefix = next(servers), redis_server.new_prefix()
    sim = simulator(config)
    try:
        async with sim:
            workers = []
            for _ in range(2):
                port = redis_server.free_port()
                env = environment(sim, place, "worker", url, prefix, port)
                workers.append(Process("worker", env, port))
            await asyncio.gather(*(worker.start() for worker in workers))
            store = await RedisStore.open(url, prefix)
            try:
                return await ordeal(config, sim, shared_backend(store), workers, place / "data")
            finally:
                await asyncio.gather(*(worker.stop() for worker in workers))
                await store.close()
    finally:
        redis_server.delete_prefix(url, prefix)
        servers.close()


def simulator(config: ChaosConfig) -> Simulator:
    timing = Timing(queue_mean=0.2, run_mean=0.8, run_sd=0.2)
    return Simulator(timing=timing, concurrency_per_token=10**6, seed=config.seed)


def environment(
    sim: Simulator,
    place: Path,
    role: str,
    url: str = "",
    prefix: str = "",
    port: int = 0,
) -> dict[str, str]:
    scale = ScaleConfig(jobs=0, slots=8)
    env = worker_env(sim, url, prefix, scale, place / "data", port)
    return env | {
        "MODELSCOPE_IMAGE_POLL_INTERVAL": "0.1",
        "MODELSCOPE_IMAGE_POLL_MAX_SECONDS": "20",
        "WORKER_LEASE_SECONDS": "3",
        "SHUTDOWN_GRACE_SECONDS": "1",
    }


async def ordeal(
    config: ChaosConfig, sim: Simulator, backend: Backend, processes: list[Process], data: Path
) -> dict[str, Any]:
    """Feed the jobs and kill a process now and then; then wait for every job to end. The
    feeding core lines jobs up and runs none, as `enqueue` or a gateway does."""
    rng = random.Random(config.seed)
    restarts: list[float] = []
    policy, poll = open_policy(user_in_flight=1000), (lambda _: FixedInterval(1.0))
    async with pipeline(
        sim.base_url, data.parent / "gateway", poll, 1, policy, backend, platforms=(CLI,)
    ) as pipe:
        feeding = asyncio.create_task(feed(pipe.core, sim, config))
        for _ in range(config.kills):
            await asyncio.sleep(rng.uniform(0.5, 1.5) * config.feed_seconds / config.kills)
            victim = rng.choice(processes)
            await victim.kill()
            await victim.start()
            restarts.append(victim.started)
        ids = await feeding
        await settle(backend, ids, within=120)
    return await account(backend, ids, sim, data, restarts)


async def feed(core: Core, sim: Simulator, config: ChaosConfig) -> list[str]:
    """The jobs at an even pace, with the upstream faults spread among them."""
    faults = [
        Fault("poll", "status", times=4, status=503),
        Fault("submit", "lost"),  # made, its answer lost: one double submit, by design
        Fault("download", "truncate", times=2),
        Fault("task", "fail", message="inappropriate content"),  # the user's: charged
        Fault("task", "fail", message="inference worker crashed", code=500),  # refunded
        Fault("submit", "status", status=429, message="Request limit exceeded."),
    ]
    ids: list[str] = []
    for i in range(config.jobs):
        if faults and i % max(1, config.jobs // (len(faults) + 1)) == 1:
            sim.faults.add(faults.pop(0))
        params = ParamsInput(f"chaos lantern {i}", size="512x512", seed=i)
        request = GenerationRequest(CLI, f"u{i % USERS}", "terminal", "terminal", params)
        ids.append((await core.service.submit(request)).jobs[0].id)
        await asyncio.sleep(config.feed_seconds / config.jobs)
    return ids


async def settle(backend: Backend, ids: list[str], within: float) -> None:
    async with asyncio.timeout(within):
        while True:
            jobs = await rows(backend, ids)
            if all(job.state.terminal and job.delivered_at for job in jobs):
                return
            await asyncio.sleep(0.2)


async def rows(backend: Backend, ids: list[str]) -> list[Job]:
    found = [await backend.store.get(job_id) for job_id in ids]
    return [job for job in found if job is not None]


async def account(
    backend: Backend, ids: list[str], sim: Simulator, data: Path, restarts: list[float]
) -> dict[str, Any]:
    jobs = await rows(backend, ids)
    finals = final_events(data / "events.jsonl")
    tasks = Counter(str(task.body["prompt"]) for task in sim.tasks.values())
    per_100 = 100 / len(ids)
    lost = len(ids) - sum(1 for job in jobs if job.state.terminal and finals[job.id] >= 1)
    doubled = sum(count - 1 for count in tasks.values() if count > 1)
    # A second task is made only when a POST's outcome is unknown: its answer lost to a fault
    # (the client tries once more at once) or to a kill between the POST and the write of
    # its task id (the row says `submit_attempts` 2, and the next start tries once more).
    after_kills = sum(max(0, job.submit_attempts - 1) for job in jobs)
    unexplained = max(0, doubled - after_kills - sim.stats.rejected["fault:lost"])
    delivered_twice = sum(count - 1 for count in finals.values() if count > 1)
    wrongly = sum(1 for job in jobs if job.quota_state is not fair_charge(job))
    delivered = sorted(job.delivered_at or 0.0 for job in jobs)
    recover = [next((d - r for d in delivered if d > r), float("nan")) for r in restarts]
    return {
        "jobs": len(ids),
        "kills": len(restarts),
        "lost": lost,
        "double_submits": doubled,
        "double_submits_after_kills": after_kills,
        "double_submits_unexplained": unexplained,
        "lost_answer_faults": sim.stats.rejected["fault:lost"],
        "double_deliveries": delivered_twice,
        "wrongly_charged": wrongly,
        "per_100_jobs": {
            "lost": round(lost * per_100, 2),
            "double_submits": round(doubled * per_100, 2),
            "double_deliveries": round(delivered_twice * per_100, 2),
            "wrongly_charged": round(wrongly * per_100, 2),
        },
        "restart_to_delivery_median_s": round(statistics.median(recover), 2) if recover else 0,
        "states": dict(Counter(job.state.value for job in jobs)),
    }


def fair_charge(job: Job) -> QuotaState:
    """What the job's user should pay: an image, or a refusal of their content."""
    if job.state is JobState.DONE or job.error_key == "error.content_refused":
        return QuotaState.COMMITTED
    if job.state is JobState.CANCELLED and job.task_id is not None:
        return QuotaState.COMMITTED
    return QuotaState.REFUNDED


def final_events(path: Path) -> Counter[str]:
    """How many final events each job had in the events file (whole lines only)."""
    if not path.exists():
        return Counter()
    lines = [json.loads(line) for line in path.read_text().split("\n")[:-1] if line]
    finals = ("succeeded", "failed", "cancelled")
    return Counter(line["job_id"] for line in lines if line["event"] in finals)
