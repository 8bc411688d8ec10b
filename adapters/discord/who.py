"""Who and where an interaction comes from, what Discord says of their rights there, and
whether the bot serves that place."""

from __future__ import annotations

import discord

from adapters.discord import PLATFORM
from core.delivery import normalize_locale
from core.jobs import GenerationRequest, actor_key
from core.requests import ParamsInput
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


def request_of(
    interaction: discord.Interaction, target: str, params: ParamsInput | None = None, count: int = 1
) -> GenerationRequest:
    """A request by whoever acted, where they did, answered at `target` (no prompt yet: a
    describe, or a described prompt's button)."""
    roles = getattr(interaction.user, "roles", [])
    return GenerationRequest(
        platform=PLATFORM,
        user_id=str(interaction.user.id),
        chat_id=chat_id(interaction),
        reply_target=target,
        params=params or ParamsInput(""),
        is_group=interaction.guild_id is not None,
        locale=locale_of(interaction),
        count=count,
        roles=tuple(str(role.id) for role in roles),
    )
