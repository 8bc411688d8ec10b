"""The simulator's Magicubes: each token's balance, as `GET openapi/v1/magicubes/balance`
answers it (`total_balance`, `available_balance`, `frozen_amount`).

A token gets `grant` at the start of each day (midnight in Beijing, UTC+8). A task costs its
model's cost: held (frozen) while it runs, spent when it succeeds, given back when it fails.
A token in `missed` got no grant since it missed one (the grant comes with a daily login to
the website, which an unattended token never makes): what it spent on earlier days still
counts. `next_day()` moves the simulator's calendar on, for the day boundary in tests."""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

BEIJING = datetime.timezone(datetime.timedelta(hours=8))
DAILY_GRANT = 200.0


class CostedTask(Protocol):
    token: str
    day: int
    cost: float

    def status(self, now: float) -> str: ...

    def active(self, now: float) -> bool: ...


@dataclass
class Wallets:
    """`grants`: a token's own daily grant, in place of `grant`; `enforce`: a submit the
    balance cannot pay for is answered 429 insufficient balance (off by default, so that
    long benchmarks on one token are not cut short)."""

    grant: float = DAILY_GRANT
    grants: dict[str, float] = field(default_factory=dict)
    missed: set[str] = field(default_factory=set)
    enforce: bool = False
    days_ahead: int = 0

    def today(self) -> int:
        """The simulator's day number (Beijing's calendar, moved on by `next_day`)."""
        return datetime.datetime.now(BEIJING).toordinal() + self.days_ahead

    def next_day(self) -> None:
        self.days_ahead += 1

    def balance(self, token: str, tasks: Iterable[CostedTask]) -> dict[str, float]:
        now, today = time.monotonic(), self.today()
        counted = [
            task
            for task in tasks
            if task.token == token and (task.day == today or token in self.missed)
        ]
        frozen = sum(task.cost for task in counted if task.active(now))
        spent = sum(
            task.cost for task in counted if not task.active(now) and task.status(now) == "SUCCEED"
        )
        total = max(self.grants.get(token, self.grant) - spent, 0.0)
        return {
            "total_balance": total,
            "available_balance": max(total - frozen, 0.0),
            "frozen_amount": frozen,
        }

    def can_pay(self, token: str, cost: float, tasks: Iterable[CostedTask]) -> bool:
        return not self.enforce or self.balance(token, tasks)["available_balance"] >= cost
