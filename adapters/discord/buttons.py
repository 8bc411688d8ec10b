"""What a press of a result's button does: reroll, edit (a form), details, full size,
delete; under a describe answer, "Imagine 1".."4" (whoever presses draws that prompt); under
an enhanced prompt, Generate, Use mine and Edit. Who may delete is the core's rule; the
adapter says who pressed and what Discord says of them."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import discord

from adapters.discord import replies
from adapters.discord.options import form_value
from adapters.discord.who import actor, locale_of, request_of, user_key
from core.clock import Clock
from core.delivery import Action, Press, Translator, button_id, details_text, parse_button
from core.errors import ImagineError
from core.images import ImageWorkers
from core.jobs import Job, JobKind
from core.service import GenerationService

PROMPT_INPUT_MAX = 1999
PROMPT_FIELD = "prompt"


class EditPrompt(discord.ui.Modal):
    """The job's prompt, editable. Its id carries the job (`v1:e:<job>`, as a button's does),
    and the bot answers every submitted form by that id (`ImagineBot.on_interaction`), so a
    form opened before a restart still works after it."""

    def __init__(self, job: Job, title: str, label: str) -> None:
        super().__init__(title=title, timeout=None, custom_id=button_id(Action.EDIT, job.id))
        self.prompt: discord.ui.TextInput[EditPrompt] = discord.ui.TextInput(
            label=label,
            style=discord.TextStyle.paragraph,
            default=(job.texts[0] if job.kind is JobKind.ENHANCE else job.params.prompt)[
                :PROMPT_INPUT_MAX
            ],
            max_length=PROMPT_INPUT_MAX,
            custom_id=PROMPT_FIELD,
        )
        self.add_item(self.prompt)
        self.stop()  # nothing waits on this object: the submission is answered by its id

    async def on_submit(self, interaction: discord.Interaction) -> None:
        """Answered by `ButtonActions.submitted`, whatever happened to this object."""


def edited_prompt(data: dict[str, Any]) -> str | None:
    """The prompt field's value in a submitted form's data."""
    return form_value(data, PROMPT_FIELD)


class ButtonActions:
    def __init__(
        self,
        service: GenerationService,
        translator: Translator,
        clock: Clock,
        images: ImageWorkers,
    ) -> None:
        self._service = service
        self._t = translator
        self._clock = clock
        self._images = images

    async def pressed(self, interaction: discord.Interaction, press: Press | None) -> None:
        locale = locale_of(interaction)
        if press is None:  # a button of a kind this version no longer has
            await replies.private(interaction, self._t.text(locale, "button.expired"))
            return
        starts = self._starts()
        if press.action in starts:  # a new job, said in a public status
            await starts[press.action](interaction, press.argument)
            return
        job = await self._service.job(press.argument)
        if job is None:
            text = self._t.text(locale, "error.job_not_found", job_id=press.argument)
            await replies.private(interaction, text)
        elif press.action is Action.EDIT:
            title = self._t.text(locale, "discord.edit_title")
            label = self._t.text(locale, "discord.edit_label")
            await interaction.response.send_modal(EditPrompt(job, title, label))
        elif press.action is Action.DETAILS:
            await replies.private(interaction, details_text(self._t, locale, job))
        elif press.action is Action.FULL_SIZE:
            await self._full_size(interaction, job)
        elif press.action is Action.DELETE:
            await self._delete(interaction, job)
        else:  # an action Discord's results do not carry
            await replies.private(interaction, self._t.text(locale, "button.expired"))

    async def submitted(self, interaction: discord.Interaction) -> None:
        """A form was sent: an edited prompt (`v1:e:<job>`) draws the job again with it."""
        data = dict(interaction.data or {})
        press = parse_button(str(data.get("custom_id", "")))
        prompt = edited_prompt(data)
        if press is None or press.action is not Action.EDIT or prompt is None:
            text = self._t.text(locale_of(interaction), "button.expired")
            await replies.private(interaction, text)
            return
        job = await self._service.job(press.argument)
        if job is not None and job.kind is JobKind.ENHANCE:
            await self._draw_enhanced(interaction, job.id, edited=prompt)
            return
        await self.reroll(interaction, press.argument, prompt)

    def _starts(self) -> dict[Action, Callable[[discord.Interaction, str], Awaitable[None]]]:
        return {
            Action.REROLL: self.reroll,
            Action.TAKE_OFFER: self._take_offer,
            Action.IMAGINE_THIS: self._imagine_this,
            Action.GENERATE: lambda i, job_id: self._draw_enhanced(i, job_id),
            Action.USE_MINE: lambda i, job_id: self._draw_enhanced(i, job_id, mine=True),
        }

    async def reroll(
        self, interaction: discord.Interaction, job_id: str, prompt: str | None = None
    ) -> None:
        user = user_key(interaction)
        await self._start(
            interaction,
            lambda: self._service.rerollable(user, job_id),
            lambda target: self._service.reroll(user, job_id, target, prompt),
        )

    async def _imagine_this(self, interaction: discord.Interaction, argument: str) -> None:
        """A describe answer's prompt, drawn for whoever pressed, charged to them."""
        job_id, _, number = argument.partition(".")
        prompts = self._service.prompts
        await self._start(
            interaction,
            lambda: prompts.answer(job_id),
            lambda target: prompts.imagine_this(
                request_of(interaction, target), job_id, int(number)
            ),
        )

    async def _draw_enhanced(
        self,
        interaction: discord.Interaction,
        job_id: str,
        *,
        mine: bool = False,
        edited: str | None = None,
    ) -> None:
        user, prompts = user_key(interaction), self._service.prompts
        await self._start(
            interaction,
            lambda: self._service.rerollable(user, job_id),
            lambda target: prompts.draw_enhanced(user, job_id, target, mine=mine, edited=edited),
        )

    async def _start(
        self,
        interaction: discord.Interaction,
        may: Callable[[], Awaitable[object]],
        ask: Callable[[str], Awaitable[object]],
    ) -> None:
        """`may` refuses the presser alone (nothing in the channel); then a public status,
        and `ask` with it as the target."""
        try:
            await may()
        except ImagineError as error:
            await replies.private(interaction, self._t.error(locale_of(interaction), error))
            return
        target = await replies.begin_job(interaction, self._clock)
        try:
            await ask(target.encode())
        except ImagineError as error:
            await replies.refuse_job(interaction, self._t.error(locale_of(interaction), error))

    async def _take_offer(self, interaction: discord.Interaction, offer: str) -> None:
        """The refused request again, with the working model offered under the refusal."""
        user = user_key(interaction)
        await self._start(
            interaction,
            lambda: self._service.offer_open(user, offer),
            lambda target: self._service.take_offer(user, offer, target),
        )

    async def _full_size(self, interaction: discord.Interaction, job: Job) -> None:
        """The original pixels, to the presser alone: the file as made if it fits here, else
        as a lossless WebP; if even that is too large, how large it is."""
        locale, limit = locale_of(interaction), interaction.filesize_limit
        await interaction.response.defer(ephemeral=True, thinking=True)
        original = await asyncio.to_thread(Path(job.result_path or "").read_bytes)
        name = Path(job.result_path or "image.png").name
        if len(original) > limit:
            original, name = await self._images.lossless(original), f"{Path(name).stem}.webp"
        if len(original) > limit:
            text = self._t.text(
                locale, "discord.too_large", size=_megabytes(len(original)), limit=_megabytes(limit)
            )
            await interaction.followup.send(text, ephemeral=True)
            return
        file = discord.File(io.BytesIO(original), filename=name)
        await interaction.followup.send(file=file, ephemeral=True)

    async def _delete(self, interaction: discord.Interaction, job: Job) -> None:
        try:
            await self._service.deletable(actor(interaction), job.id)
        except ImagineError as error:
            await replies.private(interaction, self._t.error(locale_of(interaction), error))
            return
        # For a button, "the original response" is the message that carries it.
        await interaction.response.defer()
        await interaction.delete_original_response()


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"
