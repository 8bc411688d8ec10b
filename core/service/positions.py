"""Places in line and waits: estimated from what was measured, and said again when they
change.

Fair share serves a newcomer's first image before someone's fifth, so a place shown once
goes stale, up as well as down. Every `every` seconds the waiting line is read and each
waiting request (a batch, by its first waiting image) whose place changed is told again,
through the same QUEUED event as at the start. Chat edits are rate-limited, so near the
front every change is said, further back only a change of a fifth or more; and with
several workers on one Redis queue, a place is said once whoever notices it first.
"""

from __future__ import annotations

import logging

from core.clock import Clock
from core.delivery.notifiers import PlatformNotifiers
from core.jobs.events import EventKind, JobEvent
from core.jobs.job import Job
from core.modelscope.runtimes import RunTimes, workload_of
from core.scheduling.scheduler import Scheduler
from core.stores.backends import FirstSight

log = logging.getLogger("imagine.positions")
POSITION_EVERY = 10.0  # seconds between two looks at the line
NEAR = 20  # places up to this one are said at every change
FAR_CHANGE = 0.2  # further back, a change of at least this share of the place


class PositionNews:
    def __init__(
        self,
        scheduler: Scheduler,
        notifiers: PlatformNotifiers,
        run_times: RunTimes,
        clock: Clock,
        first_sight: FirstSight | None = None,
    ) -> None:
        self._scheduler = scheduler
        self._notifiers = notifiers
        self._run_times = run_times
        self._clock = clock
        self._first_sight = first_sight
        self._shown: dict[str, int] = {}  # batch -> the place its user last read

    def estimate(self, place: int, running: int, job: Job) -> float | None:
        """Seconds until `job`, `place` in line behind `running` jobs, is made: from the
        run times measured (its workload's, else the mean); None when nothing was measured."""
        params = job.params
        typical = self._run_times.typical(workload_of(params.model, params.size))
        if typical is None or place < 1:
            return None
        return (place + running) / max(1, self._scheduler.capacity) * typical

    def told(self, batch: str, place: int) -> None:
        """The place a request's user was told when it was accepted."""
        self._shown[batch] = place

    def forget(self) -> None:
        """Every waiting user is told their place at the next look (after an outage)."""
        self._shown.clear()

    async def run(self, every: float = POSITION_EVERY) -> None:
        while True:
            await self._clock.sleep(every)
            try:
                await self.announce()
            except Exception:  # the store is away: places are said at the next look
                log.warning("places in line not refreshed", exc_info=True)

    async def announce(self) -> int:
        """Tell every waiting request whose place changed enough; answers how many."""
        order = await self._scheduler.waiting()
        running = await self._scheduler.running_count()
        firsts: dict[str, tuple[int, Job]] = {}
        for place, job in enumerate(order, start=1):
            firsts.setdefault(job.batch_id, (place, job))
        self._shown = {batch: shown for batch, shown in self._shown.items() if batch in firsts}
        told = 0
        for batch, (place, job) in firsts.items():
            if not worth_saying(self._shown.get(batch), place):
                continue
            if not await self._first(job, place):
                continue
            self._shown[batch] = place
            estimate = self.estimate(place, running, job)
            await self._notifiers.send_quietly(
                JobEvent(EventKind.QUEUED, job, position=place, estimate=estimate)
            )
            told += 1
        return told

    async def _first(self, job: Job, place: int) -> bool:
        if self._first_sight is None:
            return True
        return await self._first_sight("place", f"{job.batch_id}:{place}")


def worth_saying(shown: int | None, place: int) -> bool:
    """Whether a request last shown at `shown` (None: never, here) is told it is `place`."""
    if shown == place:
        return False
    if shown is None or place <= NEAR:
        return True
    return abs(place - shown) >= shown * FAR_CHANGE
