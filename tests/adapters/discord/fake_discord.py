"""A fake Discord on loopback: the REST API discord.py calls and a JSON gateway.

REST: application info, command sync, interaction callbacks, webhook follow-ups and
`@original` edits (JSON or multipart with `payload_json` and `files[n]`), channel messages,
DMs, and a CDN for attachments. Answers are JSON with `Content-Type: application/json`
exactly, 429s carry `retry_after` and the `Via` header discord.py looks for, expired
interaction tokens answer 401 like Discord's, and uploads above the limit answer 413.
The gateway (`fake_gateway.py`) sends HELLO, READY, GUILD_CREATE and the interactions.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from tests.adapters.discord.fake_gateway import Gateway
from tests.adapters.discord.payloads import (
    ALICE,
    APP_ID,
    BOT_USER,
    CHANNEL,
    GUILD,
    application_info,
    attachment,
    command_data,
    interaction,
    user,
)

Json = dict[str, Any]


@dataclass
class Call:
    route: str
    method: str
    path: str
    body: Json
    files: dict[str, bytes] = field(default_factory=dict)


@dataclass
class Fault:
    route: str
    status: int
    times: int = 1
    retry_after: float = 0.2
    with_files: bool = False  # only calls that carry files (a result, not a status edit)


class FakeDiscord:
    """Tests push interactions through `gateway`; every REST call lands in `calls`."""

    def __init__(self, bot_token: str) -> None:
        self.bot_token = bot_token
        self.gateway = Gateway(bot_token, self._notify)
        self.calls: list[Call] = []
        self.messages: dict[int, Json] = {}
        self.faults: list[Fault] = []
        self.expired_tokens: set[str] = set()
        self.forbidden_channels: set[int] = set()
        self.upload_limit = 10 * 1024 * 1024
        self.cdn: dict[str, bytes] = {}
        self.synced: list[Json] = []
        self.deleted: list[int] = []
        self.changed = asyncio.Condition()
        self._ids = itertools.count(900_000_000_000_000_000)
        self._originals: dict[str, int] = {}
        self._component_messages: dict[str, int] = {}  # a click's message, for types 6 and 7
        self._runner: web.AppRunner | None = None
        self.base = ""

    async def start(self) -> str:
        app = web.Application(client_max_size=128 * 1024 * 1024)
        app.router.add_get("/gateway", self.gateway.handle)
        app.router.add_get("/cdn/{name}", self._cdn)
        app.router.add_route("*", "/api/v10/{path:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.base = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self.base

    async def stop(self) -> None:
        await self.gateway.close_all()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"{self.base.replace('http', 'ws', 1)}/gateway"

    # --- what tests do ---------------------------------------------------------------

    def upload(self, name: str, data: bytes, content_type: str = "image/png") -> Json:
        """Put a file on the CDN; answers the attachment object of an option."""
        self.cdn[name] = data
        return attachment(self.next_id(), name, len(data), f"{self.base}/cdn/{name}", content_type)

    async def command(
        self, name: str, user_id: int = ALICE, resolved: Json | None = None, **context: Any
    ) -> Json:
        """A slash command; `context` holds `options` (see payloads.options) and place."""
        given = context.pop("options", [])
        payload = interaction(2, command_data(name, given, resolved), user_id=user_id, **context)
        await self.gateway.dispatch("INTERACTION_CREATE", payload)
        return payload

    async def subcommand(
        self, group: str, name: str, given: list[Json], resolved: Json | None = None, **context: Any
    ) -> Json:
        sub = [{"name": name, "type": 1, "options": given}]
        payload = interaction(2, command_data(group, sub, resolved), **context)
        await self.gateway.dispatch("INTERACTION_CREATE", payload)
        return payload

    def user_message(self, user_id: int, content: str, attachments: list[Json]) -> Json:
        """A message a member posted in the channel (what a message menu is opened on)."""
        message = self._new_message(CHANNEL, {"content": content}, {})
        message.update(author=user(user_id), attachments=attachments)
        return message

    async def message_command(self, name: str, message: Json, user_id: int = ALICE) -> Json:
        """A message context menu command (type 3) opened on `message`."""
        data = {
            "id": str(self.next_id()),
            "name": name,
            "type": 3,
            "target_id": message["id"],
            "resolved": {"messages": {message["id"]: message}},
        }
        payload = interaction(2, data, user_id=user_id)
        await self.gateway.dispatch("INTERACTION_CREATE", payload)
        return payload

    async def autocomplete(self, name: str, focused: str, typed: str, **context: Any) -> Json:
        given = [{"name": focused, "type": 3, "value": typed, "focused": True}]
        payload = interaction(4, command_data(name, given), user_id=ALICE, **context)
        await self.gateway.dispatch("INTERACTION_CREATE", payload)
        return payload

    async def click(
        self, message: Json, custom_id: str, user_id: int = ALICE, **context: Any
    ) -> Json:
        """A button press on `message`; for it, `@original` is that message."""
        data = {"custom_id": custom_id, "component_type": 2}
        payload = interaction(3, data, user_id=user_id, message=message, **context)
        self._component_messages[payload["token"]] = int(message["id"])
        await self.gateway.dispatch("INTERACTION_CREATE", payload)
        return payload

    async def submit_modal(
        self, custom_id: str, values: dict[str, str], user_id: int = ALICE
    ) -> Json:
        rows = [
            {"type": 1, "components": [{"type": 4, "custom_id": key, "value": value}]}
            for key, value in values.items()
        ]
        payload = interaction(5, {"custom_id": custom_id, "components": rows}, user_id=user_id)
        await self.gateway.dispatch("INTERACTION_CREATE", payload)
        return payload

    def answers(self, payload: Json) -> list[Call]:
        """Every call made with this interaction's token (callback, follow-ups, edits)."""
        return [c for c in self.calls if payload["token"] in c.path]

    def fail(
        self,
        route: str,
        status: int = 429,
        times: int = 1,
        retry_after: float = 0.2,
        with_files: bool = False,
    ) -> None:
        self.faults.append(Fault(route, status, times, retry_after, with_files))

    def next_id(self) -> int:
        return next(self._ids)

    def named(self, route: str) -> list[Call]:
        return [call for call in self.calls if call.route == route]

    async def wait_for(self, route: str, count: int = 1, within: float = 20.0) -> list[Call]:
        async with asyncio.timeout(within), self.changed:
            await self.changed.wait_for(lambda: len(self.named(route)) >= count)
        return self.named(route)

    async def wait_until(self, check: Any, within: float = 20.0) -> None:
        async with asyncio.timeout(within), self.changed:
            await self.changed.wait_for(check)

    def original(self, token: str) -> Json:
        """The interaction's response message as it stands (empty before there is one)."""
        message_id = self._originals.get(token)
        return self.messages.get(message_id, {}) if message_id is not None else {}

    def deliveries(self) -> list[Call]:
        """Every message that carried files: the images users received."""
        return [c for c in self.calls if c.files and c.method in ("POST", "PATCH")]

    # --- the API ---------------------------------------------------------------------

    async def _notify(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    async def _cdn(self, request: web.Request) -> web.Response:
        data = self.cdn.get(request.match_info["name"])
        if data is None:
            return web.Response(status=404)
        return web.Response(body=data, content_type="image/png")

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["path"]
        route, args = _route(request.method, path)
        body, files = await _read(request)
        refusal = self._refusal(request, route, args, files)
        if refusal is not None:
            return refusal
        self.calls.append(Call(route, request.method, path, body, files))
        answer = self._answer(route, args, body, files)
        await self._notify()
        if answer is None:
            return web.Response(status=204)
        return _json(answer)

    def _refusal(
        self, request: web.Request, route: str, args: list[str], files: dict[str, bytes]
    ) -> web.Response | None:
        for fault in self.faults:
            if fault.route == route and fault.times > 0 and (files or not fault.with_files):
                fault.times -= 1
                if fault.status != 429:
                    return _error(fault.status, "Missing Permissions", 50013)
                return _error(fault.status, "You are being rate limited.", 0, fault.retry_after)
        if route.startswith("webhook") or route == "callback":
            token = args[1]
            if token in self.expired_tokens:
                return _error(401, "Invalid Webhook Token", 50027)
        elif request.headers.get("Authorization") != f"Bot {self.bot_token}":
            return _error(401, "401: Unauthorized", 0)
        if route == "channel_message" and int(args[0]) in self.forbidden_channels:
            return _error(403, "Missing Permissions", 50013)
        if any(len(data) > self.upload_limit for data in files.values()):
            return _error(413, "Request entity too large", 40005)
        if route == "unknown":
            return _error(404, "404: Not Found", 0)
        return None

    def _answer(self, route: str, args: list[str], body: Json, files: dict[str, bytes]) -> Any:
        handlers: dict[str, Any] = {
            "me": lambda: BOT_USER,
            "app": application_info,
            "sync_global": lambda: self._synced(body),
            "sync_guild": lambda: self._synced(body),
            "callback": lambda: self._callback(args[0], args[1], body, files),
            "webhook_send": lambda: self._new_message(CHANNEL, body, files, webhook=args[1]),
            "webhook_message": lambda: self.messages[self._message_id(args[1], args[2])],
            "webhook_edit": lambda: self._edit(self._message_id(args[1], args[2]), body, files),
            "webhook_delete": lambda: self._delete(self._message_id(args[1], args[2])),
            "delete_message": lambda: self._delete(int(args[1])),
            "channel_message": lambda: self._new_message(int(args[0]), body, files),
            "user": lambda: user(args[0]),
            "open_dm": lambda: {
                "id": str(self.next_id()),
                "type": 1,
                "recipients": [user(body["recipient_id"])],
            },
        }
        return handlers[route]()

    def _synced(self, commands: list[Json]) -> list[Json]:
        """As Discord answers: each command with its id, and a context menu (type 2, 3) with
        an empty description."""
        self.synced = commands
        return [
            {"description": "", **c, "id": str(self.next_id()), "application_id": str(APP_ID)}
            for c in commands
        ]

    def _delete(self, message_id: int) -> None:
        self.messages.pop(message_id, None)
        self.deleted.append(message_id)

    def _callback(
        self, interaction_id: str, token: str, body: Json, files: dict[str, bytes]
    ) -> Json:
        kind = int(body["type"])
        response: Json = {"id": interaction_id, "type": 2}
        if kind in (4, 5):  # a message, or "thinking" that becomes @original
            data = body.get("data") or {}
            message = self._new_message(CHANNEL, data, files, webhook=token)
            message["flags"] = int(data.get("flags", 0)) | (128 if kind == 5 else 0)
            self._originals[token] = int(message["id"])
            response.update(
                response_message_id=message["id"],
                response_message_loading=kind == 5,
                response_message_ephemeral=bool(int(data.get("flags", 0)) & 64),
            )
        elif kind in (6, 7) and token in self._component_messages:
            self._originals[token] = self._component_messages[token]
        return {"interaction": response, "resource": {"type": kind}}

    def _message_id(self, token: str, message_id: str) -> int:
        return self._originals[token] if message_id == "@original" else int(message_id)

    def _new_message(
        self, channel_id: int, body: Json, files: dict[str, bytes], webhook: str | None = None
    ) -> Json:
        message_id = self.next_id()
        message: Json = {
            "id": str(message_id),
            "channel_id": str(channel_id),
            "type": 0,
            "author": BOT_USER,
            "content": body.get("content") or "",
            "timestamp": datetime.now(UTC).isoformat(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "pinned": False,
            "flags": int(body.get("flags", 0) or 0),
            "embeds": body.get("embeds") or [],
            "components": body.get("components") or [],
            "attachments": self._attachments(body, files),
            "webhook_token": webhook,
        }
        if channel_id == CHANNEL:
            message["guild_id"] = str(GUILD)
        self.messages[message_id] = message
        return message

    def _edit(self, message_id: int, body: Json, files: dict[str, bytes]) -> Json:
        message = self.messages[message_id]
        for key in ("content", "embeds", "components"):
            if key in body:
                message[key] = body[key] or ([] if key != "content" else "")
        if "attachments" in body or files:
            message["attachments"] = self._attachments(body, files)
        message["flags"] = message["flags"] & ~128  # no longer "thinking"
        message["edited_timestamp"] = datetime.now(UTC).isoformat()
        return message

    def _attachments(self, body: Json, files: dict[str, bytes]) -> list[Json]:
        listed = body.get("attachments") or []
        made = []
        for index, (name, data) in enumerate(files.items()):
            filename = listed[index]["filename"] if index < len(listed) else name
            self.cdn[filename] = data
            made.append(
                attachment(self.next_id(), filename, len(data), f"{self.base}/cdn/{filename}")
            )
        return made


ROUTES: tuple[tuple[str, str, str], ...] = (
    ("GET", "/users/@me", "me"),
    ("GET", "/oauth2/applications/@me", "app"),
    ("PUT", "/applications/*/commands", "sync_global"),
    ("PUT", "/applications/*/guilds/*/commands", "sync_guild"),
    ("POST", "/interactions/*/*/callback", "callback"),
    ("POST", "/webhooks/*/*", "webhook_send"),
    ("GET", "/webhooks/*/*/messages/*", "webhook_message"),
    ("PATCH", "/webhooks/*/*/messages/*", "webhook_edit"),
    ("DELETE", "/webhooks/*/*/messages/*", "webhook_delete"),
    ("POST", "/channels/*/messages", "channel_message"),
    ("DELETE", "/channels/*/messages/*", "delete_message"),
    ("POST", "/users/@me/channels", "open_dm"),
    ("GET", "/users/*", "user"),
)


def _route(method: str, path: str) -> tuple[str, list[str]]:
    parts = path.strip("/").split("/")
    for want_method, pattern, name in ROUTES:
        wanted = pattern.strip("/").split("/")
        if method != want_method or len(wanted) != len(parts):
            continue
        if all(w in ("*", p) for w, p in zip(wanted, parts, strict=True)):
            return name, [p for w, p in zip(wanted, parts, strict=True) if w == "*"]
    return "unknown", []


async def _read(request: web.Request) -> tuple[Json, dict[str, bytes]]:
    if request.content_type.startswith("multipart/"):
        body: Json = {}
        files: dict[str, bytes] = {}
        reader = await request.multipart()
        async for part in reader:
            data = await part.read()  # type: ignore[union-attr]
            if part.name == "payload_json":  # type: ignore[union-attr]
                body = json.loads(data)
            else:
                files[part.filename or part.name or "file"] = bytes(data)  # type: ignore[union-attr]
        return body, files
    raw = await request.read()
    return (json.loads(raw) if raw else {}), {}


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # discord.py parses JSON only when Content-Type is exactly `application/json`.
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def _error(status: int, message: str, code: int, retry_after: float = 0.0) -> web.Response:
    body: Json = {"message": message, "code": code}
    headers = {"Via": "1.1 google"}
    if status == 429:
        body.update(retry_after=retry_after, **{"global": False})
        headers["Retry-After"] = str(retry_after)
    return _json(body, status, headers)
