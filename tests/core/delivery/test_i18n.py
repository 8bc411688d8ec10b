from __future__ import annotations

import re
import string
from pathlib import Path

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
    assert TRANSLATOR.error("en", error).startswith("The daily quota shared here cannot cover")
    assert TRANSLATOR.error("zh", error).startswith("这里共享的每日额度不够这次使用")


def _named_in_code(kind: str) -> set[str]:
    """Every `Phrase("x"...)` or `Term("x")` key written in the code."""
    pattern = re.compile(rf'\b{kind}\(\s*"(\w+)"')
    found: set[str] = set()
    for folder in ("core", "bot", "adapters"):
        for path in Path(folder).rglob("*.py"):
            found |= set(pattern.findall(path.read_text(encoding="utf-8")))
    return found


def test_every_phrase_and_term_in_the_code_is_in_the_catalogs() -> None:
    english = TRANSLATOR.catalogs["en"]
    phrases, terms = _named_in_code("Phrase"), _named_in_code("Term")
    assert len(phrases) >= 30 and {"empty", "none_given"} <= terms
    assert {f"phrase.{key}" for key in phrases} <= set(english)
    assert {f"term.{key}" for key in terms} <= set(english)
    for scope in ("user", "member", "chat"):  # Banned words its scope as phrase.banned_<scope>
        assert f"phrase.banned_{scope}" in english
    for reason in errors.DOWNLOAD_REASONS:
        assert f"term.download_{reason}" in english


def test_no_message_is_left_in_english_in_chinese() -> None:
    english, chinese = TRANSLATOR.catalogs["en"], TRANSLATOR.catalogs["zh"]
    words = re.compile(r"[A-Za-z]{3,}")
    for key, text in chinese.items():
        literal = "".join(part for part, *_ in string.Formatter().parse(text))
        assert text != english[key] or not words.search(literal), key


def test_phrases_and_model_names_inside_messages() -> None:
    from core.requests import load_catalog
    from core.terms import ModelId, Phrase

    named = load_translator(load_catalog())
    sides = Phrase("sides", low=512, high=2048, model="Z-Image Turbo")
    error = errors.InvalidParameter("size", "256x256", sides)
    assert named.error("en", error).endswith("Allowed: each side 512 to 2048 px for Z-Image Turbo.")
    assert named.error("zh", error).endswith("允许的值：Z-Image Turbo 的每边为 512 到 2048 像素。")
    assert named.text("en", "detail.model", value=ModelId("Tongyi-MAI/Z-Image-Turbo")) == (
        "Model: Z-Image Turbo"
    )
    assert TRANSLATOR.text("en", "detail.model", value=ModelId("a/b")) == "Model: a/b"


def test_message_values_survive_the_store_and_are_translated_after_it() -> None:
    import dataclasses
    import json

    from core.delivery.render import failure_reason
    from core.terms import Key, Phrase, Term, from_plain, to_plain
    from tests.core.stores.test_contract import job as stored_job

    def through_json(params: dict[str, object]) -> dict[str, object]:
        return json.loads(json.dumps({k: to_plain(v) for k, v in params.items()}))

    values = {
        "reason": Term("download_not_image"),
        "status": Key("status.RUNNING"),
        "wait": Phrase("about_wait", time=Phrase("seconds", n=5)),
        "n": 3,
    }
    assert {k: from_plain(v) for k, v in through_json(values).items()} == values
    timed_out = errors.TaskTimedOut("t1", 600.4, "RUNNING")
    job = dataclasses.replace(  # a failed job as read back from the store (locale zh)
        stored_job(), error_key=timed_out.key, error_params=through_json(timed_out.params())
    )
    assert failure_reason(TRANSLATOR, job) == "等待 600 秒后图片仍未完成（状态 生成中）。"
    unknown = Key("status.QUEUED_SOMEWHERE")  # a status no catalog has: shown as it is
    assert TRANSLATOR.text("en", "error.task_timed_out", seconds=1, status=unknown).endswith(
        "(still QUEUED_SOMEWHERE)."
    )
