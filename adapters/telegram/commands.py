"""Command handlers: acknowledge, decode, call the service, render. Nothing else."""

from __future__ import annotations

import dataclasses
import logging
import re

from telegram import Message, Update
from telegram.error import TelegramError
from telegram.ext import Application, CommandHandler, ContextTypes, MessageHandler, filters

from adapters.telegram import keyboards
from adapters.telegram.options import parse_imagine
from adapters.telegram.render import TelegramNotifier
from adapters.telegram.target import ReplyTarget
from adapters.telegram.who import chat_key, locale_of, message_of, request_of, user_key
from core.delivery import (
    Translator,
    cancel_text,
    described_text,
    enhanced_text,
    history_text,
    models_text,
    queue_text,
    quota_text,
)
from core.errors import BadInputImage, ImagineError, InvalidParameter, TextOff
from core.images import ImageWorkers
from core.jobs import Job, JobKind
from core.service import GenerationService

log = logging.getLogger("imagine.telegram")
CAPTION_COMMAND = re.compile(r"^/(imagine|img)(@\w+)?(\s|$)", re.IGNORECASE)
DESCRIBE_CAPTION = re.compile(r"^/describe(@\w+)?(\s|$)", re.IGNORECASE)
PRESET_SIZES = ("1024x1024", "1024x768", "768x1024", "1328x1328", "1280x720", "720x1280")
HISTORY_LIMIT = 10


class Commands:
    """The user commands; `admin.AdminCommands` and `callbacks.Buttons` hold the rest."""

    def __init__(
        self,
        service: GenerationService,
        translator: Translator,
        notifier: TelegramNotifier,
        images: ImageWorkers,
    ) -> None:
        self._service = service
        self._t = translator
        self._notifier = notifier
        self._images = images

    def register(self, app: Application) -> None:  # type: ignore[type-arg]
        app.add_handler(CommandHandler(["imagine", "img"], self.imagine))
        photo_command = filters.PHOTO & filters.CaptionRegex(CAPTION_COMMAND)
        app.add_handler(MessageHandler(photo_command, self.imagine))
        app.add_handler(CommandHandler("describe", self.describe))
        photo_describe = filters.PHOTO & filters.CaptionRegex(DESCRIBE_CAPTION)
        app.add_handler(MessageHandler(photo_describe, self.describe))
        for name, handler in (
            ("start", self.start),
            ("help", self.help),
            ("quota", self.quota),
            ("queue", self.queue),
            ("cancel", self.cancel),
            ("history", self.history),
            ("models", self.models),
            ("settings", self.settings),
        ):
            app.add_handler(CommandHandler(name, handler))

    async def imagine(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Draw (or edit a replied-to photo): a status reply at once, then the service."""
        message, locale = message_of(update), locale_of(update)
        text = _arguments(message)
        if not text.strip():
            await message.reply_text(self._t.text(locale, "help.text"))
            return
        try:
            parsed = parse_imagine(text)
        except InvalidParameter as error:
            usage = self._t.text(locale, "usage.imagine", error=self._t.error(locale, error))
            await message.reply_text(usage)
            return
        try:
            image = await self._input_image(message)
        except ImagineError as error:  # not a picture we can use, or Telegram kept it
            await message.reply_text(self._t.error(locale, error))
            return
        working = "enhance.working" if parsed.enhance else "status.accepted"
        target = ReplyTarget.answering(message, await self._status_reply(message, locale, working))
        params = dataclasses.replace(parsed.params, image_url=image)
        request = dataclasses.replace(
            request_of(update, target.encode(), params), count=parsed.count, enhance=parsed.enhance
        )
        try:
            answer = await self._service.prompts.imagine(request)
        except ImagineError as error:
            offer = keyboards.offer_keyboard(self._t, locale, error)
            await self._notifier.show_status(target, self._t.error(locale, error), buttons=offer)
            return
        if isinstance(answer, Job):  # the enhanced prompt, for the user to choose
            buttons = keyboards.enhance_keyboard(self._t, answer)
            await self._notifier.show_status(
                target, enhanced_text(self._t, answer), buttons=buttons
            )

    async def describe(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Prompts for a picture like the photo sent with the command, or replied to."""
        message, locale = message_of(update), locale_of(update)
        if not self._service.prompts.offers(JobKind.DESCRIBE):
            await message.reply_text(self._t.error(locale, TextOff("describe")))
            return
        try:
            image = await self._input_image(message)
        except ImagineError as error:
            await message.reply_text(self._t.error(locale, error))
            return
        if image is None:
            await message.reply_text(self._t.text(locale, "describe.usage"))
            return
        status = await self._status_reply(message, locale, "describe.working")
        target = ReplyTarget.answering(message, status)
        try:
            job = await self._service.prompts.describe(request_of(update, target.encode()), image)
        except ImagineError as error:
            await self._notifier.show_status(target, self._t.error(locale, error))
            return
        buttons = keyboards.describe_keyboard(self._t, job)
        await self._notifier.show_status(target, described_text(self._t, job), buttons=buttons)

    async def _input_image(self, message: Message) -> str | None:
        """The photo to edit (sent with the command, or replied to) as a data URI: a Telegram
        file URL holds the bot token, so it must never reach ModelScope."""
        source = message if message.photo else message.reply_to_message
        if source is None or not source.photo:
            return None
        try:
            file = await source.photo[-1].get_file()
            data = bytes(await file.download_as_bytearray())
        except TelegramError as error:
            log.warning("the photo to edit could not be fetched: %s", error)
            raise BadInputImage("unreachable") from None
        return await self._images.data_uri(data)

    async def _status_reply(self, message: Message, locale: str, key: str) -> int:
        """The status message's id (saying `key`); 0 if Telegram failed to take it (the job
        goes on, and its news come as new messages)."""
        try:
            status = await message.reply_text(self._t.text(locale, key))
        except TelegramError as error:
            log.warning("the status reply failed (%s); going on without it", error)
            return 0
        return status.message_id

    async def start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await message_of(update).reply_text(self._t.text(locale_of(update), "start.text"))

    async def help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await message_of(update).reply_text(self._t.text(locale_of(update), "help.text"))

    async def quota(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        view = await self._service.quota(user_key(update), chat_key(update))
        await message_of(update).reply_text(quota_text(self._t, locale_of(update), view))

    async def queue(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        state = await self._service.queue_state(user_key(update))
        await message_of(update).reply_text(queue_text(self._t, locale_of(update), state))

    async def cancel(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        job_id, locale = (context.args[0] if context.args else None), locale_of(update)
        try:
            cancelled = await self._service.cancel(user_key(update), job_id)
        except ImagineError as error:
            await message_of(update).reply_text(self._t.error(locale, error))
            return
        await message_of(update).reply_text(cancel_text(self._t, locale, cancelled))

    async def history(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        locale = locale_of(update)
        jobs = await self._service.history(user_key(update), HISTORY_LIMIT)
        await message_of(update).reply_text(history_text(self._t, locale, jobs))

    async def models(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        locale = locale_of(update)
        text = models_text(self._t, locale, self._service.catalog, self._service.failing_models())
        await message_of(update).reply_text(text)

    async def settings(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        locale = locale_of(update)
        saved = await self._service.defaults(user_key(update))
        unset = self._t.text(locale, "settings.unset")
        text = self._t.text(
            locale,
            "settings.header",
            model=saved.get("model", unset),
            size=saved.get("size", unset),
        )
        models = [(m.name, (m.aliases or (m.id,))[0]) for m in self._service.catalog.generators()]
        enhance = None
        if self._service.prompts.offers(JobKind.ENHANCE):
            on = saved.get("enhance") == "on"
            word = self._t.text(locale, "settings.enhance_on" if on else "settings.enhance_off")
            enhance = (self._t.text(locale, "settings.enhance", value=word), "off" if on else "on")
        keyboard = keyboards.settings_keyboard(models, list(PRESET_SIZES), enhance)
        await message_of(update).reply_text(text, reply_markup=keyboard)


def _arguments(message: Message) -> str:
    text = message.text or message.caption or ""
    return CAPTION_COMMAND.sub("", text, count=1) if CAPTION_COMMAND.match(text) else text
