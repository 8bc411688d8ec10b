"""The Discord adapter running for real: fake Discord, simulator, SQLite core."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from adapters.discord import PLATFORM
from adapters.discord.config import DiscordConfig
from adapters.discord.lifecycle import DiscordAdapter
from bot.simulator import Simulator
from core.delivery.i18n import load_translator
from core.jobs.policy import Policy
from core.requests import load_catalog
from core.secret import Sealer, Secret
from core.service.core import Core
from core.stores.backends import local_backend
from core.stores.sqlite import SqliteStore
from tests.adapters.discord.fake_discord import FakeDiscord
from tests.conftest import IMAGES, ShiftedClock, adapter_core

BOT_TOKEN = "MTIz.fake-discord-bot-token.abc"


@dataclass
class DiscordWorld:
    fake: FakeDiscord
    sim: Simulator
    core: Core
    adapter: DiscordAdapter
    clock: ShiftedClock


@contextlib.asynccontextmanager
async def discord_world(
    sim: Simulator,
    session: aiohttp.ClientSession,
    tmp_path: Path,
    *,
    policy: Policy | None = None,
    db: str | Path = ":memory:",
    fake: FakeDiscord | None = None,
    progress_every: float = 0.0,
    sealer: Sealer | None = None,
    **config: Any,
) -> AsyncIterator[DiscordWorld]:
    fake = fake or FakeDiscord(BOT_TOKEN)
    owns_fake = not fake.base
    if owns_fake:
        await fake.start()
    store = await SqliteStore.open(db)
    clock = ShiftedClock()
    settings: dict[str, Any] = {"guild_ready_timeout": 0.2, **config}
    adapter = DiscordAdapter(
        DiscordConfig(Secret(BOT_TOKEN), fake.api_url, fake.gateway_url, **settings),
        load_translator(load_catalog()),
        clock,
        IMAGES,
    )
    backend, notifiers = local_backend(store, clock), {PLATFORM: adapter.notifier}
    core = adapter_core(
        sim,
        session,
        tmp_path,
        backend,
        policy,
        clock,
        notifiers,
        progress_every=progress_every,
        sealer=sealer,
    )
    adapter.handle(core.service, core.admin)
    receiving = asyncio.create_task(adapter.run())
    async with asyncio.timeout(10):
        await adapter.ready.wait()
    running = asyncio.create_task(core.run())
    try:
        yield DiscordWorld(fake, sim, core, adapter, clock)
    finally:
        for task in (running, receiving):
            task.cancel()
        await asyncio.gather(running, receiving, return_exceptions=True)
        await store.close()
        if owns_fake:
            await fake.stop()


async def result_of(world: DiscordWorld, sent: dict[str, Any]) -> dict[str, Any]:
    """The interaction's response once it carries the image(s)."""
    fake = world.fake
    await fake.wait_until(lambda: bool(fake.original(sent["token"]).get("attachments")))
    return fake.original(sent["token"])


async def private_reply(world: DiscordWorld, sent: dict[str, Any]) -> str:
    """The ephemeral follow-up the user alone saw for this interaction."""
    fake = world.fake

    def reply() -> str | None:
        for call in fake.answers(sent):
            if call.route == "webhook_send" and call.body.get("flags") == 64:
                return str(call.body["content"])
        return None

    await fake.wait_until(lambda: reply() is not None)
    return reply() or ""
