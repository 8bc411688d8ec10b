"""The buttons under a result, and under a refusal that offers another model. Their ids
follow the core's one scheme (core.delivery.buttons), and discord.py's dynamic items route
every click, also after a restart, to the bot's `ButtonActions` (buttons.py)."""

from __future__ import annotations

import re
from typing import Any, Protocol, cast

import discord

from core.delivery import Action, Press, Translator, button_id, offered_model, parse_button
from core.errors import ImagineError
from core.jobs import Job

LABELS = {Action.REROLL: "reroll", Action.EDIT: "edit", Action.DETAILS: "details"}
LABELS[Action.DELETE] = "delete"
LABELS[Action.FULL_SIZE] = "full_size"


class PressHandler(Protocol):
    async def pressed(self, interaction: discord.Interaction, press: Press | None) -> None: ...


class HasButtonActions(Protocol):
    button_actions: PressHandler | None


class ResultButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"v1:(?P<action>[a-z]+):(?P<argument>[A-Za-z0-9_.-]{1,60})",
):
    def __init__(self, custom_id: str, label: str = "", row: int | None = None) -> None:
        press = parse_button(custom_id)
        danger = press is not None and press.action is Action.DELETE
        style = discord.ButtonStyle.danger if danger else discord.ButtonStyle.secondary
        button: discord.ui.Button[Any] = discord.ui.Button(
            label=label or "?", style=style, custom_id=custom_id, row=row
        )
        super().__init__(button)
        self.press = press

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> ResultButton:
        return cls(match.string)

    async def callback(self, interaction: discord.Interaction) -> None:
        actions = cast(HasButtonActions, interaction.client).button_actions
        if actions is not None:  # None only before the bot was handed the core
            await actions.pressed(interaction, self.press)


def result_view(
    translator: Translator, jobs: list[Job], shrunk: frozenset[str] = frozenset()
) -> discord.ui.View:
    """One row per image (reroll, edit, details, and full size for one in `shrunk`: sent
    smaller than made), and delete for the message."""
    locale = jobs[0].locale
    view = discord.ui.View(timeout=None)
    single = len(jobs) == 1
    for row, job in enumerate(jobs):
        number = "" if single else f" {row + 1}"
        actions = [Action.REROLL, Action.EDIT, Action.DETAILS]
        actions += [Action.FULL_SIZE] if job.id in shrunk else []
        for action in actions:
            label = translator.text(locale, f"button.{LABELS[action]}") + number
            view.add_item(ResultButton(button_id(action, job.id), label, row=row))
    delete = translator.text(locale, "button.delete")
    delete_id = button_id(Action.DELETE, jobs[0].id)
    view.add_item(ResultButton(delete_id, delete, row=0 if single else len(jobs)))
    return view


def offer_view(translator: Translator, locale: str, error: ImagineError) -> discord.ui.View | None:
    """Under a refusal for a model ModelScope is failing: ask again with the one offered."""
    offered = offered_model(translator, locale, error)
    if offered is None:
        return None
    view = discord.ui.View(timeout=None)
    view.add_item(ResultButton(*offered))
    return view


def describe_view(translator: Translator, job: Job) -> discord.ui.View:
    """ "Imagine 1" to "Imagine 4" under a describe answer: whoever presses draws that one."""
    view = discord.ui.View(timeout=None)
    for number in range(1, len(job.texts) + 1):
        label = translator.text(job.locale, "button.imagine_this", number=number)
        view.add_item(ResultButton(button_id(Action.IMAGINE_THIS, f"{job.id}.{number - 1}"), label))
    return view


def enhance_view(translator: Translator, job: Job) -> discord.ui.View:
    """Under an enhanced prompt: draw it, draw the prompt as typed, or change it first."""
    view = discord.ui.View(timeout=None)
    for key, action in (
        ("button.generate", Action.GENERATE),
        ("button.use_mine", Action.USE_MINE),
        ("button.edit", Action.EDIT),
    ):
        view.add_item(ResultButton(button_id(action, job.id), translator.text(job.locale, key)))
    return view
