"""The composition root of the long-running bot (`run`, `gateway`, `worker`, `enqueue`): the
one place that builds the bot from settings. The store backend is chosen here, once, from
STORE_URL; everything else receives what it needs through its constructor."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator

import aiohttp

from adapters.cli.render import PLATFORM as CLI_PLATFORM
from adapters.cli.render import JsonlNotifier
from adapters.discord import PLATFORM as DISCORD
from adapters.discord.lifecycle import DiscordAdapter
from adapters.telegram import PLATFORM as TELEGRAM
from adapters.telegram.lifecycle import TelegramAdapter
from bot.config import (
    EngineConfig,
    build_engines,
    discord_config,
    events_path,
    policy_from,
    telegram_config,
)
from bot.roles import RUN, Role, process_name
from bot.settings import Settings
from core.clock import SystemClock
from core.delivery.i18n import load_translator
from core.errors import ConfigurationError
from core.execution.runtimes import RunTimes
from core.images import workers as imagework
from core.requests.catalog import load_catalog
from core.service.core import Core
from core.stores.backends import Backend, open_backend


async def open_store_backend(settings: Settings) -> Backend:
    """SQLite (the default, one process) or Redis (several processes share it)."""
    return await open_backend(
        settings.resolved_store_url,
        key_prefix=settings.redis_key_prefix,
        lease_seconds=settings.worker_lease_seconds,
    )


@contextlib.asynccontextmanager
async def core_from(settings: Settings, role: Role = RUN) -> AsyncIterator[Core]:
    """The core with its store, HTTP session and engines; all closed on the way out."""
    if not settings.modelscope_tokens():
        raise ConfigurationError("MODELSCOPE_API_TOKEN: at least one token is needed")
    clock = SystemClock()
    imagework.configure(settings.image_workers)
    backend = await open_store_backend(settings)
    try:
        if role.needs_shared_store and not backend.shared:
            raise ConfigurationError(
                f"`imagine-bot {role.name}` shares its queue with other processes through "
                "Redis: set STORE_URL=redis://HOST:PORT/DB"
            )
        async with aiohttp.ClientSession() as session:
            run_times = RunTimes()
            engines = build_engines(EngineConfig.from_settings(settings), session, clock, run_times)
            yield Core.build(
                backend=backend,
                engines=[(engine.client.token_label, engine) for engine in engines],
                run_times=run_times,
                notifiers={CLI_PLATFORM: JsonlNotifier(events_path(settings))},
                catalog=load_catalog(settings.model_catalog_file),
                policy=policy_from(settings),
                clock=clock,
                worker=process_name(role),
                claiming=role.claiming,
                max_jobs=settings.worker_max_jobs if backend.shared else None,
                concurrency=settings.modelscope_token_concurrency,
                daily_budget=settings.modelscope_token_daily_budget,
                progress_every=settings.progress_interval_seconds,
            )
    finally:
        await backend.close()
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
        work = _serve(adapter, role.receives_from(platform), core.backend, alone)
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
        seen = core.backend.first_sight
        telegram = TelegramAdapter(telegram_config(settings), service, translator, seen)
        adapters.append((TELEGRAM, telegram))
    if DISCORD in platforms:
        config = discord_config(settings)
        if not role.receives_from(DISCORD):  # a worker: its gateway process syncs commands
            config = dataclasses.replace(config, sync_commands=False)
        adapters.append((DISCORD, DiscordAdapter(config, service, translator, core.clock)))
    return adapters


async def _serve(adapter: Adapter, receive: bool, backend: Backend, alone: str | None) -> None:
    if not receive or alone is None:
        await adapter.run(receive)
        return
    async with backend.exclusive(alone):
        await adapter.run(receive)


def _single_receiver(settings: Settings, platform: str) -> str | None:
    """The ingress that only one process per bot token may run (a webhook has no limit)."""
    if platform == DISCORD:
        return "discord-gateway"
    return "telegram-polling" if settings.telegram_mode == "polling" else None
