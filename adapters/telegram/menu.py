"""The command menu Telegram shows when a user types "/": the user commands for everyone,
and the admin commands too for a group's admins; in each language the bot speaks (English
as the default, the others by the user's app language)."""

from __future__ import annotations

import logging
from typing import Any

from telegram import BotCommand, BotCommandScopeAllChatAdministrators, BotCommandScopeDefault
from telegram.error import TelegramError
from telegram.ext import ExtBot

from core.delivery import DEFAULT_LOCALE, Translator

log = logging.getLogger("imagine.telegram")

USER_COMMANDS = (
    "imagine",
    "describe",
    "quota",
    "queue",
    "cancel",
    "history",
    "models",
    "settings",
    "help",
)
ADMIN_COMMANDS = ("budget", "memberlimit", "filter", "ban", "unban", "stats")


def commands(translator: Translator, locale: str, names: tuple[str, ...]) -> list[BotCommand]:
    return [BotCommand(name, translator.text(locale, f"command.{name}")) for name in names]


async def set_command_menu(
    bot: ExtBot[Any], translator: Translator, member_tokens: bool = False, describes: bool = True
) -> None:
    """Best effort: without the menu the bot still answers every command. `member_tokens`:
    /token is on the menu (before help); `describes`: /describe is."""
    names: tuple[str, ...] = USER_COMMANDS
    names = (*USER_COMMANDS[:-1], "token", "help") if member_tokens else names
    names = names if describes else tuple(name for name in names if name != "describe")
    try:
        for locale in translator.locales:
            language = None if locale == DEFAULT_LOCALE else locale
            users = commands(translator, locale, names)
            admins = users + commands(translator, locale, ADMIN_COMMANDS)
            await bot.set_my_commands(users, BotCommandScopeDefault(), language)
            await bot.set_my_commands(admins, BotCommandScopeAllChatAdministrators(), language)
    except TelegramError as error:
        log.warning("the command menu was not set: %s", error)
