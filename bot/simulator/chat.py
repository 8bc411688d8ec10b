"""The simulator's `v1/chat/completions`, in the OpenAI shape ModelScope serves it: text and
vision models, images as URLs or base64 data URIs (checked), and answers derived only from
the messages, so a test knows what it will read. It follows the instructions the way a
model would, by their words: describe (four prompts, one per line), translate (into English
by a small glossary, or into Chinese), enhance (the prompt with detail added).

Faults (target "chat"): any status (429 with Retry-After, 5xx), `malformed`, `delay`,
`reset`, and `refusal` (400 data_inspection_failed, what the service's moderation answers).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import io
import json
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from PIL import Image, UnidentifiedImageError

from bot.simulator.answers import chat_error
from bot.simulator.faults import Target

# Model id: whether it reads images.
CHAT_MODELS = {
    "Qwen/Qwen3.5-35B-A3B": True,
    "Qwen/Qwen3-VL-235B-A22B-Instruct": True,
    "Qwen/Qwen3-32B": False,
}
DATA_URI = re.compile(r"^data:image/(png|jpeg|webp|gif);base64,(.+)$", re.DOTALL)
GLOSSARY = {
    "一只": "a ",
    "狐狸": "fox",
    "猫": "cat",
    "月亮": "moon",
    "雪": "snow",
    "城市": "city",
    "夜晚": "night",
    "灯笼": "lantern",
    "在": " in ",
    "下": " under ",
    "的": " ",
    "，": ", ",
}
SUBJECTS = ("lighthouse", "fox", "harbour", "forest", "teapot", "city street", "mountain lake")
MOODS = ("quiet", "stormy", "sunlit", "misty", "neon-lit", "snowy", "golden-hour")
STYLES = ("oil painting", "watercolour", "35mm photograph", "ink drawing", "3D render")

Admit = Callable[[web.Request, Target], Awaitable["str | web.StreamResponse"]]


@dataclass
class ChatCall:
    """One call as the simulator saw it."""

    token: str
    model: str
    system: str
    text: str
    images: tuple[str, ...]  # "data" or "url", per image part
    answer: str = ""


@dataclass
class ChatSim:
    """The chat endpoint; `answer_seconds` holds every answer that long (a slow model)."""

    admit: Admit
    models: dict[str, bool] = field(default_factory=lambda: dict(CHAT_MODELS))
    answer_seconds: float = 0.0
    calls: list[ChatCall] = field(default_factory=list)
    in_flight: Counter[str] = field(default_factory=Counter)
    most_at_once: Counter[str] = field(default_factory=Counter)

    async def complete(self, request: web.Request) -> web.StreamResponse:
        token = await self.admit(request, "chat")
        if isinstance(token, web.StreamResponse):
            return token
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return chat_error(400, "request body is not valid JSON", "invalid_request_error")
        call = _read_call(token, body, self.models)
        if isinstance(call, web.StreamResponse):
            return call
        self.in_flight[token] += 1
        self.most_at_once[token] = max(self.most_at_once[token], self.in_flight[token])
        try:
            await asyncio.sleep(self.answer_seconds)
        finally:
            self.in_flight[token] -= 1
        call.answer = answer_for(call, body)
        self.calls.append(call)
        return web.json_response(_completion(call))


def model_list(models: dict[str, bool], image_models: list[str]) -> web.Response:
    """`GET v1/models`: every model served, in OpenAI's list shape (no login needed)."""
    ids = [*models, *image_models]
    data = [{"id": model, "object": "model", "owned_by": "system"} for model in ids]
    return web.json_response({"object": "list", "data": data})


def answer_for(call: ChatCall, body: dict[str, Any]) -> str:
    """What the model says, by the instruction's words."""
    instruction = call.system.lower()
    if "describe" in instruction and call.images:
        return _describe(body)
    if "translate" in instruction and "chinese" in instruction:
        return "\n".join(f"（译）{line}" for line in call.text.splitlines())
    if "translate" in instruction:
        return _to_english(call.text)
    if "rewrite" in instruction:
        digest = hashlib.sha256(call.text.encode()).digest()
        style = STYLES[digest[0] % len(STYLES)]
        return f"**{call.text.strip()}**, intricate detail, soft cinematic light, {style}"
    return f"You said: {call.text}"


def _describe(body: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(body["messages"], sort_keys=True).encode()).digest()
    lines = []
    for i in range(4):
        mood, subject = MOODS[digest[i] % len(MOODS)], SUBJECTS[digest[i + 4] % len(SUBJECTS)]
        style = STYLES[digest[i + 8] % len(STYLES)]
        lines.append(f"{i + 1}. A {mood} {subject}, {style}, wide angle")
    return "Here are four prompts:\n" + "\n".join(lines)


def _to_english(text: str) -> str:
    for chinese, english in GLOSSARY.items():
        text = text.replace(chinese, english)
    text = re.sub(r"[^\x00-\x7f]+", " ", text)
    return re.sub(r"\s+", " ", text).strip() or "a scene"


def _read_call(token: str, body: object, models: dict[str, bool]) -> ChatCall | web.Response:
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        return chat_error(400, "messages is required", "invalid_request_error")
    model = body.get("model")
    if model not in models:
        return chat_error(400, f"Model id {model!r} is not supported", "invalid_request_error")
    said: dict[str, list[str]] = {"system": [], "user": []}
    images: list[str] = []
    for message in body["messages"]:
        if not isinstance(message, dict) or message.get("role") not in said:
            return chat_error(400, "each message needs a role", "invalid_request_error")
        for part in _parts(message.get("content")):
            if part.get("type") == "text":
                said[message["role"]].append(str(part.get("text", "")))
            elif part.get("type") == "image_url":
                kind = _image_kind(part.get("image_url"))
                if kind is None:
                    return chat_error(
                        400, "image_url is not a valid image", "invalid_request_error"
                    )
                images.append(kind)
    if images and not models[str(model)]:
        return chat_error(400, f"{model} does not accept images", "invalid_request_error")
    system, text = "".join(said["system"]), "\n".join(said["user"])
    return ChatCall(token, str(model), system, text, tuple(images))


def _parts(content: object) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [part for part in content if isinstance(part, dict)] if isinstance(content, list) else []


def _image_kind(value: object) -> str | None:
    url = value.get("url") if isinstance(value, dict) else None
    if not isinstance(url, str):
        return None
    if url.startswith(("https://", "http://")):
        return "url"
    found = DATA_URI.match(url)
    if found is None:
        return None
    try:
        with Image.open(io.BytesIO(base64.b64decode(found.group(2), validate=True))) as image:
            image.verify()
    except (binascii.Error, UnidentifiedImageError, OSError, ValueError):
        return None
    return "data"


def _completion(call: ChatCall) -> dict[str, Any]:
    return {
        "id": "chatcmpl-" + hashlib.sha256(call.answer.encode()).hexdigest()[:16],
        "object": "chat.completion",
        "created": int(time.time()),
        "model": call.model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": call.answer},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": len(call.text) // 4 + 1, "completion_tokens": 40},
    }
