"""Who is an admin: a bot admin (BOT_ADMIN_IDS) anywhere, a group's admins in their group."""

from __future__ import annotations

from telegram import Bot
from telegram.constants import ChatMemberStatus

from adapters.telegram import PLATFORM
from core.jobs.job import actor_key

GROUP_ADMIN = (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)


class Permissions:
    def __init__(self, bot_admins: frozenset[str]) -> None:
        self._bot_admins = bot_admins

    def is_bot_admin(self, user_id: int) -> bool:
        return actor_key(PLATFORM, str(user_id)) in self._bot_admins

    async def is_admin_here(self, bot: Bot, chat_id: int, user_id: int) -> bool:
        if self.is_bot_admin(user_id):
            return True
        if chat_id > 0:  # a private chat has no admins but the bot's
            return False
        member = await bot.get_chat_member(chat_id, user_id)
        return member.status in GROUP_ADMIN
