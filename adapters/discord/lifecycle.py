"""The Discord adapter's life: point discord.py at its endpoints, log in, sync the
commands, receive interactions over the gateway, stop cleanly."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import cast

import discord
import yarl
from discord import app_commands
from discord.ext import commands

from adapters.discord import replies
from adapters.discord.admin import AdminCommands
from adapters.discord.buttons import ButtonActions, ResultButton
from adapters.discord.commands import UserCommands
from adapters.discord.localization import CommandTexts
from adapters.discord.render import PROGRESS_EVERY_SECONDS, DiscordNotifier
from adapters.discord.who import Access, locale_of
from core.clock import Clock
from core.delivery.i18n import Translator
from core.secret import Secret
from core.service.generation import GenerationService

log = logging.getLogger("imagine.discord")


@dataclass(frozen=True)
class DiscordConfig:
    token: Secret
    api_base_url: str = "https://discord.com/api/v10"
    gateway_url: str = "wss://gateway.discord.gg"
    access: Access = field(default_factory=Access)
    sync_commands: bool = True
    dev_guild_id: int | None = None  # sync there (instant) instead of globally
    guild_ready_timeout: float = 2.0
    progress_every: float = PROGRESS_EVERY_SECONDS


def point_at(config: DiscordConfig) -> None:
    """discord.py keeps its REST base and gateway as class attributes."""
    discord.http.Route.BASE = config.api_base_url.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(config.gateway_url)


class ImagineTree(app_commands.CommandTree[discord.Client]):
    """Refuses places the bot does not serve; turns a crash into a worded, private reply."""

    access = Access()
    texts: Translator | None = None

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if self.access.serves(interaction):
            return True
        if interaction.type is discord.InteractionType.autocomplete:
            await interaction.response.autocomplete([])
        elif self.texts is not None:
            text = self.texts.text(locale_of(interaction), "discord.not_here")
            await replies.private(interaction, text)
        return False

    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        if isinstance(error, app_commands.CheckFailure) or self.texts is None:
            return  # the check already answered
        log.error(
            "command %s failed", interaction.command and interaction.command.name, exc_info=error
        )
        try:
            await replies.private(
                interaction, self.texts.text(locale_of(interaction), "error.internal")
            )
        except discord.HTTPException:
            log.warning("could not tell the user that the command failed")


class ImagineBot(commands.Bot):
    def __init__(
        self,
        config: DiscordConfig,
        service: GenerationService,
        translator: Translator,
        clock: Clock,
    ) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=discord.Intents(guilds=True),
            tree_cls=ImagineTree,
            guild_ready_timeout=config.guild_ready_timeout,
            help_command=None,
        )
        self._config, self._service, self._translator, self._clock = (
            config,
            service,
            translator,
            clock,
        )
        tree = cast(ImagineTree, self.tree)
        tree.access, tree.texts = config.access, translator
        self.button_actions = ButtonActions(service, translator, config.access, clock)
        self.connected = asyncio.Event()

    async def setup_hook(self) -> None:
        await self.add_cog(UserCommands(self._service, self._translator, self._clock))
        await self.add_cog(AdminCommands(self._service, self._translator, self._config.access))
        self.add_dynamic_items(ResultButton)
        await self.tree.set_translator(CommandTexts(self._translator))
        if not self._config.sync_commands:
            return
        if self._config.dev_guild_id is None:
            synced = await self.tree.sync()
        else:
            guild = discord.Object(self._config.dev_guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
        log.info("synced %d commands", len(synced))

    async def on_ready(self) -> None:
        log.info("connected to Discord as %s in %d servers", self.user, len(self.guilds))
        self.connected.set()


class DiscordAdapter:
    """Owns the discord.py bot; `run()` until cancelled."""

    def __init__(
        self,
        config: DiscordConfig,
        service: GenerationService,
        translator: Translator,
        clock: Clock,
    ) -> None:
        point_at(config)
        self._config = config
        self.bot = ImagineBot(config, service, translator, clock)
        self.receiving = True
        self.notifier = DiscordNotifier(self.bot, service, translator, clock, config.progress_every)

    @property
    def ready(self) -> asyncio.Event:
        return self.bot.connected

    def is_connected(self) -> bool:
        """Logged in and the gateway socket is open (discord.py reconnects by itself); in a
        worker, which only delivers: logged in to the REST API."""
        if not self.receiving:
            return self.bot.connected.is_set() and not self.bot.is_closed()
        socket = self.bot.ws
        return (
            self.bot.is_ready() and not self.bot.is_closed() and socket is not None and socket.open
        )

    async def run(self, receive: bool = True) -> None:
        """Connect to the gateway and serve; with `receive=False` (a worker) only log in to
        the REST API and deliver."""
        self.receiving = receive
        async with self.bot:
            if receive:
                await self.bot.start(self._config.token.reveal())
                return
            await self.bot.login(self._config.token.reveal())
            self.bot.connected.set()
            await asyncio.Event().wait()
