"""Settings from the environment and `.env`; every name here is a public interface."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from core.delivery import load_translator
from core.errors import ConfigurationError
from core.secret import Sealer, Secret

CommaList = Annotated[list[str], NoDecode]
SECRET_FIELDS = {
    "modelscope_api_token",
    "telegram_bot_token",
    "discord_bot_token",
    "telegram_webhook_secret",
    "bot_secret_key",
}


class TierSetting(BaseModel):
    """One priority tier, as written in QUEUE_TIERS."""

    model_config = ConfigDict(extra="forbid")

    level: int = Field(ge=1)
    in_flight: int = Field(default=1, ge=1)
    waiting: int = Field(default=5, ge=1)
    users: list[str] = Field(default_factory=list)
    roles: list[str] = Field(default_factory=list)


class Settings(BaseSettings):
    """imagine-bot's configuration; `.env.example` documents each variable."""

    # An empty variable means "the default"; the word `none` means "no limit".
    model_config = SettingsConfigDict(
        env_file=".env",
        extra="ignore",
        case_sensitive=False,
        env_ignore_empty=True,
        env_parse_none_str="none",
    )

    modelscope_api_token: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    """ModelScope tokens (`ms-...`), comma-separated; each is one account's slot."""
    modelscope_infer_base: str = "https://api-inference.modelscope.cn/"
    # Where each token's Magicubes balance is read (`magicubes/balance`, with the same token).
    modelscope_openapi_base: str = "https://modelscope.cn/openapi/v1/"
    modelscope_image_poll_interval: float = Field(default=3.0, gt=0, le=60)
    modelscope_poll_policy: Literal["adaptive", "fixed"] = "adaptive"
    modelscope_image_poll_max_seconds: float = Field(default=600.0, gt=0, le=86_400)
    modelscope_request_timeout: float = Field(default=30.0, gt=0, le=600)
    modelscope_max_attempts: int = Field(default=5, ge=1, le=20)
    # The chat models on the same endpoint (v1/chat/completions): empty turns that part off.
    modelscope_chat_model: str = "Qwen/Qwen3.5-35B-A3B"  # enhance and translate
    modelscope_vision_model: str = "Qwen/Qwen3-VL-235B-A22B-Instruct"  # /describe
    modelscope_chat_concurrency: int = Field(default=2, ge=1, le=16)  # chat calls per token
    modelscope_chat_timeout: float = Field(default=60.0, gt=0, le=600)
    # Show an enhanced prompt for the user to confirm before any image is charged.
    prompt_enhance_confirm: bool = True
    # Translate a prompt into English for a model the catalog marks as preferring it.
    prompt_translate: bool = True
    modelscope_download_allowed_hosts: CommaList = Field(
        default_factory=lambda: ["*.aliyuncs.com", "*.modelscope.cn", "*.modelscope.ai"]
    )
    modelscope_download_max_bytes: int = Field(default=32 * 1024 * 1024, ge=1024)
    model_catalog_file: Path | None = None
    modelscope_token_concurrency: int = Field(default=1, ge=1, le=16)
    modelscope_token_daily_budget: float | None = Field(default=None, gt=0)
    image_workers: int = Field(default=1, ge=1, le=32)

    quota_user_daily: float | None = Field(default=20.0, ge=0)
    quota_chat_daily: float | None = Field(default=None, ge=0)
    quota_global_daily: float | None = Field(default=180.0, ge=0)
    quota_cooldown_seconds: float = Field(default=0.0, ge=0)
    quota_timezone: str = "Asia/Shanghai"
    queue_user_in_flight: int = Field(default=1, ge=1)
    queue_user_waiting: int = Field(default=5, ge=1)
    queue_chat_in_flight: int | None = Field(default=None, ge=1)
    queue_tiers: list[TierSetting] = Field(default_factory=list)
    prompt_filter_words: CommaList = Field(default_factory=list)
    prompt_filter_patterns: CommaList = Field(default_factory=list)
    job_retention_days: float = Field(default=30.0, gt=0)
    progress_interval_seconds: float = Field(default=5.0, ge=0)
    # Progress edits a second, all chats together: with many jobs running, each status
    # message is edited less often, leaving the platform's budget to answers and results.
    progress_edits_per_second: float = Field(default=10.0, gt=0, le=1000)
    # /livez, /readyz and /metrics; HEALTH_PORT=none turns the endpoint off.
    health_host: str = "127.0.0.1"
    health_port: int | None = Field(default=8080, ge=0, le=65535)
    # On SIGTERM: how long running jobs may take to finish before the process exits (they
    # resume at the next start either way). Keep it below the orchestrator's stop timeout.
    shutdown_grace_seconds: float = Field(default=8.0, ge=0, le=600)

    data_dir: Path = Path("data")
    store_url: str | None = None
    redis_key_prefix: str = Field(default="imagine:", min_length=1, max_length=64)
    # On a Redis store: a worker renews its jobs' leases; one not renewed for this long (the
    # worker died) is taken over by another worker. And how many jobs one process runs.
    worker_lease_seconds: float = Field(default=30.0, ge=1, le=600)
    worker_max_jobs: int = Field(default=32, ge=1, le=10_000)

    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    telegram_mode: Literal["polling", "webhook"] = "polling"
    telegram_webhook_url: str = ""
    telegram_webhook_secret: SecretStr | None = None
    telegram_webhook_host: str = "0.0.0.0"  # noqa: S104 - Telegram must reach it
    telegram_webhook_port: int = Field(default=8443, ge=0, le=65535)
    discord_bot_token: SecretStr | None = None
    discord_api_base_url: str = "https://discord.com/api/v10"
    discord_gateway_url: str = "wss://gateway.discord.gg"
    discord_dev_guild_id: int | None = None
    discord_sync_commands: bool = True
    discord_allowed_guilds: CommaList = Field(default_factory=list)
    discord_allowed_channels: CommaList = Field(default_factory=list)
    discord_allow_dms: bool = True
    bot_admin_ids: CommaList = Field(default_factory=list)
    # Members' own ModelScope tokens (/token), kept encrypted with BOT_SECRET_KEY: on
    # needs the key, and a key lost or changed makes the kept tokens unreadable.
    member_tokens: bool = False
    bot_secret_key: SecretStr | None = None

    bot_default_locale: str = "en"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"

    @field_validator(
        "modelscope_api_token",
        "modelscope_download_allowed_hosts",
        "bot_admin_ids",
        "discord_allowed_guilds",
        "discord_allowed_channels",
        "prompt_filter_words",
        "prompt_filter_patterns",
        mode="before",
    )
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator(
        "modelscope_infer_base",
        "modelscope_openapi_base",
        "telegram_api_base_url",
        "discord_api_base_url",
        mode="after",
    )
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("expected an http:// or https:// URL")
        return value

    @field_validator("discord_gateway_url", mode="after")
    @classmethod
    def _ws_url(cls, value: str) -> str:
        if not value.startswith(("ws://", "wss://")):
            raise ValueError("expected a ws:// or wss:// URL")
        return value

    @field_validator("quota_timezone", mode="after")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("expected an IANA time zone such as Asia/Shanghai or UTC") from None
        return value

    @field_validator("bot_default_locale", mode="after")
    @classmethod
    def _known_language(cls, value: str) -> str:
        known = load_translator().locales
        if value.replace("_", "-").split("-")[0].lower() not in known:
            raise ValueError(f"expected one of the languages the bot speaks: {', '.join(known)}")
        return value

    @model_validator(mode="after")
    def _webhook_complete(self) -> Settings:
        if self.telegram_mode == "webhook" and not (
            self.telegram_webhook_url.startswith("https://") and self.telegram_webhook_secret
        ):
            raise ValueError(
                "TELEGRAM_MODE=webhook needs TELEGRAM_WEBHOOK_URL (https://...) and "
                "TELEGRAM_WEBHOOK_SECRET"
            )
        return self

    @model_validator(mode="after")
    def _member_tokens_sealed(self) -> Settings:
        key = self.bot_secret_key.get_secret_value() if self.bot_secret_key else ""
        if self.member_tokens and len(key) < Sealer.MIN_KEY_LENGTH:
            raise ValueError(
                "MEMBER_TOKENS=true needs BOT_SECRET_KEY, at least "
                f"{Sealer.MIN_KEY_LENGTH} random characters (python -c "
                "'import secrets; print(secrets.token_urlsafe(32))'), to keep members' "
                "tokens encrypted"
            )
        return self

    def sealer(self) -> Sealer | None:
        """What seals members' own tokens; None when the feature is off."""
        if not self.member_tokens or self.bot_secret_key is None:
            return None
        return Sealer(Secret(self.bot_secret_key.get_secret_value(), "BOT_SECRET_KEY"))

    def secret_values(self) -> list[str]:
        """Every configured secret, for the log redaction."""
        values = [token.reveal() for token in self.modelscope_tokens()]
        for secret in (
            self.telegram_bot_token,
            self.discord_bot_token,
            self.telegram_webhook_secret,
            self.bot_secret_key,
        ):
            if secret is not None:
                values.append(secret.get_secret_value())
        return values

    @model_validator(mode="after")
    def _poll_window(self) -> Settings:
        if self.modelscope_image_poll_max_seconds < self.modelscope_image_poll_interval:
            raise ValueError(
                "MODELSCOPE_IMAGE_POLL_MAX_SECONDS must be at least MODELSCOPE_IMAGE_POLL_INTERVAL"
            )
        return self

    def modelscope_tokens(self) -> list[Secret]:
        return [
            Secret(token.get_secret_value(), f"token#{index}")
            for index, token in enumerate(self.modelscope_api_token, start=1)
        ]

    @property
    def output_dir(self) -> Path:
        """Where originals are kept: the seed's `cache/outputs/images` layout."""
        return self.data_dir / "cache" / "outputs" / "images"

    @property
    def resolved_store_url(self) -> str:
        return self.store_url or f"sqlite:///{self.data_dir / 'imagine.db'}"


def load_settings(**overrides: Any) -> Settings:
    """Settings, or a `ConfigurationError` that names each wrong variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigurationError(describe_errors(exc)) from None


def describe_errors(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else ""
        name = field.upper() or "settings"
        shown = "" if field in SECRET_FIELDS or not field else f" (got {error['input']!r})"
        lines.append(f"{name}: {error['msg'].removeprefix('Value error, ')}{shown}")
    return "; ".join(lines)
