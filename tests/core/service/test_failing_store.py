"""When the store fails: a request is refused in words and nothing is charged or half-made;
a job whose runner dies is handed back and resumed in the same process, without a restart."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import pytest

from bot.simulator import Simulator
from core.errors import StoreUnavailable
from core.jobs.job import Job, JobState
from core.jobs.quotas import Admission
from core.stores.sqlite import SqliteStore
from tests.core.harness import request, running_core


class FullDisk(SqliteStore):
    """The real store, on a disk that fills up for the next `full` writes."""

    full = 0

    async def add_jobs(self, jobs: Sequence[Job], admission: Admission) -> None:
        if FullDisk.full:
            FullDisk.full -= 1
            raise sqlite3.OperationalError("database or disk is full")
        await super().add_jobs(jobs, admission)


class FailsOnceDownloading(SqliteStore):
    """The real store, failing the first write of a job that starts its download."""

    failed: ClassVar[set[str]] = set()

    async def save(self, job: Job, expected: Sequence[object] = ()) -> bool:
        if job.state is JobState.DOWNLOADING and job.id not in self.failed:
            self.failed.add(job.id)
            raise sqlite3.OperationalError("disk I/O error")
        return await super().save(job, expected)  # type: ignore[arg-type]


async def test_a_full_disk_refuses_the_request_in_words_and_charges_nothing(
    simulator: Simulator, session, tmp_path: Path
) -> None:
    async with running_core(simulator, session, tmp_path, store_class=FullDisk) as h:
        FullDisk.full = 1
        with pytest.raises(StoreUnavailable) as refused:
            await h.core.service.submit(request())
        assert refused.value.key == "error.store_unavailable"
        assert await h.core.service.history("tg:1") == []  # no half-job
        assert (await h.core.service.quota("tg:1", "tg:-100")).used["user"] == 0
        (job,) = (await h.core.service.submit(request())).jobs  # a minute later: fine
        await h.finals(1)
        assert (await h.job(job.id)).state is JobState.DONE


async def test_a_runner_that_dies_hands_its_job_back_within_seconds(
    simulator: Simulator, session, tmp_path: Path
) -> None:
    async with running_core(simulator, session, tmp_path, store_class=FailsOnceDownloading) as h:
        (job,) = (await h.core.service.submit(request())).jobs
        await h.finals(1, within=10.0)  # a lease left to run out would take 30 s
        done = await h.job(job.id)
        assert done.state is JobState.DONE and done.submit_attempts == 1
        assert simulator.stats.accepted == 1  # resumed by polling, never submitted again
