"""Fair admission among users: least recently served first, FIFO within a user.

Pure and synchronous, so a property test can drive it through any arrival order. The local
queue asks `next_job` whenever a ModelScope slot is free; `can_run` lets it skip a user
whose in-flight cap (or whose chat's) is reached, without losing that user's turn. The
Redis queue applies the same rules in Lua and orders its waiting jobs with
`admission_order`.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from core.jobs.job import Job

# A tier's head start in the rotation: tier 1 sorts as if served this many turns earlier.
TIER_HEAD_START = 1_000_000


@dataclass(frozen=True)
class Place:
    """Where an admitted job stood: its arrival, and its user's turn before and at it."""

    arrival: int
    turn_before: int
    turn: int


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
        self._order: list[Job] | None = None  # the admission order, until the next change
        self._positions: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._arrival_of)

    def __contains__(self, job_id: object) -> bool:
        return job_id in self._arrival_of

    def ids(self) -> set[str]:
        """The ids of every waiting job."""
        return set(self._arrival_of)

    def push(self, job: Job, place: Place | None = None) -> None:
        """Line `job` up at the end; or, with the `place` it had when it was admitted (it
        could not start after all), where it was, its user's turn given back."""
        line = self._lines.setdefault(job.user, _UserLine())
        arrival = next(self._arrivals) if place is None else place.arrival
        index = len(line.jobs)
        while index and self._arrival_of[line.jobs[index - 1].id] > arrival:
            index -= 1
        line.jobs.insert(index, job)
        self._arrival_of[job.id] = arrival
        if place is not None and line.last_served == place.turn:
            line.last_served = place.turn_before
        self._order = None

    def remove(self, job_id: str) -> Job | None:
        """Take a waiting job out (a cancel); None if it is not waiting."""
        if job_id not in self._arrival_of:
            return None
        for user, line in self._lines.items():
            for job in line.jobs:
                if job.id == job_id:
                    line.jobs.remove(job)
                    self._forget(user, job)
                    return job
        return None

    def next_job(self, can_run: Callable[[Job], bool]) -> Job | None:
        """Admit the head job of the least recently served user that may run now."""
        admitted = self.admit(can_run)
        return admitted[0] if admitted else None

    def admit(self, can_run: Callable[[Job], bool]) -> tuple[Job, Place] | None:
        """`next_job`, and the place it had (to give it back if it cannot start)."""
        ready = [line for line in self._lines.values() if line.jobs and can_run(line.jobs[0])]
        if not ready:
            return None
        line = min(ready, key=self._rank)
        job = line.jobs.popleft()
        place = Place(self._arrival_of[job.id], line.last_served, next(self._turns))
        line.last_served = place.turn
        self._forget(job.user, job)
        return job, place

    def _rank(self, line: _UserLine) -> tuple[int, int]:
        head = line.jobs[0]
        return _rank(line.last_served, head, self._arrival_of[head.id])

    def _forget(self, user: str, job: Job) -> None:
        del self._arrival_of[job.id]
        self._order = None
        line = self._lines[user]
        if not line.jobs and line.last_served < 0:
            del self._lines[user]

    def order(self) -> Iterator[Job]:
        """Waiting jobs in the order they would be admitted if every user could run."""
        return iter(self._admission_order())

    def position(self, job_id: str) -> int | None:
        """1 for the next job to be admitted; None if the job is not waiting."""
        self._admission_order()
        return self._positions.get(job_id)

    def _admission_order(self) -> list[Job]:
        # Worked out once per change of the queue, with a heap of each user's next job:
        # O(jobs log users), where picking the minimum every time was O(jobs x users).
        if self._order is None:
            self._order = list(self._simulate_admissions())
            self._positions = {job.id: place for place, job in enumerate(self._order, start=1)}
        return self._order

    def _simulate_admissions(self) -> Iterator[Job]:
        return admission_order(
            [
                (list(line.jobs), [self._arrival_of[job.id] for job in line.jobs], line.last_served)
                for line in self._lines.values()
            ]
        )


def admission_order(lines: Sequence[tuple[list[Job], list[int], int]]) -> Iterator[Job]:
    """Every waiting job in admission order, from each user's line: the jobs oldest first,
    their arrival numbers, and the turn the user was last served (-1: never). A heap of each
    user's next job: O(jobs log users)."""
    turn = max((served for _, _, served in lines), default=0)
    heap = [
        (_rank(served, jobs[0], arrivals[0]), i, 0)
        for i, (jobs, arrivals, served) in enumerate(lines)
        if jobs
    ]
    heapq.heapify(heap)
    while heap:
        _, line, index = heapq.heappop(heap)
        jobs, arrivals, _ = lines[line]
        yield jobs[index]
        turn += 1
        if index + 1 < len(jobs):
            rank = _rank(turn, jobs[index + 1], arrivals[index + 1])
            heapq.heappush(heap, (rank, line, index + 1))


def _rank(last_served: int, head: Job, arrival: int) -> tuple[int, int]:
    # Never served (-1) beats any turn; a tier starts that many turns earlier; ties by arrival.
    return last_served - head.tier * TIER_HEAD_START, arrival
