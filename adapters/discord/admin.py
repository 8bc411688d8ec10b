"""`/imagine-admin ...`: a guild's budget, per-member limit, prompt filter, bans and stats.

Discord hides the group from members without Manage Server (default permissions); the
core's rule decides who may use it (bot admins too), even if a server changes the
command's permissions."""

from __future__ import annotations

from typing import Literal

import discord
from discord import app_commands
from discord.ext import commands

from adapters.discord import PLATFORM, replies
from adapters.discord.localization import text
from adapters.discord.who import actor, chat_key, locale_of, user_key
from core.delivery import Translator, stats_text
from core.errors import ImagineError
from core.jobs import actor_key
from core.service import CommunityAdmin, GenerationService

Amount = app_commands.Range[float, 0, 1_000_000]


@app_commands.default_permissions(manage_guild=True)
class AdminCommands(
    commands.GroupCog,
    group_name=text("discord.name.admin"),
    group_description=text("discord.admin"),
):
    def __init__(
        self, service: GenerationService, admin: CommunityAdmin, translator: Translator
    ) -> None:
        self._service = service
        self._admin = admin
        self._t = translator
        super().__init__()

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if await self._admin.allowed(actor(interaction)):
            return True
        await replies.private(interaction, self._t.text(locale_of(interaction), "admin.only"))
        return False

    @app_commands.command(name="budget", description=text("discord.admin.budget"))
    @app_commands.describe(amount=text("discord.opt.amount"))
    async def budget(self, interaction: discord.Interaction, amount: Amount) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self._admin.set_budget(actor(interaction), amount)
        reply = self._t.text(locale_of(interaction), "discord.budget_set", value=f"{amount:g}")
        await replies.private(interaction, reply)

    @app_commands.command(name="memberlimit", description=text("discord.admin.memberlimit"))
    @app_commands.describe(amount=text("discord.opt.amount"))
    async def member_limit(self, interaction: discord.Interaction, amount: Amount) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self._admin.set_member_limit(actor(interaction), amount)
        reply = self._t.text(locale_of(interaction), "discord.member_set", value=f"{amount:g}")
        await replies.private(interaction, reply)

    @app_commands.command(name="filter", description=text("discord.admin.filter"))
    @app_commands.describe(
        action=text("discord.opt.filter_action"), value=text("discord.opt.filter_value")
    )
    async def filter(
        self,
        interaction: discord.Interaction,
        action: Literal["word", "regex", "clear", "show"],
        value: str | None = None,
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        locale = locale_of(interaction)
        try:
            words, patterns = await self._admin.edit_filter(actor(interaction), action, value or "")
        except ImagineError as error:
            await replies.private(interaction, self._t.error(locale, error))
            return
        reply = self._t.text(
            locale,
            "admin.filter",
            words=", ".join(words) or "-",
            patterns=", ".join(patterns) or "-",
        )
        await replies.private(interaction, reply)

    @app_commands.command(name="ban", description=text("discord.admin.ban"))
    @app_commands.describe(user=text("discord.opt.user"), reason=text("discord.opt.reason"))
    async def ban(
        self, interaction: discord.Interaction, user: discord.User, reason: str | None = None
    ) -> None:
        """A server's admin bans in that server; a bot admin bans everywhere."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        target = actor_key(PLATFORM, str(user.id))
        everywhere = await self._admin.ban(actor(interaction), target, reason or "")
        key = "admin.banned_everywhere" if everywhere else "admin.banned_here"
        reply = self._t.text(locale_of(interaction), key, who=user.mention)
        await replies.private(interaction, reply)

    @app_commands.command(name="unban", description=text("discord.admin.unban"))
    @app_commands.describe(user=text("discord.opt.user"))
    async def unban(self, interaction: discord.Interaction, user: discord.User) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self._admin.unban(actor(interaction), actor_key(PLATFORM, str(user.id)))
        reply = self._t.text(locale_of(interaction), "admin.unbanned", who=user.mention)
        await replies.private(interaction, reply)

    @app_commands.command(name="stats", description=text("discord.admin.stats"))
    async def stats(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        locale, chat = locale_of(interaction), chat_key(interaction)
        state = await self._service.queue_state(user_key(interaction))
        quota = await self._service.quota(user_key(interaction), chat)
        own = await self._admin.chat_settings(actor(interaction))
        tokens = await self._admin.token_balances(actor(interaction))
        reply = stats_text(self._t, locale, "discord.stats", (state, quota, own), tokens)
        await replies.private(interaction, reply)
