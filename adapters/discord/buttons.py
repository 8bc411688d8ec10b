"""Result buttons that keep working after a restart: the action and job id ride in the
custom id (`v1:<action>:<job id>`), and discord.py's dynamic items route every click here."""

from __future__ import annotations

import re
from typing import Any, Protocol, cast

import discord

from adapters.discord import replies
from adapters.discord.who import Access, locale_of, user_key
from core.clock import Clock
from core.delivery.i18n import Translator
from core.errors import ImagineError
from core.jobs.job import Job
from core.service.generation import GenerationService

REROLL, EDIT, DETAILS, DELETE = "reroll", "edit", "details", "delete"
ACTIONS = (REROLL, EDIT, DETAILS, DELETE)
PROMPT_INPUT_MAX = 1999


class HasButtonActions(Protocol):
    button_actions: ButtonActions


class ResultButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"v1:(?P<action>reroll|edit|details|delete):(?P<job>[A-Za-z0-9_-]{1,64})",
):
    def __init__(self, action: str, job_id: str, label: str = "", row: int | None = None) -> None:
        style = discord.ButtonStyle.danger if action == DELETE else discord.ButtonStyle.secondary
        button: discord.ui.Button[Any] = discord.ui.Button(
            label=label or action, style=style, custom_id=f"v1:{action}:{job_id}", row=row
        )
        super().__init__(button)
        self.action, self.job_id = action, job_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> ResultButton:
        return cls(match["action"], match["job"])

    async def callback(self, interaction: discord.Interaction) -> None:
        actions = cast(HasButtonActions, interaction.client).button_actions
        await actions.pressed(interaction, self.action, self.job_id)


def result_view(translator: Translator, jobs: list[Job]) -> discord.ui.View:
    """One row per image (reroll, edit, details), and delete for the message."""
    locale = jobs[0].locale
    view = discord.ui.View(timeout=None)
    single = len(jobs) == 1
    for row, job in enumerate(jobs):
        number = "" if single else f" {row + 1}"
        for action in (REROLL, EDIT, DETAILS):
            label = translator.text(locale, f"button.{action}") + number
            view.add_item(ResultButton(action, job.id, label, row=row))
    delete = translator.text(locale, "button.delete")
    view.add_item(ResultButton(DELETE, jobs[0].id, delete, row=0 if single else len(jobs)))
    return view


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
    def __init__(
        self, service: GenerationService, translator: Translator, access: Access, clock: Clock
    ) -> None:
        self._service = service
        self._t = translator
        self._access = access
        self._clock = clock

    async def pressed(self, interaction: discord.Interaction, action: str, job_id: str) -> None:
        if action == REROLL:
            await self.reroll(interaction, job_id)
            return
        job = await self._service.job(job_id)
        locale = locale_of(interaction)
        if job is None:
            await replies.private(
                interaction, self._t.text(locale, "error.job_not_found", job_id=job_id)
            )
        elif action == EDIT:
            title = self._t.text(locale, "discord.edit_title")
            label = self._t.text(locale, "discord.edit_label")
            await interaction.response.send_modal(EditPrompt(self, job, title, label))
        elif action == DETAILS:
            lines = [f"{name}: {value}" for name, value in job.params.describe().items()]
            await replies.private(interaction, "\n".join([f"`{job.id}`", *lines]))
        else:
            await self._delete(interaction, job)

    async def reroll(
        self, interaction: discord.Interaction, job_id: str, prompt: str | None = None
    ) -> None:
        target = await replies.begin_job(interaction, self._clock)
        try:
            await self._service.reroll(user_key(interaction), job_id, target.encode(), prompt)
        except ImagineError as error:
            await replies.refuse_job(interaction, self._t.error(locale_of(interaction), error))

    async def _delete(self, interaction: discord.Interaction, job: Job) -> None:
        if job.user != user_key(interaction) and not self._access.is_admin_here(interaction):
            await replies.private(
                interaction, self._t.text(locale_of(interaction), "delete.not_yours")
            )
            return
        # For a button, "the original response" is the message that carries it.
        await interaction.response.defer()
        await interaction.delete_original_response()
