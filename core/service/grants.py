"""The daily grant that did not come. ModelScope grants a token's free Magicubes with a daily
login to the website, so a token nobody signs in with runs dry (MODELSCOPE_API.md). When a
token's balance has not risen once a new day is `GRACE_SECONDS` old, the bot's admins are
told, once per token and day (across processes too, `first_sight`), with what to do.

What was read last lives in this process only: after a restart the first day is not judged.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from core.clock import Clock
from core.delivery.notifiers import PlatformNotifiers
from core.jobs.quotas import QuotaLimits
from core.modelscope.balance import Balance
from core.stores.backends import FirstSight

log = logging.getLogger("imagine.balances")
GRACE_SECONDS = 1800.0  # a grant late by a few minutes is no missed grant


class MissedGrants:
    def __init__(
        self,
        notifiers: PlatformNotifiers,
        admins: Iterable[str],
        locale: str,
        limits: QuotaLimits,
        clock: Clock,
        first_sight: FirstSight | None = None,
    ) -> None:
        self._notifiers = notifiers
        self._admins = sorted(admins)
        self._locale = locale
        self._limits = limits
        self._clock = clock
        self._first_sight = first_sight
        self._last: dict[str, tuple[str, float]] = {}  # label: (day, total) of its last read
        self._yesterday: dict[str, float] = {}  # label: the last total of the day before

    async def saw(self, label: str, balance: Balance) -> bool:
        """Note a read; answers whether the admins were told of a missed grant now."""
        now = self._clock.now()
        day = self._limits.day_of(now)
        last = self._last.get(label)
        if last is not None and last[0] != day:
            self._yesterday[label] = last[1]
        self._last[label] = (day, balance.total)
        if label not in self._yesterday or self._day_age(now) < GRACE_SECONDS:
            return False
        before = self._yesterday.pop(label)
        if balance.total > before:
            return False  # the grant came
        log.warning("ModelScope %s got no Magicubes today", label, extra={"token": label})
        if self._first_sight is not None and not await self._first_sight("grant", label + day):
            return False  # another process told them
        for admin in self._admins:
            await self._notifiers.direct(
                admin,
                "admin.missed_grant",
                self._locale,
                token=label,
                available=f"{balance.available:g}",
            )
        return True

    def _day_age(self, now: datetime) -> float:
        """Seconds since the quota day began (midnight in QUOTA_TIMEZONE)."""
        start = self._limits.resets_at(now) - timedelta(days=1)
        return (now - start).total_seconds()
