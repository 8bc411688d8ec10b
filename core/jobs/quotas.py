"""Quota rules: daily budgets in catalog cost units, the cooldown, and the day boundary."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.errors import CooldownActive, QueueFull, QuotaExceeded
from core.terms import Phrase

# A member's token lent to the community counts the community's spending on it apart, as a
# room of its own, "<label>/lent", that shares the token's slots (one ModelScope account).
LENT = "/lent"


def slots_of(label: str) -> str:
    """The token whose slots a room's label takes: a lent room's is its member's token."""
    return label.split("/", 1)[0]


@dataclass(frozen=True)
class QuotaLimits:
    """Daily budgets (None: no limit), the cooldown and the waiting cap; validated here."""

    user_daily: float | None = 20.0
    chat_daily: float | None = None
    global_daily: float | None = 180.0
    cooldown_seconds: float = 0.0
    max_waiting: int = 5
    timezone: str = "Asia/Shanghai"

    def __post_init__(self) -> None:
        for name in ("user_daily", "chat_daily", "global_daily"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must be at least 0")
        if self.cooldown_seconds < 0 or self.max_waiting < 1:
            raise ValueError("cooldown_seconds must be >= 0 and max_waiting >= 1")
        ZoneInfo(self.timezone)  # an unknown zone fails here, at start-up

    def day_of(self, moment: datetime) -> str:
        """The quota day `moment` falls in, in the configured time zone."""
        return moment.astimezone(ZoneInfo(self.timezone)).date().isoformat()

    def resets_at(self, moment: datetime) -> datetime:
        """The next midnight in the configured time zone."""
        local = moment.astimezone(ZoneInfo(self.timezone))
        return datetime.combine(local.date() + timedelta(days=1), time(), local.tzinfo)

    def reset_phrase(self, moment: datetime) -> Phrase:
        """When quotas reset, unambiguous for readers anywhere: the local time with its UTC
        offset, and how long until then ("00:00 UTC+8, in 5 h 20 min")."""
        reset = self.resets_at(moment)
        offset = reset.utcoffset() or timedelta()
        hours, minutes = divmod(int(offset.total_seconds()) // 60, 60)
        zone = f"UTC{'+' if offset >= timedelta() else '-'}{abs(hours)}"
        zone += f":{abs(minutes):02d}" if minutes else ""
        left = max(0, int((reset - moment).total_seconds()) // 60)
        return Phrase(
            "resets", time=reset.strftime("%H:%M"), zone=zone, hours=left // 60, minutes=left % 60
        )


@dataclass(frozen=True)
class Admission:
    """Everything the store checks, atomically with the insert of a request's jobs."""

    user: str
    chat: str
    day: str
    now: float
    cost: float
    resets_at: Phrase
    exempt: bool
    user_limit: float | None
    member_limit: float | None  # the user's own limit in this chat, counting this chat only
    chat_limit: float | None
    global_limit: float | None
    max_waiting: int
    cooldown_seconds: float


@dataclass(frozen=True)
class Usage:
    """Cost units spent or reserved today, per scope."""

    user: float
    member: float  # the user's spending in this chat
    chat: float
    global_: float


def check_admission(
    admission: Admission, usage: Usage, waiting: int, last_created: float | None
) -> None:
    """Raise the first reason `admission` must be refused, given the stored counts."""
    if waiting + 1 > admission.max_waiting:
        raise QueueFull(waiting, admission.max_waiting)
    if admission.exempt:
        return
    if last_created is not None and admission.cooldown_seconds > 0:
        left = last_created + admission.cooldown_seconds - admission.now
        if left > 0:
            raise CooldownActive(left)
    for scope, used, limit in (
        ("user", usage.user, admission.user_limit),
        ("member", usage.member, admission.member_limit),
        ("chat", usage.chat, admission.chat_limit),
        ("global", usage.global_, admission.global_limit),
    ):
        if limit is not None and used + admission.cost > limit + 1e-9:
            raise QuotaExceeded(scope, used, limit, admission.cost, admission.resets_at)
