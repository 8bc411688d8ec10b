"""The queue of one process over an SQLite store (the `JobQueue` port's local backend).

The line lives in memory (`FairQueue`) and follows the rows: the store tells this queue of
every job it writes, so a job written `queued` stands in line at once and leaves it when
written in any other state. Jobs that another process adds to the same file (`imagine-bot
enqueue` beside `imagine-bot run`) are picked up by reading the file's queued rows every
`sync_every` seconds. Slots, in-flight caps and each token's spending today are counted
here, so a claim never touches the disk.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from core.clock import Clock, SystemClock
from core.jobs.job import Job, JobState
from core.jobs.quotas import slots_of
from core.scheduling.fairqueue import FairQueue, Place
from core.scheduling.queue import NEEDS_SLOT, Caps, Lease, Renewal, TokenRoom

DEFAULT_LEASE_SECONDS = 30.0
DEFAULT_SYNC_SECONDS = 1.0
REMEMBER_PLACES = 10_000  # admitted jobs whose place in line is kept, should they come back


class QueuedRows(Protocol):
    """What the local queue needs of its store (`SqliteStore` has it)."""

    def watch(self, callback: Callable[[Job], None]) -> None:
        """Call `callback` with every job written, once the write is committed."""

    async def token_usage(self, day: str) -> dict[str, float]: ...

    async def queued_ids(self) -> list[str]:
        """The ids of every job in the queued state."""
        ...

    async def queued_jobs(self, ids: Sequence[str]) -> list[Job]:
        """Those of `ids` that are still queued, oldest first."""
        ...


@dataclass
class _Hold:
    worker: str
    token: str  # '' when the job holds no slot (it only needs delivering)
    user: str
    chat: str
    cost: float  # what the claim counted against the token's day
    expires: float  # on the clock's monotonic time


class LocalQueue:
    """Leases last `lease_seconds` unless renewed (within one process they are, unless its
    event loop stalls that long); `line` is the fairness rule (a benchmark swaps in FIFO)."""

    shared = False

    def __init__(
        self,
        rows: QueuedRows,
        *,
        clock: Clock | None = None,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        sync_every: float = DEFAULT_SYNC_SECONDS,
        line: FairQueue | None = None,
    ) -> None:
        self._rows = rows
        self._clock = clock or SystemClock()
        self.lease_seconds = lease_seconds
        self._sync_every = sync_every
        self._line = line if line is not None else FairQueue()  # an empty line is falsy
        self._holds: dict[str, _Hold] = {}
        self._busy: Counter[str] = Counter()  # in flight per "user:<key>" and "chat:<key>"
        self._slots: Counter[str] = Counter()  # slots taken per token
        self._cancel: set[str] = set()
        self._spent: dict[str, float] = {}
        self._spent_day = ""
        self._places: OrderedDict[str, Place] = OrderedDict()  # of admitted jobs
        self._work = asyncio.Event()
        self._next_sync = 0.0
        rows.watch(self._row_written)

    # --- the rows are the line --------------------------------------------------------

    def _row_written(self, job: Job) -> None:
        self._line.remove(job.id)
        if job.state is JobState.QUEUED:
            # Sent back before it could start: it takes its place again, as on Redis.
            self._line.push(job, self._places.pop(job.id, None))
            self._work.set()
        elif job.state.terminal:
            self._places.pop(job.id, None)

    async def _sync(self) -> None:
        """Take in the queued rows another process wrote, and drop the jobs it ended."""
        self._next_sync = self._clock.monotonic() + self._sync_every
        before = self._line.ids()
        queued = set(await self._rows.queued_ids())
        for job_id in before - queued:
            self._line.remove(job_id)
        unknown = [i for i in queued if i not in self._line and i not in self._holds]
        if not unknown:
            return
        for job in await self._rows.queued_jobs(unknown):
            if job.id not in self._line and job.id not in self._holds:
                self._line.push(job)
                self._work.set()

    async def _sync_if_due(self) -> None:
        if self._clock.monotonic() >= self._next_sync:
            await self._sync()

    # --- the port ---------------------------------------------------------------------

    async def claim(
        self, worker: str, caps: Caps, tokens: Sequence[TokenRoom], day: str
    ) -> Lease | None:
        await self._load_spending(day)
        rooms = [room for room in tokens if self._slots[slots_of(room.label)] < room.concurrency]
        if not rooms:
            return None

        def may_start(job: Job) -> bool:
            if self._busy[f"user:{job.user}"] >= caps.user_cap(job.tier):
                return False
            if caps.chat is not None and self._busy[f"chat:{job.chat}"] >= caps.chat:
                return False
            return self._room_for(rooms, job) is not None

        admitted = self._line.admit(may_start)
        if admitted is None:
            return None
        job, place = admitted
        self._places[job.id] = place
        if len(self._places) > REMEMBER_PLACES:
            self._places.popitem(last=False)
        room = self._room_for(rooms, job)
        token = room.label if room else ""
        self._hold(job, worker, token, job.cost)
        return Lease(job.id, token, job)

    async def renew(self, worker: str, job_ids: Sequence[str]) -> Renewal:
        lost, cancel = set(), set()
        for job_id in job_ids:
            hold = self._holds.get(job_id)
            if hold is None or hold.worker != worker:
                lost.add(job_id)
                continue
            hold.expires = self._expiry()
            if job_id in self._cancel:
                cancel.add(job_id)
        return Renewal(frozenset(lost), frozenset(cancel))

    async def take_over(self, worker: str, limit: int) -> list[Lease]:
        now = self._clock.monotonic()
        expired = [job_id for job_id, hold in self._holds.items() if hold.expires <= now]
        taken = []
        for job_id in expired[:limit]:
            hold = self._holds[job_id]
            hold.worker, hold.expires = worker, self._expiry()
            taken.append(Lease(job_id, hold.token))
        return taken

    async def adopt(self, worker: str, job: Job) -> bool:
        if job.id in self._holds or job.id in self._line:
            return False
        if job.state is JobState.QUEUED:
            self._line.push(job)
            self._work.set()
            return False
        # Its cost is already in the token's spending that the store reports for its day.
        token = (job.token or "") if job.state in NEEDS_SLOT else ""
        self._hold(job, worker, token, 0.0)
        return True

    async def finish(self, worker: str, job_id: str, refund: float = 0.0) -> None:
        hold = self._holds.get(job_id)
        if hold is None or hold.worker != worker:
            return
        self._release(job_id, refund)
        self._cancel.discard(job_id)
        self._work.set()

    async def abandon(self, worker: str, job_ids: Sequence[str]) -> None:
        for job_id in job_ids:
            hold = self._holds.get(job_id)
            if hold is not None and hold.worker == worker:
                hold.expires = 0.0
        self._work.set()

    async def request_cancel(self, job_id: str) -> bool:
        if job_id not in self._holds:
            return False
        self._cancel.add(job_id)
        return True

    async def wait_for_work(self, seconds: float) -> None:
        await self._sync_if_due()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._work.wait()
        self._work.clear()

    async def waiting(self) -> list[Job]:
        await self._sync_if_due()
        return list(self._line.order())

    async def held(self) -> int:
        return len(self._holds)

    # --- counting ---------------------------------------------------------------------

    def _hold(self, job: Job, worker: str, token: str, cost: float) -> None:
        # A job sent back in line (its token refused it) may still count as held.
        self._release(job.id, refund=self._holds[job.id].cost if job.id in self._holds else 0)
        self._holds[job.id] = _Hold(worker, token, job.user, job.chat, cost, self._expiry())
        self._busy.update((f"user:{job.user}", f"chat:{job.chat}"))
        if token:
            self._slots[slots_of(token)] += 1
            self._spent[token] = self._spent.get(token, 0.0) + cost

    def _release(self, job_id: str, refund: float) -> None:
        hold = self._holds.pop(job_id, None)
        if hold is None:
            return
        for key in (f"user:{hold.user}", f"chat:{hold.chat}"):
            _less(self._busy, key)
        if hold.token:
            _less(self._slots, slots_of(hold.token))
            spent = self._spent.get(hold.token, 0.0)
            self._spent[hold.token] = max(0.0, spent - refund)

    def _room_for(self, rooms: Sequence[TokenRoom], job: Job) -> TokenRoom | None:
        """The least busy token with a free slot that takes the job and can still spend its
        cost today."""
        ready = [
            room
            for room in rooms
            if room.takes(job)
            and (
                room.daily_budget is None
                or self._spent.get(room.label, 0.0) + job.cost <= room.daily_budget + 1e-9
            )
        ]
        if not ready:
            return None
        return min(
            ready,
            key=lambda r: (
                self._slots[slots_of(r.label)] / r.concurrency,
                self._spent.get(r.label, 0.0),
            ),
        )

    async def _load_spending(self, day: str) -> None:
        if day != self._spent_day:
            self._spent, self._spent_day = await self._rows.token_usage(day), day

    def _expiry(self) -> float:
        return self._clock.monotonic() + self.lease_seconds


def _less(counter: Counter[str], key: str) -> None:
    counter[key] -= 1
    if counter[key] <= 0:
        del counter[key]
