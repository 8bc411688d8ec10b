"""Everything a user reads, in their language: catalogs live in `core/delivery/locales/*.json`."""

from __future__ import annotations

import json
import string
from importlib import resources

from core.errors import ImagineError
from core.terms import Term

DEFAULT_LOCALE = "en"


class _Blank(dict[str, object]):
    # A template names a value the caller did not give: show it empty, never crash.
    def __missing__(self, key: str) -> str:
        return ""


class Translator:
    """Looks a message key up for a locale, falling back to English, then to the key."""

    def __init__(self, catalogs: dict[str, dict[str, str]]) -> None:
        if DEFAULT_LOCALE not in catalogs:
            raise ValueError("the English catalog is required")
        self.catalogs = catalogs

    @property
    def locales(self) -> tuple[str, ...]:
        return tuple(sorted(self.catalogs))

    def text(self, locale: str | None, key: str, **params: object) -> str:
        chosen = self.catalogs.get(normalize_locale(locale), {})
        template = chosen.get(key) or self.catalogs[DEFAULT_LOCALE].get(key) or key
        return string.Formatter().vformat(template, (), _Blank(params))

    def error(self, locale: str | None, error: ImagineError) -> str:
        params = {
            name: self.text(locale, f"term.{value}") if isinstance(value, Term) else value
            for name, value in error.params().items()
        }
        return self.text(locale, error.key, **params)


def normalize_locale(locale: str | None) -> str:
    """`zh-CN`, `zh_CN.UTF-8`, `zh-Hans` -> `zh`; `en-US` -> `en`; unknown -> `en`."""
    if not locale:
        return DEFAULT_LOCALE
    language = locale.replace("_", "-").split("-")[0].split(".")[0].lower()
    return language if language in ("en", "zh") else DEFAULT_LOCALE


def load_translator() -> Translator:
    folder = resources.files("core.delivery") / "locales"
    catalogs = {
        entry.name.removesuffix(".json"): json.loads(entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".json")
    }
    return Translator(catalogs)
