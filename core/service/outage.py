"""No working ModelScope token: everyone who needs to know is told, once, and the queue
moves on by itself when a token works again.

At start each token is checked with a call that starts no task (`TokenPool.check`); a
token ModelScope rejects, then or at a submit, is out of the pool. While none is left:

- new requests are refused in words, nothing charged (the service asks `blocked`);
- the users whose requests wait are told they wait for the bot's admins (HELD), once;
- each bot admin gets a private message once, on each platform they use;
- the rejected tokens are checked again every `recheck` seconds, and when one works its
  jobs start, and the waiting users are told their places again.

With several processes on one Redis queue each watches its own pool; the messages of an
outage are said once whoever notices first (`first_sight`, for an hour).
"""

from __future__ import annotations

import asyncio
import logging

from core.clock import Clock
from core.delivery.notifiers import PlatformNotifiers
from core.execution.tokens import TokenPool
from core.jobs.events import EventKind, JobEvent
from core.scheduling.scheduler import Scheduler
from core.service.positions import PositionNews
from core.stores.backends import FirstSight

log = logging.getLogger("imagine.outage")

LOOK_EVERY = 2.0  # seconds between two looks at the pool (in memory: cheap)
RECHECK_EVERY = 300.0  # seconds between two checks of the rejected tokens with ModelScope
SAID_FOR = 3600  # a shared store says an outage's messages once within this


class TokenWatch:
    def __init__(
        self,
        tokens: TokenPool,
        scheduler: Scheduler,
        notifiers: PlatformNotifiers,
        positions: PositionNews,
        clock: Clock,
        *,
        admins: frozenset[str],
        locale: str = "en",
        first_sight: FirstSight | None = None,
    ) -> None:
        self._tokens = tokens
        self._scheduler = scheduler
        self._notifiers = notifiers
        self._positions = positions
        self._clock = clock
        self._admins = admins
        self._locale = locale
        self._first_sight = first_sight
        self.outage = False
        self.checked = asyncio.Event()  # set once every token was checked at start

    @property
    def blocked(self) -> bool:
        """No token is in the pool: nothing can be made until an admin acts."""
        return not self._tokens.usable

    async def run(
        self, look_every: float = LOOK_EVERY, recheck_every: float = RECHECK_EVERY
    ) -> None:
        """Check every token, then watch the pool until cancelled."""
        await self._tokens.check()
        self.checked.set()
        since_check = 0.0
        while True:
            await self._settle()
            await self._clock.sleep(look_every)
            since_check += look_every
            if since_check >= recheck_every and self._tokens.out():
                since_check = 0.0
                await self._tokens.check(self._tokens.out())

    async def _settle(self) -> None:
        if self.blocked and not self.outage:
            self.outage = True
            log.error("no ModelScope token works: requests are refused until one does")
            if await self._say_first("began"):
                await self._tell_admins()
                await self._tell_waiting()
        elif not self.blocked and self.outage:
            self.outage = False
            log.warning("a ModelScope token works again: the queue moves on")
            self._positions.forget()  # the waiting users are told their places again

    async def _say_first(self, what: str) -> bool:
        if self._first_sight is None:
            return True
        hour = int(self._clock.now().timestamp() // SAID_FOR)
        return await self._first_sight("token_outage", f"{what}:{hour}")

    async def _tell_admins(self) -> None:
        labels = ", ".join(account.label for account in self._tokens.out())
        for admin in sorted(self._admins):
            await self._notifiers.direct(admin, "admin.no_token", self._locale, tokens=labels)

    async def _tell_waiting(self) -> None:
        told: set[str] = set()
        for job in await self._scheduler.waiting():
            if job.batch_id not in told:  # a batch has one status message
                told.add(job.batch_id)
                await self._notifiers.send_quietly(JobEvent(EventKind.HELD, job))
