from __future__ import annotations

import string

import pytest

import core.errors as errors
from core.delivery.i18n import load_translator, normalize_locale

TRANSLATOR = load_translator()


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_locale_has_every_key_with_the_same_placeholders() -> None:
    english = TRANSLATOR.catalogs["en"]
    assert set(TRANSLATOR.locales) >= {"en", "zh"}
    for locale, catalog in TRANSLATOR.catalogs.items():
        assert set(catalog) == set(english), locale
        for key, template in catalog.items():
            assert placeholders(template) == placeholders(english[key]), (locale, key)


def test_every_error_class_has_a_message() -> None:
    classes = [
        c
        for c in vars(errors).values()
        if isinstance(c, type) and issubclass(c, errors.ImagineError)
    ]
    assert len(classes) >= 14
    for cls in classes:
        assert cls.key in TRANSLATOR.catalogs["en"], cls.__name__


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("zh-CN", "zh"),
        ("zh_CN.UTF-8", "zh"),
        ("zh-Hans", "zh"),
        ("en-US", "en"),
        ("fr", "en"),
        (None, "en"),
        ("", "en"),
    ],
)
def test_locale_names(given: str | None, expected: str) -> None:
    assert normalize_locale(given) == expected


def test_an_error_in_both_languages() -> None:
    error = errors.InvalidParameter("steps", 101, "1..100")
    assert TRANSLATOR.error("en", error) == "Invalid steps: 101. Allowed: 1..100."
    assert TRANSLATOR.error("zh-CN", error) == "参数 steps 无效：101。允许的值：1..100。"


def test_unknown_keys_and_missing_values_degrade_gently() -> None:
    assert TRANSLATOR.text("en", "no.such.key") == "no.such.key"
    assert (
        TRANSLATOR.text("en", "error.content_refused") == "ModelScope refused to make this image: "
    )


def test_terms_inside_messages_are_translated() -> None:
    error = errors.QuotaExceeded("chat", used=10, limit=10, asked=1, resets_at="00:00")
    assert TRANSLATOR.error("en", error).startswith("This chat's daily quota cannot cover this")
    assert TRANSLATOR.error("zh", error).startswith("本群每日额度不足")
