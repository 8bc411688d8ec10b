"""What the runner and the scheduler need of the store: a job's row, read and written.

A narrow view of the store port (`core.stores.port.Store` has these two and more), so the
parts that run jobs do not depend on how and where rows are kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from core.jobs.job import Job, JobState


class JobRows(Protocol):
    async def get(self, job_id: str) -> Job | None: ...

    async def save(self, job: Job, expected: Sequence[JobState] = ()) -> bool:
        """Write `job`; with `expected`, only if the stored state is one of them."""
        ...
