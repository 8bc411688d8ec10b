"""The operator's endpoint: /livez, /readyz and /metrics (Prometheus text format)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from core.metrics import JOBS_IN_FLIGHT, QUEUE_WAITING
from core.service import Core

log = logging.getLogger("imagine.health")


class Connected(Protocol):
    def is_connected(self) -> bool: ...


class HealthServer:
    """Serves while the bot runs; `adapters` empty means a terminal-only bot (always ready)."""

    def __init__(self, core: Core, adapters: Sequence[tuple[str, Connected]]) -> None:
        self._core = core
        self._adapters = adapters
        self._runner: web.AppRunner | None = None

    async def start(self, host: str, port: int) -> int:
        app = web.Application()
        app.router.add_get("/livez", self.livez)
        app.router.add_get("/readyz", self.readyz)
        app.router.add_get("/metrics", self.metrics)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        bound = int(self._runner.addresses[0][1])
        log.info("health and metrics on http://%s:%d/", host, bound)
        return bound

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def livez(self, request: web.Request) -> web.Response:
        """Answering at all proves the event loop turns."""
        return web.json_response({"status": "ok"})

    async def readyz(self, request: web.Request) -> web.Response:
        checks = {
            "store": await self._store_reachable(),
            "adapters": not self._adapters or any(a.is_connected() for _, a in self._adapters),
            "modelscope_tokens": self._core.tokens.usable,
            "accepting": not self._core.service.draining,
        }
        detail = {name: adapter.is_connected() for name, adapter in self._adapters}
        ready = all(checks.values())
        body = {"status": "ready" if ready else "not ready", "checks": checks, "adapters": detail}
        return web.json_response(body, status=200 if ready else 503)

    async def metrics(self, request: web.Request) -> web.Response:
        QUEUE_WAITING.set(len(await self._core.scheduler.waiting()))
        JOBS_IN_FLIGHT.set(len(self._core.scheduler.in_flight()))
        return web.Response(
            body=generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    async def _store_reachable(self) -> bool:
        try:
            await self._core.store.get_setting("health", "ping")
        except Exception:
            log.warning("the store does not answer", exc_info=True)
            return False
        return True
