"""Who and where an interaction comes from, what Discord says of their rights there, and
whether the bot serves that place."""

from __future__ import annotations

import discord

from adapters.discord import PLATFORM
from core.delivery import normalize_locale
from core.jobs import actor_key
from core.service import Actor


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


def actor(interaction: discord.Interaction) -> Actor:
    """The member, in the server (or DM) of the interaction; Manage Server administers it."""

    async def chat_admin() -> bool:
        return interaction.guild_id is not None and interaction.permissions.manage_guild

    return Actor(user_key(interaction), chat_key(interaction), chat_admin)
