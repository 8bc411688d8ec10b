"""Whose failure a FAILED task is, decided in one place from `errors.code` and the message.

Only a refusal of the content is the user's (they are charged, as for an image); anything
else that ends a task FAILED is the service's own (refunded): a crashed inference worker,
an internal error, an unknown reason. Each known case has a test
(tests/core/modelscope/test_failures.py).
"""

from __future__ import annotations

from core.errors import ContentRefused, TaskFailed

# Moderation answers: the documented 422 "Output data may contain inappropriate content.",
# and the words other refusals of the content have used.
CONTENT_CODES = frozenset({422, 451})
CONTENT_WORDS = (
    "inappropriate",
    "sensitive",
    "moderation",
    "violat",
    "unsafe",
    "nsfw",
    "prohibited",
    "not allowed content",
    "content policy",
    "敏感",
    "违规",
    "不当",
)
# Said by the service about itself: never the user's, whatever the code.
SERVICE_WORDS = ("internal", "crash", "worker", "timeout", "timed out", "out of memory", "busy")


def task_failure(message: str, code: int | None, request_id: str = "") -> TaskFailed:
    """The error for a task that ended FAILED: `ContentRefused` or `TaskFailed`."""
    lowered = message.lower()
    if any(word in lowered for word in SERVICE_WORDS) or (code is not None and code >= 500):
        return TaskFailed(message, code, request_id)
    if code in CONTENT_CODES or any(word in lowered for word in CONTENT_WORDS):
        return ContentRefused(message, code, request_id)
    return TaskFailed(message, code, request_id)
