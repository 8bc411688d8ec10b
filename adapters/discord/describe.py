"""/describe image:… and the message menu "Describe image": prompts that would make a picture
like it, each with a button that draws it for whoever presses (buttons.py)."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from adapters.discord import replies
from adapters.discord.keyboards import describe_view
from adapters.discord.localization import text
from adapters.discord.options import attachment_data_uri, check_attachment
from adapters.discord.who import locale_of, request_of
from core.clock import Clock
from core.delivery import Translator, described_text
from core.errors import ImagineError, TextOff
from core.images import ImageWorkers
from core.jobs import JobKind
from core.service import GenerationService


class DescribeCommands(commands.Cog):
    """The slash command, and the message menu (`menu`, which the bot adds to its tree)."""

    def __init__(
        self, service: GenerationService, translator: Translator, clock: Clock, images: ImageWorkers
    ) -> None:
        self._service, self._t, self._clock, self._images = service, translator, clock, images
        self.menu = app_commands.ContextMenu(
            name=text("discord.describe_menu"), callback=self.describe_message
        )

    @app_commands.command(name=text("discord.name.describe"), description=text("discord.describe"))
    @app_commands.describe(image=text("discord.opt.describe_image"))
    async def describe(self, interaction: discord.Interaction, image: discord.Attachment) -> None:
        await self._describe(interaction, image)

    async def describe_message(
        self, interaction: discord.Interaction, message: discord.Message
    ) -> None:
        """The first image attached to the message the menu was opened on."""
        images = [a for a in message.attachments if (a.content_type or "").startswith("image/")]
        if not images:
            await replies.private(
                interaction, self._t.text(locale_of(interaction), "discord.no_image")
            )
            return
        await self._describe(interaction, images[0])

    async def _describe(self, interaction: discord.Interaction, image: discord.Attachment) -> None:
        locale = locale_of(interaction)
        try:
            if not self._service.prompts.offers(JobKind.DESCRIBE):
                raise TextOff("describe")
            check_attachment(image.size, image.content_type)
        except ImagineError as error:
            await replies.private(interaction, self._t.error(locale, error))
            return
        target = await replies.begin_job(interaction, self._clock)
        try:
            uri = await attachment_data_uri(image, self._images)
            job = await self._service.prompts.describe(
                request_of(interaction, target.encode()), uri
            )
        except ImagineError as error:
            await replies.refuse_job(interaction, self._t.error(locale, error))
            return
        await replies.show(interaction, described_text(self._t, job), describe_view(self._t, job))
