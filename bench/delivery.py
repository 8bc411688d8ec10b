"""Benchmark 1: how long after ModelScope finishes a task its image reaches the notifier,
and how many polls a task costs, for the adaptive policy and fixed 3 s and 5 s intervals.

Every policy runs at the same time in one process, each on its own simulator with the same
seed (so the k-th task of each policy draws the same queue and run time), time scaled by
`scale`. A task's delay is its poll lag (the simulator's end to the poll that saw it done,
scaled back to service seconds) plus the pipeline's own time after that poll (download,
keep, deliver; real time, since it does not shrink with the simulator's clock). Then the
first tasks after a restart, with and without the run times kept in the store.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bench.common import Pipeline, PollFactory, mean, median, percentile, pipeline
from bot.simulator import Simulator, Timing
from core.modelscope import AdaptivePolicy, AdaptiveSettings, FixedInterval

WORKLOADS = {
    "two-phase": Timing(queue_mean=5.0, run_mean=12.0, run_sd=1.5),
    "one-phase-wide": Timing(shape="lognormal", run_mean=15.0, p95=60.0),
}
BASELINE = "fixed-3s"
FIRST = 5  # tasks measured after a restart


@dataclass(frozen=True)
class DeliveryConfig:
    scale: float  # simulated seconds per service second
    tasks: int  # measured tasks per policy and workload
    warmup: int  # tasks every policy runs first (the adaptive one learns from them)
    slots: int  # tasks in flight at once per policy


def policies(scale: float) -> dict[str, PollFactory]:
    return {
        "adaptive": lambda times: AdaptivePolicy(times, AdaptiveSettings().scaled(scale)),
        "fixed-3s": lambda _: FixedInterval(3.0 * scale),
        "fixed-5s": lambda _: FixedInterval(5.0 * scale),
    }


async def run_policy(
    poll: PollFactory, timing: Timing, config: DeliveryConfig, workdir: Path
) -> dict[str, float]:
    sim = Simulator(timing=replace(timing, scale=config.scale), concurrency_per_token=10**6, seed=7)
    async with sim, pipeline(sim.base_url, workdir, poll, config.slots) as pipe:
        await _run(pipe, range(config.warmup))
        warm = set(pipe.recorder.finals)
        await _run(pipe, range(config.warmup, config.warmup + config.tasks))
    return _measured(sim, pipe, warm, config.scale)


async def after_restart(timing: Timing, config: DeliveryConfig, workdir: Path) -> dict[str, Any]:
    """The first FIRST tasks after a restart: with what the last run learned kept in the
    store (as now), forgotten (as before issue 18), and at fixed 3 s; the same tasks each."""
    adaptive, fixed = policies(config.scale)["adaptive"], policies(config.scale)[BASELINE]
    scaled = replace(timing, scale=config.scale)
    async with (
        Simulator(timing=scaled, concurrency_per_token=10**6, seed=3) as sim,
        pipeline(sim.base_url, workdir / "kept", adaptive, config.slots) as pipe,
    ):
        await _run(pipe, range(config.warmup))
        await pipe.core.memory.save()  # as a stop does
    rows = {}
    for name, poll in (("kept", adaptive), ("forgotten", adaptive), (BASELINE, fixed)):
        async with (
            Simulator(timing=scaled, concurrency_per_token=10**6, seed=7) as sim,
            pipeline(sim.base_url, workdir / name, poll, config.slots) as pipe,
        ):
            await _run(pipe, range(FIRST))
        rows[name] = _measured(sim, pipe, set(), config.scale)
    for row in rows.values():
        row["delay_vs_fixed_3s"] = round(
            row["delay_median_s"] / rows[BASELINE]["delay_median_s"], 3
        )
    return rows


async def _run(pipe: Pipeline, users: range) -> None:
    for user in users:
        await pipe.submit(user)
    await pipe.recorder.finished(users.stop, within=900)


def _measured(sim: Simulator, pipe: Pipeline, skip: set[str], scale: float) -> dict[str, float]:
    delays, lags, pipes, polls = [], [], [], []
    for job_id, (job, notified) in pipe.recorder.finals.items():
        task = sim.tasks[str(job.task_id)]
        if job_id in skip or task.seen_done_at is None:
            continue
        lag = max(0.0, task.seen_done_at - task.ends_at) / scale
        lags.append(lag)
        pipes.append(notified - task.seen_done_at)
        delays.append(lag + pipes[-1])
        polls.append(float(task.polls))
    return {
        "tasks": len(delays),
        "delay_median_s": round(median(delays), 3),
        "delay_mean_s": round(mean(delays), 3),
        "delay_p95_s": round(percentile(delays, 95), 3),
        "poll_lag_median_s": round(median(lags), 3),
        "pipeline_median_s": round(median(pipes), 4),
        "polls_per_task": round(mean(polls), 2),
    }


async def run_workload(timing: Timing, config: DeliveryConfig, workdir: Path) -> dict[str, Any]:
    chosen = policies(config.scale)
    results = await asyncio.gather(
        *(run_policy(poll, timing, config, workdir / name) for name, poll in chosen.items())
    )
    by_policy = dict(zip(chosen, results, strict=True))
    base = by_policy[BASELINE]
    for row in by_policy.values():
        row["delay_vs_fixed_3s"] = round(row["delay_median_s"] / base["delay_median_s"], 3)
        row["polls_vs_fixed_3s"] = round(row["polls_per_task"] / base["polls_per_task"], 3)
    limit = {
        "delay_median_s": by_policy["adaptive"]["pipeline_median_s"],
        "polls_per_task": 1.0,
    }
    return {"policies": by_policy, "physical_limit": limit}


async def delivery(config: DeliveryConfig, workdir: Path) -> dict[str, Any]:
    results: dict[str, Any] = {"config": config.__dict__}
    for name, timing in WORKLOADS.items():
        results[name] = await run_workload(timing, config, workdir / name)
    two_phase = WORKLOADS["two-phase"]
    results["after_restart"] = await after_restart(two_phase, config, workdir / "restart")
    return results
