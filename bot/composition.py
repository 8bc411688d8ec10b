"""The composition root of the long-running bot (`run`, `gateway`, `worker`, `enqueue`): the
one place that builds the bot from settings. The store backend is chosen here, once, from
STORE_URL; everything else receives what it needs through its constructor.

The order: the image workers, the store backend and the HTTP session; the chat adapters
the role uses, each with its notifier (the core's way out to that platform); the core,
given those notifiers; then each adapter is handed the core's two doors (the generation
service and the admin façade), through which its commands and buttons answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

from adapters.cli.render import PLATFORM as CLI_PLATFORM
from adapters.cli.render import JsonlNotifier
from adapters.discord import PLATFORM as DISCORD
from adapters.telegram import PLATFORM as TELEGRAM
from bot.config import (
    EngineConfig,
    build_balance_readers,
    build_chat_clients,
    build_engines,
    discord_config,
    events_path,
    member_engines,
    policy_from,
    prompt_settings,
    telegram_config,
)
from bot.roles import RUN, Role, process_name
from bot.settings import Settings
from core.clock import Clock, SystemClock
from core.delivery import Translator, load_translator
from core.errors import ConfigurationError, DataDirUnwritable
from core.images import ImageWorkers
from core.jobs import Notifier
from core.modelscope import RunTimes
from core.requests import Catalog, load_catalog
from core.service import Core
from core.stores import Backend, open_backend

if TYPE_CHECKING:  # each SDK is imported only by a process that serves its platform
    import aiohttp

    from adapters.discord.lifecycle import DiscordAdapter
    from adapters.telegram.lifecycle import TelegramAdapter

    Adapter = TelegramAdapter | DiscordAdapter


@dataclass
class Bot:
    """Everything one process runs: the core, and the chat adapters of its role."""

    core: Core
    adapters: list[tuple[str, Adapter]]


def check_writable(folder: Path) -> None:
    """The images go to DATA_DIR: a folder the bot cannot write is said at start, in words."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-check-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise DataDirUnwritable(str(folder), error.strerror or type(error).__name__) from None


async def open_store_backend(settings: Settings) -> Backend:
    """SQLite (the default, one process) or Redis (several processes share it)."""
    return await open_backend(
        settings.resolved_store_url,
        key_prefix=settings.redis_key_prefix,
        lease_seconds=settings.worker_lease_seconds,
    )


@contextlib.asynccontextmanager
async def bot_from(settings: Settings, role: Role = RUN) -> AsyncIterator[Bot]:
    """The bot with its store, HTTP session, engines and image workers; all closed on the
    way out."""
    if not settings.modelscope_tokens():
        raise ConfigurationError("MODELSCOPE_API_TOKEN: at least one token is needed")
    await asyncio.to_thread(check_writable, settings.output_dir)
    clock, images = SystemClock(), ImageWorkers(settings.image_workers)
    catalog = load_catalog(settings.model_catalog_file)
    backend = await open_store_backend(settings)
    try:
        if role.needs_shared_store and not backend.shared:
            raise ConfigurationError(
                f"`imagine-bot {role.name}` shares its queue with other processes through "
                "Redis: set STORE_URL=redis://HOST:PORT/DB"
            )
        async with _http(role) as session, _warming(images, role):
            translator = load_translator(catalog)
            adapters = _adapters(settings, role, backend, (clock, images, translator))
            core = _core(settings, role, backend, session, (clock, images, catalog), adapters)
            for _, adapter in adapters:
                adapter.handle(core.service, core.admin)
            yield Bot(core, adapters)
    finally:
        await backend.close()
        await asyncio.to_thread(images.close)


def _core(
    settings: Settings,
    role: Role,
    backend: Backend,
    session: aiohttp.ClientSession,
    parts: tuple[Clock, ImageWorkers, Catalog],
    adapters: list[tuple[str, Adapter]],
) -> Core:
    clock, images, catalog = parts
    run_times, config = RunTimes(), EngineConfig.from_settings(settings)
    engines = build_engines(
        config,
        session=session,
        clock=clock,
        run_times=run_times,
        images=images,
    )
    notifiers: dict[str, Notifier] = {CLI_PLATFORM: JsonlNotifier(events_path(settings))}
    notifiers.update({platform: adapter.notifier for platform, adapter in adapters})
    return Core.build(
        backend=backend,
        engines=[(engine.client.token_label, engine) for engine in engines],
        run_times=run_times,
        notifiers=notifiers,
        catalog=catalog,
        policy=policy_from(settings),
        clock=clock,
        worker=process_name(role),
        claiming=role.claiming,
        max_jobs=settings.worker_max_jobs if backend.shared else None,
        concurrency=settings.modelscope_token_concurrency,
        daily_budget=settings.modelscope_token_daily_budget,
        progress_every=settings.progress_interval_seconds,
        progress_rate=settings.progress_edits_per_second,
        locale=settings.bot_default_locale,
        balance_readers=build_balance_readers(config, session),
        sealer=settings.sealer(),
        member_engines=member_engines(
            config, session=session, clock=clock, run_times=run_times, images=images
        ),
        chat_clients=build_chat_clients(config, session),
        prompt_settings=prompt_settings(settings),
        chat_per_token=settings.modelscope_chat_concurrency,
    )


def _adapters(
    settings: Settings,
    role: Role,
    backend: Backend,
    parts: tuple[Clock, ImageWorkers, Translator],
) -> list[tuple[str, Adapter]]:
    """Whoever runs jobs delivers to every configured platform; a gateway has its one
    platform; `enqueue` has none."""
    clock, images, translator = parts
    tokens = {TELEGRAM: settings.telegram_bot_token, DISCORD: settings.discord_bot_token}
    configured = frozenset(name for name, token in tokens.items() if token is not None)
    platforms = configured if role.claiming or role.receives is None else role.receives
    adapters: list[tuple[str, Adapter]] = []
    if TELEGRAM in platforms:
        config = telegram_config(settings)
        from adapters.telegram.lifecycle import TelegramAdapter

        telegram = TelegramAdapter(config, translator, images, backend.first_sight)
        adapters.append((TELEGRAM, telegram))
    if DISCORD in platforms:
        discord = discord_config(settings)
        if not role.receives_from(DISCORD):  # a worker: its gateway process syncs commands
            discord = dataclasses.replace(discord, sync_commands=False)
        from adapters.discord.lifecycle import DiscordAdapter

        adapters.append((DISCORD, DiscordAdapter(discord, translator, clock, images)))
    return adapters


@contextlib.asynccontextmanager
async def _http(role: Role) -> AsyncIterator[aiohttp.ClientSession]:
    """The process's HTTP session; none for a role that makes no request (`enqueue`):
    its engines are built and never called."""
    if not role.talks_to_modelscope:
        yield cast("aiohttp.ClientSession", NO_SESSION)
        return
    import aiohttp

    async with aiohttp.ClientSession() as session:
        yield session


class _NoSession:
    def __getattr__(self, name: str) -> object:
        raise RuntimeError(f"this process makes no HTTP request (session.{name})")


NO_SESSION = _NoSession()


@contextlib.asynccontextmanager
async def _warming(images: ImageWorkers, role: Role) -> AsyncIterator[None]:
    """The image workers start with the bot (in the background), not at its first image;
    `enqueue`, which makes no image, starts none."""
    needs_images = role.talks_to_modelscope
    task = asyncio.create_task(images.warm()) if needs_images else None
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def start_adapters(
    bot: Bot, settings: Settings, role: Role = RUN
) -> list[asyncio.Task[None]]:
    """Start each chat adapter; return once each receives updates (or, in a worker, can
    deliver over REST)."""
    tasks: list[asyncio.Task[None]] = []
    for platform, adapter in bot.adapters:
        alone = _single_receiver(settings, platform)
        work = _serve(adapter, role.receives_from(platform), bot.core.backend, alone)
        tasks.append(asyncio.create_task(work, name=platform))
        ready = asyncio.create_task(adapter.ready.wait())
        await asyncio.wait({tasks[-1], ready}, return_when=asyncio.FIRST_COMPLETED)
        ready.cancel()
    return tasks


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
