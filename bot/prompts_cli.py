"""The chat calls from a terminal: `imagine-bot describe PATH|URL` (prompts for a picture
like it) and `imagine-bot generate --enhance` (each prompt rewritten richer before it is
drawn; a prompt for a model that prefers English is put into English first, as the bot
does). They run on the configured tokens (or the built-in simulator) through the same
`TextLane` and `core.execution.asks` as the bot, with no quota: the terminal's user is the
operator.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Sequence

import aiohttp

from bot.config import EngineConfig, build_chat_clients, build_engines, prompt_settings
from bot.generate import Reporter
from bot.settings import Settings
from bot.startup import EXIT_CONFIG, EXIT_FAILED, EXIT_OK
from core.clock import SystemClock
from core.errors import ImagineError, InvalidParameter, TextOff, Unauthorized
from core.execution import TextLane, TokenAccount, TokenPool, asks
from core.images import ImageWorkers
from core.modelscope import RunTimes
from core.requests import Catalog, GenerationParams, load_catalog
from core.service import PromptSettings

CLI_USER = "cli"  # the one user of a terminal's chat calls


@contextlib.asynccontextmanager
async def text_lane(config: EngineConfig) -> AsyncIterator[TextLane]:
    """A lane of chat calls over the configured tokens."""
    images = ImageWorkers()
    try:
        async with aiohttp.ClientSession() as session:
            clock = SystemClock()
            engines = build_engines(
                config, session=session, clock=clock, run_times=RunTimes(), images=images
            )
            accounts = [TokenAccount(engine.client.token_label, engine) for engine in engines]
            yield TextLane(TokenPool(accounts, clock), build_chat_clients(config, session), clock)
    finally:
        await asyncio.to_thread(images.close)


async def describe_image(
    image: str, config: EngineConfig, settings: Settings, reporter: Reporter
) -> int:
    """Print up to four prompts for a picture like `image` (stdout, one a line), each with
    its translation in the reader's language (stderr) when that is not English."""
    chosen = prompt_settings(settings)
    if not chosen.vision_model:
        print(reporter.error(TextOff("describe")), file=reporter.err)
        return EXIT_CONFIG
    if not config.tokens:
        reporter.say("cli.missing_token")
        return EXIT_CONFIG
    try:
        async with text_lane(config) as lane:
            asked = await asks.describe(lane, CLI_USER, chosen.vision_model, image)
            translations = await asks.in_language(
                lane, CLI_USER, chosen.chat_model, asked.texts, reporter.locale
            )
    except ImagineError as error:
        print(reporter.error(error), file=reporter.err)
        return EXIT_CONFIG if isinstance(error, Unauthorized) else EXIT_FAILED
    for number, prompt in enumerate(asked.texts, start=1):
        print(prompt, file=reporter.out, flush=True)
        if translations:
            reporter.say("cli.translation", number=number, text=translations[number - 1])
    return EXIT_OK if asked.texts else EXIT_FAILED


async def rewritten(
    tasks: Sequence[GenerationParams],
    config: EngineConfig,
    settings: Settings,
    reporter: Reporter,
    enhance: bool,
) -> list[GenerationParams]:
    """`tasks` with each prompt enhanced (`enhance`), or put into English for a model that
    prefers it; a prompt that needs neither, or that a call fails for, is kept as typed."""
    chosen, catalog = prompt_settings(settings), load_catalog(settings.model_catalog_file)
    if not chosen.chat_model or not any(_needs(task, catalog, chosen, enhance) for task in tasks):
        return list(tasks)
    async with text_lane(config) as lane:
        return [await _rewrite(lane, task, catalog, chosen, enhance, reporter) for task in tasks]


async def _rewrite(
    lane: TextLane,
    task: GenerationParams,
    catalog: Catalog,
    chosen: PromptSettings,
    enhance: bool,
    reporter: Reporter,
) -> GenerationParams:
    if not _needs(task, catalog, chosen, enhance):
        return task
    english = _prefers_english(task, catalog, chosen)
    try:
        if enhance:
            asked = await asks.enhance(lane, CLI_USER, chosen.chat_model, task.prompt, english)
        else:
            asked = await asks.to_english(lane, CLI_USER, chosen.chat_model, task.prompt)
    except ImagineError as error:
        reporter.say("cli.kept_prompt", message=reporter.error(error))
        return task
    if not asked.texts:
        return task
    reporter.say("cli.rewritten", prompt=asked.texts[0], typed=task.prompt)
    return dataclasses.replace(task, prompt=asked.texts[0])


def _needs(task: GenerationParams, catalog: Catalog, chosen: PromptSettings, enhance: bool) -> bool:
    english = _prefers_english(task, catalog, chosen)
    return enhance or (english and not asks.is_english(task.prompt))


def _prefers_english(task: GenerationParams, catalog: Catalog, chosen: PromptSettings) -> bool:
    model = catalog.find_model(task.model)
    return chosen.translate and model is not None and model.prefers_english


def read_described_image(reference: str) -> str:
    """The picture as the vision model takes it (a public URL, or a file as a data URI)."""
    from bot.cli_inputs import read_image

    image = read_image(reference)
    if image is None:
        raise InvalidParameter("image", reference, "PATH|URL")
    return image
