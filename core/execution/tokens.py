"""The ModelScope accounts the bot runs tasks on: one per configured token.

How many of a token's slots are taken and what it spent today is the queue's to count
(`core.scheduling`), since on Redis every process shares those counts; this pool knows what
each token may take and which tokens still work.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from core.execution.engine import ImageEngine

log = logging.getLogger("imagine.tokens")


@dataclass
class TokenAccount:
    """One token (one account): its engine, its concurrent tasks and its daily budget."""

    label: str
    engine: ImageEngine
    concurrency: int = 1
    daily_budget: float | None = None
    disabled_reason: str = ""

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError("a token's concurrency must be at least 1")


class TokenPool:
    """The configured tokens; a token that answered 401 is taken out (until restart)."""

    def __init__(self, accounts: Sequence[TokenAccount]) -> None:
        if not accounts:
            raise ValueError("at least one ModelScope token is needed")
        self.accounts = list(accounts)

    def disable(self, account: TokenAccount, reason: str) -> None:
        account.disabled_reason = reason
        log.error(
            "ModelScope %s is out of the pool: %s; fix MODELSCOPE_API_TOKEN",
            account.label,
            reason,
            extra={"token": account.label},
        )

    def by_label(self, label: str | None) -> TokenAccount | None:
        return next((account for account in self.accounts if account.label == label), None)

    def working(self) -> list[TokenAccount]:
        """The tokens not taken out of the pool."""
        return [account for account in self.accounts if not account.disabled_reason]

    @property
    def usable(self) -> bool:
        return bool(self.working())

    @property
    def capacity(self) -> int:
        return sum(account.concurrency for account in self.working())
