"""The Telegram adapter's life: build the application, receive updates, stop cleanly."""

from __future__ import annotations

import asyncio
import logging

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import ApplicationBuilder, ContextTypes

from adapters.telegram.admin import AdminCommands
from adapters.telegram.buttons import Buttons
from adapters.telegram.commands import Commands
from adapters.telegram.config import TelegramConfig, file_base_url
from adapters.telegram.menu import set_command_menu
from adapters.telegram.ratelimit import PriorityRateLimiter
from adapters.telegram.render import TelegramNotifier
from adapters.telegram.tokens import MemberTokenCommands
from adapters.telegram.webhook import FirstSight, WebhookReceiver
from adapters.telegram.who import locale_of
from core.delivery import Translator
from core.errors import ImagineError
from core.images import ImageWorkers
from core.jobs import JobKind
from core.service import CommunityAdmin, GenerationService

log = logging.getLogger("imagine.telegram")


class TelegramAdapter:
    """Owns the python-telegram-bot application: built with its notifier (the core's way
    out to Telegram), then `handle(service, admin)` (its ways in), then `run()` until
    cancelled."""

    def __init__(
        self,
        config: TelegramConfig,
        translator: Translator,
        images: ImageWorkers,
        first_sight: FirstSight | None = None,
    ) -> None:
        self._config = config
        self._translator = translator
        self._images = images
        self._first_sight = first_sight
        limiter = PriorityRateLimiter(
            overall_per_second=config.messages_per_second,
            chat_per_second=config.chat_messages_per_second,
            group_per_minute=config.group_messages_per_minute,
            max_retries=config.max_retries,
        )
        self.app = (
            ApplicationBuilder()
            .token(config.token.reveal())
            .base_url(config.base_url)
            .base_file_url(file_base_url(config.base_url))
            .concurrent_updates(True)
            .rate_limiter(limiter)
            .build()
        )
        self.notifier = TelegramNotifier(self.app.bot, translator, images)
        self.app.add_error_handler(self._last_word)
        self.ready = asyncio.Event()
        self.receiving = True
        self.webhook_port: int | None = None
        self._member_tokens = False  # members' own tokens are taken (/token on the menu)
        self._describes = False  # a vision model is set up (/describe on the menu)

    def handle(self, service: GenerationService, admin: CommunityAdmin) -> None:
        """Answer commands and buttons through the core's two doors."""
        t = self._translator
        Commands(service, t, self.notifier, self._images).register(self.app)
        Buttons(service, t, self.notifier).register(self.app)
        AdminCommands(admin, service, t).register(self.app)
        MemberTokenCommands(service, t).register(self.app)
        self._member_tokens = service.members.enabled
        self._describes = service.prompts.offers(JobKind.DESCRIBE)

    def is_connected(self) -> bool:
        """Receiving updates (the application runs, polling or the webhook is up); in a
        worker, which only delivers: the bot has logged in."""
        return self.ready.is_set() and (self.app.running or not self.receiving)

    async def run(self, receive: bool = True) -> None:
        """Take updates in and deliver; with `receive=False` (a worker) only deliver."""
        self.receiving = receive
        if not receive:
            async with self.app:  # the bot's REST client, without polling or a webhook
                self.ready.set()
                await asyncio.Event().wait()
        async with self.app:
            await self.app.start()
            receiver = await self._start_receiving()
            await set_command_menu(
                self.app.bot, self._translator, self._member_tokens, self._describes
            )
            self.ready.set()
            try:
                await asyncio.Event().wait()
            finally:
                if receiver is not None:
                    await receiver.stop()
                elif self.app.updater is not None and self.app.updater.running:
                    await self.app.updater.stop()
                await self.app.stop()

    async def _start_receiving(self) -> WebhookReceiver | None:
        config = self._config
        if config.mode == "polling":
            if self.app.updater is None:
                raise RuntimeError("the application has no updater")
            await self.app.updater.start_polling(
                timeout=config.poll_timeout, allowed_updates=Update.ALL_TYPES
            )
            return None
        if config.webhook_secret is None:
            raise ValueError("webhook mode needs TELEGRAM_WEBHOOK_SECRET")
        receiver = WebhookReceiver(
            self.app, config.webhook_secret, config.webhook_path, first_sight=self._first_sight
        )
        self.webhook_port = await receiver.start(config.webhook_host, config.webhook_port)
        await self.app.bot.set_webhook(
            config.webhook_url,
            secret_token=config.webhook_secret.reveal(),
            allowed_updates=Update.ALL_TYPES,
        )
        return receiver

    async def _last_word(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A handler failed: the trace goes to the log, and the user is told in words."""
        log.error("update handling failed", exc_info=context.error)
        if not isinstance(update, Update) or update.effective_message is None:
            return
        locale, error = locale_of(update), context.error
        if isinstance(error, ImagineError):
            text = self._translator.error(locale, error)
        else:
            text = self._translator.text(locale, "error.internal")
        try:
            if update.callback_query is not None:
                await update.callback_query.answer(text, show_alert=True)
            else:
                await update.effective_message.reply_text(text)
        except TelegramError:
            log.warning("could not tell the user that the update failed")
