"""The Discord adapter's life: point discord.py at its endpoints, log in, sync the
commands, receive interactions over the gateway, stop cleanly."""

from __future__ import annotations

import asyncio
import logging
from typing import cast

import discord
import yarl
from discord import app_commands
from discord.ext import commands

from adapters.discord import replies
from adapters.discord.admin import AdminCommands
from adapters.discord.buttons import ButtonActions
from adapters.discord.commands import UserCommands
from adapters.discord.config import DiscordConfig, Places
from adapters.discord.describe import DescribeCommands
from adapters.discord.keyboards import ResultButton
from adapters.discord.localization import CommandTexts
from adapters.discord.render import DiscordNotifier
from adapters.discord.tokens import FORM_ID as TOKEN_FORM
from adapters.discord.tokens import TokenCommands
from adapters.discord.who import locale_of
from core.clock import Clock
from core.delivery import Translator
from core.errors import ImagineError
from core.images import ImageWorkers
from core.service import CommunityAdmin, GenerationService

log = logging.getLogger("imagine.discord")


def point_at(config: DiscordConfig) -> None:
    """discord.py keeps its REST base and gateway as class attributes."""
    discord.http.Route.BASE = config.api_base_url.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(config.gateway_url)


class ImagineTree(app_commands.CommandTree[discord.Client]):
    """Refuses places the bot does not serve; turns a crash into a worded, private reply."""

    places = Places()
    texts: Translator | None = None

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if self.places.serves(interaction):
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
        cause, locale = getattr(error, "original", error), locale_of(interaction)
        if isinstance(cause, ImagineError):
            text = self.texts.error(locale, cause)
        else:
            text = self.texts.text(locale, "error.internal")
        try:
            await replies.private(interaction, text)
        except discord.HTTPException:
            log.warning("could not tell the user that the command failed")


class ImagineBot(commands.Bot):
    """The discord.py client: its commands and buttons answer through the core's doors,
    given by `DiscordAdapter.handle` before it logs in."""

    def __init__(
        self, config: DiscordConfig, translator: Translator, clock: Clock, images: ImageWorkers
    ) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=discord.Intents(guilds=True),
            tree_cls=ImagineTree,
            guild_ready_timeout=config.guild_ready_timeout,
            help_command=None,
        )
        self._config, self._translator, self._clock, self._images = (
            config,
            translator,
            clock,
            images,
        )
        tree = cast(ImagineTree, self.tree)
        tree.places, tree.texts = config.places, translator
        self.doors: tuple[GenerationService, CommunityAdmin] | None = None
        self.button_actions: ButtonActions | None = None
        self.token_commands: TokenCommands | None = None
        self.connected = asyncio.Event()

    def handle(self, service: GenerationService, admin: CommunityAdmin) -> None:
        self.doors = (service, admin)
        self.button_actions = ButtonActions(service, self._translator, self._clock, self._images)

    async def setup_hook(self) -> None:
        if self.doors is None:
            raise RuntimeError("DiscordAdapter.handle() was not called before run()")
        service, admin = self.doors
        t = self._translator
        await self.add_cog(UserCommands(service, t, self._clock, self._images))
        describing = DescribeCommands(service, t, self._clock, self._images)
        await self.add_cog(describing)
        self.tree.add_command(describing.menu)
        await self.add_cog(AdminCommands(service, admin, t))
        self.token_commands = TokenCommands(service, t)
        await self.add_cog(self.token_commands)
        self.add_dynamic_items(ResultButton)
        await self.tree.set_translator(CommandTexts(t))
        if not self._config.sync_commands:
            return
        if self._config.dev_guild_id is None:
            synced = await self.tree.sync()
        else:
            guild = discord.Object(self._config.dev_guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
        log.info("synced %d commands", len(synced))

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Forms (the Edit button's, the token's) are answered by their id, also after a
        restart."""
        if interaction.type is not discord.InteractionType.modal_submit:
            return
        form = dict(interaction.data or {}).get("custom_id")
        if form == TOKEN_FORM and self.token_commands is not None:
            await self.token_commands.submitted(interaction)
        elif self.button_actions is not None:
            await self.button_actions.submitted(interaction)

    async def on_ready(self) -> None:
        log.info("connected to Discord as %s in %d servers", self.user, len(self.guilds))
        self.connected.set()


class DiscordAdapter:
    """Owns the discord.py bot: built with its notifier (the core's way out to Discord),
    then `handle(service, admin)` (its ways in), then `run()` until cancelled."""

    def __init__(
        self, config: DiscordConfig, translator: Translator, clock: Clock, images: ImageWorkers
    ) -> None:
        point_at(config)
        self._config = config
        self.bot = ImagineBot(config, translator, clock, images)
        self.receiving = True
        self.notifier = DiscordNotifier(self.bot, translator, clock, images)

    def handle(self, service: GenerationService, admin: CommunityAdmin) -> None:
        """Answer commands and buttons through the core's two doors."""
        self.bot.handle(service, admin)

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
