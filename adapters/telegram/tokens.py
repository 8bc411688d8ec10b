"""A member's own ModelScope token: `/token` in a private chat, and a token pasted in a group
deleted at once (where the bot may) with a warning.

The message that carried a token is deleted as soon as it is read (Telegram lets a bot
delete what it receives in a private chat), so it does not stay in the chat's history; the
token is never echoed, and the answer names only what to do next."""

from __future__ import annotations

import logging

from telegram import Message, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from adapters.telegram.who import locale_of, message_of, user_key
from core.delivery import Translator, token_text
from core.errors import ImagineError
from core.service import GenerationService

log = logging.getLogger("imagine.telegram")
GUARD_GROUP = -1  # before every other handler: a pasted token goes no further


class MemberTokenCommands:
    def __init__(self, service: GenerationService, translator: Translator) -> None:
        self._members = service.members
        self._t = translator

    def register(self, app: Application) -> None:  # type: ignore[type-arg]
        pasted = filters.ChatType.GROUPS & (filters.TEXT | filters.CAPTION)
        app.add_handler(MessageHandler(pasted, self.guard), group=GUARD_GROUP)
        app.add_handler(CommandHandler("token", self.token))

    async def guard(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A token in a group's message: delete the message, warn its sender, stop there."""
        message = message_of(update)
        if not self._members.holds_token(message.text or message.caption or ""):
            return
        sender = message.from_user.mention_html() if message.from_user else ""
        key = "token.pasted_deleted" if await _deleted(message) else "token.pasted_kept"
        await message.chat.send_message(
            self._t.text(locale_of(update), key, user=sender), parse_mode="HTML"
        )
        raise ApplicationHandlerStop

    async def token(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, locale = message_of(update), locale_of(update)
        if message.chat.type != ChatType.PRIVATE:
            await message.reply_text(self._t.text(locale, "token.private_only"))
            return
        args = context.args or []
        try:
            text = await self._answer(update, message, args)
        except ImagineError as error:
            text = self._t.error(locale, error)
        await message.chat.send_message(text)

    async def _answer(self, update: Update, message: Message, args: list[str]) -> str:
        user, locale, members = user_key(update), locale_of(update), self._members
        verb = args[0].lower() if args else ""
        help_text = self._t.text(locale, "token.help")
        if verb == "remove":
            await members.remove(user)
            return self._t.text(locale, "token.removed")
        if verb == "lend":
            view = await members.lend(user, args[1] if len(args) > 1 else "")
            return token_text(self._t, locale, view)
        if verb:  # a token: gone from the chat before anything else
            await _deleted(message)
            view = await members.add(user, locale, " ".join(args))
            saved = self._t.text(locale, "token.saved")
            return saved + "\n\n" + token_text(self._t, locale, view)
        if not await members.has_token(user):
            return help_text
        return token_text(self._t, locale, await members.status(user)) + "\n\n" + help_text


async def _deleted(message: Message) -> bool:
    try:
        return bool(await message.delete())
    except TelegramError as error:
        log.warning("a message holding a token could not be deleted: %s", error)
        return False
