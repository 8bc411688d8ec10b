"""`/imagine-admin ...`: a guild's budget, per-member limit, prompt filter, bans and stats.

Discord hides the group from members without Manage Server (default permissions); the
check here also admits bot admins, and refuses everyone else even if a server changes
the command's permissions."""

from __future__ import annotations

from typing import Literal

import discord
from discord import app_commands
from discord.ext import commands

from adapters.discord import PLATFORM, replies
from adapters.discord.localization import text
from adapters.discord.who import Access, chat_key, locale_of, user_key
from core.delivery.i18n import Translator
from core.errors import ImagineError
from core.jobs.job import actor_key
from core.service.generation import GenerationService
from core.service.rules import member_key

Amount = app_commands.Range[float, 0, 1_000_000]


@app_commands.default_permissions(manage_guild=True)
class AdminCommands(
    commands.GroupCog,
    group_name=text("discord.name.admin"),
    group_description=text("discord.admin"),
):
    def __init__(self, service: GenerationService, translator: Translator, access: Access) -> None:
        self._service = service
        self._rules = service.rules
        self._t = translator
        self._access = access
        super().__init__()

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if self._access.is_admin_here(interaction):
            return True
        await replies.private(interaction, self._t.text(locale_of(interaction), "admin.only"))
        return False

    @app_commands.command(name="budget", description=text("discord.admin.budget"))
    @app_commands.describe(amount=text("discord.opt.amount"))
    async def budget(self, interaction: discord.Interaction, amount: Amount) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self._rules.set_chat_settings(chat_key(interaction), daily_budget=amount)
        reply = self._t.text(locale_of(interaction), "admin.budget", value=f"{amount:g}")
        await replies.private(interaction, reply)

    @app_commands.command(name="memberlimit", description=text("discord.admin.memberlimit"))
    @app_commands.describe(amount=text("discord.opt.amount"))
    async def member_limit(self, interaction: discord.Interaction, amount: Amount) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self._rules.set_chat_settings(chat_key(interaction), member_daily=amount)
        reply = self._t.text(locale_of(interaction), "admin.member", value=f"{amount:g}")
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
            words, patterns = await self._rules.edit_filter(
                chat_key(interaction), action, value or ""
            )
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
        everywhere = self._access.is_bot_admin(interaction)
        key = target if everywhere else member_key(chat_key(interaction), target)
        await self._rules.ban(key, reason or "")
        reply = self._t.text(locale_of(interaction), "admin.banned", who=user.mention)
        await replies.private(interaction, reply)

    @app_commands.command(name="unban", description=text("discord.admin.unban"))
    @app_commands.describe(user=text("discord.opt.user"))
    async def unban(self, interaction: discord.Interaction, user: discord.User) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        target = actor_key(PLATFORM, str(user.id))
        await self._rules.unban(member_key(chat_key(interaction), target))
        if self._access.is_bot_admin(interaction):
            await self._rules.unban(target)
        reply = self._t.text(locale_of(interaction), "admin.unbanned", who=user.mention)
        await replies.private(interaction, reply)

    @app_commands.command(name="stats", description=text("discord.admin.stats"))
    async def stats(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        locale, chat = locale_of(interaction), chat_key(interaction)
        state = await self._service.queue_state(user_key(interaction))
        quota = await self._service.quota(user_key(interaction), chat)
        own = await self._rules.chat_settings(chat)
        left = quota.left.get("chat")
        reply = self._t.text(
            locale,
            "discord.stats",
            waiting=state.waiting,
            running=state.running,
            used=f"{quota.used.get('chat', 0.0):g}",
            left="-" if left is None else f"{left:g}",
            member=own.get("member_daily", "-"),
        )
        await replies.private(interaction, reply)
