"""The first answer to every interaction: deferred at once, then filled in."""

from __future__ import annotations

import logging

import discord

from adapters.discord.target import DiscordTarget
from core.clock import Clock

log = logging.getLogger("imagine.discord")
MESSAGE_LIMIT = 2000


async def private(interaction: discord.Interaction, text: str) -> None:
    """Answer the user alone (defer first: Discord wants an answer within 3 seconds)."""
    if not interaction.response.is_done():
        await interaction.response.defer(ephemeral=True, thinking=True)
    await interaction.followup.send(clip(text), ephemeral=True)


async def begin_job(interaction: discord.Interaction, clock: Clock) -> DiscordTarget:
    """A public "thinking" response that becomes the job's status, then its result."""
    response = await interaction.response.defer(thinking=True)
    message_id = response.message_id if response is not None else None
    if message_id is None:
        message_id = (await interaction.original_response()).id
    return DiscordTarget(
        application_id=interaction.application_id,
        token=interaction.token,
        message_id=message_id,
        channel_id=interaction.channel_id or 0,
        user_id=interaction.user.id,
        issued_at=clock.now().timestamp(),
        size_limit=interaction.filesize_limit,
        guild_id=interaction.guild_id,
    )


async def refuse_job(
    interaction: discord.Interaction, text: str, buttons: discord.ui.View | None = None
) -> None:
    """Take the public "thinking" message away and tell the user alone why (with `buttons`,
    such as a working model offered instead)."""
    try:
        await interaction.delete_original_response()
    except discord.HTTPException:
        log.debug("the response to interaction %s was already gone", interaction.id)
    if buttons is None:
        await interaction.followup.send(clip(text), ephemeral=True)
    else:
        await interaction.followup.send(clip(text), ephemeral=True, view=buttons)


async def show(interaction: discord.Interaction, text: str, buttons: discord.ui.View) -> None:
    """The public "thinking" message becomes `text` with `buttons` (an answer to choose
    from: a describe's prompts, an enhanced prompt)."""
    await interaction.edit_original_response(content=clip(text), view=buttons)


def clip(text: str, limit: int = MESSAGE_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
