"""The simulator's HTTP server: ModelScope's two image endpoints, its chat endpoint
(`v1/chat/completions`, bot.simulator.chat) and the Magicubes balance
(`openapi/v1/magicubes/balance`, bot.simulator.balances), plus a control API.

Control API (not part of ModelScope): `POST /_sim/faults` with `{"faults": [...]}`,
`GET /_sim/stats`, `POST /_sim/reset`, and the output images under `/_sim/images/`.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import random
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.simulator.answers import (
    broken_download,
    error,
    insufficient_balance,
    odd_answer,
    request_id,
)
from bot.simulator.balances import Wallets
from bot.simulator.chat import ChatSim, model_list
from bot.simulator.faults import Fault, FaultPlan, Target
from bot.simulator.render import render_png
from bot.simulator.rules import check_submit, model_rules
from bot.simulator.timing import Timing
from core.requests.catalog import ModelSpec

SYNC_REFUSED = (
    "image-gen task currently does not support synchronous calls, "
    "please set X-ModelScope-Async-Mode: true"
)


@dataclass
class SimTask:
    task_id: str
    token: str
    body: dict[str, Any]
    created: float
    queue_seconds: float
    run_seconds: float
    fault: Fault | None = None
    day: int = 0  # the simulator's day it was submitted on (bot.simulator.balances)
    cost: float = 1.0  # its model's Magicubes
    polls: int = 0
    seen_done_at: float | None = None  # the first poll that answered SUCCEED or FAILED

    def status(self, now: float) -> str:
        age = now - self.created
        if self._stuck(now):
            return "PROCESSING"
        if self.fault is not None and self.fault.kind == "stuck":
            return "SUCCEED"  # stuck for `seconds`, then done
        if age < self.queue_seconds:
            return "PENDING"
        if age < self.queue_seconds + 0.9 * self.run_seconds:
            return "RUNNING"
        if age < self.queue_seconds + self.run_seconds:
            return "PROCESSING"
        return "FAILED" if self.fault is not None and self.fault.kind == "fail" else "SUCCEED"

    @property
    def ends_at(self) -> float:
        return self.created + self.queue_seconds + self.run_seconds

    def active(self, now: float) -> bool:
        """Still holding one of its token's concurrency slots."""
        return self._stuck(now) or self.ends_at > now

    def _stuck(self, now: float) -> bool:
        # `stuck` holds the task PROCESSING forever, or for `seconds` when they are set.
        if self.fault is None or self.fault.kind != "stuck":
            return False
        return not self.fault.seconds or now < self.created + self.fault.seconds


@dataclass
class SimStats:
    submits: int = 0
    accepted: int = 0
    polls: int = 0
    downloads: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    submits_by_token: Counter[str] = field(default_factory=Counter)


class Simulator:
    """An in-process ModelScope; `async with Simulator() as sim:` serves on `sim.base_url`."""

    def __init__(
        self,
        tokens: frozenset[str] | None = None,
        timing: Timing | None = None,
        concurrency_per_token: int = 1,
        seed: int = 0,
        report_time_taken: bool = True,
        models: Iterable[ModelSpec] | None = None,
    ) -> None:
        """`models`: the catalog's models the service knows (default: the built-in ones)."""
        self.tokens = tokens  # None: any token that starts with "ms-"
        self.timing = timing or Timing()
        self.concurrency = concurrency_per_token
        self.report_time_taken = report_time_taken
        self.models = model_rules(models) if models is not None else model_rules()
        self.faults = FaultPlan()
        self.stats = SimStats()
        self.tasks: dict[str, SimTask] = {}
        self.wallets = Wallets()
        # Models the service no longer runs: a submit for one is answered "insufficient
        # balance", whatever the balance (MODELSCOPE_API.md).
        self.retired: set[str] = set()
        self._rng = random.Random(seed)
        self._ids = itertools.count(5075521)
        self._images: dict[str, bytes] = {}
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        self.chat = ChatSim(self._admit)  # v1/chat/completions

    def app(self) -> web.Application:
        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_post("/v1/images/generations", self._submit)
        app.router.add_get("/v1/tasks/{task_id}", self._poll)
        app.router.add_post("/v1/chat/completions", self.chat.complete)
        app.router.add_get("/v1/models", self._models)
        app.router.add_get("/openapi/v1/magicubes/balance", self._balance)
        app.router.add_get("/_sim/images/{name}", self._image)
        app.router.add_post("/_sim/faults", self._add_faults)
        app.router.add_get("/_sim/stats", self._stats)
        app.router.add_post("/_sim/reset", self._reset)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = self._runner.addresses[0][1]
        self.base_url = f"http://{host}:{bound}/"
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # --- ModelScope endpoints -------------------------------------------------------

    async def _admit(self, request: web.Request, target: Target) -> str | web.StreamResponse:
        """The caller's token, or the answer that ends the request (401 or a fault)."""
        token = self._token(request)
        if token is None:
            return error(401, "Invalid API token, please check your token")
        faulty = await self._apply_fault(target, request)
        return token if faulty is None else faulty

    async def _submit(self, request: web.Request) -> web.StreamResponse:
        self.stats.submits += 1
        token = await self._admit(request, "submit")
        if isinstance(token, web.StreamResponse):
            return token
        if request.headers.get("X-ModelScope-Async-Mode", "").lower() != "true":
            return error(400, SYNC_REFUSED)
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return error(400, "request body is not valid JSON")
        if (problem := check_submit(body, self.models)) is not None:
            return self._reject(400, problem, "invalid")
        if self._busy(token):
            return self._reject(429, "Request limit exceeded.", "concurrency")
        cost = self.models[body["model"]].cost
        if body["model"] in self.retired or not self.wallets.can_pay(
            token, cost, self.tasks.values()
        ):
            self.stats.rejected["balance"] += 1
            return insufficient_balance("insufficient balance (1008)")
        answer: dict[str, Any] = self._accept(token, body)
        fault = self.faults.take("submit_answer")
        if fault is not None and fault.kind == "succeed_status":
            answer["task_status"] = "SUCCEED"  # the real service's word for "submitted"
        elif fault is not None and request.transport is not None:
            self.stats.rejected["fault:lost"] += 1
            request.transport.abort()  # made, but its answer never arrives
            return web.Response(status=500)
        return web.json_response(answer)

    def _accept(self, token: str, body: dict[str, Any]) -> dict[str, str]:
        task_id = str(next(self._ids))
        queue, run = self.timing.draw(self._rng)
        fault = self.faults.take("task")
        task = SimTask(task_id, token, body, time.monotonic(), queue, run, fault)
        task.day, task.cost = self.wallets.today(), self.models[body["model"]].cost
        self.tasks[task_id] = task
        self.stats.accepted += 1
        self.stats.submits_by_token[_label(token)] += 1
        return {"task_id": task_id, "request_id": request_id()}

    async def _poll(self, request: web.Request) -> web.StreamResponse:
        self.stats.polls += 1
        token = await self._admit(request, "poll")
        if isinstance(token, web.StreamResponse):
            return token
        task = self.tasks.get(request.match_info["task_id"])
        typed = request.headers.get("X-ModelScope-Task-Type") == "image_generation"
        if task is None or task.token != token or not typed:
            return error(404, "task not found")
        task.polls += 1
        return web.json_response(self._task_answer(task, request))

    async def _models(self, request: web.Request) -> web.StreamResponse:
        return model_list(self.chat.models, list(self.models))

    async def _balance(self, request: web.Request) -> web.StreamResponse:
        token = await self._admit(request, "balance")
        if isinstance(token, web.StreamResponse):
            return token
        return web.json_response(self.wallets.balance(token, self.tasks.values()))

    def _task_answer(self, task: SimTask, request: web.Request) -> dict[str, Any]:
        now = time.monotonic()
        status = task.status(now)
        if status in ("SUCCEED", "FAILED") and task.seen_done_at is None:
            task.seen_done_at = now
        answer: dict[str, Any] = {
            "task_id": task.task_id,
            "request_id": request_id(),
            "task_status": status,
        }
        if status == "SUCCEED":
            origin = f"{request.url.scheme}://{request.host}"
            answer["output_images"] = [f"{origin}/_sim/images/{task.task_id}.png"]
            if self.report_time_taken:
                answer["time_taken"] = round(task.run_seconds * 1000, 2)
        elif status == "FAILED" and task.fault is not None:
            answer["errors"] = {"code": task.fault.code, "message": task.fault.message}
        else:
            answer["outputs"] = {}
        return answer

    async def _image(self, request: web.Request) -> web.StreamResponse:
        self.stats.downloads += 1
        if (faulty := await self._apply_fault("download", request)) is not None:
            return faulty
        task = self.tasks.get(request.match_info["name"].removesuffix(".png"))
        if task is None or task.status(time.monotonic()) != "SUCCEED":
            return web.Response(status=404, text="no such object")
        data = await self._picture(task)
        return web.Response(body=data, content_type="image/png")

    async def _picture(self, task: SimTask) -> bytes:
        # One render per prompt, seed and size (the picture depends on nothing else), so a
        # benchmark that repeats one request measures the bot, not the simulator's Pillow.
        size = str(task.body.get("size") or "1024x1024")
        key = f"{size}|{task.body.get('seed', 0)}|{task.body['prompt']}"
        if key not in self._images:
            width, height = (int(s) for s in size.split("x"))
            self._images[key] = await asyncio.to_thread(
                render_png, task.body["prompt"], int(task.body.get("seed", 0)), width, height
            )
        return self._images[key]

    # --- control API ----------------------------------------------------------------

    async def _add_faults(self, request: web.Request) -> web.Response:
        data = await request.json()
        self.faults.add(*(Fault.from_json(item) for item in data["faults"]))
        return web.json_response({"pending": len(self.faults.pending)})

    async def _stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats_json())

    async def _reset(self, request: web.Request) -> web.Response:
        self.faults.pending.clear()
        self.tasks.clear()
        self.chat.calls.clear()
        self._images.clear()
        self.stats = SimStats()
        return web.json_response({"ok": True})

    def stats_json(self) -> dict[str, Any]:
        return {
            "submits": self.stats.submits,
            "accepted": self.stats.accepted,
            "polls": self.stats.polls,
            "downloads": self.stats.downloads,
            "rejected": dict(self.stats.rejected),
            "submits_by_token": dict(self.stats.submits_by_token),
            "chat_calls": len(self.chat.calls),
        }

    # --- helpers --------------------------------------------------------------------

    def _token(self, request: web.Request) -> str | None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme != "Bearer" or not token:
            return None
        valid = token in self.tokens if self.tokens is not None else token.startswith("ms-")
        return token if valid else None

    def _busy(self, token: str) -> bool:
        if self.concurrency <= 0:
            return False
        now = time.monotonic()
        active = sum(1 for t in self.tasks.values() if t.token == token and t.active(now))
        return active >= self.concurrency

    def _reject(self, status: int, message: str, reason: str) -> web.Response:
        self.stats.rejected[reason] += 1
        return error(status, message)

    async def _apply_fault(self, target: Target, request: web.Request) -> web.StreamResponse | None:
        fault = self.faults.take(target)
        if fault is not None and fault.kind == "lost":  # applies after the task is made
            self.faults.add(Fault("submit_answer", "lost"))
            return None
        if fault is None:
            return None
        self.stats.rejected[f"fault:{fault.kind}"] += 1
        if fault.kind == "delay":
            await asyncio.sleep(fault.seconds)
            return None
        if fault.kind == "reset":
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=500)
        if fault.kind in ("truncate", "corrupt"):
            return await broken_download(request, fault.kind)
        return odd_answer(fault, request)


def _label(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:8]
