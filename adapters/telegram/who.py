"""Who and where an update comes from, as the plain keys the core knows."""

from __future__ import annotations

from telegram import Message, Update

from adapters.telegram import PLATFORM
from core.jobs.job import actor_key


def message_of(update: Update) -> Message:
    message = update.effective_message
    if message is None:
        raise ValueError("an update without a message reached a message handler")
    return message


def user_id(update: Update) -> int:
    return update.effective_user.id if update.effective_user else 0


def user_key(update: Update) -> str:
    return actor_key(PLATFORM, str(user_id(update)))


def chat_key(update: Update) -> str:
    return actor_key(PLATFORM, str(update.effective_chat.id if update.effective_chat else 0))


def locale_of(update: Update) -> str:
    user = update.effective_user
    return (user.language_code if user else None) or "en"
