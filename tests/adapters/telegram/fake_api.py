"""A fake Telegram Bot API on loopback: records every call, serves files, sends updates.

It speaks the real wire protocol python-telegram-bot uses (form or multipart requests,
`{"ok": ..., "result": ...}` answers, 429 with `parameters.retry_after`), so the adapter is
tested through the real library.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT = {
    "id": 777000,
    "is_bot": True,
    "first_name": "Imagine",
    "username": "ImagineTestBot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)


@dataclass
class Fault:
    method: str
    kind: str  # "429", "drop", or "status" (an error `status` with `description`)
    times: int = 1
    retry_after: int = 1
    status: int = 500
    description: str = "Internal Server Error"


class FakeTelegram:
    def __init__(self, token: str) -> None:
        self.token = token
        self.calls: list[Call] = []
        self.updates: list[dict[str, Any]] = []
        self.faults: list[Fault] = []
        self.files: dict[str, bytes] = {}
        self.admins: set[tuple[int, int]] = set()
        self.changed = asyncio.Condition()
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._runner: web.AppRunner | None = None
        self.base = ""

    async def start(self) -> str:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.*}", self._file)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.base = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self.base

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # --- what tests do ---------------------------------------------------------------

    def push(self, update: dict[str, Any]) -> int:
        update_id = next(self._update_ids)
        self.updates.append({"update_id": update_id, **update})
        asyncio.get_running_loop().create_task(self._notify())
        return update_id

    def command(
        self, chat_id: int, user_id: int, text: str, language: str = "en", **extra: Any
    ) -> dict[str, Any]:
        """A message update; a leading /command gets its bot_command entity."""
        message = self.message(chat_id, user_id, language, text=text, **extra)
        first = text.split()[0] if text.strip() else ""
        if first.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(first)}]
        return {"message": message}

    def photo_message(
        self, chat_id: int, user_id: int, data: bytes, caption: str = "", language: str = "en"
    ) -> dict[str, Any]:
        message = self.message(chat_id, user_id, language, photo=self.photo_sizes(data))
        if caption:
            message["caption"] = caption
            first = caption.split()[0]
            message["caption_entities"] = [
                {"type": "bot_command", "offset": 0, "length": len(first)}
            ]
        return message

    def press(
        self, chat_id: int, user_id: int, data: str, message_id: int, language: str = "en"
    ) -> dict[str, Any]:
        return {
            "callback_query": {
                "id": str(next(self._update_ids)),
                "chat_instance": "ci",
                "data": data,
                "from": _user(user_id, language),
                "message": {
                    "message_id": message_id,
                    "date": int(time.time()),
                    "chat": _chat(chat_id),
                    "from": BOT,
                    "text": "x",
                },
            }
        }

    def message(
        self, chat_id: int, user_id: int, language: str = "en", **content: Any
    ) -> dict[str, Any]:
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": _chat(chat_id),
            "from": _user(user_id, language),
            **content,
        }

    def photo_sizes(self, data: bytes) -> list[dict[str, Any]]:
        file_id = f"file-{len(self.files) + 1}"
        self.files[file_id] = data
        return [
            {
                "file_id": file_id,
                "file_unique_id": f"u{file_id}",
                "width": 64,
                "height": 64,
                "file_size": len(data),
            }
        ]

    def named(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    async def wait_text(self, method: str, start: str, within: float = 20.0) -> Call:
        """The first `method` call whose text starts with `start`, once it comes."""

        def found() -> Call | None:
            return next(
                (c for c in self.named(method) if str(c.params.get("text", "")).startswith(start)),
                None,
            )

        async with asyncio.timeout(within), self.changed:
            await self.changed.wait_for(lambda: found() is not None)
        call = found()
        assert call is not None
        return call

    async def wait_for(self, method: str, count: int = 1, within: float = 20.0) -> list[Call]:
        async with asyncio.timeout(within), self.changed:
            await self.changed.wait_for(lambda: len(self.named(method)) >= count)
        return self.named(method)

    # --- the API ---------------------------------------------------------------------

    async def _notify(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        method = request.match_info["method"]
        fault = self._fault(method)
        if fault is not None and fault.kind == "drop":
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=500)
        if fault is not None and fault.kind == "status":
            body = {"ok": False, "error_code": fault.status, "description": fault.description}
            return web.json_response(body, status=fault.status)
        if fault is not None:
            return web.json_response(
                {
                    "ok": False,
                    "error_code": 429,
                    "description": f"Too Many Requests: retry after {fault.retry_after}",
                    "parameters": {"retry_after": fault.retry_after},
                },
                status=429,
            )
        params, files = await _read(request)
        if method != "getUpdates":
            self.calls.append(Call(method, params, files))
            await self._notify()
        result = await self._answer(method, params)
        return web.json_response({"ok": True, "result": result})

    def _fault(self, method: str) -> Fault | None:
        for fault in self.faults:
            if fault.method == method and fault.times > 0:
                fault.times -= 1
                return fault
        return None

    async def _answer(self, method: str, params: dict[str, Any]) -> Any:
        chat_id = int(params.get("chat_id", 0) or 0)
        if method == "getMe":
            return BOT
        if method == "getUpdates":
            return await self._get_updates(params)
        if method in ("sendMessage", "editMessageText"):
            return self._sent(chat_id, text=params.get("text", ""))
        if method == "sendPhoto":
            return self._sent(
                chat_id, photo=self.photo_sizes(b"sent"), caption=params.get("caption", "")
            )
        if method == "sendDocument":
            return self._sent(chat_id, document={"file_id": "d1", "file_unique_id": "ud1"})
        if method == "sendMediaGroup":
            media = json.loads(params["media"])
            return [self._sent(chat_id, photo=self.photo_sizes(b"sent")) for _ in media]
        if method == "getFile":
            return {
                "file_id": params["file_id"],
                "file_unique_id": "u",
                "file_path": f"photos/{params['file_id']}.jpg",
            }
        if method == "getChatMember":
            key = (chat_id, int(params["user_id"]))
            status = "administrator" if key in self.admins else "member"
            return {
                "status": status,
                "user": _user(int(params["user_id"]), "en"),
                **(
                    {
                        "can_be_edited": False,
                        "is_anonymous": False,
                        "can_manage_chat": True,
                        "can_delete_messages": True,
                        "can_manage_video_chats": True,
                        "can_restrict_members": True,
                        "can_promote_members": False,
                        "can_change_info": True,
                        "can_invite_users": True,
                        "can_post_stories": False,
                        "can_edit_stories": False,
                        "can_delete_stories": False,
                    }
                    if status == "administrator"
                    else {}
                ),
            }
        return True  # deleteMessage, answerCallbackQuery, setWebhook, deleteWebhook, ...

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset", 0) or 0)
        timeout = min(float(params.get("timeout", 0) or 0), 0.5)
        if offset:  # like Telegram: asking from `offset` confirms, and forgets, the older ones
            self.updates = [u for u in self.updates if u["update_id"] >= offset]

        def ready() -> list[dict[str, Any]]:
            return [u for u in self.updates if u["update_id"] >= offset]

        if not ready() and timeout > 0:
            try:
                async with asyncio.timeout(timeout), self.changed:
                    await self.changed.wait_for(lambda: bool(ready()))
            except TimeoutError:
                pass
        return ready()

    def _sent(self, chat_id: int, **content: Any) -> dict[str, Any]:
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": _chat(chat_id),
            "from": BOT,
            **content,
        }

    async def _file(self, request: web.Request) -> web.Response:
        file_id = request.match_info["path"].rsplit("/", 1)[-1].removesuffix(".jpg")
        if request.match_info["token"] != self.token or file_id not in self.files:
            return web.Response(status=404)
        return web.Response(body=self.files[file_id])


async def _read(request: web.Request) -> tuple[dict[str, Any], dict[str, bytes]]:
    params: dict[str, Any] = dict(request.query)
    files: dict[str, bytes] = {}
    if request.can_read_body:
        with warnings.catch_warnings():
            # aiohttp's own multipart reader calls its deprecated unread_data() when a part
            # ends inside a network chunk; the test run turns that warning into a 500 here.
            warnings.simplefilter("ignore", DeprecationWarning)
            form = await request.post()
        for name, value in form.items():
            if isinstance(value, web.FileField):
                files[name] = value.file.read()
            else:
                params[name] = value
    return params, files


def _chat(chat_id: int) -> dict[str, Any]:
    if chat_id > 0:
        return {"id": chat_id, "type": "private", "first_name": "U"}
    return {"id": chat_id, "type": "supergroup", "title": "Artists"}


def _user(user_id: int, language: str) -> dict[str, Any]:
    return {
        "id": user_id,
        "is_bot": False,
        "first_name": f"User{user_id}",
        "language_code": language,
    }
