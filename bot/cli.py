"""The `imagine-bot` command: generate, describe, simulator, run, enqueue, doctor."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot.composition import check_writable
from bot.config import EngineConfig
from bot.serve import add_enqueue, add_gateway, add_run, add_worker
from bot.startup import EXIT_CONFIG, EXIT_OK, EXIT_USAGE, settings_in_language
from core.delivery import load_translator
from core.errors import ConfigurationError, ImagineError, InvalidParameter
from core.requests import GenerationParams, load_catalog

if TYPE_CHECKING:  # the terminal's generate and the simulator load only when asked for
    from bot.settings import Settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="imagine-bot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    _add_generate(commands.add_parser("generate", help="generate images from a terminal"))
    _add_describe(commands.add_parser("describe", help="prompts for a picture like an image"))
    _add_simulator(commands.add_parser("simulator", help="serve a ModelScope simulator"))
    add_run(commands.add_parser("run", help="run the bot: queue, generate, deliver"))
    add_gateway(commands.add_parser("gateway", help="take one platform's updates in (Redis)"))
    add_worker(commands.add_parser("worker", help="run and deliver queued jobs (Redis)"))
    add_enqueue(commands.add_parser("enqueue", help="queue a request for `run`"))
    _add_doctor(commands.add_parser("doctor", help="check the settings and every account"))
    return parser


def _add_doctor(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument("--lang", help="en or zh")
    cmd.set_defaults(handler=_doctor)


async def _doctor(args: argparse.Namespace) -> int:
    from bot.doctor import doctor  # its HTTP client loads only for it

    return await doctor(args)


def _add_generate(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument("prompt", nargs="?", help="what to draw")
    cmd.add_argument("--model", help="model id, name or alias (see the catalog)")
    cmd.add_argument("--negative", help="what not to draw")
    cmd.add_argument("--size", help="WIDTHxHEIGHT, e.g. 1024x1024")
    cmd.add_argument("--seed", type=int, help="0..2147483647 (random when left out)")
    cmd.add_argument("--steps", type=int, help="1..100")
    cmd.add_argument("--guidance", type=float, help="1.5..20")
    cmd.add_argument("--lora", action="append", metavar="ID[:WEIGHT]", help="repeatable, max 6")
    cmd.add_argument("--loras-file", help="JSON: an id, {id: weight} or a list")
    cmd.add_argument("--image", metavar="PATH|URL", help="input image for an edit model")
    cmd.add_argument("--count", type=int, default=1, help="images per prompt, 1..4")
    cmd.add_argument("--batch", metavar="FILE", help="one prompt a line")
    cmd.add_argument("--enhance", action="store_true", help="rewrite each prompt richer first")
    cmd.add_argument("--out", help="folder for the images (default DATA_DIR/cache/outputs/images)")
    cmd.add_argument("--simulate", action="store_true", help="use a built-in simulator")
    cmd.add_argument("--lang", help="message language: en or zh (default BOT_DEFAULT_LOCALE)")


def _add_describe(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument("image", metavar="PATH|URL", help="the picture to describe")
    cmd.add_argument("--simulate", action="store_true", help="use a built-in simulator")
    cmd.add_argument("--lang", help="message language: en or zh (default BOT_DEFAULT_LOCALE)")


def _add_simulator(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument("--host", default="127.0.0.1")
    cmd.add_argument("--port", type=int, default=8765)
    cmd.add_argument("--token", action="append", help="accepted token (default: any ms-...)")
    cmd.add_argument("--queue-mean", type=float, default=1.0, help="mean seconds PENDING")
    cmd.add_argument("--run-mean", type=float, default=5.0, help="mean seconds RUNNING")
    cmd.add_argument("--run-sd", type=float, default=1.0)
    cmd.add_argument("--concurrency", type=int, default=1, help="tasks per token (0: no cap)")
    cmd.add_argument(
        "--catalog",
        default=os.environ.get("MODEL_CATALOG_FILE"),
        help="the models it knows, as the bot reads them (default: MODEL_CATALOG_FILE)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "simulator":
            return asyncio.run(_serve_simulator(args))
        if args.command == "generate":
            return asyncio.run(_generate(args))
        if args.command == "describe":
            return asyncio.run(_describe(args))
        return int(asyncio.run(args.handler(args)))
    except KeyboardInterrupt:
        return 130


async def _generate(args: argparse.Namespace) -> int:
    from bot.generate import Reporter, run_tasks, shared_run_times, simulated
    from bot.prompts_cli import rewritten

    settings = settings_in_language(args.lang, log_level="WARNING")
    if isinstance(settings, int):
        return settings
    translator, locale = load_translator(), args.lang or settings.bot_default_locale
    try:
        tasks = _tasks(args, settings)
    except (InvalidParameter, ConfigurationError) as error:
        print(translator.error(locale, error), file=sys.stderr)
        return EXIT_USAGE if isinstance(error, InvalidParameter) else EXIT_CONFIG
    reporter = Reporter(translator, locale, len(tasks))
    if not tasks:
        reporter.say("cli.no_prompts")
        return EXIT_USAGE
    config = EngineConfig.from_settings(settings, _out_dir(args))
    try:
        check_writable(config.output_dir)
    except ConfigurationError as error:
        print(translator.error(locale, error), file=sys.stderr)
        return EXIT_CONFIG
    if args.simulate:
        models = load_catalog(settings.model_catalog_file).models
        async with simulated(config, reporter, models) as sim_config:
            tasks = await rewritten(tasks, sim_config, settings, reporter, args.enhance)
            return await run_tasks(tasks, sim_config, reporter)
    if not config.tokens:
        reporter.say("cli.missing_token")
        return EXIT_CONFIG
    tasks = await rewritten(tasks, config, settings, reporter, args.enhance)
    async with shared_run_times(settings) as run_times:  # not the simulator's: they'd mislead
        return await run_tasks(tasks, config, reporter, run_times)


async def _describe(args: argparse.Namespace) -> int:
    from bot.generate import Reporter, simulated
    from bot.prompts_cli import describe_image, read_described_image

    settings = settings_in_language(args.lang, log_level="WARNING")
    if isinstance(settings, int):
        return settings
    reporter = Reporter(load_translator(), args.lang or settings.bot_default_locale, 1)
    try:
        image = read_described_image(args.image)
    except ImagineError as error:
        print(reporter.error(error), file=sys.stderr)
        return EXIT_USAGE
    config = EngineConfig.from_settings(settings)
    if not args.simulate:
        return await describe_image(image, config, settings, reporter)
    models = load_catalog(settings.model_catalog_file).models
    async with simulated(config, reporter, models) as sim_config:
        return await describe_image(image, sim_config, settings, reporter)


def _tasks(args: argparse.Namespace, settings: Settings) -> list[GenerationParams]:
    from bot.cli_inputs import build_requests

    if not 1 <= args.count <= 4:
        raise InvalidParameter("count", args.count, "1..4")
    catalog = load_catalog(settings.model_catalog_file)
    return build_requests(args, catalog, random.Random())


def _out_dir(args: argparse.Namespace) -> Path | None:
    return Path(args.out) if args.out else None


async def _serve_simulator(args: argparse.Namespace) -> int:
    from bot.simulator import Simulator, Timing

    timing = Timing(queue_mean=args.queue_mean, run_mean=args.run_mean, run_sd=args.run_sd)
    tokens = frozenset(args.token) if args.token else None
    models = load_catalog(Path(args.catalog) if args.catalog else None).models
    sim = Simulator(tokens, timing, concurrency_per_token=args.concurrency, models=models)
    await sim.start(args.host, args.port)
    print(f"ModelScope simulator on {sim.base_url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    await sim.stop()
    return EXIT_OK
