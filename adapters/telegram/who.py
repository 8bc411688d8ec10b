"""Who and where an update comes from, as the plain keys the core knows, and what Telegram
says of their rights in the chat (asked only when the core's rule needs it)."""

from __future__ import annotations

from telegram import Bot, Message, Update
from telegram.constants import ChatMemberStatus, ChatType

from adapters.telegram import PLATFORM
from core.jobs import GenerationRequest, actor_key
from core.requests import ParamsInput
from core.service import Actor

GROUP_ADMIN = (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)


def message_of(update: Update) -> Message:
    message = update.effective_message
    if message is None:
        raise ValueError("an update without a message reached a message handler")
    return message


def user_id(update: Update) -> int:
    return update.effective_user.id if update.effective_user else 0


def user_key(update: Update) -> str:
    return actor_key(PLATFORM, str(user_id(update)))


def chat_id(update: Update) -> int:
    return update.effective_chat.id if update.effective_chat else 0


def chat_key(update: Update) -> str:
    return actor_key(PLATFORM, str(chat_id(update)))


def locale_of(update: Update) -> str:
    user = update.effective_user
    return (user.language_code if user else None) or "en"


def actor(update: Update, bot: Bot) -> Actor:
    """The sender, in the chat of the update; a group's administrators administer it."""
    chat, user = chat_id(update), user_id(update)

    async def chat_admin() -> bool:
        if chat > 0:  # a private chat has no admins of its own
            return False
        member = await bot.get_chat_member(chat, user)
        return member.status in GROUP_ADMIN

    return Actor(user_key(update), chat_key(update), chat_admin)


def request_of(update: Update, target: str, params: ParamsInput | None = None) -> GenerationRequest:
    """A request by the update's sender (who sent the command, or pressed the button), in its
    chat, answered at `target` (no prompt yet: a describe, or a described prompt's button)."""
    chat = update.effective_chat
    return GenerationRequest(
        platform=PLATFORM,
        user_id=str(user_id(update)),
        chat_id=str(chat_id(update)),
        reply_target=target,
        params=params or ParamsInput(""),
        is_group=chat is not None and chat.type != ChatType.PRIVATE,
        locale=locale_of(update),
    )
