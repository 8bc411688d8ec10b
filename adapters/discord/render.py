"""Job events into Discord: the interaction's response edited while its token lives, the
result as attachments with an embed and buttons; later, a channel message (or a DM)."""

from __future__ import annotations

import asyncio
import io
import logging
from pathlib import Path

import discord

from adapters.discord import PLATFORM
from adapters.discord.keyboards import result_view
from adapters.discord.replies import clip
from adapters.discord.target import DiscordTarget
from core.clock import Clock
from core.delivery import Translator, batch_summary, caption, event_text
from core.errors import DeliveryRefused
from core.images import FitRules, FittedImage, ImageWorkers
from core.jobs import BatchState, EventKind, Job, JobEvent

log = logging.getLogger("imagine.discord")

DM_SIZE_LIMIT = 10 * 1024 * 1024
EMBED_TEXT_LIMIT = 4096
GONE = (401, 404)  # the interaction token expired, or the response was deleted
REFUSED = (400, 403)  # for good: no retry changes that


class DiscordNotifier:
    """The core's notifier for jobs that came from Discord."""

    def __init__(
        self, client: discord.Client, translator: Translator, clock: Clock, images: ImageWorkers
    ) -> None:
        self._client = client
        self._t = translator
        self._clock = clock
        self._images = images

    async def direct(self, user_id: str, key: str, locale: str, **params: object) -> None:
        """A direct message (the user shares a server with the bot, and allows DMs)."""
        user = await self._client.fetch_user(int(user_id))
        await user.send(clip(self._t.text(locale, key, **params)))

    async def notify(self, event: JobEvent) -> None:
        try:
            await self._notify(event)
        except discord.HTTPException as error:
            if not event.kind.final or error.status not in REFUSED:
                raise
            await self._tell_refused(event, error)
            raise DeliveryRefused(PLATFORM, error.text or f"HTTP {error.status}") from None

    async def _notify(self, event: JobEvent) -> None:
        job, target, batch = event.job, DiscordTarget.decode(event.job.reply_target), event.batch
        if event.kind is EventKind.QUEUED and job.batch_index > 0:
            return  # a batch has one status: it shows its first image's place
        if batch is not None:  # a final event of a job of several images
            await self._batch_event(event, batch, target)
        elif event.kind is EventKind.SUCCEEDED:
            await self._send([job], target)
        elif event.kind.final:
            await self._final_words(job, target, event_text(self._t, event))
        else:
            await self._status(target, event_text(self._t, event))

    async def _batch_event(self, event: JobEvent, batch: BatchState, target: DiscordTarget) -> None:
        """At the batch's last end, its images with a word on any that failed (and why);
        before it, a failure is said at once (and again at the end)."""
        summary = batch_summary(self._t, batch) if batch.failed else ""
        if batch.send and batch.made:
            await self._send(list(batch.made), target, summary)
        elif batch.send:
            await self._final_words(event.job, target, summary)
        elif event.kind is not EventKind.SUCCEEDED:
            await self._status(target, event_text(self._t, event))

    async def _status(self, target: DiscordTarget, text: str) -> None:
        """Edit the response while the token lives; a passing status is not worth more."""
        if not self._alive(target):
            return
        try:
            await self._webhook(target).edit_message(target.message_id, content=clip(text))
        except discord.HTTPException as error:
            if error.status not in GONE:
                raise
            log.info("status for message %s not shown: the response is gone", target.message_id)

    async def _final_words(self, job: Job, target: DiscordTarget, text: str) -> None:
        """A failure or cancellation: in the response if it can be edited, else a message."""
        if self._alive(target):
            try:
                await self._webhook(target).edit_message(target.message_id, content=clip(text))
                return
            except discord.HTTPException as error:
                if error.status not in GONE:
                    raise
        await self._post_later(job, target, content=f"<@{target.user_id}> {text}")

    async def _send(self, jobs: list[Job], target: DiscordTarget, note: str = "") -> None:
        """The images, with `note` (what a batch is missing) above them."""
        if self._alive(target):
            files, embeds, view = await self._result(jobs, target.size_limit)
            try:
                await self._webhook(target).edit_message(
                    target.message_id,
                    content=clip(note),
                    attachments=files,
                    embeds=embeds,
                    view=view,
                )
                return
            except discord.HTTPException as error:
                if error.status not in GONE:
                    raise
                log.info("job %s: the response is gone, posting a message instead", jobs[0].id)
        content = f"<@{target.user_id}> {note}" if note else ""
        await self._post_later(jobs[0], target, content, jobs)

    async def _post_later(
        self, job: Job, target: DiscordTarget, content: str = "", jobs: list[Job] | None = None
    ) -> None:
        """After the token: in the channel, mentioning the user; a DM if the bot may not."""
        content = content or f"<@{target.user_id}>"
        mention = discord.AllowedMentions(users=[discord.Object(target.user_id)])
        channel = self._client.get_partial_messageable(target.channel_id)
        try:
            await self._post(channel, content, jobs, target.size_limit, mention)
        except discord.Forbidden:
            log.info("job %s: may not post in channel %s, sending a DM", job.id, target.channel_id)
            user = await self._client.fetch_user(target.user_id)
            dm = await user.create_dm()
            await self._post(dm, content, jobs, min(target.size_limit, DM_SIZE_LIMIT), mention)

    async def _post(
        self,
        channel: discord.abc.Messageable,
        content: str,
        jobs: list[Job] | None,
        size_limit: int,
        mention: discord.AllowedMentions,
    ) -> None:
        if not jobs:
            await channel.send(clip(content), allowed_mentions=mention)
            return
        files, embeds, view = await self._result(jobs, size_limit)
        await channel.send(
            content,
            files=files,
            embeds=embeds,
            view=view,
            allowed_mentions=mention,
        )

    async def _result(
        self, jobs: list[Job], size_limit: int
    ) -> tuple[list[discord.File], list[discord.Embed], discord.ui.View]:
        """The images within `size_limit`, their embeds, and their buttons (with Full size
        for one that had to be shrunk)."""
        fitted = await asyncio.gather(*(self._fitted(job, size_limit) for job in jobs))
        files, embeds, shrunk = [], [], set()
        for job, image in zip(jobs, fitted, strict=True):
            extension = "jpg" if image.info.format.upper() == "JPEG" else image.info.format.lower()
            name = f"imagine_{job.id}.{extension}"
            files.append(discord.File(io.BytesIO(image.data), filename=name))
            embed = discord.Embed(description=clip(caption(self._t, job), EMBED_TEXT_LIMIT))
            if image.changed:  # say so: the caption names the size ModelScope made
                shrunk.add(job.id)
                shown = f"{image.info.width}x{image.info.height}"
                embed.set_footer(text=self._t.text(job.locale, "discord.shrunk", shown=shown))
            embeds.append(embed.set_image(url=f"attachment://{name}"))
        return files, embeds, result_view(self._t, jobs, frozenset(shrunk))

    async def _tell_refused(self, event: JobEvent, error: discord.HTTPException) -> None:
        """Where Discord still lets the bot speak, say in words that the result was refused."""
        job, target = event.job, DiscordTarget.decode(event.job.reply_target)
        text = self._t.error(job.locale, DeliveryRefused(PLATFORM, error.text or str(error.status)))
        try:
            if self._alive(target):
                await self._webhook(target).edit_message(target.message_id, content=clip(text))
            else:
                await self._post_later(job, target, content=f"<@{target.user_id}> {text}")
        except discord.HTTPException:
            log.info("job %s: Discord refuses even a text there", job.id)

    def _alive(self, target: DiscordTarget) -> bool:
        return target.token_alive(self._clock.now().timestamp())

    def _webhook(self, target: DiscordTarget) -> discord.Webhook:
        return discord.Webhook.partial(target.application_id, target.token, client=self._client)

    async def _fitted(self, job: Job, size_limit: int) -> FittedImage:
        """The image within this place's upload limit (never a hard-coded size)."""
        data = await asyncio.to_thread(Path(job.result_path or "").read_bytes)
        return await self._images.fit(data, FitRules(max_bytes=size_limit))
