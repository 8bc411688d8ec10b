"""Whose failure a FAILED task is: one case per answer seen or documented."""

from __future__ import annotations

import pytest

from core.errors import ContentRefused, TaskFailed
from core.modelscope.failures import task_failure

USERS = [
    (422, "Output data may contain inappropriate content."),  # the documented moderation
    (None, "Input contains sensitive words"),
    (451, "blocked"),
    (None, "输入内容包含敏感信息"),
]
SERVICES = [
    (None, "inference worker crashed"),
    (500, "Internal error, please retry"),
    (503, "Output data may contain inappropriate content."),  # a 5xx is the service's
    (422, "internal error while checking content"),  # it says so itself
    (None, "task timed out in the inference queue"),
    (None, "GPU out of memory"),
    (None, "server busy"),
    (None, ""),  # no reason given: not the user's
    (400, "the model does not support this size"),  # our validation's gap, not the user's
]


@pytest.mark.parametrize(("code", "message"), USERS)
def test_a_refusal_of_the_content_is_the_users(code: int | None, message: str) -> None:
    assert isinstance(task_failure(message, code), ContentRefused)


@pytest.mark.parametrize(("code", "message"), SERVICES)
def test_the_services_own_failures_are_not(code: int | None, message: str) -> None:
    failure = task_failure(message, code, "req-1")
    assert type(failure) is TaskFailed and failure.request_id == "req-1"
