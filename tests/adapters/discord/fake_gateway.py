"""The fake Discord's gateway: JSON over a websocket, the way discord.py speaks it."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import WSMsgType, web

from tests.adapters.discord.payloads import APP_ID, BOT_USER, GUILD, guild

HELLO, IDENTIFY, HEARTBEAT, HEARTBEAT_ACK, DISPATCH = 10, 2, 1, 11, 0


class Gateway:
    """One bot session at a time; `dispatch` sends an event to every identified socket."""

    def __init__(
        self,
        bot_token: str,
        changed: Callable[[], Awaitable[None]],
        heartbeat_ms: int = 41_250,
    ) -> None:
        self.bot_token = bot_token
        self._changed = changed
        self.heartbeat_ms = heartbeat_ms
        self.heartbeats = 0
        self.identified = asyncio.Event()
        self.identify_payloads: list[dict[str, Any]] = []
        self._sockets: set[web.WebSocketResponse] = set()
        self._seq = itertools.count(1)

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await socket.send_json({"op": HELLO, "d": {"heartbeat_interval": self.heartbeat_ms}})
        try:
            async for message in socket:
                if message.type != WSMsgType.TEXT:
                    break
                await self._received(socket, json.loads(message.data))
        finally:
            self._sockets.discard(socket)
            if not self._sockets:
                self.identified.clear()
        return socket

    async def _received(self, socket: web.WebSocketResponse, payload: dict[str, Any]) -> None:
        op = payload.get("op")
        if op == HEARTBEAT:
            self.heartbeats += 1
            await socket.send_json({"op": HEARTBEAT_ACK})
            await self._changed()
        elif op == IDENTIFY:
            if payload["d"]["token"] != self.bot_token:
                await socket.close(code=4004, message=b"Authentication failed.")
                return
            self.identify_payloads.append(payload["d"])
            await self._send(socket, "READY", _ready())
            await self._send(socket, "GUILD_CREATE", guild())
            self._sockets.add(socket)
            self.identified.set()

    async def dispatch(self, event: str, data: dict[str, Any], within: float = 10.0) -> None:
        async with asyncio.timeout(within):
            await self.identified.wait()
        for socket in list(self._sockets):
            await self._send(socket, event, data)

    async def close_all(self) -> None:
        for socket in list(self._sockets):
            await socket.close()

    async def _send(self, socket: web.WebSocketResponse, event: str, data: dict[str, Any]) -> None:
        await socket.send_json({"op": DISPATCH, "t": event, "s": next(self._seq), "d": data})


def _ready() -> dict[str, Any]:
    return {
        "v": 10,
        "user": BOT_USER,
        "guilds": [{"id": str(GUILD), "unavailable": True}],
        "session_id": "fake-session",
        "resume_gateway_url": "ws://127.0.0.1:1/unused",
        "application": {"id": str(APP_ID), "flags": 0},
        "private_channels": [],
        "relationships": [],
    }
