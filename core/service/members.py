"""Members' own ModelScope tokens: a member brings their token (in private), the bot checks
it with a call that starts no task and keeps it sealed (`core.secret.Sealer`, the key from
BOT_SECRET_KEY); their jobs then run on it and count against no community quota
(`QuotaState.OWN`), and they may lend it to the community up to a daily cap.

The sealed tokens are settings in the store, so every process (Redis workers too) joins them
to its pool (`TokenPool.members`) at start and every `SYNC_SECONDS`. A token ModelScope
rejects later is dropped and its owner told in private. A job waiting for a token that is
gone (removed, rejected, or sealed with another key) ends in words, charged nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from typing import Any

from core.clock import Clock
from core.delivery.notifiers import PlatformNotifiers
from core.errors import (
    InvalidParameter,
    MemberTokenGone,
    MemberTokenMalformed,
    MemberTokenRefused,
    MemberTokensOff,
    MemberTokenUnchecked,
    NoMemberToken,
    UpstreamError,
)
from core.execution.engine import ImageEngine
from core.execution.runner import JobRunner
from core.execution.tokens import TokenAccount, TokenPool
from core.jobs.job import QuotaState
from core.jobs.quotas import LENT, QuotaLimits
from core.jobs.views import MemberTokenView
from core.modelscope.balance import BalanceReader
from core.scheduling.scheduler import Scheduler
from core.secret import MODELSCOPE_TOKEN_SHAPE, Sealer, Secret
from core.service._worded import worded
from core.stores.port import Store

log = logging.getLogger("imagine.members")

NAMESPACE = "member_token"
SYNC_SECONDS = 15.0
LEND_MAX = 1000.0  # cost units a day
TOKEN_SHAPE = MODELSCOPE_TOKEN_SHAPE

# Builds what runs on one token: its engine, and where its balance is read.
MemberEngines = Callable[[Secret], tuple[ImageEngine, BalanceReader | None]]


def member_label(user: str) -> str:
    """The token's name in logs and metrics: no user id, no token."""
    return "member-" + hashlib.sha256(user.encode()).hexdigest()[:8]


def holds_token(text: str) -> bool:
    """Whether `text` holds something shaped like a ModelScope token (a paste in a group)."""
    return TOKEN_SHAPE.search(text) is not None


class MemberTokens:
    """What a member does with their own token, and the pool's members kept in step with the
    store. Off (every call refused in words) without a `sealer` and `engines`."""

    def __init__(
        self,
        *,
        store: Store,
        pool: TokenPool,
        runner: JobRunner,
        scheduler: Scheduler,
        notifiers: PlatformNotifiers,
        limits: QuotaLimits,
        clock: Clock,
        sealer: Sealer | None = None,
        engines: MemberEngines | None = None,
    ) -> None:
        self._store, self._pool, self._runner = store, pool, runner
        self._scheduler, self._notifiers = scheduler, notifiers
        self._limits, self._clock = limits, clock
        self._sealer, self._engines = sealer, engines
        self._readers: dict[str, BalanceReader | None] = {}
        self._sealed: dict[str, str] = {}  # label: the sealed token it was built from
        self._drops: set[asyncio.Task[None]] = set()
        # A store write and the pool change it makes are one step to `sync`, whose read
        # would otherwise take a token added meanwhile out of the pool.
        self._in_step = asyncio.Lock()
        pool.on_member_rejected = self._rejected

    holds_token = staticmethod(holds_token)

    @property
    def enabled(self) -> bool:
        return self._sealer is not None and self._engines is not None

    def pays_for(self, user: str) -> bool:
        """Whether the user's own token is with the bot and not rejected: it pays."""
        account = self._pool.members.get(member_label(user))
        return account is not None and account.owner == user and not account.disabled_reason

    # --- what a member does -------------------------------------------------------------

    @worded
    async def add(self, user: str, locale: str, text: str) -> MemberTokenView:
        """Check the token with ModelScope (a call that starts no task), then keep it sealed
        in place of any earlier one; nothing is kept when it cannot be checked."""
        sealer, engines = self._require_on()
        token = text.strip()
        if not TOKEN_SHAPE.fullmatch(token):
            raise MemberTokenMalformed(len(token))
        secret = Secret(token, member_label(user))
        engine, reader = engines(secret)
        accepted = await engine.client.accepts_token()
        if accepted is False:
            raise MemberTokenRefused("ModelScope rejected the member's token")
        if accepted is None:
            raise MemberTokenUnchecked("ModelScope could not be asked")
        async with self._in_step:
            earlier = await self._store.get_setting(NAMESPACE, user) or {}
            record = {"sealed": sealer.seal(secret), "lent": earlier.get("lent", 0.0)}
            record["locale"] = locale
            await self._store.put_setting(NAMESPACE, user, record)
            self._join(user, record, engine, reader)
        log.info("a member added %s", secret.label)
        return await self.status(user)

    @worded
    async def status(self, user: str) -> MemberTokenView:
        self._require_on()
        record = await self._record(user)
        label = member_label(user)
        spent = await self._store.token_usage(self._limits.day_of(self._clock.now()))
        return MemberTokenView(
            own_spent=spent.get(label, 0.0),
            lent=float(record.get("lent", 0.0)),
            lent_spent=spent.get(label + LENT, 0.0),
            available=await self._available(label),
        )

    @worded
    async def has_token(self, user: str) -> bool:
        self._require_on()
        return await self._store.get_setting(NAMESPACE, user) is not None

    @worded
    async def lend(self, user: str, amount: float | str) -> MemberTokenView:
        """Let the community spend up to `amount` cost units a day on the token (0: none)."""
        self._require_on()
        lent = _lending(amount)
        record = await self._record(user)
        record["lent"] = lent
        await self._store.put_setting(NAMESPACE, user, record)
        account = self._pool.members.get(member_label(user))
        if account is not None:
            account.lent = lent
        return await self.status(user)

    @worded
    async def remove(self, user: str) -> None:
        """Forget the token (sealed copy included); jobs waiting for it end, charged nothing."""
        self._require_on()
        await self._record(user)
        async with self._in_step:
            await self._store.put_setting(NAMESPACE, user, None)
            self._leave(member_label(user))
        await self._end_orphans()

    # --- every process's pool, kept in step -------------------------------------------

    async def run(self) -> None:
        """`sync` every `SYNC_SECONDS` (the first is the core's, at start)."""
        while True:
            await self._clock.sleep(SYNC_SECONDS)
            try:
                await self.sync()
            except Exception:
                log.warning("members' tokens could not be read now", exc_info=True)

    async def sync(self) -> None:
        """Join the tokens other processes added, leave those removed, and end the jobs
        waiting for a token that is gone."""
        if not self.enabled:
            return
        async with self._in_step:
            records = await self._store.settings(NAMESPACE)
            labels = {member_label(user): user for user in records}
            for label in [label for label in self._pool.members if label not in labels]:
                self._leave(label)
            for user, record in records.items():
                self._refresh(user, record)
        await self._end_orphans()

    def _refresh(self, user: str, record: dict[str, Any]) -> None:
        label = member_label(user)
        account = self._pool.members.get(label)
        if account is not None and self._sealed.get(label) == record["sealed"]:
            account.lent = float(record.get("lent", 0.0))
            return
        sealer, engines = self._require_on()
        secret = sealer.open(str(record["sealed"]), label)
        if secret is None:
            log.warning("%s was sealed with another BOT_SECRET_KEY: not used", label)
            self._leave(label)
            return
        engine, reader = engines(secret)
        self._join(user, record, engine, reader)

    def _join(
        self,
        user: str,
        record: dict[str, Any],
        engine: ImageEngine,
        reader: BalanceReader | None,
    ) -> None:
        label = member_label(user)
        account = TokenAccount(label, engine, owner=user, lent=float(record.get("lent", 0.0)))
        self._pool.members[label] = account
        self._readers[label], self._sealed[label] = reader, str(record["sealed"])

    def _leave(self, label: str) -> None:
        self._pool.members.pop(label, None)
        self._readers.pop(label, None)
        self._sealed.pop(label, None)

    def _rejected(self, account: TokenAccount) -> None:
        """ModelScope answered 401 to a member's token: drop it and tell its owner."""
        drop = asyncio.get_running_loop().create_task(self._drop(account))
        self._drops.add(drop)
        drop.add_done_callback(self._drops.discard)

    async def _drop(self, account: TokenAccount) -> None:
        try:
            async with self._in_step:
                record = await self._store.get_setting(NAMESPACE, account.owner)
                dropped = record is not None and record["sealed"] == self._sealed.get(account.label)
                if dropped:
                    await self._store.put_setting(NAMESPACE, account.owner, None)
                if self._pool.members.get(account.label) is account:  # not a newer token
                    self._leave(account.label)
            if record is not None and dropped:
                locale = str(record.get("locale", "en"))
                await self._notifiers.direct(account.owner, "token.dropped", locale)
            await self._end_orphans()
        except Exception:
            log.warning("dropping %s failed; the next sync does it", account.label, exc_info=True)

    async def _end_orphans(self) -> None:
        for job in await self._scheduler.waiting():
            if job.quota_state is QuotaState.OWN and not self.pays_for(job.user):
                await self._runner.fail_waiting(job, MemberTokenGone("its token is gone"))

    # --- helpers ------------------------------------------------------------------------

    def _require_on(self) -> tuple[Sealer, MemberEngines]:
        if self._sealer is None or self._engines is None:
            raise MemberTokensOff("MEMBER_TOKENS is off")
        return self._sealer, self._engines

    async def _record(self, user: str) -> dict[str, Any]:
        record = await self._store.get_setting(NAMESPACE, user)
        if record is None:
            raise NoMemberToken("no token")
        return record

    async def _available(self, label: str) -> float | None:
        reader = self._readers.get(label)
        if reader is None:
            return None
        try:
            return (await reader.read()).available
        except UpstreamError:
            return None


def _lending(amount: float | str) -> float:
    try:
        lent = float(amount)
    except ValueError:
        lent = -1.0
    if not 0 <= lent <= LEND_MAX:  # NaN too
        raise InvalidParameter("lend", amount, f"0..{LEND_MAX:g}")
    return lent
