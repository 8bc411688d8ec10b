"""Where a job's answers go in Telegram, kept in the job row as an opaque string."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from telegram import Message


@dataclass(frozen=True)
class ReplyTarget:
    chat_id: int
    status_message_id: int  # the "queued... generating..." message, edited, then replaced
    reply_to: int | None = None  # the user's command message
    thread_id: int | None = None  # a forum topic

    @classmethod
    def answering(cls, message: Message, status_message_id: int) -> ReplyTarget:
        """Answers to `message` (a command, or the result a button is under), in its chat and
        forum topic, through the status message `status_message_id`."""
        thread = message.message_thread_id if message.is_topic_message else None
        return cls(message.chat.id, status_message_id, message.message_id, thread)

    def encode(self) -> str:
        return json.dumps({k: v for k, v in asdict(self).items() if v is not None})

    @classmethod
    def decode(cls, text: str) -> ReplyTarget:
        return cls(**json.loads(text))
