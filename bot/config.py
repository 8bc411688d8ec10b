"""Settings turned into the parts the composition root puts together (bot/composition.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from adapters.discord.config import DiscordConfig, Places
from adapters.telegram.config import TelegramConfig
from bot.settings import Settings
from core.clock import Clock
from core.errors import ConfigurationError
from core.execution import ImageEngine
from core.images import ImageFetcher, ImageWorkers
from core.jobs import Policy, QuotaLimits, Tier
from core.modelscope import (
    AdaptivePolicy,
    AdaptiveSettings,
    Backoff,
    BalanceReader,
    FixedInterval,
    ModelScopeClient,
    ModelScopeHttp,
    PollPolicy,
    RunTimes,
)
from core.modelscope.chat import ChatClient
from core.requests import PromptFilter
from core.secret import Secret
from core.service.members import MemberEngines
from core.service.prompts import PromptSettings

if TYPE_CHECKING:
    import aiohttp


@dataclass(frozen=True)
class EngineConfig:
    """What the engines need, taken from settings (or from `--simulate`)."""

    base_url: str
    tokens: Sequence[Secret]
    poll_interval: float
    poll_policy: str
    poll_max_seconds: float
    request_timeout: float
    max_attempts: int
    allowed_hosts: Sequence[str]
    max_download_bytes: int
    output_dir: Path
    openapi_base: str = "https://modelscope.cn/openapi/v1/"  # where balances are read
    chat_timeout: float = 60.0  # one chat call (describe, enhance, translate)

    @classmethod
    def from_settings(cls, settings: Settings, output_dir: Path | None = None) -> EngineConfig:
        return cls(
            base_url=settings.modelscope_infer_base,
            tokens=settings.modelscope_tokens(),
            poll_interval=settings.modelscope_image_poll_interval,
            poll_policy=settings.modelscope_poll_policy,
            poll_max_seconds=settings.modelscope_image_poll_max_seconds,
            request_timeout=settings.modelscope_request_timeout,
            max_attempts=settings.modelscope_max_attempts,
            allowed_hosts=settings.modelscope_download_allowed_hosts,
            max_download_bytes=settings.modelscope_download_max_bytes,
            output_dir=output_dir or settings.output_dir,
            openapi_base=settings.modelscope_openapi_base,
            chat_timeout=settings.modelscope_chat_timeout,
        )


def build_engines(
    config: EngineConfig,
    *,
    session: aiohttp.ClientSession,
    clock: Clock,
    run_times: RunTimes,
    images: ImageWorkers,
    policy: PollPolicy | None = None,
) -> list[ImageEngine]:
    """One engine per token (each token is one ModelScope account with its own slots), all
    teaching the same `run_times`; `images` checks what they download."""
    backoff = Backoff(attempts=config.max_attempts)
    fetcher = ImageFetcher(
        session=session,
        allowed_hosts=config.allowed_hosts,
        max_bytes=config.max_download_bytes,
        backoff=backoff,
        clock=clock,
        images=images,
    )
    chosen = policy or poll_policy(config, run_times)
    return [
        ImageEngine(
            client=ModelScopeClient(
                ModelScopeHttp(session, config.base_url, token, config.request_timeout),
                backoff,
                clock,
            ),
            fetcher=fetcher,
            output_dir=config.output_dir,
            policy=chosen,
            run_times=run_times,
            max_seconds=config.poll_max_seconds,
            clock=clock,
        )
        for token in config.tokens
    ]


def build_balance_readers(
    config: EngineConfig, session: aiohttp.ClientSession
) -> dict[str, BalanceReader]:
    """By token label, a reader of its Magicubes balance at the OpenAPI base."""
    return {
        token.label: BalanceReader(
            ModelScopeHttp(session, config.openapi_base, token, config.request_timeout)
        )
        for token in config.tokens
    }


def build_chat_clients(
    config: EngineConfig, session: aiohttp.ClientSession
) -> dict[str, ChatClient]:
    """By token label, its client of the chat endpoint (same base URL, same token)."""
    return {
        token.label: ChatClient(
            ModelScopeHttp(session, config.base_url, token, config.chat_timeout)
        )
        for token in config.tokens
    }


def prompt_settings(settings: Settings) -> PromptSettings:
    return PromptSettings(
        chat_model=settings.modelscope_chat_model.strip(),
        vision_model=settings.modelscope_vision_model.strip(),
        confirm_enhance=settings.prompt_enhance_confirm,
        translate=settings.prompt_translate,
    )


def member_engines(
    config: EngineConfig,
    *,
    session: aiohttp.ClientSession,
    clock: Clock,
    run_times: RunTimes,
    images: ImageWorkers,
) -> MemberEngines:
    """What builds a member's own token's engine and balance reader, as the configured
    tokens' are built."""

    def build(token: Secret) -> tuple[ImageEngine, BalanceReader]:
        one = dataclasses.replace(config, tokens=[token])
        engines = build_engines(
            one, session=session, clock=clock, run_times=run_times, images=images
        )
        return engines[0], build_balance_readers(one, session)[token.label]

    return build


def poll_policy(config: EngineConfig, run_times: RunTimes) -> PollPolicy:
    """One policy for every engine."""
    if config.poll_policy == "fixed":
        return FixedInterval(config.poll_interval)
    # Its defaults are for the 3 s default interval; another interval scales them all.
    return AdaptivePolicy(run_times, AdaptiveSettings().scaled(config.poll_interval / 3.0))


def policy_from(settings: Settings) -> Policy:
    limits = QuotaLimits(
        user_daily=settings.quota_user_daily,
        chat_daily=settings.quota_chat_daily,
        global_daily=settings.quota_global_daily,
        cooldown_seconds=settings.quota_cooldown_seconds,
        max_waiting=settings.queue_user_waiting,
        timezone=settings.quota_timezone,
    )
    return Policy(
        limits=limits,
        user_in_flight=settings.queue_user_in_flight,
        chat_in_flight=settings.queue_chat_in_flight,
        admins=frozenset(settings.bot_admin_ids),
        tiers=tuple(
            Tier(t.level, t.in_flight, t.waiting, frozenset(t.users), frozenset(t.roles))
            for t in settings.queue_tiers
        ),
        prompt_filter=PromptFilter(
            tuple(settings.prompt_filter_words), tuple(settings.prompt_filter_patterns)
        ),
        retention_days=settings.job_retention_days,
    )


def events_path(settings: Settings) -> Path:
    return settings.data_dir / "events.jsonl"


def telegram_config(settings: Settings) -> TelegramConfig:
    token = settings.telegram_bot_token
    if token is None:
        raise ConfigurationError("TELEGRAM_BOT_TOKEN is not set")
    secret = settings.telegram_webhook_secret
    return TelegramConfig(
        token=Secret(token.get_secret_value(), "telegram"),
        base_url=settings.telegram_api_base_url,
        mode=settings.telegram_mode,
        webhook_url=settings.telegram_webhook_url,
        webhook_secret=Secret(secret.get_secret_value(), "webhook") if secret else None,
        webhook_host=settings.telegram_webhook_host,
        webhook_port=settings.telegram_webhook_port,
    )


def discord_config(settings: Settings) -> DiscordConfig:
    token = settings.discord_bot_token
    if token is None:
        raise ConfigurationError("DISCORD_BOT_TOKEN is not set")
    places = Places(
        guilds=_snowflakes("DISCORD_ALLOWED_GUILDS", settings.discord_allowed_guilds),
        channels=_snowflakes("DISCORD_ALLOWED_CHANNELS", settings.discord_allowed_channels),
        dms=settings.discord_allow_dms,
    )
    return DiscordConfig(
        token=Secret(token.get_secret_value(), "discord"),
        api_base_url=settings.discord_api_base_url,
        gateway_url=settings.discord_gateway_url,
        places=places,
        sync_commands=settings.discord_sync_commands,
        dev_guild_id=settings.discord_dev_guild_id,
    )


def _snowflakes(name: str, values: list[str]) -> frozenset[int]:
    if not all(value.isdigit() for value in values):
        raise ConfigurationError(f"{name}: expected comma-separated numeric ids, got {values!r}")
    return frozenset(int(value) for value in values)
