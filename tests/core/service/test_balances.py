"""The watch over the tokens' Magicubes: each account keeps its last balance, /metrics shows
it by token label, a read that fails keeps what was known, and a token that cannot pay for a
job is not given one (no 429 round trip) until its balance rises."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
from prometheus_client import REGISTRY

from bot.simulator import Fault, Simulator, Timing
from core.clock import SystemClock
from core.execution.tokens import TokenAccount, TokenPool
from core.jobs.job import JobState
from core.modelscope import Balance, BalanceReader, ModelScopeHttp
from core.secret import Secret
from core.service.balances import BalanceWatch
from tests.conftest import TOKEN, make_engine
from tests.core.harness import request, running_core

QWEN = "Qwen/Qwen-Image"  # costs 2


def reader(sim: Simulator, session: aiohttp.ClientSession) -> BalanceReader:
    http = ModelScopeHttp(session, f"{sim.base_url}openapi/v1/", Secret(TOKEN, "t"), 5.0)
    return BalanceReader(http)


def gauge(kind: str) -> float | None:
    return REGISTRY.get_sample_value(
        "imagine_modelscope_balance", {"token": "token#1", "kind": kind}
    )


async def nothing_spent() -> dict[str, float]:
    return {}


async def test_each_token_keeps_its_last_balance(
    session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    async with Simulator(frozenset({TOKEN})) as sim:
        account = TokenAccount("token#1", make_engine(sim, session, tmp_path))
        readers = {"token#1": reader(sim, session)}
        watch = BalanceWatch(TokenPool([account]), readers, SystemClock(), nothing_spent)
        assert account.balance is None and account.spend_limit is None
        assert await watch.check() == 1
        assert account.balance == Balance(200.0, 200.0, 0.0)
        assert account.spend_limit == 200.0
        assert (gauge("available"), gauge("frozen")) == (200.0, 0.0)

        sim.faults.add(Fault("balance", "status", status=503))
        assert await watch.check() == 0  # logged; the last balance stays
        assert account.balance == Balance(200.0, 200.0, 0.0)


async def test_a_token_that_cannot_pay_waits_for_its_balance_to_rise(
    simulator: Simulator, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    simulator.timing = Timing(run_mean=0.05)
    simulator.wallets.grant = 3.0  # enough for one Qwen-Image a day, not two
    readers = {"token#1": reader(simulator, session)}
    async with running_core(simulator, session, tmp_path, balance_readers=readers) as h:
        await h.core.balances.check()
        await h.core.service.submit(request(user="ana", model=QWEN))
        await h.finals(1)
        await h.core.balances.check()  # 1 left: the next Qwen-Image can't be paid for
        (waiting,) = (await h.core.service.submit(request(user="ben", model=QWEN))).jobs
        await asyncio.sleep(1.5)
        assert (await h.job(waiting.id)).state is JobState.QUEUED
        assert simulator.stats.submits == 1  # no 429 round trip

        simulator.wallets.next_day()  # the daily grant
        await h.core.balances.check()
        await h.finals(2)
        assert (await h.job(waiting.id)).state is JobState.DONE
    assert simulator.stats.submits == 2
