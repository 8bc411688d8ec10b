"""The composition root of the long-running bot: `imagine-bot run` and `enqueue`."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp

from adapters.cli.render import PLATFORM as CLI_PLATFORM
from adapters.cli.render import JsonlNotifier
from adapters.discord import PLATFORM as DISCORD
from adapters.discord.lifecycle import DiscordAdapter, DiscordConfig
from adapters.discord.who import Access
from adapters.telegram import PLATFORM as TELEGRAM
from adapters.telegram.lifecycle import TelegramAdapter, TelegramConfig
from bot.roles import RUN, Role, sharing_for
from bot.settings import Settings
from bot.wiring import EngineConfig, build_engines
from core.clock import SystemClock
from core.delivery.i18n import load_translator
from core.errors import ConfigurationError
from core.images import workers as imagework
from core.requests.catalog import load_catalog
from core.requests.moderation import PromptFilter
from core.secret import Secret
from core.service.core import Core, assemble
from core.service.policy import Policy, Tier
from core.service.quotas import QuotaLimits
from core.stores import Store
from core.stores.redis import RedisStore
from core.stores.sqlite import SqliteStore


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


async def open_store(settings: Settings) -> Store:
    """SQLite (the default, one process) or Redis (several processes share it)."""
    url = settings.resolved_store_url
    if url.startswith("sqlite:///"):
        return await SqliteStore.open(url.removeprefix("sqlite:///"))
    if url.startswith(("redis://", "rediss://", "unix://")):
        return await RedisStore.open(url, settings.redis_key_prefix)
    scheme = url.partition(":")[0]  # never the whole URL: it may hold a password
    raise ConfigurationError(
        f"STORE_URL: expected sqlite:///PATH or redis://HOST:PORT/DB, got a {scheme!r} URL"
    )


def receiving_alone(store: Store, receiver: str) -> contextlib.AbstractAsyncContextManager[None]:
    """Some ingress must be one process per bot token (Telegram's getUpdates, Discord's
    gateway session): on Redis, a lease makes a second such process stop with a clear word."""
    if isinstance(store, RedisStore):
        return store.exclusive(receiver)
    return contextlib.nullcontext()


@contextlib.asynccontextmanager
async def core_from(settings: Settings, role: Role = RUN) -> AsyncIterator[Core]:
    """The core with its store, HTTP session and engines; all closed on the way out."""
    if not settings.modelscope_tokens():
        raise ConfigurationError("MODELSCOPE_API_TOKEN: at least one token is needed")
    clock = SystemClock()
    imagework.configure(settings.image_workers)
    store = await open_store(settings)
    try:
        sharing = sharing_for(settings, store, role)
        async with aiohttp.ClientSession() as session:
            engines = build_engines(EngineConfig.from_settings(settings), session, clock)
            labelled = [(engine.client.token_label, engine) for engine in engines]
            notifiers = {CLI_PLATFORM: JsonlNotifier(events_path(settings))}
            yield assemble(
                store,
                labelled,
                notifiers,
                load_catalog(settings.model_catalog_file),
                policy_from(settings),
                clock,
                settings.modelscope_token_concurrency,
                settings.modelscope_token_daily_budget,
                settings.progress_interval_seconds,
                sharing,
            )
    finally:
        await store.close()
        await asyncio.to_thread(imagework.shutdown)


Adapter = TelegramAdapter | DiscordAdapter


async def start_adapters(
    settings: Settings, core: Core, role: Role = RUN
) -> tuple[list[tuple[str, Adapter]], list[asyncio.Task[None]]]:
    """Start each chat adapter the role uses; return once each receives updates (or, in a
    worker, can deliver over REST)."""
    adapters = _adapters(settings, core, role)
    tasks: list[asyncio.Task[None]] = []
    for platform, adapter in adapters:
        core.notifiers.register(platform, adapter.notifier)
        alone = _single_receiver(settings, platform)
        work = _serve(adapter, role.receives_from(platform), core.store, alone)
        tasks.append(asyncio.create_task(work, name=platform))
        ready = asyncio.create_task(adapter.ready.wait())
        await asyncio.wait({tasks[-1], ready}, return_when=asyncio.FIRST_COMPLETED)
        ready.cancel()
    return adapters, tasks


def _adapters(settings: Settings, core: Core, role: Role) -> list[tuple[str, Adapter]]:
    """A gateway's one platform, or every configured one."""
    tokens = {TELEGRAM: settings.telegram_bot_token, DISCORD: settings.discord_bot_token}
    platforms = role.receives or {name for name, token in tokens.items() if token is not None}
    translator, service = load_translator(), core.service
    adapters: list[tuple[str, Adapter]] = []
    if TELEGRAM in platforms:
        seen = core.store.first_sight if isinstance(core.store, RedisStore) else None
        telegram = TelegramAdapter(telegram_config(settings), service, translator, seen)
        adapters.append((TELEGRAM, telegram))
    if DISCORD in platforms:
        config = discord_config(settings)
        if not role.receives_from(DISCORD):  # a worker: its gateway process syncs commands
            config = dataclasses.replace(config, sync_commands=False)
        adapters.append((DISCORD, DiscordAdapter(config, service, translator, service.clock)))
    return adapters


async def _serve(adapter: Adapter, receive: bool, store: Store, alone: str | None) -> None:
    if not receive or alone is None:
        await adapter.run(receive)
        return
    async with receiving_alone(store, alone):
        await adapter.run(receive)


def _single_receiver(settings: Settings, platform: str) -> str | None:
    """The ingress that only one process per bot token may run (a webhook has no limit)."""
    if platform == DISCORD:
        return "discord-gateway"
    return "telegram-polling" if settings.telegram_mode == "polling" else None


def telegram_config(settings: Settings) -> TelegramConfig:
    token = settings.telegram_bot_token
    if token is None:
        raise ConfigurationError("TELEGRAM_BOT_TOKEN is not set")
    secret = settings.telegram_webhook_secret
    return TelegramConfig(
        token=Secret(token.get_secret_value(), "telegram"),
        base_url=settings.telegram_api_base_url,
        admins=frozenset(settings.bot_admin_ids),
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
    access = Access(
        bot_admins=frozenset(settings.bot_admin_ids),
        guilds=_snowflakes("DISCORD_ALLOWED_GUILDS", settings.discord_allowed_guilds),
        channels=_snowflakes("DISCORD_ALLOWED_CHANNELS", settings.discord_allowed_channels),
        dms=settings.discord_allow_dms,
    )
    return DiscordConfig(
        token=Secret(token.get_secret_value(), "discord"),
        api_base_url=settings.discord_api_base_url,
        gateway_url=settings.discord_gateway_url,
        access=access,
        sync_commands=settings.discord_sync_commands,
        dev_guild_id=settings.discord_dev_guild_id,
    )


def _snowflakes(name: str, values: list[str]) -> frozenset[int]:
    if not all(value.isdigit() for value in values):
        raise ConfigurationError(f"{name}: expected comma-separated numeric ids, got {values!r}")
    return frozenset(int(value) for value in values)
