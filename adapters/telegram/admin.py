"""Admin commands: a group's budget, per-member limit, prompt filter and bans. Who may use
them is the core's rule; the adapter says who asks and where."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.ext import Application, CommandHandler, ContextTypes

from adapters.telegram import PLATFORM
from adapters.telegram.who import actor, locale_of, message_of
from core.delivery import Translator, stats_text
from core.errors import AdminsOnly, ImagineError, InvalidParameter
from core.jobs import actor_key
from core.requests import parse_float
from core.service import Actor, CommunityAdmin, GenerationService
from core.terms import Phrase, Term

Handler = Callable[[Update, Actor, list[str]], Awaitable[str]]


class AdminCommands:
    def __init__(
        self, admin: CommunityAdmin, service: GenerationService, translator: Translator
    ) -> None:
        self._admin = admin
        self._service = service
        self._t = translator

    def register(self, app: Application) -> None:  # type: ignore[type-arg]
        commands: dict[str, Handler] = {
            "budget": self._budget,
            "memberlimit": self._member_limit,
            "filter": self._filter,
            "ban": self._ban,
            "unban": self._unban,
            "stats": self._stats,
        }
        for name, handler in commands.items():
            app.add_handler(CommandHandler(name, self._answered(handler)))

    def _answered(self, handler: Handler) -> Callable[[Update, Any], Coroutine[Any, Any, None]]:
        async def run(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            message, locale = message_of(update), locale_of(update)
            try:
                reply = await handler(update, actor(update, context.bot), list(context.args or []))
            except AdminsOnly as error:
                reply = self._t.error(locale, error)
            except ImagineError as error:
                reply = self._t.error(locale, error) + "\n" + self._t.text(locale, "admin.usage")
            await message.reply_text(reply)

        return run

    async def _budget(self, update: Update, who: Actor, args: list[str]) -> str:
        value = await self._admin.set_budget(who, _amount(args, "budget"))
        return self._t.text(locale_of(update), "admin.budget", value=f"{value:g}")

    async def _member_limit(self, update: Update, who: Actor, args: list[str]) -> str:
        value = await self._admin.set_member_limit(who, _amount(args, "memberlimit"))
        return self._t.text(locale_of(update), "admin.member", value=f"{value:g}")

    async def _filter(self, update: Update, who: Actor, args: list[str]) -> str:
        action = args[0] if args else "show"
        words, patterns = await self._admin.edit_filter(who, action, " ".join(args[1:]))
        return self._t.text(
            locale_of(update),
            "admin.filter",
            words=", ".join(words) or "-",
            patterns=", ".join(patterns) or "-",
        )

    async def _ban(self, update: Update, who: Actor, args: list[str]) -> str:
        target = _target(update, args)
        replied = message_of(update).reply_to_message is not None
        everywhere = await self._admin.ban(who, target, " ".join(args[0 if replied else 1 :]))
        key = "admin.banned_everywhere" if everywhere else "admin.banned_here"
        return self._t.text(locale_of(update), key, who=self._named(update, target))

    async def _stats(self, update: Update, who: Actor, args: list[str]) -> str:
        """The line and this chat's spending for its admins; the tokens' balances too for
        the bot's admins."""
        own = await self._admin.chat_settings(who)  # admins only
        state = await self._service.queue_state(who.user)
        quota = await self._service.quota(who.user, who.chat)
        tokens = await self._admin.token_balances(who)
        return stats_text(self._t, locale_of(update), "stats.chat", (state, quota, own), tokens)

    async def _unban(self, update: Update, who: Actor, args: list[str]) -> str:
        target = _target(update, args)
        await self._admin.unban(who, target)
        return self._t.text(locale_of(update), "admin.unbanned", who=self._named(update, target))

    def _named(self, update: Update, target: str) -> str:
        """Who a ban is about, as admins know them: a name when they replied to the person,
        else 'user 6002'."""
        replied = message_of(update).reply_to_message
        if replied is not None and replied.from_user is not None:
            return replied.from_user.full_name
        return self._t.text(locale_of(update), "admin.user_id", id=target.partition(":")[2])


def _target(update: Update, args: list[str]) -> str:
    replied = message_of(update).reply_to_message
    if replied is not None and replied.from_user is not None:
        return actor_key(PLATFORM, str(replied.from_user.id))
    if args and args[0].lstrip("-").isdigit():
        return actor_key(PLATFORM, args[0])
    given = " ".join(args) or Term("none_given")
    raise InvalidParameter("user", given, Phrase("user_target"))


def _amount(args: list[str], field: str) -> float:
    if not args:
        raise InvalidParameter(field, Term("none_given"), Phrase("cost_units"))
    return parse_float(field, args[0])
