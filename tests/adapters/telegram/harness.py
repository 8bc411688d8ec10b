"""The Telegram adapter running for real: fake Bot API, simulator, SQLite core."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from adapters.telegram import PLATFORM
from adapters.telegram.config import TelegramConfig
from adapters.telegram.lifecycle import TelegramAdapter
from bot.simulator import Simulator
from core.delivery.i18n import load_translator
from core.jobs.policy import Policy
from core.requests import load_catalog
from core.secret import Sealer, Secret
from core.service.core import Core
from core.stores.backends import local_backend
from core.stores.sqlite import SqliteStore
from tests.adapters.telegram.fake_api import FakeTelegram
from tests.conftest import IMAGES, ShiftedClock, adapter_core

BOT_TOKEN = "123456:TEST-telegram-token"
GROUP, ALICE, BOB = -100200, 501, 502


@dataclass
class TelegramWorld:
    api: FakeTelegram
    sim: Simulator
    core: Core
    adapter: TelegramAdapter

    def send(self, update: dict[str, Any]) -> int:
        return self.api.push(update)

    def imagine(self, text: str, chat: int = ALICE, user: int = ALICE, **extra: Any) -> int:
        return self.send(self.api.command(chat, user, text, **extra))


async def reply_to(world: TelegramWorld, text: str, **extra: Any) -> str:
    """The text of the next message the bot sends after `text` is sent."""
    before = len(world.api.named("sendMessage"))
    world.imagine(text, **extra)
    calls = await world.api.wait_for("sendMessage", before + 1)
    return str(calls[before].params["text"])


@contextlib.asynccontextmanager
async def telegram_world(
    sim: Simulator,
    session: aiohttp.ClientSession,
    tmp_path: Path,
    *,
    policy: Policy | None = None,
    db: str | Path = ":memory:",
    api: FakeTelegram | None = None,
    store_class: type[SqliteStore] = SqliteStore,
    sealer: Sealer | None = None,
    **config: Any,
) -> AsyncIterator[TelegramWorld]:
    api = api or FakeTelegram(BOT_TOKEN)
    owns_api = not api.base
    if owns_api:
        await api.start()
    store = await store_class.open(db)
    clock = ShiftedClock()
    settings = {
        "poll_timeout": 1,
        "group_messages_per_minute": 10_000.0,
        "messages_per_second": 10_000.0,
        "chat_messages_per_second": 10_000.0,
        **config,
    }
    adapter = TelegramAdapter(
        TelegramConfig(Secret(BOT_TOKEN), base_url=f"{api.base}/bot", **settings),
        load_translator(load_catalog()),
        IMAGES,
    )
    backend, notifiers = local_backend(store, clock), {PLATFORM: adapter.notifier}
    core = adapter_core(sim, session, tmp_path, backend, policy, clock, notifiers, sealer=sealer)
    adapter.handle(core.service, core.admin)
    receiving = asyncio.create_task(adapter.run())
    async with asyncio.timeout(10):
        await adapter.ready.wait()
    running = asyncio.create_task(core.run())
    try:
        yield TelegramWorld(api, sim, core, adapter)
    finally:
        for task in (running, receiving):
            task.cancel()
        await asyncio.gather(running, receiving, return_exceptions=True)
        await store.close()
        if owns_api:
            await api.stop()
