"""What a press of a result's button does: reroll, edit (a form), details, delete. Who may
delete is the core's rule; the adapter says who pressed and what Discord says of them."""

from __future__ import annotations

import discord

from adapters.discord import replies
from adapters.discord.who import actor, locale_of, user_key
from core.clock import Clock
from core.delivery import Action, Press, Translator
from core.errors import ImagineError
from core.jobs import Job
from core.service import GenerationService

PROMPT_INPUT_MAX = 1999


class EditPrompt(discord.ui.Modal):
    """The job's prompt, editable; a submit makes a new job with the new words."""

    def __init__(self, actions: ButtonActions, job: Job, title: str, label: str) -> None:
        super().__init__(title=title, timeout=15 * 60)
        self._actions, self._job = actions, job
        self.prompt: discord.ui.TextInput[EditPrompt] = discord.ui.TextInput(
            label=label,
            style=discord.TextStyle.paragraph,
            default=job.params.prompt[:PROMPT_INPUT_MAX],
            max_length=PROMPT_INPUT_MAX,
        )
        self.add_item(self.prompt)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await self._actions.reroll(interaction, self._job.id, self.prompt.value)


class ButtonActions:
    def __init__(self, service: GenerationService, translator: Translator, clock: Clock) -> None:
        self._service = service
        self._t = translator
        self._clock = clock

    async def pressed(self, interaction: discord.Interaction, press: Press | None) -> None:
        locale = locale_of(interaction)
        if press is None:  # a button of a kind this version no longer has
            await replies.private(interaction, self._t.text(locale, "button.expired"))
            return
        if press.action is Action.REROLL:
            await self.reroll(interaction, press.argument)
            return
        job = await self._service.job(press.argument)
        if job is None:
            text = self._t.text(locale, "error.job_not_found", job_id=press.argument)
            await replies.private(interaction, text)
        elif press.action is Action.EDIT:
            title = self._t.text(locale, "discord.edit_title")
            label = self._t.text(locale, "discord.edit_label")
            await interaction.response.send_modal(EditPrompt(self, job, title, label))
        elif press.action is Action.DETAILS:
            lines = [f"{name}: {value}" for name, value in job.params.describe().items()]
            await replies.private(interaction, "\n".join([f"`{job.id}`", *lines]))
        elif press.action is Action.DELETE:
            await self._delete(interaction, job)
        else:  # an action Discord's results do not carry
            await replies.private(interaction, self._t.text(locale, "button.expired"))

    async def reroll(
        self, interaction: discord.Interaction, job_id: str, prompt: str | None = None
    ) -> None:
        try:
            await self._service.rerollable(user_key(interaction), job_id)
        except ImagineError as error:  # said to the presser alone, nothing in the channel
            await replies.private(interaction, self._t.error(locale_of(interaction), error))
            return
        target = await replies.begin_job(interaction, self._clock)
        try:
            await self._service.reroll(user_key(interaction), job_id, target.encode(), prompt)
        except ImagineError as error:
            await replies.refuse_job(interaction, self._t.error(locale_of(interaction), error))

    async def _delete(self, interaction: discord.Interaction, job: Job) -> None:
        try:
            await self._service.deletable(actor(interaction), job.id)
        except ImagineError as error:
            await replies.private(interaction, self._t.error(locale_of(interaction), error))
            return
        # For a button, "the original response" is the message that carries it.
        await interaction.response.defer()
        await interaction.delete_original_response()
