"""Admin commands: a group's budget, per-member limit, prompt filter and bans."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.ext import Application, CommandHandler, ContextTypes

from adapters.telegram import PLATFORM
from adapters.telegram.permissions import Permissions
from adapters.telegram.who import chat_key, locale_of, message_of, user_id
from core.delivery.i18n import Translator
from core.errors import ImagineError, InvalidParameter
from core.jobs.job import actor_key
from core.requests.validation import parse_float
from core.service.generation import GenerationService
from core.service.rules import member_key

Handler = Callable[[Update, list[str]], Awaitable[str]]


class AdminCommands:
    def __init__(
        self, service: GenerationService, translator: Translator, permissions: Permissions
    ) -> None:
        self._rules = service.rules
        self._t = translator
        self._permissions = permissions

    def register(self, app: Application) -> None:  # type: ignore[type-arg]
        commands: dict[str, Handler] = {
            "budget": self._budget,
            "memberlimit": self._member_limit,
            "filter": self._filter,
            "ban": self._ban,
            "unban": self._unban,
        }
        for name, handler in commands.items():
            app.add_handler(CommandHandler(name, self._guarded(handler)))

    def _guarded(self, handler: Handler) -> Callable[[Update, Any], Coroutine[Any, Any, None]]:
        async def run(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            message, locale = message_of(update), locale_of(update)
            if not await self._permissions.is_admin_here(
                context.bot, message.chat_id, user_id(update)
            ):
                await message.reply_text(self._t.text(locale, "admin.only"))
                return
            try:
                reply = await handler(update, list(context.args or []))
            except ImagineError as error:
                reply = self._t.error(locale, error) + "\n" + self._t.text(locale, "admin.usage")
            await message.reply_text(reply)

        return run

    async def _budget(self, update: Update, args: list[str]) -> str:
        value = _amount(args, "budget")
        await self._rules.set_chat_settings(chat_key(update), daily_budget=value)
        return self._t.text(locale_of(update), "admin.budget", value=f"{value:g}")

    async def _member_limit(self, update: Update, args: list[str]) -> str:
        value = _amount(args, "memberlimit")
        await self._rules.set_chat_settings(chat_key(update), member_daily=value)
        return self._t.text(locale_of(update), "admin.member", value=f"{value:g}")

    async def _filter(self, update: Update, args: list[str]) -> str:
        action = args[0] if args else "show"
        words, patterns = await self._rules.edit_filter(
            chat_key(update), action, " ".join(args[1:])
        )
        return self._t.text(
            locale_of(update),
            "admin.filter",
            words=", ".join(words) or "-",
            patterns=", ".join(patterns) or "-",
        )

    async def _ban(self, update: Update, args: list[str]) -> str:
        target = self._target(update, args)
        key = (
            target
            if self._permissions.is_bot_admin(user_id(update))
            else member_key(chat_key(update), target)
        )  # a group admin bans in their group only
        await self._rules.ban(key, " ".join(args[1:]))
        return self._t.text(locale_of(update), "admin.banned", who=target)

    async def _unban(self, update: Update, args: list[str]) -> str:
        target = self._target(update, args)
        await self._rules.unban(member_key(chat_key(update), target))
        if self._permissions.is_bot_admin(user_id(update)):
            await self._rules.unban(target)
        return self._t.text(locale_of(update), "admin.unbanned", who=target)

    def _target(self, update: Update, args: list[str]) -> str:
        replied = message_of(update).reply_to_message
        if replied is not None and replied.from_user is not None:
            return actor_key(PLATFORM, str(replied.from_user.id))
        if args and args[0].lstrip("-").isdigit():
            return actor_key(PLATFORM, args[0])
        raise InvalidParameter("user", " ".join(args) or "-", "a reply to their message or an id")


def _amount(args: list[str], field: str) -> float:
    if not args:
        raise InvalidParameter(field, "-", "a number of cost units, e.g. 50")
    value = parse_float(field, args[0])
    if value < 0:
        raise InvalidParameter(field, args[0], "0 or more")
    return value
