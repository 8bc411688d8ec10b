"""The lane of chat calls, against the simulator through the real HTTP client: a slow or
malformed answer is tried again, each token runs at most its share at once, and a call that
gives up waiting hands its slot on."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from bot.simulator import Fault, Simulator
from core.clock import SystemClock
from core.execution import TextLane, TokenAccount, TokenPool
from core.modelscope.chat import ChatClient, ChatMessage
from core.modelscope.http import ModelScopeHttp
from core.modelscope.retry import Backoff
from core.secret import Secret
from tests.conftest import OTHER_TOKEN, TOKEN, make_engine, until

MODEL = "Qwen/Qwen3-32B"
ASK = [ChatMessage("system", "Rewrite the prompt."), ChatMessage("user", "a lighthouse")]


def lane(
    sim: Simulator,
    session: aiohttp.ClientSession,
    out: Path,
    tokens: tuple[str, ...] = (TOKEN,),
    per_token: int = 1,
    timeout: float = 5.0,
) -> TextLane:
    labels = [f"token#{i}" for i in range(1, len(tokens) + 1)]
    accounts = [
        TokenAccount(label, make_engine(sim, session, out, token=token))
        for label, token in zip(labels, tokens, strict=True)
    ]
    clients = {
        label: ChatClient(ModelScopeHttp(session, sim.base_url, Secret(token, label), timeout))
        for label, token in zip(labels, tokens, strict=True)
    }
    fast = Backoff(base=0.01, cap=0.05, attempts=3)
    return TextLane(TokenPool(accounts), clients, SystemClock(), fast, per_token)


async def test_a_slow_or_malformed_answer_is_tried_again(
    simulator: Simulator, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    calls = lane(simulator, session, tmp_path, timeout=0.3)
    simulator.faults.add(Fault("chat", "delay", seconds=1.0), Fault("chat", "malformed"))
    answer = await calls.call("tg:1", MODEL, ASK)
    assert answer.text.startswith("**a lighthouse**") and answer.token == "token#1"
    assert simulator.stats.rejected["fault:delay"] == 1
    assert simulator.stats.rejected["fault:malformed"] == 1


async def test_each_token_runs_its_share_and_the_calls_spread_over_tokens(
    simulator: Simulator, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    simulator.chat.answer_seconds = 0.1
    calls = lane(simulator, session, tmp_path, tokens=(TOKEN, OTHER_TOKEN), per_token=2)
    answers = await asyncio.gather(*(calls.call(f"tg:{i}", MODEL, ASK) for i in range(8)))
    assert {a.token for a in answers} == {"token#1", "token#2"}
    assert simulator.chat.most_at_once[TOKEN] == simulator.chat.most_at_once[OTHER_TOKEN] == 2


async def test_a_call_that_gives_up_waiting_leaves_its_place(
    simulator: Simulator, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    simulator.chat.answer_seconds = 0.3
    calls = lane(simulator, session, tmp_path)
    running = asyncio.create_task(calls.call("tg:1", MODEL, ASK))
    await until(lambda: simulator.chat.in_flight[TOKEN] == 1)
    waiting = asyncio.create_task(calls.call("tg:2", MODEL, ASK))
    await asyncio.sleep(0.05)
    waiting.cancel()  # the user's request ended (the bot stops, or the chat went away)
    await asyncio.gather(waiting, return_exceptions=True)
    third = await calls.call("tg:3", MODEL, ASK)
    await running
    assert third.token == "token#1" and len(simulator.chat.calls) == 2
