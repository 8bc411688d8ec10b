"""`/token ...`: a member's own ModelScope token. `set` opens a private form (a modal: what is
typed there is seen by the bot alone, never posted in the channel); every answer is seen by
the member alone. The form is answered by its id (`ImagineBot.on_interaction`), so one
opened before a restart still works after it.

Discord shows the bot no channel message's text (it asks for no message-content intent), so
a token pasted in a channel cannot be seen, nor deleted, by it: the form is the only way in."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from adapters.discord import replies
from adapters.discord.localization import text
from adapters.discord.options import form_value
from adapters.discord.who import locale_of, user_key
from core.delivery import Translator, token_text
from core.errors import ImagineError
from core.service import GenerationService

FORM_ID = "v1:token"
TOKEN_FIELD = "token"  # noqa: S105 - a form field's id, not a secret
Lent = app_commands.Range[float, 0, 1000]


class TokenForm(discord.ui.Modal):
    def __init__(self, title: str, label: str) -> None:
        super().__init__(title=title, timeout=None, custom_id=FORM_ID)
        self.token: discord.ui.TextInput[TokenForm] = discord.ui.TextInput(
            label=label, min_length=10, max_length=200, custom_id=TOKEN_FIELD
        )
        self.add_item(self.token)
        self.stop()  # nothing waits on this object: the submission is answered by its id

    async def on_submit(self, interaction: discord.Interaction) -> None:
        """Answered by `TokenCommands.submitted`, whatever happened to this object."""


class TokenCommands(
    commands.GroupCog,
    group_name=text("discord.name.token"),
    group_description=text("discord.token"),
):
    def __init__(self, service: GenerationService, translator: Translator) -> None:
        self._members = service.members
        self._t = translator
        super().__init__()

    @app_commands.command(name="set", description=text("discord.token.set"))
    async def set_token(self, interaction: discord.Interaction) -> None:
        locale = locale_of(interaction)
        if not self._members.enabled:
            await replies.private(interaction, self._t.text(locale, "token.off"))
            return
        form = TokenForm(
            self._t.text(locale, "discord.token_form"), self._t.text(locale, "discord.token_field")
        )
        await interaction.response.send_modal(form)

    @app_commands.command(name="show", description=text("discord.token.show"))
    async def show(self, interaction: discord.Interaction) -> None:
        await replies.private(interaction, await self._status(interaction))

    @app_commands.command(name="lend", description=text("discord.token.lend"))
    @app_commands.describe(amount=text("discord.opt.amount"))
    async def lend(self, interaction: discord.Interaction, amount: Lent) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        locale = locale_of(interaction)
        try:
            view = await self._members.lend(user_key(interaction), amount)
            reply = token_text(self._t, locale, view)
        except ImagineError as error:
            reply = self._t.error(locale, error)
        await replies.private(interaction, reply)

    @app_commands.command(name="remove", description=text("discord.token.remove"))
    async def remove(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        locale = locale_of(interaction)
        try:
            await self._members.remove(user_key(interaction))
            reply = self._t.text(locale, "token.removed")
        except ImagineError as error:
            reply = self._t.error(locale, error)
        await replies.private(interaction, reply)

    async def submitted(self, interaction: discord.Interaction) -> None:
        """The form was sent: check and keep the token, then say how it is doing."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        locale = locale_of(interaction)
        try:
            view = await self._members.add(
                user_key(interaction),
                locale,
                form_value(dict(interaction.data or {}), TOKEN_FIELD) or "",
            )
            reply = self._t.text(locale, "token.saved") + "\n\n" + token_text(self._t, locale, view)
        except ImagineError as error:
            reply = self._t.error(locale, error)
        await replies.private(interaction, reply)

    async def _status(self, interaction: discord.Interaction) -> str:
        locale, user = locale_of(interaction), user_key(interaction)
        try:
            if not await self._members.has_token(user):
                return self._t.text(locale, "token.none")
            return token_text(self._t, locale, await self._members.status(user))
        except ImagineError as error:
            return self._t.error(locale, error)
