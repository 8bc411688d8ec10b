"""Fair admission among users: least recently served first, FIFO within a user.

Pure and synchronous, so a property test can drive it through any arrival order. The
dispatcher asks `next_job` whenever a ModelScope slot is free; `can_run` lets it skip a
user whose in-flight cap (or whose chat's) is reached, without losing that user's turn.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from core.jobs import Job

# A tier's head start in the rotation: tier 1 sorts as if served this many turns earlier.
TIER_HEAD_START = 1_000_000


@dataclass
class _UserLine:
    jobs: deque[Job] = field(default_factory=deque)
    last_served: int = -1  # the turn this user was last admitted; -1: never


class FairQueue:
    """Waiting jobs, grouped per user."""

    def __init__(self) -> None:
        self._lines: dict[str, _UserLine] = {}
        self._turns = itertools.count()
        self._arrivals = itertools.count()
        self._arrival_of: dict[str, int] = {}

    def __len__(self) -> int:
        return sum(len(line.jobs) for line in self._lines.values())

    def push(self, job: Job) -> None:
        self._lines.setdefault(job.user, _UserLine()).jobs.append(job)
        self._arrival_of[job.id] = next(self._arrivals)

    def remove(self, job_id: str) -> Job | None:
        """Take a waiting job out (a cancel); None if it is not waiting."""
        for user, line in self._lines.items():
            for job in line.jobs:
                if job.id == job_id:
                    line.jobs.remove(job)
                    self._forget(user, job)
                    return job
        return None

    def next_job(self, can_run: Callable[[Job], bool]) -> Job | None:
        """Admit the head job of the least recently served user that may run now."""
        ready = [line for line in self._lines.values() if line.jobs and can_run(line.jobs[0])]
        if not ready:
            return None
        line = min(ready, key=self._rank)
        job = line.jobs.popleft()
        line.last_served = next(self._turns)
        self._forget(job.user, job)
        return job

    def _rank(self, line: _UserLine) -> tuple[int, int]:
        return self._rank_of(line.last_served, line.jobs[0])

    def _rank_of(self, last_served: int, head: Job) -> tuple[int, int]:
        # Never served (-1) beats any turn; a tier starts that many turns earlier; ties by arrival.
        return last_served - head.tier * TIER_HEAD_START, self._arrival_of[head.id]

    def _forget(self, user: str, job: Job) -> None:
        del self._arrival_of[job.id]
        line = self._lines[user]
        if not line.jobs and line.last_served < 0:
            del self._lines[user]

    def order(self) -> Iterator[Job]:
        """Waiting jobs in the order they would be admitted if every user could run."""
        lines = [_UserLine(deque(line.jobs), line.last_served) for line in self._lines.values()]
        turn = max((line.last_served for line in lines), default=0)
        while waiting := [line for line in lines if line.jobs]:
            line = min(waiting, key=self._rank)
            turn += 1
            line.last_served = turn
            yield line.jobs.popleft()

    def position(self, job_id: str) -> int | None:
        """1 for the next job to be admitted; None if the job is not waiting."""
        for place, job in enumerate(self.order(), start=1):
            if job.id == job_id:
                return place
        return None
