"""Which models ModelScope is failing now. A model whose submit is refused for "insufficient
balance" while its token's balance could pay (a retired model answers so), or whose task
fails with error 40212, or that answers "busy" `BUSY_IN_A_ROW` times in a row while another
model worked within `OTHERS_WORKED_SECONDS`, is marked failing for `COOL_OFF_SECONDS`: its
requests are refused in words naming a model that works, instead of spending users' waits
and tokens' cool-offs on it. After the cool-off it is tried again; a success clears it.
Known to this process only: another process learns it from its own failures."""

from __future__ import annotations

import math

from core.clock import Clock
from core.errors import ImagineError, QuotaExhausted, TaskFailed
from core.execution.tokens import TokenAccount
from core.requests.catalog import Catalog
from core.requests.params import GenerationParams

COOL_OFF_SECONDS = 900.0
BUSY_IN_A_ROW = 3
OTHERS_WORKED_SECONDS = 600.0
RETIRED_CODES = ("40212",)


class ModelHealth:
    def __init__(self, clock: Clock, cool_off: float | None = None) -> None:
        self._clock = clock
        self._cool_off = COOL_OFF_SECONDS if cool_off is None else cool_off
        self._failing: dict[str, float] = {}  # model id: monotonic time it is tried again
        self._busy: dict[str, int] = {}  # model id: "busy" failures in a row
        self._worked: dict[str, float] = {}  # model id: monotonic time it last made an image

    def failing_until(self, model: str) -> float | None:
        """Seconds until `model` is tried again, or None when it is not failing."""
        until = self._failing.get(model)
        if until is None:
            return None
        left = until - self._clock.monotonic()
        return left if left > 0 else None

    def minutes_left(self, model: str) -> int | None:
        """Whole minutes, at least 1, until `model` is tried again (None: not failing)."""
        left = self.failing_until(model)
        return None if left is None else max(1, math.ceil(left / 60))

    def failing(self) -> set[str]:
        return {model for model in self._failing if self.failing_until(model) is not None}

    def judge(self, model: str, error: ImagineError, account: TokenAccount, cost: float) -> bool:
        """Whether `error` says the model, not the token nor the user, is at fault; if so
        it is marked failing."""
        if not (model_at_fault(error, account, cost) or self._busy_alone(model, error)):
            return False
        self._failing[model] = self._clock.monotonic() + self._cool_off
        self._busy.pop(model, None)
        return True

    def worked(self, model: str) -> None:
        self._failing.pop(model, None)
        self._busy.pop(model, None)
        self._worked[model] = self._clock.monotonic()

    def _busy_alone(self, model: str, error: ImagineError) -> bool:
        """The model said "busy" again and again while another model worked: the trouble
        is this model's, not ModelScope's as a whole."""
        if "busy" not in str(getattr(error, "message", "")).lower():
            return False
        self._busy[model] = self._busy.get(model, 0) + 1
        now = self._clock.monotonic()
        others = any(
            now - at <= OTHERS_WORKED_SECONDS
            for other, at in self._worked.items()
            if other != model
        )
        return self._busy[model] >= BUSY_IN_A_ROW and others


def model_at_fault(error: ImagineError, account: TokenAccount, cost: float) -> bool:
    if isinstance(error, TaskFailed | QuotaExhausted):
        clues = f"{getattr(error, 'code', '') or ''} {error.message}"
        if any(code in clues for code in RETIRED_CODES):
            return True
    if isinstance(error, QuotaExhausted):  # "insufficient balance" with a balance that pays
        return account.balance is not None and account.balance.available >= cost
    return False


def alternative_model(catalog: Catalog, params: GenerationParams, failing: set[str]) -> str | None:
    """A working model that can make the same request: the same kind (editing a picture or
    not), the requested size within its sides; of the same family first, then the nearest
    in cost. None when there is none."""
    wanted = catalog.find_model(params.model)
    if wanted is None:
        return None
    sides = (params.size.width, params.size.height)
    low, high = min(sides), max(sides)
    fits = [
        m
        for m in catalog.models
        if m.id != wanted.id
        and m.id not in failing
        and m.edits_images == wanted.edits_images
        and m.min_side <= low
        and high <= m.max_side
    ]
    if not fits:
        return None
    best = min(fits, key=lambda m: (m.family != wanted.family, abs(m.cost - wanted.cost)))
    return best.id
