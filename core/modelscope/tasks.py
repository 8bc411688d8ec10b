"""Reading a poll answer of `GET v1/tasks/{task_id}`, tolerantly."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class TaskStatus(StrEnum):
    """Where a ModelScope task stands."""

    PENDING = "PENDING"  # accepted, waiting in ModelScope's own queue
    RUNNING = "RUNNING"  # a GPU is generating the image
    PROCESSING = "PROCESSING"  # finishing up (seen to last forever: always poll under a deadline)
    SUCCEED = "SUCCEED"  # done: `output_images` holds the URLs
    FAILED = "FAILED"  # refused or broken: `errors.message` says why
    UNKNOWN = "UNKNOWN"  # any other value: not final, keep polling

    @property
    def finished(self) -> bool:
        return self in (TaskStatus.SUCCEED, TaskStatus.FAILED)


# Spellings some clients accept for the final states.
_ALIASES = {
    "SUCCEED": TaskStatus.SUCCEED,
    "SUCCEEDED": TaskStatus.SUCCEED,
    "SUCCESS": TaskStatus.SUCCEED,
    "FAILED": TaskStatus.FAILED,
    "FAILURE": TaskStatus.FAILED,
    "FAIL": TaskStatus.FAILED,
    "PENDING": TaskStatus.PENDING,
    "RUNNING": TaskStatus.RUNNING,
    "PROCESSING": TaskStatus.PROCESSING,
}


@dataclass(frozen=True)
class TaskSnapshot:
    """One poll answer, reduced to what we use."""

    task_id: str
    status: TaskStatus
    raw_status: str
    images: tuple[str, ...] = ()
    error_message: str = ""
    error_code: int | None = None
    request_id: str = ""
    time_taken_ms: float | None = None


def parse_task(data: dict[str, Any], task_id: str) -> TaskSnapshot:
    """A snapshot of the answer; unknown statuses become UNKNOWN, never an error."""
    raw = str(data.get("task_status") or data.get("status") or "").strip()
    message, code = error_of(data)
    return TaskSnapshot(
        task_id=str(data.get("task_id") or task_id),
        status=_ALIASES.get(raw.upper(), TaskStatus.UNKNOWN),
        raw_status=raw or "?",
        images=_images_of(data),
        error_message=message,
        error_code=code,
        request_id=str(data.get("request_id") or ""),
        time_taken_ms=_number(data.get("time_taken")),
    )


def error_type(data: dict[str, Any]) -> str:
    """`error.type` or `errors.type` (e.g. insufficient_balance_error), else ""."""
    for key in ("error", "errors"):
        value = data.get(key)
        if isinstance(value, dict) and isinstance(value.get("type"), str):
            return str(value["type"])
    return ""


def error_of(data: dict[str, Any]) -> tuple[str, int | None]:
    """`errors.message`, then `error.message`, then `message`; and a code if one is given."""
    for key in ("errors", "error"):
        value = data.get(key)
        if isinstance(value, dict) and value.get("message"):
            return str(value["message"]), _int(value.get("code"))
        if isinstance(value, str) and value:
            return value, None
    return str(data.get("message") or ""), _int(data.get("code"))


def _images_of(data: dict[str, Any]) -> tuple[str, ...]:
    candidates: object = data.get("output_images")
    outputs = data.get("outputs")
    if not candidates and isinstance(outputs, dict):
        candidates = outputs.get("output_images")
    if not candidates and isinstance(data.get("result"), dict):
        candidates = [data["result"].get("url")]
    if not isinstance(candidates, list):
        return ()
    return tuple(url for url in candidates if isinstance(url, str) and url)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _int(value: object) -> int | None:
    number = _number(value)
    return int(number) if number is not None else None
