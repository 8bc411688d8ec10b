"""`imagine-bot run` (everything, until SIGTERM), `gateway` and `worker` (the two halves,
sharing a Redis store) and `enqueue`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import logging
import signal
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from adapters.cli.render import PLATFORM as CLI_PLATFORM
from adapters.discord import PLATFORM as DISCORD
from adapters.telegram import PLATFORM as TELEGRAM
from bot.composition import bot_from, start_adapters
from bot.config import events_path
from bot.roles import ENQUEUE, RUN, WORKER, Role, gateway
from bot.settings import Settings
from bot.startup import EXIT_CONFIG, EXIT_OK, EXIT_USAGE, settings_in_language, settings_or_explain
from core.delivery import load_translator
from core.errors import ConfigurationError, ImagineError
from core.jobs import GenerationRequest
from core.requests import ParamsInput
from core.service import Core

if TYPE_CHECKING:
    from bot.health import Connected, HealthServer

log = logging.getLogger("imagine.serve")


def add_run(cmd: argparse.ArgumentParser) -> None:
    cmd.set_defaults(handler=run)


def add_gateway(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument("--platform", required=True, choices=(TELEGRAM, DISCORD))
    cmd.set_defaults(handler=run_gateway)


def add_worker(cmd: argparse.ArgumentParser) -> None:
    cmd.set_defaults(handler=run_worker)


async def run_gateway(args: argparse.Namespace) -> int:
    """Take one platform's updates in and line the jobs up; the workers run them."""
    return await serve(gateway(args.platform))


async def run_worker(args: argparse.Namespace) -> int:
    """Run jobs from the shared queue and deliver them over the platforms' REST APIs."""
    return await serve(WORKER)


def add_enqueue(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument("prompt")
    cmd.add_argument("--user", default=getpass.getuser(), help="who asks (default: you)")
    cmd.add_argument("--count", type=int, default=1)
    cmd.add_argument("--model")
    cmd.add_argument("--size")
    cmd.add_argument("--seed", type=int)
    cmd.add_argument("--negative")
    cmd.add_argument("--lang")
    cmd.set_defaults(handler=enqueue)


async def run(args: argparse.Namespace) -> int:
    """Resume unfinished jobs and run queued ones until SIGINT or SIGTERM; then take nothing
    new, tell the waiting users, give running jobs SHUTDOWN_GRACE_SECONDS, and exit."""
    return await serve(RUN)


async def serve(role: Role) -> int:
    # These commands have no --lang: BOT_DEFAULT_LOCALE decides the words of an error.
    settings = settings_or_explain(None)
    if settings is None:
        return EXIT_CONFIG
    stop = _stop_on_signals()
    try:
        async with bot_from(settings, role) as bot:
            core = bot.core
            tasks = await start_adapters(bot, settings, role)
            tasks.append(asyncio.create_task(core.run(), name="core"))
            health = await _start_health(settings, core, bot.adapters)
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait({*tasks, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if stop.is_set():
                told = await core.shutdown(settings.shutdown_grace_seconds)
                log.info("stopping: %d waiting jobs told, the rest resumes at the next start", told)
            for task in (*tasks, stopping):
                task.cancel()
            results = await asyncio.gather(*tasks, stopping, return_exceptions=True)
            if health is not None:
                await health.stop()
            _raise_first_failure(results)
    except ConfigurationError as error:
        print(load_translator().error(settings.bot_default_locale, error), file=sys.stderr)
        return EXIT_CONFIG
    return EXIT_OK


async def _start_health(
    settings: Settings, core: Core, adapters: Sequence[tuple[str, Connected]]
) -> HealthServer | None:
    if settings.health_port is None:
        return None
    from bot.health import HealthServer  # aiohttp's server, for the processes that serve

    health = HealthServer(core, adapters)
    await health.start(settings.health_host, settings.health_port)
    return health


async def enqueue(args: argparse.Namespace) -> int:
    """Queue a request through the service; `imagine-bot run` generates and reports it."""
    settings = settings_in_language(args.lang)
    if isinstance(settings, int):
        return settings
    params = ParamsInput(
        prompt=args.prompt,
        model=args.model,
        size=args.size,
        seed=args.seed,
        negative_prompt=args.negative,
    )
    request = GenerationRequest(
        platform=CLI_PLATFORM,
        user_id=args.user,
        chat_id="terminal",
        reply_target="terminal",
        params=params,
        locale=args.lang or settings.bot_default_locale,
        count=args.count,
    )
    try:
        async with bot_from(settings, ENQUEUE) as bot:
            receipt = await bot.core.service.submit(request)
    except ImagineError as error:
        print(load_translator().error(request.locale, error), file=sys.stderr)
        return EXIT_CONFIG if isinstance(error, ConfigurationError) else EXIT_USAGE
    for job in receipt.jobs:
        print(job.id)
    places = ", ".join(map(str, receipt.positions or (receipt.position,)))
    print(f"queued at position {places}; events go to {events_path(settings)}", file=sys.stderr)
    return EXIT_OK


def _raise_first_failure(results: Sequence[object]) -> None:
    for result in results:
        if isinstance(result, Exception):
            raise result


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    return stop
