"""Everything a user reads, in their language: catalogs live in `core/delivery/locales/*.json`."""

from __future__ import annotations

import json
import string
from collections.abc import Mapping
from importlib import resources

from core.errors import ImagineError
from core.requests.catalog import Catalog
from core.terms import Key, ModelId, Phrase, Term

DEFAULT_LOCALE = "en"


class _Blank(dict[str, object]):
    # A template names a value the caller did not give: show it empty, never crash.
    def __missing__(self, key: str) -> str:
        return ""


class Translator:
    """Looks a message key up for a locale, falling back to English, then to the key."""

    def __init__(
        self, catalogs: dict[str, dict[str, str]], model_names: Mapping[str, str] | None = None
    ) -> None:
        if DEFAULT_LOCALE not in catalogs:
            raise ValueError("the English catalog is required")
        self.catalogs = catalogs
        self.model_names = dict(model_names or {})

    @property
    def locales(self) -> tuple[str, ...]:
        return tuple(sorted(self.catalogs))

    def text(self, locale: str | None, key: str, **params: object) -> str:
        """The message `key` in `locale`; a `Term` or `Phrase` value is translated too."""
        chosen = self.catalogs.get(normalize_locale(locale), {})
        template = chosen.get(key) or self.catalogs[DEFAULT_LOCALE].get(key) or key
        values = {name: self._value(locale, value) for name, value in params.items()}
        return string.Formatter().vformat(template, (), _Blank(values))

    def error(self, locale: str | None, error: ImagineError) -> str:
        return self.text(locale, error.key, **error.params())

    def _value(self, locale: str | None, value: object) -> object:
        if isinstance(value, Term):
            return self.text(locale, f"term.{value}")
        if isinstance(value, Phrase):
            return self.text(locale, f"phrase.{value.key}", **value.params)
        if isinstance(value, ModelId):
            return self.model_names.get(value, str(value))
        if isinstance(value, Key):
            known = any(value in catalog for catalog in self.catalogs.values())
            return self.text(locale, value) if known else value.rpartition(".")[2]
        return value


def normalize_locale(locale: str | None) -> str:
    """`zh-CN`, `zh_CN.UTF-8`, `zh-Hans` -> `zh`; `en-US` -> `en`; unknown -> `en`."""
    if not locale:
        return DEFAULT_LOCALE
    language = locale.replace("_", "-").split("-")[0].split(".")[0].lower()
    return language if language in ("en", "zh") else DEFAULT_LOCALE


def load_translator(catalog: Catalog | None = None) -> Translator:
    """The locale catalogs; with the model `catalog`, models are shown by their names."""
    folder = resources.files("core.delivery") / "locales"
    catalogs = {
        entry.name.removesuffix(".json"): json.loads(entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".json")
    }
    names = {model.id: model.name for model in catalog.models} if catalog else {}
    return Translator(catalogs, names)
