"""Benchmark 3: resident memory of a fresh bot process at idle with both chat adapters
loaded, and its growth per job in flight. The simulator runs in this process, so the
measured one holds only the bot."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from bot.simulator import Simulator, Timing

KIB = 1024
ROOT = Path(__file__).resolve().parents[1]


async def footprint(jobs: int) -> dict[str, Any]:
    async with Simulator(timing=Timing(run_mean=3600.0), concurrency_per_token=10**6) as sim:
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.footprint_child",
            sim.base_url,
            str(jobs),
            stdout=asyncio.subprocess.PIPE,
            cwd=ROOT,
        )
        out, _ = await child.communicate()
    if child.returncode != 0:
        raise RuntimeError(f"the footprint process failed with exit code {child.returncode}")
    measured = json.loads(out.decode().strip().splitlines()[-1])
    growth = measured["loaded_rss"] - measured["idle_rss"]
    return {
        "in_flight": jobs,
        "idle_rss_mib": round(measured["idle_rss"] / KIB / KIB, 1),
        "rss_with_jobs_mib": round(measured["loaded_rss"] / KIB / KIB, 1),
        "kib_per_job_in_flight": round(growth / jobs / KIB, 1),
        "polls_seen": sim.stats.polls,
    }
