"""The simulator's answers that are not a task's: errors in the service's shape, and the odd
answers its faults give (a body that is not JSON, an undocumented status, a cut download)."""

from __future__ import annotations

import random

from aiohttp import web

from bot.simulator.faults import Fault


def odd_answer(fault: Fault, request: web.Request) -> web.Response:
    """The answer of a fault that answers at once: an odd body, or an error."""
    if fault.kind == "malformed":
        return web.Response(text="<html>502 Bad Gateway</html>", content_type="text/html")
    if fault.kind == "odd_status":
        task_id = request.match_info.get("task_id", "")
        return web.json_response({"task_id": task_id, "task_status": fault.message})
    if fault.kind == "blank_id":
        return web.json_response({"task_id": "", "task_status": "PROCESSING"})
    if fault.kind == "balance":
        return insufficient_balance(fault.message)
    if fault.kind == "refusal":
        return refusal()
    headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
    if request.path.endswith("chat/completions"):
        kind = "rate_limit_error" if fault.status == 429 else "server_error"
        return chat_error(fault.status, fault.message, kind, headers=headers)
    return error(fault.status, fault.message, headers)


async def broken_download(request: web.Request, kind: str) -> web.StreamResponse:
    if kind == "corrupt":
        return web.Response(body=b"\x89PNG\r\n\x1a\n" + b"garbage" * 100, content_type="image/png")
    response = web.StreamResponse(headers={"Content-Length": "100000"})
    response.content_type = "image/png"
    await response.prepare(request)
    await response.write(b"\x89PNG\r\n\x1a\n" + b"\0" * 1000)
    if request.transport is not None:
        request.transport.abort()
    return response


def error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    body = {"errors": {"code": status, "message": message}, "request_id": request_id()}
    return web.json_response(body, status=status, headers=headers)


def request_id() -> str:
    return f"sim-{random.getrandbits(64):016x}"


def insufficient_balance(message: str) -> web.Response:
    """The 429 a token whose Magicubes are spent gets (MODELSCOPE_API.md)."""
    balance = {"type": "insufficient_balance_error", "message": message}
    return web.json_response({"error": balance}, status=429)


def chat_error(
    status: int, message: str, kind: str, code: str = "", headers: dict[str, str] | None = None
) -> web.Response:
    """An error in the chat endpoint's (OpenAI's) shape: `{"error": {...}}`."""
    error = {"message": message, "type": kind, "code": code or None}
    return web.json_response({"error": error}, status=status, headers=headers)


def refusal() -> web.Response:
    """What the service's moderation answers a chat call whose content it refuses."""
    message = "Input data may contain inappropriate content."
    return chat_error(400, message, "data_inspection_failed", "data_inspection_failed")
