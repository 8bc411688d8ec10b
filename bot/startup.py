"""What every command does first: exit codes, and settings that are valid or explained."""

from __future__ import annotations

import sys

from bot.logs import setup_logging
from bot.settings import Settings, load_settings
from core.delivery import load_translator
from core.errors import ConfigurationError, InvalidParameter

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CONFIG = 0, 1, 2, 3


def chosen_language(lang: str | None) -> str | None:
    """`--lang` as given if the bot speaks it (None: not given); an `InvalidParameter`
    naming the languages it knows otherwise, rather than English without a word."""
    if lang is None:
        return None
    known = load_translator().locales
    if lang.replace("_", "-").split("-")[0].lower() not in known:
        raise InvalidParameter("lang", lang, ", ".join(known))
    return lang


def settings_or_explain(locale: str | None, log_level: str | None = None) -> Settings | None:
    """Valid settings with logging set up (at `log_level`, else the configured level), or
    None after telling the user, in their language, which variable is wrong."""
    try:
        settings = load_settings()
    except ConfigurationError as error:
        print(load_translator().error(locale, error), file=sys.stderr)
        return None
    setup_logging(log_level or settings.log_level, settings.log_format, settings.secret_values())
    return settings


def settings_in_language(lang: str | None, log_level: str | None = None) -> Settings | int:
    """For a command that takes `--lang`: its settings, or the exit code after saying why
    not (EXIT_USAGE: a language the bot does not speak; EXIT_CONFIG: a wrong setting)."""
    try:
        chosen_language(lang)
    except InvalidParameter as error:
        print(load_translator().error(None, error), file=sys.stderr)
        return EXIT_USAGE
    settings = settings_or_explain(lang, log_level)
    return EXIT_CONFIG if settings is None else settings
