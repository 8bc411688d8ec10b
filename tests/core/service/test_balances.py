"""The watch over the tokens' Magicubes: each account keeps its last balance, /metrics shows
it by token label, and a read that fails keeps what was known."""

from __future__ import annotations

from pathlib import Path

import aiohttp
from prometheus_client import REGISTRY

from bot.simulator import Fault, Simulator
from core.clock import SystemClock
from core.execution.tokens import TokenAccount, TokenPool
from core.modelscope import Balance, BalanceReader, ModelScopeHttp
from core.secret import Secret
from core.service.balances import BalanceWatch
from tests.conftest import TOKEN, make_engine


def gauge(kind: str) -> float | None:
    return REGISTRY.get_sample_value(
        "imagine_modelscope_balance", {"token": "token#1", "kind": kind}
    )


async def test_each_token_keeps_its_last_balance(
    session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    async with Simulator(frozenset({TOKEN})) as sim:
        account = TokenAccount("token#1", make_engine(sim, session, tmp_path))
        http = ModelScopeHttp(session, f"{sim.base_url}openapi/v1/", Secret(TOKEN, "t"), 5.0)
        watch = BalanceWatch(TokenPool([account]), {"token#1": BalanceReader(http)}, SystemClock())
        assert account.balance is None
        assert await watch.check() == 1
        assert account.balance == Balance(200.0, 200.0, 0.0)
        assert (gauge("available"), gauge("frozen")) == (200.0, 0.0)

        sim.faults.add(Fault("balance", "status", status=503))
        assert await watch.check() == 0  # logged; the last balance stays
        assert account.balance == Balance(200.0, 200.0, 0.0)
