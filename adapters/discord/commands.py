"""The user commands: /imagine and the small ones. Each defers first, then asks the core."""

from __future__ import annotations

import dataclasses

import discord
from discord import app_commands
from discord.ext import commands

from adapters.discord import replies
from adapters.discord.keyboards import enhance_view, offer_view
from adapters.discord.localization import text
from adapters.discord.options import (
    attachment_data_uri,
    check_attachment,
    lora_choices,
    model_choices,
    params_input,
    size_choices,
)
from adapters.discord.who import chat_key, locale_of, request_of, user_key
from core.clock import Clock
from core.delivery import (
    Translator,
    cancel_text,
    enhanced_text,
    history_text,
    models_text,
    queue_text,
    quota_text,
    settings_saved_text,
)
from core.errors import ImagineError
from core.images import ImageWorkers
from core.jobs import Job, JobKind
from core.service import GenerationService

Choices = list[app_commands.Choice[str]]
HISTORY_LIMIT = 10


class UserCommands(commands.Cog):
    def __init__(
        self, service: GenerationService, translator: Translator, clock: Clock, images: ImageWorkers
    ) -> None:
        self._service = service
        self._t = translator
        self._clock = clock
        self._images = images

    @app_commands.command(name=text("discord.name.imagine"), description=text("discord.imagine"))
    @app_commands.describe(
        prompt=text("discord.opt.prompt"),
        negative_prompt=text("discord.opt.negative_prompt"),
        size=text("discord.opt.size"),
        seed=text("discord.opt.seed"),
        steps=text("discord.opt.steps"),
        guidance=text("discord.opt.guidance"),
        model=text("discord.opt.model"),
        lora=text("discord.opt.lora"),
        lora_weight=text("discord.opt.lora_weight"),
        image=text("discord.opt.image"),
        count=text("discord.opt.count"),
        enhance=text("discord.opt.enhance"),
    )
    async def imagine(
        self,
        interaction: discord.Interaction,
        prompt: str,
        negative_prompt: str | None = None,
        size: str | None = None,
        seed: app_commands.Range[int, 0, 2_147_483_647] | None = None,
        steps: int | None = None,
        guidance: float | None = None,
        model: str | None = None,
        lora: str | None = None,
        lora_weight: float | None = None,
        image: discord.Attachment | None = None,
        count: app_commands.Range[int, 1, 4] = 1,
        enhance: bool | None = None,
    ) -> None:
        """Draw: options are checked before anything is shown; the core checks the rest."""
        locale = locale_of(interaction)
        try:
            params = params_input(
                prompt,
                negative_prompt=negative_prompt,
                size=size,
                seed=seed,
                steps=steps,
                guidance=guidance,
                model=model,
                lora=lora,
                lora_weight=lora_weight,
            )
            if image is not None:
                check_attachment(image.size, image.content_type)
        except ImagineError as error:
            await replies.private(interaction, self._t.error(locale, error))
            return
        target = await replies.begin_job(interaction, self._clock)
        try:
            if image is not None:
                uri = await attachment_data_uri(image, self._images)
                params = dataclasses.replace(params, image_url=uri)
            request = request_of(interaction, target.encode(), params, count)
            answer = await self._service.prompts.imagine(
                dataclasses.replace(request, enhance=enhance)
            )
        except ImagineError as error:
            offer = offer_view(self._t, locale, error)
            await replies.refuse_job(interaction, self._t.error(locale, error), offer)
            return
        if isinstance(answer, Job):  # the enhanced prompt, for the user to choose
            await replies.show(
                interaction, enhanced_text(self._t, answer), enhance_view(self._t, answer)
            )

    @imagine.autocomplete("model")
    async def _models(self, interaction: discord.Interaction, current: str) -> Choices:
        return model_choices(self._service.catalog, current)

    @imagine.autocomplete("lora")
    async def _loras(self, interaction: discord.Interaction, current: str) -> Choices:
        return lora_choices(self._service.catalog, current)

    @imagine.autocomplete("size")
    async def _sizes(self, interaction: discord.Interaction, current: str) -> Choices:
        return size_choices(current)

    @app_commands.command(name=text("discord.name.quota"), description=text("discord.quota"))
    async def quota(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        view = await self._service.quota(user_key(interaction), chat_key(interaction))
        await replies.private(interaction, quota_text(self._t, locale_of(interaction), view))

    @app_commands.command(name=text("discord.name.queue"), description=text("discord.queue"))
    async def queue(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        state = await self._service.queue_state(user_key(interaction))
        await replies.private(interaction, queue_text(self._t, locale_of(interaction), state))

    @app_commands.command(name=text("discord.name.cancel"), description=text("discord.cancel"))
    @app_commands.describe(job=text("discord.opt.job"))
    async def cancel(self, interaction: discord.Interaction, job: str | None = None) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        locale, user = locale_of(interaction), user_key(interaction)
        try:
            reply = cancel_text(self._t, locale, await self._service.cancel(user, job))
        except ImagineError as error:
            reply = self._t.error(locale, error)
        await replies.private(interaction, reply)

    @app_commands.command(name=text("discord.name.history"), description=text("discord.history"))
    async def history(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        locale = locale_of(interaction)
        jobs = await self._service.history(user_key(interaction), HISTORY_LIMIT)
        await replies.private(interaction, history_text(self._t, locale, jobs))

    @app_commands.command(name=text("discord.name.models"), description=text("discord.models"))
    async def models(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        locale = locale_of(interaction)
        await replies.private(
            interaction,
            models_text(self._t, locale, self._service.catalog, self._service.failing_models()),
        )

    @app_commands.command(name=text("discord.name.settings"), description=text("discord.settings"))
    @app_commands.describe(
        model=text("discord.opt.model"),
        size=text("discord.opt.size"),
        enhance=text("discord.opt.enhance"),
    )
    async def settings(
        self,
        interaction: discord.Interaction,
        model: str | None = None,
        size: str | None = None,
        enhance: bool | None = None,
    ) -> None:
        """Show the user's defaults; with options, save them first (checked by the core)."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        locale, user = locale_of(interaction), user_key(interaction)
        notes: list[str] = []
        switch = None if enhance is None else ("on" if enhance else "off")
        try:
            given = (("model", model), ("size", size), ("enhance", switch))
            changes = {k: v for k, v in given if v is not None}
            if changes:
                change = await self._service.set_defaults(user, **changes)
                saved = change.saved
                if model is not None and change.cleared:
                    notes.append(settings_saved_text(self._t, locale, "model", model, change))
            else:
                saved = await self._service.defaults(user)
        except ImagineError as error:
            await replies.private(interaction, self._t.error(locale, error))
            return
        unset = self._t.text(locale, "settings.unset")
        reply = self._t.text(
            locale,
            "discord.settings_view",
            model=saved.get("model", unset),
            size=saved.get("size", unset),
        )
        lines = [*notes, reply]
        if self._service.prompts.offers(JobKind.ENHANCE):
            word = "settings.enhance_on" if saved.get("enhance") == "on" else "settings.enhance_off"
            lines.append(self._t.text(locale, "settings.enhance", value=self._t.text(locale, word)))
        await replies.private(interaction, "\n".join(lines))

    settings.autocomplete("model")(_models)
    settings.autocomplete("size")(_sizes)

    @app_commands.command(name=text("discord.name.help"), description=text("discord.help"))
    async def help(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await replies.private(
            interaction, self._t.text(locale_of(interaction), "discord.help_text")
        )
