"""Tolerant reading of poll answers, and the one status -> exception mapping."""

from __future__ import annotations

import email.utils
import time

import pytest

from core.errors import (
    BadRequest,
    QuotaExhausted,
    RateLimited,
    ServerError,
    TaskNotFound,
    TransportError,
    Unauthorized,
    UpstreamError,
)
from core.modelscope.http import error_for_status, parse_retry_after
from core.modelscope.tasks import TaskStatus, parse_task


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("PENDING", TaskStatus.PENDING),
        ("RUNNING", TaskStatus.RUNNING),
        ("PROCESSING", TaskStatus.PROCESSING),
        ("SUCCEED", TaskStatus.SUCCEED),
        ("succeeded", TaskStatus.SUCCEED),
        ("SUCCESS", TaskStatus.SUCCEED),
        ("FAILED", TaskStatus.FAILED),
        ("QUEUED", TaskStatus.UNKNOWN),
        ("", TaskStatus.UNKNOWN),
    ],
)
def test_status_values(raw: str, status: TaskStatus) -> None:
    assert parse_task({"task_status": raw}, "1").status is status


def test_success_answer_as_documented() -> None:
    snapshot = parse_task(
        {
            "task_status": "SUCCEED",
            "output_images": ["https://x.aliyuncs.com/img/a.png"],
            "task_id": "5075521",
            "request_id": "r-1",
            "time_taken": 18812.86,
        },
        "5075521",
    )
    assert snapshot.images == ("https://x.aliyuncs.com/img/a.png",)
    assert snapshot.time_taken_ms == pytest.approx(18812.86)
    assert snapshot.request_id == "r-1"
    assert snapshot.status.finished


def test_failure_answer_as_documented() -> None:
    snapshot = parse_task(
        {
            "task_status": "FAILED",
            "request_id": "r-2",
            "errors": {"code": 422, "message": "Output data may contain inappropriate content."},
        },
        "9",
    )
    assert snapshot.error_message == "Output data may contain inappropriate content."
    assert snapshot.error_code == 422


def test_other_clients_shapes_are_tolerated() -> None:
    snapshot = parse_task({"status": "succeeded", "result": {"url": "https://h/a.png"}}, "3")
    assert snapshot.status is TaskStatus.SUCCEED
    assert snapshot.images == ("https://h/a.png",)
    nested = parse_task({"task_status": "SUCCEED", "outputs": {"output_images": ["u"]}}, "4")
    assert nested.images == ("u",)
    assert parse_task({"task_status": "FAILED", "error": "boom"}, "5").error_message == "boom"
    assert parse_task({"message": "top", "time_taken": "12"}, "6").time_taken_ms == 12.0
    assert parse_task({"time_taken": True, "output_images": "x"}, "7").time_taken_ms is None
    assert parse_task({"task_id": 42}, "7").task_id == "42"
    assert parse_task({}, "8").raw_status == "?"


@pytest.mark.parametrize(
    ("status", "message", "error_type"),
    [
        (400, "size invalid", BadRequest),
        (401, "Invalid token", Unauthorized),
        (403, "forbidden", Unauthorized),
        (404, "task not found", TaskNotFound),
        (429, "Request limit exceeded.", RateLimited),
        (429, "insufficient balance (1008)", QuotaExhausted),
        (500, "oops", ServerError),
        (503, "busy", ServerError),
        (418, "teapot", UpstreamError),
    ],
)
def test_each_status_becomes_its_error(status: int, message: str, error_type: type) -> None:
    error = error_for_status(status, {"errors": {"message": message}}, {}, "rid")
    assert type(error) is error_type
    assert (error.message, error.request_id) == (message, "rid")


def test_error_message_sources_in_order() -> None:
    chat_style = error_for_status(400, {"error": {"message": "chat"}}, {}, "")
    assert chat_style.message == "chat"
    plain = error_for_status(400, {"message": "plain"}, {}, "")
    assert plain.message == "plain"
    html = error_for_status(502, None, {}, "", b"<html>Bad gateway</html>")
    assert "Bad gateway" in html.message
    assert isinstance(error_for_status(200, None, {}, "", b"<html>"), TransportError)


def test_retryable_flags() -> None:
    assert ServerError("x").retryable and RateLimited("x").retryable
    assert not QuotaExhausted("x").retryable and not BadRequest("x").retryable
    assert not Unauthorized("x").retryable


def test_retry_after_forms() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("1.5") == 1.5
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    in_a_minute = email.utils.formatdate(time.time() + 60, usegmt=True)
    assert 55 <= (parse_retry_after(in_a_minute) or 0) <= 61
    limited = error_for_status(429, {"errors": {"message": "slow"}}, {"Retry-After": "9"}, "")
    assert isinstance(limited, RateLimited) and limited.retry_after == 9.0
