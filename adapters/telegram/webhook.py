"""Webhook ingress: Telegram POSTs updates; the secret header is checked, repeats dropped."""

from __future__ import annotations

import hmac
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from aiohttp import web
from telegram import Update
from telegram.ext import Application

from core.secret import Secret

log = logging.getLogger("imagine.telegram.webhook")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name


# Whether an update is new among every receiver: (kind, key) -> True the first time.
FirstSight = Callable[[str, str], Awaitable[bool]]


class WebhookReceiver:
    """Puts each new update on the application's queue, once (Telegram retries on errors).
    With `first_sight` shared by several receivers (Redis), once among all of them."""

    def __init__(
        self,
        app: Application,  # type: ignore[type-arg]
        secret: Secret,
        path: str,
        remember: int = 10_000,
        first_sight: FirstSight | None = None,
    ) -> None:
        self._app = app
        self._secret = secret.reveal().encode()
        self.path = path
        self._seen: OrderedDict[int, None] = OrderedDict()
        self._remember = remember
        self._first_sight = first_sight
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
        if not await self._new(update_id):
            return web.Response(text="duplicate")
        await self._app.update_queue.put(Update.de_json(data, self._app.bot))
        return web.Response(text="ok")

    async def _new(self, update_id: int) -> bool:
        if update_id in self._seen:
            return False
        self._seen[update_id] = None
        while len(self._seen) > self._remember:
            self._seen.popitem(last=False)
        if self._first_sight is None:
            return True
        return await self._first_sight("telegram-update", str(update_id))

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
