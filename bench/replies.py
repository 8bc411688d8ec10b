"""Benchmark 10: how long a new `/imagine` waits for the bot's reply, through the real
Telegram adapter (python-telegram-bot with our priority rate limiter at Telegram's real
limits: 30 messages a second, one a second per private chat) and a fake Bot API on loopback.
Once with nothing else going on, once with `waiting` jobs in line and `in_flight` running,
whose status and progress edits compete for the same budget (progress every second if it
could: far more than the budget). Each probe is a new user's first command."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from adapters.telegram import PLATFORM
from adapters.telegram.config import TelegramConfig
from adapters.telegram.lifecycle import TelegramAdapter
from bench.common import engine_config, ms, open_policy, percentile
from bot.config import build_engines
from bot.simulator import Simulator, Timing
from core.clock import SystemClock
from core.delivery import load_translator
from core.images import ImageWorkers
from core.modelscope import RunTimes
from core.requests import load_catalog
from core.secret import Secret
from core.service import Core
from core.stores.backends import local_backend
from core.stores.sqlite import SqliteStore
from tests.adapters.telegram.fake_api import FakeTelegram

BOT_TOKEN = "123456:BENCH-telegram-token"  # noqa: S105 - the fake Bot API's only
MODELSCOPE_TOKEN = "ms-bench-replies"  # noqa: S105 - the simulator's only
FIRST_USER, PROBE_USER = 10_000, 900_000
SETTLE_SECONDS = 3.0  # after the load's replies, before the probes; edits counted meanwhile


@dataclass(frozen=True)
class RepliesConfig:
    waiting: int  # jobs in line while the probes run
    in_flight: int  # jobs running (ModelScope slots), each polled every second
    probes: int  # new users' commands timed, one after another


async def replies(config: RepliesConfig, workdir: Path) -> dict[str, Any]:
    idle = await _probe_bot(config, workdir / "idle", loaded=False)
    loaded = await _probe_bot(config, workdir / "loaded", loaded=True)
    return {
        "config": config.__dict__,
        "idle": idle,
        "loaded": loaded,
        "p99_vs_idle": round(loaded["reply_p99_ms"] / max(idle["reply_p99_ms"], 0.1), 1),
    }


async def _probe_bot(config: RepliesConfig, workdir: Path, loaded: bool) -> dict[str, Any]:
    async with _telegram_bot(config, workdir) as (api, core):
        if loaded:
            load = config.waiting + config.in_flight
            for user in range(FIRST_USER, FIRST_USER + load):
                api.push(api.command(user, user, "/imagine a lighthouse in a storm"))
            async with asyncio.timeout(600):
                while await _loading(core, api, load):  # noqa: ASYNC110 - two sides watched
                    await asyncio.sleep(0.05)
        edits_before = len(api.named("editMessageText"))
        await asyncio.sleep(SETTLE_SECONDS)  # status and progress edits flowing
        edit_rate = (len(api.named("editMessageText")) - edits_before) / SETTLE_SECONDS
        took = [await _reply_time(api, PROBE_USER + probe) for probe in range(config.probes)]
        waiting, running = len(await core.scheduler.waiting()), len(core.scheduler.in_flight())
    return {
        "waiting": waiting,
        "in_flight": running,
        "reply_p50_ms": ms(percentile(took, 50)),
        "reply_p99_ms": ms(percentile(took, 99)),
        "reply_max_ms": ms(max(took)),
        "edits_per_second": round(edit_rate, 1),
    }


async def _loading(core: Core, api: FakeTelegram, load: int) -> bool:
    """Until every load job is in line and has had its reply."""
    in_line = len(core.scheduler.in_flight()) + len(await core.scheduler.waiting())
    return in_line < load or len(api.named("sendMessage")) < load


async def _reply_time(api: FakeTelegram, user: int) -> float:
    before = len(api.named("sendMessage"))
    started = time.perf_counter()
    api.push(api.command(user, user, "/imagine a paper boat"))
    while True:
        calls = api.named("sendMessage")[before:]
        if any(str(call.params.get("chat_id")) == str(user) for call in calls):
            return time.perf_counter() - started
        await asyncio.sleep(0.002)


@contextlib.asynccontextmanager
async def _telegram_bot(
    config: RepliesConfig, workdir: Path
) -> AsyncIterator[tuple[FakeTelegram, Core]]:
    """The bot as `imagine-bot run` builds it for Telegram, on loopback: tasks that outlast
    the benchmark, polled every second, progress due every second."""
    await asyncio.to_thread(workdir.mkdir, parents=True, exist_ok=True)
    api = FakeTelegram(BOT_TOKEN)
    await api.start()
    timing = Timing(queue_mean=0.0, run_mean=3600.0, run_sd=1.0)
    images = ImageWorkers()
    store = await SqliteStore.open(workdir / "bot.sqlite3")
    try:
        async with (
            Simulator(frozenset({MODELSCOPE_TOKEN}), timing, concurrency_per_token=10**6) as sim,
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session,
        ):
            adapter = TelegramAdapter(
                TelegramConfig(Secret(BOT_TOKEN), base_url=f"{api.base}/bot", poll_timeout=1),
                load_translator(load_catalog()),
                images,
            )
            core = _core(sim, (session, images), workdir, store, adapter, config.in_flight)
            adapter.handle(core.service, core.admin)
            tasks = [asyncio.create_task(adapter.run())]
            async with asyncio.timeout(30):
                await adapter.ready.wait()
            tasks.append(asyncio.create_task(core.run()))
            try:
                yield api, core
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        await store.close()
        await api.stop()
        await asyncio.to_thread(images.close)


def _core(
    sim: Simulator,
    io: tuple[aiohttp.ClientSession, ImageWorkers],
    workdir: Path,
    store: SqliteStore,
    adapter: TelegramAdapter,
    slots: int,
) -> Core:
    config = engine_config(sim.base_url, Secret(MODELSCOPE_TOKEN, "token#1"), 1.0, workdir)
    (session, images), clock, run_times = io, SystemClock(), RunTimes()
    (engine,) = build_engines(
        config, session=session, clock=clock, run_times=run_times, images=images
    )
    return Core.build(
        backend=local_backend(store, clock),
        engines=[("token#1", engine)],
        run_times=run_times,
        notifiers={PLATFORM: adapter.notifier},
        catalog=load_catalog(),
        policy=open_policy(),
        clock=clock,
        concurrency=slots,
        progress_every=1.0,
    )
