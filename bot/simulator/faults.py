"""Faults the simulator injects on purpose, consumed in the order they were added."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Target = Literal["submit", "poll", "download", "task", "submit_answer", "balance", "chat"]
Kind = Literal[
    "status",  # answer `status` with `message` (and Retry-After when `retry_after` is set)
    "reset",  # drop the connection without an answer
    "malformed",  # 200 with a body that is not JSON
    "delay",  # wait `seconds`, then answer normally
    "truncate",  # download: announce the full length, send half
    "corrupt",  # download: send bytes that are not an image
    "fail",  # task: end FAILED with `message` and `code`
    "stuck",  # task: stay PROCESSING forever (or for `seconds`), holding its token's slot
    "odd_status",  # poll: 200 with `message` as an undocumented task_status
    "lost",  # submit: the task is made, then the connection drops before the answer
    "balance",  # submit: 429 {"error": {"type": "insufficient_balance_error", "message"}}
    "succeed_status",  # submit_answer: the task is made and its answer says SUCCEED
    "blank_id",  # poll: 200 PROCESSING with an empty task_id (seen from the real service)
    "refusal",  # chat: 400 data_inspection_failed, the content refused by moderation
]


@dataclass
class Fault:
    """One fault for the next `times` requests to `target`."""

    target: Target
    kind: Kind
    times: int = 1
    status: int = 500
    message: str = "Internal server error"
    retry_after: float | None = None
    seconds: float = 0.0
    code: int = 422

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Fault:
        return cls(**data)  # type: ignore[arg-type]


@dataclass
class FaultPlan:
    """The faults still to inject."""

    pending: list[Fault] = field(default_factory=list)

    def add(self, *faults: Fault) -> None:
        self.pending.extend(faults)

    def take(self, target: Target) -> Fault | None:
        for fault in self.pending:
            if fault.target == target and fault.times > 0:
                fault.times -= 1
                if fault.times == 0:
                    self.pending.remove(fault)
                return fault
        return None
