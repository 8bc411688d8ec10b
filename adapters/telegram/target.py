"""Where a job's answers go in Telegram, kept in the job row as an opaque string."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class ReplyTarget:
    chat_id: int
    status_message_id: int  # the "queued... generating..." message, edited, then replaced
    reply_to: int | None = None  # the user's command message
    thread_id: int | None = None  # a forum topic

    def encode(self) -> str:
        return json.dumps({k: v for k, v in asdict(self).items() if v is not None})

    @classmethod
    def decode(cls, text: str) -> ReplyTarget:
        return cls(**json.loads(text))
