"""A real `imagine-bot run` process, SIGKILLed mid-poll and restarted: nothing is lost,
nothing is submitted twice, nothing is delivered twice."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import sys
from collections import Counter
from pathlib import Path

import pytest

from bot.simulator import Simulator, Timing
from tests.conftest import TOKEN, until

COMMAND = str(Path(sys.executable).with_name("imagine-bot"))
pytestmark = pytest.mark.timeout(120)


def environment(sim: Simulator, data: Path) -> dict[str, str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            ("MODELSCOPE_", "QUOTA_", "QUEUE_", "DATA_DIR", "STORE_URL", "HEALTH_", "SHUTDOWN_")
        )
    }
    return {
        **clean,
        "MODELSCOPE_API_TOKEN": TOKEN,
        "MODELSCOPE_INFER_BASE": sim.base_url,
        "MODELSCOPE_OPENAPI_BASE": f"{sim.base_url}openapi/v1/",
        "MODELSCOPE_DOWNLOAD_ALLOWED_HOSTS": "http://127.0.0.1:*",
        "MODELSCOPE_IMAGE_POLL_INTERVAL": "0.05",
        "DATA_DIR": str(data),
        "QUEUE_USER_WAITING": "10",
        "PROGRESS_INTERVAL_SECONDS": "0",
        "HEALTH_PORT": "none",
    }


async def imagine(*args: str, env: dict[str, str], cwd: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        COMMAND,
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


def delivered(events: Path) -> Counter[str]:
    if not events.exists():
        return Counter()
    # Only whole lines: the other process may be half-way through writing the last one.
    lines = [json.loads(line) for line in events.read_text().split("\n")[:-1]]
    return Counter(line["job_id"] for line in lines if line["event"] == "succeeded")


async def test_sigkill_mid_poll_then_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    async with Simulator(frozenset({TOKEN}), Timing(run_mean=0.8, run_sd=0.05)) as sim:
        env = environment(sim, data)
        job_ids: list[str] = []
        for user in ("ana", "ben", "chen"):
            queued = await imagine(
                "enqueue",
                f"a lantern for {user}",
                "--user",
                user,
                "--count",
                "2",
                env=env,
                cwd=tmp_path,
            )
            out, err = await queued.communicate()
            assert queued.returncode == 0, err.decode()
            job_ids += out.decode().split()
        assert len(job_ids) == 6

        first = await imagine("run", env=env, cwd=tmp_path)
        # Mid-poll: the 2nd task was polled, so its task id is on disk. (Killing between the
        # POST and that write is the ambiguous window DESIGN.md resubmits at most once.)
        await until(
            lambda: len(sim.tasks) == 2 and list(sim.tasks.values())[1].polls > 0,
            within=30,
        )
        first.send_signal(signal.SIGKILL)
        await first.wait()
        with sqlite3.connect(data / "imagine.db") as db:
            states = Counter(state for (state,) in db.execute("SELECT state FROM jobs"))
        assert states == {"done": 1, "submitted": 1, "queued": 4}

        second = await imagine("run", env=env, cwd=tmp_path)
        events = data / "events.jsonl"
        await until(lambda: len(delivered(events)) == 6, within=60)
        second.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(second.wait(), timeout=20) == 0

    assert delivered(events) == Counter({job_id: 1 for job_id in job_ids})
    assert sim.stats.accepted == 6  # every job submitted exactly once
    assert {task.body["prompt"] for task in sim.tasks.values()} == {
        f"a lantern for {user}" for user in ("ana", "ben", "chen")
    }
    _, logs = await second.communicate()
    assert TOKEN not in logs.decode()


async def test_a_job_enqueued_while_run_runs_is_picked_up(tmp_path: Path) -> None:
    """`imagine-bot enqueue` beside a running `imagine-bot run` (the README's recipe): the
    running process finds the new row in the shared SQLite file within a second or two."""
    data = tmp_path / "data"
    async with Simulator(frozenset({TOKEN}), Timing(run_mean=0.2, run_sd=0.0)) as sim:
        env = environment(sim, data)
        running = await imagine("run", env=env, cwd=tmp_path)
        try:
            await until(lambda: (data / "imagine.db").exists(), within=30)
            queued = await imagine("enqueue", "a late lantern", env=env, cwd=tmp_path)
            out, err = await queued.communicate()
            assert queued.returncode == 0, err.decode()
            (job_id,) = out.decode().split()
            await until(lambda: delivered(data / "events.jsonl")[job_id] == 1, within=20)
        finally:
            running.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(running.wait(), timeout=20) == 0
    assert sim.stats.accepted == 1
