"""Each token's Magicubes through the real aiohttp client against the simulator's balance
endpoint: a task holds its model's cost while it runs and spends it when it succeeds; the
day's grant comes back at the day boundary, unless the token missed it."""

from __future__ import annotations

import aiohttp
import pytest

from bot.simulator import Simulator, Timing
from core.errors import TransportError, Unauthorized
from core.modelscope import (
    Balance,
    BalanceReader,
    FixedInterval,
    ModelScopeClient,
    ModelScopeHttp,
    RunTimes,
)
from core.modelscope.balance import parse_balance
from core.requests.params import GenerationParams, Size
from core.secret import Secret
from tests.conftest import OTHER_TOKEN, TOKEN, make_client

QWEN = GenerationParams("Qwen/Qwen-Image", "a lighthouse", Size(1328, 1328), 1)  # costs 2


async def finish(client: ModelScopeClient, task_id: str) -> None:
    await client.wait_for_task(
        task_id,
        workload="qwen",
        policy=FixedInterval(0.05),
        run_times=RunTimes(),
        max_seconds=10.0,
    )


def reader(sim: Simulator, session: aiohttp.ClientSession, token: str = TOKEN) -> BalanceReader:
    http = ModelScopeHttp(session, f"{sim.base_url}openapi/v1/", Secret(token, "token#1"), 5.0)
    return BalanceReader(http)


async def test_a_task_holds_its_cost_then_spends_it(session: aiohttp.ClientSession) -> None:
    async with Simulator(frozenset({TOKEN}), Timing(run_mean=0.4, run_sd=0.0)) as sim:
        balance = reader(sim, session)
        assert await balance.read() == Balance(total=200.0, available=200.0, frozen=0.0)
        client = make_client(sim, session)
        task = await client.submit(QWEN)
        assert await balance.read() == Balance(total=200.0, available=198.0, frozen=2.0)
        await finish(client, task.task_id)
        assert await balance.read() == Balance(total=198.0, available=198.0, frozen=0.0)

        sim.wallets.next_day()  # the daily grant
        assert (await balance.read()).available == 200.0
        assert sim.stats.submits == 1  # reading a balance starts no task


async def test_a_token_that_missed_the_grant_stays_dry(session: aiohttp.ClientSession) -> None:
    async with Simulator(frozenset({TOKEN}), Timing(run_mean=0.0)) as sim:
        client = make_client(sim, session)
        task = await client.submit(QWEN)
        await finish(client, task.task_id)
        sim.wallets.missed.add(TOKEN)
        sim.wallets.next_day()
        assert (await reader(sim, session).read()).available == 198.0


async def test_an_unknown_token_is_refused(session: aiohttp.ClientSession) -> None:
    async with Simulator(frozenset({TOKEN})) as sim:
        with pytest.raises(Unauthorized):
            await reader(sim, session, OTHER_TOKEN).read()


def test_the_amounts_are_read_at_the_top_or_under_data() -> None:
    amounts = {"total_balance": 50, "available_balance": "48.5", "frozen_amount": 1.5}
    assert parse_balance(amounts) == parse_balance({"data": amounts}) == Balance(50, 48.5, 1.5)
    with pytest.raises(TransportError, match="malformed"):
        parse_balance({"total_balance": "lots"})
