"""Each token's Magicubes, read from ModelScope at start and every few minutes (never per
job): kept on its `TokenAccount`, shown to admins and by `doctor`, and exported as the
`imagine_modelscope_balance` gauge. A token that cannot pay for a job is not given one
until a read shows its balance rose (the next day's grant). A read that fails keeps the last
known balance."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping

from core.clock import Clock
from core.errors import UpstreamError
from core.execution.tokens import TokenPool
from core.metrics import MODELSCOPE_BALANCE
from core.modelscope.balance import BalanceReader
from core.service.grants import MissedGrants

log = logging.getLogger("imagine.balances")
BALANCE_CHECK_SECONDS = 300.0


class BalanceWatch:
    """`spent_today` answers what each token spent today by the queue's count (reserved and
    committed): with the balance read at the same moment, it bounds what the token may
    spend until the next read (`TokenAccount.balance_budget`)."""

    def __init__(
        self,
        tokens: TokenPool,
        readers: Mapping[str, BalanceReader],
        clock: Clock,
        spent_today: Callable[[], Awaitable[dict[str, float]]],
        every: float = BALANCE_CHECK_SECONDS,
        grants: MissedGrants | None = None,
    ) -> None:
        self._tokens = tokens
        self._readers = readers
        self._clock = clock
        self._spent_today = spent_today
        self._every = every
        self._grants = grants

    async def check(self) -> int:
        """Read every token's balance now; how many were read."""
        read = 0
        for account in self._tokens.accounts:
            reader = self._readers.get(account.label)
            if reader is None:
                continue
            try:
                balance = await reader.read()
            except UpstreamError as error:
                log.warning(
                    "the balance of ModelScope %s could not be read: %s",
                    account.label,
                    error.message,
                    extra={"token": account.label},
                )
                continue
            spent = (await self._spent_today()).get(account.label, 0.0)
            account.balance, account.balance_budget = balance, spent + balance.available
            for kind, amount in (
                ("total", balance.total),
                ("available", balance.available),
                ("frozen", balance.frozen),
            ):
                MODELSCOPE_BALANCE.labels(account.label, kind).set(amount)
            if self._grants is not None:
                await self._grants.saw(account.label, balance)
            read += 1
        return read

    async def left_today(self) -> float | None:
        """What the tokens in the pool may still spend today by their balances, together:
        the community's ModelScope budget (None: no balance read yet)."""
        return self._tokens.budget_left(await self._spent_today())

    async def run(self) -> None:
        """Read at once, then every `every` seconds, until cancelled."""
        while True:
            try:
                await self.check()
            except Exception:  # the store, a platform: the next round tries again
                log.exception("the tokens' balances were not all handled this round")
            await self._clock.sleep(self._every)
