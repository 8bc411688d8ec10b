"""Job events into Telegram messages: one status message edited, then the result."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from telegram import InlineKeyboardMarkup, InputMediaPhoto, ReplyParameters
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import ExtBot

from adapters.telegram import PLATFORM, keyboards
from adapters.telegram.ratelimit import Hint, Priority
from adapters.telegram.target import ReplyTarget
from core.delivery import Translator, batch_summary, caption, event_text
from core.errors import DeliveryRefused
from core.images import FitRules, ImageWorkers
from core.jobs import BatchState, Committed, EventKind, Job, JobEvent

log = logging.getLogger("imagine.telegram")

# How urgent each event's text is, against the chat's send budget.
_PRIORITY = {
    EventKind.QUEUED: Priority.STATUS,
    EventKind.STARTED: Priority.STATUS,
    EventKind.RESTARTING: Priority.STATUS,
    EventKind.HELD: Priority.STATUS,
    EventKind.PROGRESS: Priority.PROGRESS,
}

# Telegram's photo rules: 10 MB, width + height at most 10000 (it recompresses anyway).
PHOTO_RULES = FitRules(max_bytes=10 * 1024 * 1024, max_side=10_000, max_side_sum=10_000)
CAPTION_LIMIT = 1024


class TelegramNotifier:
    """The core's notifier for jobs that came from Telegram."""

    def __init__(self, bot: ExtBot[Any], translator: Translator, images: ImageWorkers) -> None:
        self._bot = bot
        self._translator = translator
        self._images = images

    async def direct(self, user_id: str, key: str, locale: str, **params: object) -> None:
        """A private message (Telegram lets a bot write to those who started it)."""
        text = self._translator.text(locale, key, **params)
        await self._bot.send_message(int(user_id), text, rate_limit_args=Hint(Priority.ANSWER))

    async def notify(self, event: JobEvent) -> None:
        try:
            await self._notify(event, ReplyTarget.decode(event.job.reply_target))
        except (BadRequest, Forbidden) as refusal:  # 400, 403: no retry will change that
            if event.kind.final:
                await self._tell_refused(event, refusal)
                raise DeliveryRefused(PLATFORM, refusal.message) from None
            raise

    async def _notify(self, event: JobEvent, target: ReplyTarget) -> None:
        if event.kind is EventKind.QUEUED and event.job.batch_index > 0:
            return  # a batch has one status: it shows its first image's place
        if event.batch is not None:
            await self._batch_event(event, event.batch, target)
        elif event.kind is EventKind.SUCCEEDED:
            await self._send_single(event.job, target, event.delivered)
        else:
            priority = _PRIORITY.get(event.kind, Priority.RESULT)
            await self.show_status(target, event_text(self._translator, event), priority)

    async def _batch_event(self, event: JobEvent, batch: BatchState, target: ReplyTarget) -> None:
        """One image of several ended: at the last, the images, and a status that says what
        was made and why any other was not; before it, how far the batch has got."""
        if batch.send:
            if batch.made:
                await self._send_batch(batch, target, event.delivered)
            if batch.failed:
                summary = batch_summary(self._translator, batch)
                await self.show_status(target, summary, Priority.RESULT)
        elif event.kind is EventKind.SUCCEEDED:
            await self._show_partial(event.job, batch, target)
        else:  # said now, and again in the summary, since the next progress replaces it
            await self.show_status(target, event_text(self._translator, event), Priority.RESULT)

    async def show_status(
        self,
        target: ReplyTarget,
        text: str,
        priority: Priority = Priority.ANSWER,
        buttons: InlineKeyboardMarkup | None = None,
    ) -> None:
        """Edit the status message (with `buttons` under it); if it is gone, say it in a new
        message. A progress text waiting to be sent is replaced by a newer one
        (adapters/telegram/ratelimit.py)."""
        message = (target.chat_id, target.status_message_id)
        try:
            await self._bot.edit_message_text(
                text, *message, reply_markup=buttons, rate_limit_args=Hint(priority, message)
            )
        except BadRequest as error:
            if "not modified" in str(error).lower():
                return
            await self._bot.send_message(
                target.chat_id,
                text,
                message_thread_id=target.thread_id,
                reply_markup=buttons,
                rate_limit_args=Hint(priority),
            )

    async def _show_partial(self, job: Job, batch: BatchState, target: ReplyTarget) -> None:
        text = self._translator.text(
            job.locale, "batch.partial", done=len(batch.made), total=batch.total
        )
        await self.show_status(target, text, Priority.STATUS)

    async def _send_batch(self, batch: BatchState, target: ReplyTarget, done: Committed) -> None:
        keep_status = len(batch.made) < batch.total  # it says why an image is missing
        if len(batch.made) == 1:
            await self._send_single(batch.made[0], target, done, keep_status)
        else:
            await self._send_album(list(batch.made), target, done, keep_status)

    async def _send_single(
        self, job: Job, target: ReplyTarget, done: Committed, keep_status: bool = False
    ) -> None:
        photo = await self._fitted(job)
        await self._bot.send_photo(
            target.chat_id,
            photo,
            caption=self._caption(job),
            reply_markup=keyboards.result_keyboard(self._translator, job.locale, job.id),
            reply_parameters=_reply(target),
            message_thread_id=target.thread_id,
        )
        await done()  # the commit point: what follows is cosmetic
        if not keep_status:
            await self._remove_status(target)

    async def _send_album(
        self, jobs: list[Job], target: ReplyTarget, done: Committed, keep_status: bool = False
    ) -> None:
        photos = await asyncio.gather(*(self._fitted(j) for j in jobs))
        media = [
            InputMediaPhoto(photo, caption=self._caption(j) if i == 0 else None)
            for i, (j, photo) in enumerate(zip(jobs, photos, strict=True))
        ]
        sent = await self._bot.send_media_group(
            target.chat_id,
            media,
            reply_parameters=_reply(target),
            message_thread_id=target.thread_id,
        )
        await done()  # the commit point: the buttons and the status are cosmetic
        try:
            await self._bot.send_message(
                target.chat_id,
                self._translator.text(jobs[0].locale, "batch.buttons"),
                reply_markup=keyboards.album_keyboard(jobs, sent),
                message_thread_id=target.thread_id,
            )
        except TelegramError:
            log.warning("the album's buttons were not posted", exc_info=True)
        if not keep_status:
            await self._remove_status(target)

    def _caption(self, job: Job) -> str:
        text = caption(self._translator, job)
        return text if len(text) <= CAPTION_LIMIT else text[: CAPTION_LIMIT - 1] + "…"

    async def _remove_status(self, target: ReplyTarget) -> None:
        """Best effort: the result is out, and a status left behind is only untidy."""
        try:
            await self._bot.delete_message(target.chat_id, target.status_message_id)
        except TelegramError as error:
            log.info("status message %s not removed: %s", target.status_message_id, error)

    async def _tell_refused(self, event: JobEvent, refusal: TelegramError) -> None:
        """Where Telegram still lets the bot speak (a text in the chat), say it in words."""
        job = event.job
        text = self._translator.error(job.locale, DeliveryRefused(PLATFORM, refusal.message))
        try:
            await self._bot.send_message(ReplyTarget.decode(job.reply_target).chat_id, text)
        except TelegramError:
            log.info("job %s: Telegram refuses even a text in that chat", job.id)

    async def _fitted(self, job: Job) -> bytes:
        data = await asyncio.to_thread(Path(job.result_path or "").read_bytes)
        return (await self._images.fit(data, PHOTO_RULES)).data


def _reply(target: ReplyTarget) -> ReplyParameters | None:
    if target.reply_to is None:
        return None
    return ReplyParameters(target.reply_to, allow_sending_without_reply=True)
