"""Webhook ingress: Telegram POSTs updates; the secret header is checked, repeats dropped."""

from __future__ import annotations

import hmac
import logging
from collections import OrderedDict

from aiohttp import web
from telegram import Update
from telegram.ext import Application

from core.secret import Secret

log = logging.getLogger("imagine.telegram.webhook")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name


class WebhookReceiver:
    """Puts each new update on the application's queue, once (Telegram retries on errors)."""

    def __init__(
        self,
        app: Application,  # type: ignore[type-arg]
        secret: Secret,
        path: str,
        remember: int = 10_000,
    ) -> None:
        self._app = app
        self._secret = secret.reveal().encode()
        self.path = path
        self._seen: OrderedDict[int, None] = OrderedDict()
        self._remember = remember
        self._runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):
            return web.Response(status=403)
        try:
            data = await request.json()
            update_id = int(data["update_id"])
        except (ValueError, KeyError, TypeError):
            return web.Response(status=400)
        if update_id in self._seen:
            return web.Response(text="duplicate")
        self._seen[update_id] = None
        while len(self._seen) > self._remember:
            self._seen.popitem(last=False)
        await self._app.update_queue.put(Update.de_json(data, self._app.bot))
        return web.Response(text="ok")

    async def start(self, host: str, port: int) -> int:
        app = web.Application()
        app.router.add_post(self.path, self.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        bound: int = self._runner.addresses[0][1]
        return bound

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
