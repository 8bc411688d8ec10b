"""Who and where an interaction comes from, and whether the bot serves it there."""

from __future__ import annotations

from dataclasses import dataclass

import discord

from adapters.discord import PLATFORM
from core.delivery.i18n import normalize_locale
from core.jobs.job import actor_key


def user_key(interaction: discord.Interaction) -> str:
    return actor_key(PLATFORM, str(interaction.user.id))


def chat_id(interaction: discord.Interaction) -> str:
    """A guild shares its budget and rules across channels; a DM is its own place."""
    if interaction.guild_id is not None:
        return str(interaction.guild_id)
    return f"dm{interaction.user.id}"


def chat_key(interaction: discord.Interaction) -> str:
    return actor_key(PLATFORM, chat_id(interaction))


def locale_of(interaction: discord.Interaction) -> str:
    return normalize_locale(interaction.locale.value)


@dataclass(frozen=True)
class Access:
    """Allow-lists (empty: everywhere) and who administers the bot."""

    bot_admins: frozenset[str] = frozenset()
    guilds: frozenset[int] = frozenset()
    channels: frozenset[int] = frozenset()
    dms: bool = True

    def serves(self, interaction: discord.Interaction) -> bool:
        if interaction.guild_id is None:
            return self.dms
        if self.guilds and interaction.guild_id not in self.guilds:
            return False
        return not self.channels or interaction.channel_id in self.channels

    def is_bot_admin(self, interaction: discord.Interaction) -> bool:
        return user_key(interaction) in self.bot_admins

    def is_admin_here(self, interaction: discord.Interaction) -> bool:
        """A bot admin anywhere; in a guild, also a member with Manage Server."""
        if self.is_bot_admin(interaction):
            return True
        return interaction.guild_id is not None and interaction.permissions.manage_guild
