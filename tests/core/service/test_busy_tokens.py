"""A 429 at submit is never the user's failure: the job goes back in line, keeping its place,
while the token cools off and other tokens take the work; a task given up on keeps its
token's slot until ModelScope ends it, so nobody meets its 429 meanwhile."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.simulator import Fault, Simulator, Timing
from core.execution import engine
from core.jobs.events import EventKind
from core.jobs.job import JobState, QuotaState
from tests.conftest import OTHER_TOKEN, TOKEN
from tests.core.harness import request, running_core

BUSY = "Request limit exceeded."


async def test_a_429_sends_the_job_back_in_line_and_another_token_takes_it(
    simulator: Simulator, session, tmp_path: Path
) -> None:
    simulator.faults.add(Fault("submit", "status", status=429, message=BUSY, retry_after=60))
    async with running_core(simulator, session, tmp_path, tokens=(TOKEN, OTHER_TOKEN)) as h:
        receipts = [await h.core.service.submit(request(user=str(i))) for i in range(6)]
        await h.finals(6)
        for receipt in receipts:
            done = await h.job(receipt.jobs[0].id)
            assert (done.state, done.quota_state) == (JobState.DONE, QuotaState.COMMITTED)
            assert done.submit_attempts == 1  # the refused POST is not an attempt
        cooling = [a for a in h.core.tokens.accounts if a.strikes]
        assert len(cooling) == 1  # the token that said 429 rests; the other did the work
    assert simulator.stats.accepted == 6


async def test_a_job_sent_back_keeps_its_place(
    simulator: Simulator, session, tmp_path: Path
) -> None:
    simulator.timing = Timing(run_mean=0.3)
    simulator.faults.add(Fault("submit", "status", status=429, message=BUSY, retry_after=0.3))
    async with running_core(simulator, session, tmp_path) as h:
        first = (await h.core.service.submit(request(user="ana"))).jobs[0]
        await asyncio.sleep(0.05)  # refused, and back in line before the others come
        later = [(await h.core.service.submit(request(user=u))).jobs[0] for u in ("ben", "cy")]
        await h.finals(3)
        started = [e.job.id for e in h.notifier.events if e.kind is EventKind.STARTED]
        assert started == [first.id, *(job.id for job in later)]


async def test_a_task_given_up_on_keeps_its_slot_until_modelscope_ends_it(
    simulator: Simulator, session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "OUTLAST_EVERY", 0.1)
    simulator.faults.add(Fault("task", "stuck", seconds=2.0))
    async with running_core(simulator, session, tmp_path, max_seconds=0.5) as h:
        (stuck,) = (await h.core.service.submit(request(user="ana"))).jobs
        await h.finals(1)
        failed = await h.job(stuck.id)
        assert (failed.error_key, failed.quota_state) == (
            "error.task_timed_out",
            QuotaState.REFUNDED,
        )
        (next_one,) = (await h.core.service.submit(request(user="ben"))).jobs
        await h.finals(2, within=20)
        assert (await h.job(next_one.id)).state is JobState.DONE
    assert simulator.stats.rejected["concurrency"] == 0  # never sent while the task ran
    assert simulator.stats.accepted == 2
