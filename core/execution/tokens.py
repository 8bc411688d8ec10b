"""The ModelScope accounts the bot runs tasks on: one per configured token.

How many of a token's slots are taken and what it spent today is the queue's to count
(`core.scheduling`), since on Redis every process shares those counts; this pool knows what
each token may take and which tokens work now: one that answered 401 is out of the pool,
and one that answered 429 to a submit (ModelScope still counts a task against it, or its
rate limit is reached) cools off, longer each time in a row, while the others are used.

Members' own tokens (`core.service.members`) join the pool as accounts with an `owner`:
they run their owner's jobs, and the community's up to what the owner lends a day; they
are not the community's (no outage, balance or stats counts them), and one ModelScope
rejects is handed to `on_member_rejected`, to be dropped and its owner told.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from core.clock import Clock, SystemClock
from core.execution.engine import ImageEngine
from core.jobs.quotas import slots_of
from core.modelscope.balance import Balance

log = logging.getLogger("imagine.tokens")

COOL_FIRST_SECONDS = 5.0  # the first 429 in a row; each next one doubles it
COOL_MAX_SECONDS = 300.0


@dataclass
class TokenAccount:
    """One token (one account): its engine, its concurrent tasks and its daily budget."""

    label: str
    engine: ImageEngine
    concurrency: int = 1
    daily_budget: float | None = None
    disabled_reason: str = ""
    disabled_at: float = 0.0  # on the clock's monotonic time
    cool_until: float = 0.0  # on the clock's monotonic time
    strikes: int = 0  # 429s to a submit in a row
    balance: Balance | None = None  # its Magicubes, as last read (core.service.balances)
    # What it may have spent today by its balance: its spend today when the balance was
    # read, plus the balance then available (None: not read).
    balance_budget: float | None = None
    owner: str = ""  # a member's own token: their user key ('' for the community's)
    lent: float = 0.0  # a member's token: what the community may spend on it a day

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError("a token's concurrency must be at least 1")

    @property
    def spend_limit(self) -> float | None:
        """What the token may spend today: the smaller of its daily budget and what its
        balance allows, so a job it cannot pay for goes to another token or waits, instead
        of meeting a 429 (None: no limit known)."""
        limits = [x for x in (self.daily_budget, self.balance_budget) if x is not None]
        return min(limits) if limits else None


class TokenPool:
    """The configured tokens, those out of the pool and those cooling off."""

    def __init__(
        self,
        accounts: Sequence[TokenAccount],
        clock: Clock | None = None,
        costliest: float = 2.0,
    ) -> None:
        """`costliest`: the cost of the dearest model, which a balance must cover for the
        balances to steer jobs (`spend_limits`)."""
        if not accounts:
            raise ValueError("at least one ModelScope token is needed")
        self.accounts = list(accounts)
        self._clock = clock or SystemClock()
        self._costliest = costliest
        self.members: dict[str, TokenAccount] = {}  # members' own tokens, by label
        self.on_member_rejected: Callable[[TokenAccount], None] | None = None

    def disable(self, account: TokenAccount, reason: str) -> None:
        account.disabled_reason = reason
        account.disabled_at = self._clock.monotonic()
        if account.owner:
            log.warning("ModelScope rejected %s: %s", account.label, reason)
            if self.on_member_rejected is not None:
                self.on_member_rejected(account)
            return
        log.error(
            "ModelScope %s is out of the pool: %s; fix MODELSCOPE_API_TOKEN",
            account.label,
            reason,
            extra={"token": account.label},
        )

    def cool(self, account: TokenAccount, retry_after: float | None = None) -> float:
        """A submit was answered 429: leave the token alone for a while (its Retry-After,
        else a backoff with jitter that doubles with each 429 in a row). Answers seconds."""
        account.strikes += 1
        backoff = min(COOL_MAX_SECONDS, COOL_FIRST_SECONDS * 2 ** (account.strikes - 1))
        seconds = retry_after if retry_after is not None else backoff * random.uniform(0.8, 1.2)
        account.cool_until = self._clock.monotonic() + seconds
        log.warning(
            "ModelScope %s answered 429 (%d in a row); its jobs go to other tokens for %.0f s",
            account.label,
            account.strikes,
            seconds,
            extra={"token": account.label},
        )
        return seconds

    def enable(self, account: TokenAccount) -> None:
        """A token out of the pool was accepted again (checked with a call that starts no
        task): its jobs may start on it."""
        if account.disabled_reason:
            log.warning("ModelScope %s works again", account.label, extra={"token": account.label})
        account.disabled_reason = ""
        account.strikes, account.cool_until = 0, 0.0

    async def check(self, accounts: Sequence[TokenAccount] | None = None) -> None:
        """Ask ModelScope whether it takes each token (all, or `accounts`), with a call that
        starts no task; a rejected one leaves the pool, an accepted one (re)joins it, and one
        that cannot be asked now stays as it is."""
        for account in self.accounts if accounts is None else accounts:
            asked_at = self._clock.monotonic()
            accepted = await account.engine.client.accepts_token()
            if accepted is False and not account.disabled_reason:
                self.disable(account, "rejected when checked")
            elif accepted and account.disabled_at <= asked_at:  # no newer 401 since we asked
                self.enable(account)

    def out(self) -> list[TokenAccount]:
        """The tokens out of the pool (rejected by ModelScope)."""
        return [account for account in self.accounts if account.disabled_reason]

    def submitted(self, account: TokenAccount) -> None:
        """A submit went through: the token is warm again."""
        account.strikes = 0

    def by_label(self, label: str | None) -> TokenAccount | None:
        """The account a room's label names (a lent room's is its member's token)."""
        if label is None:
            return None
        found = next((account for account in self.accounts if account.label == label), None)
        return found or self.members.get(slots_of(label))

    def members_working(self) -> list[TokenAccount]:
        """Members' tokens a job may start on now."""
        now = self._clock.monotonic()
        return [a for a in self.members.values() if not a.disabled_reason and a.cool_until <= now]

    def working(self) -> list[TokenAccount]:
        """The tokens a job may start on now: in the pool and not cooling off."""
        now = self._clock.monotonic()
        return [a for a in self.accounts if not a.disabled_reason and a.cool_until <= now]

    def spend_limits(self) -> list[tuple[TokenAccount, float | None]]:
        """What each working token may spend today. While some token's balance covers any
        job, the balances bound them (a token that cannot pay is skipped, no 429); when none
        does, only the daily budgets do, so a job is tried and ModelScope's "insufficient
        balance" ends it in words rather than it waiting in line for the next day's grant."""
        working = self.working()
        steer = any(
            a.balance is not None and a.balance.available >= self._costliest for a in working
        )
        return [(a, a.spend_limit if steer else a.daily_budget) for a in working]

    def budget_left(self, spent: Mapping[str, float]) -> float | None:
        """By the balances last read, what the tokens in the pool may still spend today
        (`spent`: today's spend per token label); None when no balance is known."""
        known = [a for a in self.accounts if not a.disabled_reason and a.balance_budget is not None]
        if not known:
            return None
        return sum(max(0.0, (a.balance_budget or 0.0) - spent.get(a.label, 0.0)) for a in known)

    @property
    def usable(self) -> bool:
        """Some token is in the pool (one cooling off comes back by itself)."""
        return any(not account.disabled_reason for account in self.accounts)

    @property
    def capacity(self) -> int:
        return sum(a.concurrency for a in self.accounts if not a.disabled_reason)
