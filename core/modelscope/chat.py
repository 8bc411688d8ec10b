"""ModelScope's OpenAI-compatible chat endpoint (`POST v1/chat/completions`, same base URL
and token as the image API): text and vision models, one short call, no task to poll.

It goes through the same `ModelScopeHttp` as image calls, so statuses become the same typed
errors (401 `Unauthorized`, 429 `RateLimited`, 5xx `ServerError`, a body that is not JSON a
`TransportError`); the token pool's rules then apply to it as to a submit
(`core.execution.text_lane`). A content refusal (the service's `data_inspection_failed`, or
a `content_filter` finish) is `TextRefused`: the user's, so charged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.errors import BadRequest, TextRefused, TransportError
from core.modelscope.http import ModelScopeHttp

CHAT_PATH = "v1/chat/completions"
MODELS_PATH = "v1/models"  # what the endpoint serves now; free, starts nothing
REFUSAL_CLUES = ("data_inspection_failed", "inappropriate content", "content_filter")


@dataclass(frozen=True)
class ChatMessage:
    """One message: `text`, and for a vision model the images (URLs or data URIs)."""

    role: str
    text: str
    images: tuple[str, ...] = ()

    def to_payload(self) -> dict[str, Any]:
        if not self.images:
            return {"role": self.role, "content": self.text}
        parts: list[dict[str, Any]] = [
            {"type": "image_url", "image_url": {"url": image}} for image in self.images
        ]
        return {"role": self.role, "content": [*parts, {"type": "text", "text": self.text}]}


class ChatClient:
    """One token's view of the chat endpoint."""

    def __init__(self, http: ModelScopeHttp) -> None:
        self._http = http

    @property
    def token_label(self) -> str:
        return self._http.token_label

    async def complete(self, model: str, messages: list[ChatMessage], max_tokens: int = 600) -> str:
        """The model's answer, as text; one attempt (the caller retries on another token)."""
        payload = {
            "model": model,
            "messages": [message.to_payload() for message in messages],
            "max_tokens": max_tokens,
            "temperature": 0.7,
            "stream": False,
        }
        try:
            answer = await self._http.request(
                "POST", CHAT_PATH, headers={}, payload=payload, operation="chat"
            )
        except BadRequest as refused:
            if any(clue in refused.message.lower() for clue in REFUSAL_CLUES):
                raise TextRefused(refused.message, 400, refused.request_id) from None
            raise
        return _content(answer.data, answer.request_id)

    async def served(self) -> frozenset[str]:
        """The ids of the models the endpoint serves now (`GET v1/models`, OpenAI's list)."""
        answer = await self._http.request("GET", MODELS_PATH, headers={}, operation="models")
        listed = answer.data.get("data")
        if not isinstance(listed, list):
            raise TransportError("model list without data", maybe_delivered=True)
        return frozenset(str(m["id"]) for m in listed if isinstance(m, dict) and m.get("id"))


def _content(data: dict[str, Any], request_id: str) -> str:
    choices = data.get("choices")
    first = choices[0] if isinstance(choices, list) and choices else None
    if not isinstance(first, dict):
        raise TransportError("chat answer without choices", maybe_delivered=True)
    if first.get("finish_reason") == "content_filter":
        raise TextRefused("the answer was filtered", 200, request_id)
    message = first.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, str) or not content.strip():
        raise TransportError("chat answer without text", maybe_delivered=True)
    return content
