"""What the service needs from whoever runs the queue: this process alone (`Dispatcher`) or
every worker on a shared store (`SharedDispatcher`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from core.jobs.job import Job


class Scheduler(Protocol):
    @property
    def capacity(self) -> int:
        """ModelScope slots over all tokens (the same configuration in every process)."""
        ...

    def accepted(self, jobs: Sequence[Job]) -> None:
        """The store has just taken these jobs: line them up."""

    async def waiting(self) -> list[Job]:
        """Waiting jobs in the order they would be admitted if every user could run."""
        ...

    async def position(self, job_id: str) -> int | None:
        """1 for the next job to be admitted; None if it is not waiting."""
        ...

    async def running_count(self) -> int:
        """Jobs between admission and their end, in every process that shares the queue."""
        ...

    async def stranded(self) -> list[Job]:
        """Waiting jobs that nobody runs while this process stops (to tell their users)."""
        ...

    async def cancel(self, job_id: str) -> Job | None:
        """Take a waiting job out of line (returned), or stop a running one (None)."""
        ...

    async def recover(self, jobs: Sequence[Job]) -> None:
        """After a start: line up, resume or deliver the store's unfinished jobs."""

    async def run(self) -> None:
        """Admit and run jobs until cancelled."""

    def wake(self) -> None:
        """Look for admissible jobs now (a new day may have freed a token's budget)."""

    def pause(self) -> None:
        """Start nothing new (shutting down); running jobs go on."""

    async def wait_idle(self) -> None:
        """Return once no job of this process is running."""

    def in_flight(self) -> list[Job]:
        """The jobs this process runs now."""
        ...
