"""SIGTERM in the middle of jobs: the waiting are told, the process exits within its grace
period, and the next start finishes every job, each submitted once and delivered once."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import time
from collections import Counter
from pathlib import Path

import pytest

from bot.simulator import Simulator, Timing
from tests.bot.test_recovery import delivered, environment, imagine
from tests.conftest import TOKEN, until

pytestmark = pytest.mark.timeout(120)


def events_of(events: Path, kind: str) -> Counter[str]:
    lines = [json.loads(line) for line in events.read_text().split("\n")[:-1]]
    return Counter(line["job_id"] for line in lines if line["event"] == kind)


async def test_sigterm_mid_jobs_then_restart_finishes_them(tmp_path: Path) -> None:
    data = tmp_path / "data"
    events = data / "events.jsonl"
    async with Simulator(frozenset({TOKEN}), Timing(run_mean=1.5, run_sd=0.05)) as sim:
        env = {**environment(sim, data), "SHUTDOWN_GRACE_SECONDS": "0.5"}
        queued = await imagine("enqueue", "a kite", "--count", "3", env=env, cwd=tmp_path)
        out, err = await queued.communicate()
        assert queued.returncode == 0, err.decode()
        job_ids = out.decode().split()
        assert "queued at position 1, 2, 3;" in err.decode()
        lines = [json.loads(line) for line in events.read_text().splitlines()]
        places = [line["position"] for line in lines if line["event"] == "queued"]
        assert places == [1, 2, 3]  # each job its own place

        first = await imagine("run", env=env, cwd=tmp_path)
        await until(lambda: len(sim.tasks) == 1 and next(iter(sim.tasks.values())).polls > 0, 30)
        asked_to_stop = time.monotonic()
        first.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(first.wait(), timeout=20) == 0
        stop_seconds = time.monotonic() - asked_to_stop
        told = events_of(events, "restarting")
        assert len(told) == 2 and set(told) <= set(job_ids)  # the two that were waiting
        with sqlite3.connect(data / "imagine.db") as db:
            states = Counter(state for (state,) in db.execute("SELECT state FROM jobs"))
        assert states == {"submitted": 1, "queued": 2}  # the running one kept its task id

        second = await imagine("run", env=env, cwd=tmp_path)
        await until(lambda: len(delivered(events)) == 3, within=60)
        second.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(second.wait(), timeout=20) == 0

    assert delivered(events) == Counter({job_id: 1 for job_id in job_ids})
    assert sim.stats.accepted == 3  # the interrupted job was polled again, not resubmitted
    _, logs = await first.communicate()
    text = logs.decode()
    assert "stopping: 2 waiting jobs told" in text and TOKEN not in text
    print(f"SIGTERM to exit: {stop_seconds:.2f} s with a 0.5 s grace")
