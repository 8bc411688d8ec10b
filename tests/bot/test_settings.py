from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import load_settings
from core.errors import ConfigurationError

ENV_NAMES = [
    "MODELSCOPE_API_TOKEN",
    "MODELSCOPE_INFER_BASE",
    "MODELSCOPE_IMAGE_POLL_INTERVAL",
    "MODELSCOPE_IMAGE_POLL_MAX_SECONDS",
    "DATA_DIR",
    "STORE_URL",
    "TELEGRAM_BOT_TOKEN",
    "DISCORD_GATEWAY_URL",
    "BOT_ADMIN_IDS",
    "MODELSCOPE_DOWNLOAD_ALLOWED_HOSTS",
    "MEMBER_TOKENS",
    "BOT_SECRET_KEY",
]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_defaults_suit_long_tasks() -> None:
    settings = load_settings()
    assert settings.modelscope_infer_base == "https://api-inference.modelscope.cn/"
    assert settings.modelscope_image_poll_interval == 3.0
    assert settings.modelscope_image_poll_max_seconds == 600.0
    assert settings.telegram_api_base_url == "https://api.telegram.org/bot"
    assert settings.resolved_store_url == "sqlite:///data/imagine.db"
    assert settings.output_dir == Path("data/cache/outputs/images")
    assert settings.modelscope_tokens() == []


def test_several_tokens_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELSCOPE_API_TOKEN", "ms-aaa, ms-bbb,,")
    monkeypatch.setenv("BOT_ADMIN_IDS", "telegram:1,discord:2")
    settings = load_settings()
    tokens = settings.modelscope_tokens()
    assert [t.reveal() for t in tokens] == ["ms-aaa", "ms-bbb"]
    assert [t.label for t in tokens] == ["token#1", "token#2"]
    assert "ms-aaa" not in repr(settings) and "ms-aaa" not in repr(tokens)
    assert settings.bot_admin_ids == ["telegram:1", "discord:2"]


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("MODELSCOPE_IMAGE_POLL_INTERVAL=5\nDATA_DIR=/srv/imagine\n")
    settings = load_settings()
    assert settings.modelscope_image_poll_interval == 5.0
    assert settings.resolved_store_url == "sqlite:////srv/imagine/imagine.db"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("MODELSCOPE_IMAGE_POLL_INTERVAL", "-1", "greater than 0"),
        ("MODELSCOPE_IMAGE_POLL_INTERVAL", "often", "valid number"),
        ("MODELSCOPE_IMAGE_POLL_MAX_SECONDS", "1", "at least MODELSCOPE_IMAGE_POLL_INTERVAL"),
        ("MODELSCOPE_INFER_BASE", "api.example.com", "http"),
        ("DISCORD_GATEWAY_URL", "https://gateway", "ws://"),
        ("MODELSCOPE_CHAT_CONCURRENCY", "0", "greater than or equal to 1"),
        ("PROMPT_ENHANCE_CONFIRM", "perhaps", "valid boolean"),
    ],
)
def test_invalid_values_name_the_variable(
    monkeypatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    assert expected in caught.value.detail
    assert caught.value.detail.startswith(("MODELSCOPE_", "DISCORD_", "PROMPT_", "settings"))


def test_the_variable_is_named_with_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELSCOPE_IMAGE_POLL_INTERVAL", "-1")
    with pytest.raises(
        ConfigurationError, match=r"MODELSCOPE_IMAGE_POLL_INTERVAL: .* \(got '-1'\)"
    ):
        load_settings()


def test_secrets_are_never_echoed_in_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELSCOPE_API_TOKEN", "ms-secret-value")
    with pytest.raises(ConfigurationError) as caught:
        load_settings(modelscope_api_token=12345)
    assert "MODELSCOPE_API_TOKEN" in caught.value.detail
    assert "12345" not in caught.value.detail and "ms-secret-value" not in caught.value.detail


def test_the_example_file_loads_as_it_is(tmp_path: Path) -> None:
    example = Path(__file__).parents[2] / ".env.example"
    (tmp_path / ".env").write_text(example.read_text())
    settings = load_settings()
    assert settings.model_catalog_file is None and settings.modelscope_tokens() == []
    assert settings.quota_chat_daily is None and settings.quota_user_daily == 20
    assert settings.modelscope_image_poll_max_seconds == 600


def test_none_lifts_a_limit_and_zones_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUOTA_USER_DAILY", "none")
    assert load_settings().quota_user_daily is None
    monkeypatch.setenv("QUOTA_TIMEZONE", "Mars/Olympus")
    with pytest.raises(ConfigurationError, match="QUOTA_TIMEZONE: expected an IANA time zone"):
        load_settings()


def test_the_default_language_must_be_one_the_bot_speaks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BOT_DEFAULT_LOCALE", "zh-CN")
    assert load_settings().bot_default_locale == "zh-CN"
    monkeypatch.setenv("BOT_DEFAULT_LOCALE", "fr")
    with pytest.raises(ConfigurationError, match=r"BOT_DEFAULT_LOCALE: expected one of .* en, zh"):
        load_settings()


def test_tiers_from_json_reach_the_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.config import policy_from

    monkeypatch.setenv("QUEUE_TIERS", '[{"level": 1, "in_flight": 2, "roles": ["patron"]}]')
    monkeypatch.setenv("BOT_ADMIN_IDS", "tg:1")
    monkeypatch.setenv("PROMPT_FILTER_WORDS", "gore, blood")
    policy = policy_from(load_settings())
    assert policy.tier_for("tg:5", ("patron",)).in_flight == 2
    assert policy.tier_for("tg:5", ()).level == 0
    assert policy.is_admin("tg:1")
    assert policy.prompt_filter.match("so much BLOOD") == "word:blood"
    monkeypatch.setenv("QUEUE_TIERS", '[{"level": 0}]')
    with pytest.raises(ConfigurationError, match="QUEUE_TIERS"):
        load_settings()


def test_members_tokens_need_a_secret_key_that_is_never_shown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MEMBER_TOKENS", "true")
    with pytest.raises(ConfigurationError, match="MEMBER_TOKENS=true needs BOT_SECRET_KEY"):
        load_settings()
    monkeypatch.setenv("BOT_SECRET_KEY", "too-short-a-key")
    with pytest.raises(ConfigurationError) as short:
        load_settings()
    assert "too-short-a-key" not in str(short.value)
    key = "k" * 40
    monkeypatch.setenv("BOT_SECRET_KEY", key)
    settings = load_settings()
    sealer = settings.sealer()
    assert sealer is not None and key in settings.secret_values()  # masked in the logs
    monkeypatch.setenv("MEMBER_TOKENS", "false")
    assert load_settings().sealer() is None  # off: nothing is sealed, /token says so
