"""The Discord adapter's settings, without discord.py (so a process that does not serve
Discord never imports it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from core.secret import Secret

if TYPE_CHECKING:
    from discord import Interaction


@dataclass(frozen=True)
class Places:
    """Where the bot answers: allow-lists of servers and channels (empty: everywhere), DMs."""

    guilds: frozenset[int] = frozenset()
    channels: frozenset[int] = frozenset()
    dms: bool = True

    def serves(self, interaction: Interaction) -> bool:
        if interaction.guild_id is None:
            return self.dms
        if self.guilds and interaction.guild_id not in self.guilds:
            return False
        return not self.channels or interaction.channel_id in self.channels


@dataclass(frozen=True)
class DiscordConfig:
    token: Secret
    api_base_url: str = "https://discord.com/api/v10"
    gateway_url: str = "wss://gateway.discord.gg"
    places: Places = field(default_factory=Places)
    sync_commands: bool = True
    dev_guild_id: int | None = None  # sync there (instant) instead of globally
    guild_ready_timeout: float = 2.0
