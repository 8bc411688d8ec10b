"""Command names and descriptions in the user's language, through discord.py's translator.

The English text lives in `core/delivery/locales/en.json` like every other message; each other
catalog (zh) supplies its own under the same `discord.*` key.
"""

from __future__ import annotations

import discord
from discord import app_commands

from core.delivery import DEFAULT_LOCALE, Translator, load_translator, normalize_locale

_ENGLISH = load_translator().catalogs[DEFAULT_LOCALE]


def text(key: str) -> app_commands.locale_str:
    """A command or option text: English by default, other languages by key."""
    return app_commands.locale_str(_ENGLISH[key], key=key)


class CommandTexts(app_commands.Translator):
    def __init__(self, translator: Translator) -> None:
        self._translator = translator

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        key = string.extras.get("key")
        language = normalize_locale(locale.value)
        if key is None or language == DEFAULT_LOCALE:
            return None
        return self._translator.catalogs.get(language, {}).get(key)
