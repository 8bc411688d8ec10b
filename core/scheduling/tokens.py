"""ModelScope capacity: each token gives `concurrency` slots and has a daily budget."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from core.execution.engine import ImageEngine

log = logging.getLogger("imagine.slots")


@dataclass
class TokenSlot:
    """One token (one account): its engine, its concurrency and what it spent today."""

    label: str
    engine: ImageEngine
    concurrency: int = 1
    daily_budget: float | None = None
    in_use: int = 0
    spent: float = 0.0
    day: str = ""
    disabled_reason: str = ""

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError("a token's concurrency must be at least 1")

    def can_take(self, cost: float, day: str) -> bool:
        if self.disabled_reason or self.in_use >= self.concurrency:
            return False
        spent = self.spent if day == self.day else 0.0
        return self.daily_budget is None or spent + cost <= self.daily_budget + 1e-9


class SlotPool:
    """Hands out slots; a token that answered 401 is taken out for good (until restart)."""

    def __init__(self, slots: Sequence[TokenSlot]) -> None:
        if not slots:
            raise ValueError("at least one ModelScope token is needed")
        self.slots = list(slots)

    def load_spending(self, spent: dict[str, float], day: str) -> None:
        for slot in self.slots:
            slot.spent, slot.day = spent.get(slot.label, 0.0), day

    def acquire(self, cost: float, day: str) -> TokenSlot | None:
        """The least busy token that can take a job of `cost` today, or None."""
        ready = [slot for slot in self.slots if slot.can_take(cost, day)]
        if not ready:
            return None
        slot = min(ready, key=lambda s: (s.in_use / s.concurrency, s.spent))
        self.hold(slot, cost, day)
        return slot

    def hold(self, slot: TokenSlot, cost: float, day: str) -> None:
        """Count a job on `slot` (also for a resumed task, whatever the slot's state)."""
        if slot.day != day:
            slot.spent, slot.day = 0.0, day
        slot.in_use += 1
        slot.spent += cost

    def release(self, slot: TokenSlot, refund: float = 0.0) -> None:
        slot.in_use = max(0, slot.in_use - 1)
        slot.spent = max(0.0, slot.spent - refund)

    def disable(self, slot: TokenSlot, reason: str) -> None:
        slot.disabled_reason = reason
        log.error(
            "ModelScope %s is out of the pool: %s; fix MODELSCOPE_API_TOKEN",
            slot.label,
            reason,
            extra={"token": slot.label},
        )

    def by_label(self, label: str | None) -> TokenSlot | None:
        return next((slot for slot in self.slots if slot.label == label), None)

    @property
    def usable(self) -> bool:
        return any(not slot.disabled_reason for slot in self.slots)

    @property
    def capacity(self) -> int:
        return sum(slot.concurrency for slot in self.slots if not slot.disabled_reason)

    @property
    def busy(self) -> int:
        return sum(slot.in_use for slot in self.slots)
