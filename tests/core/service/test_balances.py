"""The watch over the tokens' Magicubes: each account keeps its last balance, /metrics shows
it by token label, a read that fails keeps what was known, and a token that cannot pay for a
job is not given one (no 429 round trip) until its balance rises."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from prometheus_client import REGISTRY

from bot.simulator import Fault, Simulator, Timing
from core.clock import SystemClock
from core.execution.tokens import TokenAccount, TokenPool
from core.jobs.events import EventKind
from core.jobs.job import JobState, QuotaState
from core.jobs.policy import Policy
from core.modelscope import Balance, BalanceReader, FixedInterval, ModelScopeHttp, RunTimes
from core.requests.params import GenerationParams, Size
from core.secret import Secret
from core.service.balances import BalanceWatch
from tests.conftest import OTHER_TOKEN, TOKEN, make_client, make_engine
from tests.core.harness import FINAL, request, running_core

QWEN = "Qwen/Qwen-Image"  # costs 2
QWEN_PARAMS = GenerationParams(QWEN, "a lighthouse", Size(1328, 1328), 1)


def reader(sim: Simulator, session: aiohttp.ClientSession, token: str = TOKEN) -> BalanceReader:
    http = ModelScopeHttp(session, f"{sim.base_url}openapi/v1/", Secret(token, "t"), 5.0)
    return BalanceReader(http)


def gauge(kind: str) -> float | None:
    return REGISTRY.get_sample_value(
        "imagine_modelscope_balance", {"token": "token#1", "kind": kind}
    )


def watch_pool_left(account: TokenAccount) -> float | None:
    return TokenPool([account]).budget_left({})


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
        assert watch_pool_left(account) is None  # nothing read: nothing to say
        assert await watch.check() == 1
        assert account.balance == Balance(200.0, 200.0, 0.0)
        assert account.spend_limit == 200.0
        assert (gauge("available"), gauge("frozen")) == (200.0, 0.0)

        sim.faults.add(Fault("balance", "status", status=503))
        assert await watch.check() == 0  # logged; the last balance stays
        assert account.balance == Balance(200.0, 200.0, 0.0)


async def spend(sim: Simulator, session: aiohttp.ClientSession, token: str) -> None:
    """A Qwen-Image made on `token` outside the bot (its owner uses it elsewhere too)."""
    client = make_client(sim, session, token)
    task = await client.submit(QWEN_PARAMS)
    policy, times = FixedInterval(0.05), RunTimes()
    await client.wait_for_task(
        task.task_id, workload="q", policy=policy, run_times=times, max_seconds=10
    )


async def test_a_token_that_cannot_pay_is_skipped_without_a_429(
    simulator: Simulator, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    simulator.timing = Timing(run_mean=0.05)
    simulator.wallets.enforce = True
    simulator.wallets.grants[TOKEN] = 3.0  # one Qwen-Image (2) a day
    await spend(simulator, session, TOKEN)  # 1 left: not enough for another
    readers = {
        "token#1": reader(simulator, session),
        "token#2": reader(simulator, session, OTHER_TOKEN),
    }
    tokens = (TOKEN, OTHER_TOKEN)
    async with running_core(
        simulator, session, tmp_path, tokens=tokens, balance_readers=readers
    ) as h:
        await h.core.balances.check()
        for user in ("ana", "ben", "cy"):
            await h.core.service.submit(request(user=user, model=QWEN))
        await h.finals(3)
        finals = [e.kind for e in h.notifier.events if e.kind in FINAL]
        assert finals == [EventKind.SUCCEEDED] * 3
        dry = h.core.tokens.by_label("token#1")
        assert dry is not None and dry.spend_limit == 1.0

        simulator.wallets.next_day()  # the daily grant: token#1 can pay again
        await h.core.balances.check()
        assert dry.spend_limit == 3.0
    assert simulator.stats.rejected["balance"] == 0  # no job met the 429
    # token#1's only task is its owner's: the bot gave all three to token#2.
    assert sorted(simulator.stats.submits_by_token.values()) == [1, 3]


async def test_when_no_token_can_pay_the_job_ends_in_words_not_in_a_wait(
    simulator: Simulator, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    simulator.wallets.enforce = True
    simulator.wallets.grants[TOKEN] = 3.0
    await spend(simulator, session, TOKEN)
    readers = {"token#1": reader(simulator, session)}
    async with running_core(simulator, session, tmp_path, balance_readers=readers) as h:
        await h.core.balances.check()
        (job,) = (await h.core.service.submit(request(user="ana", model=QWEN))).jobs
        await h.finals(1)
        ended = await h.job(job.id)
    assert ended.state is JobState.FAILED and ended.quota_state is QuotaState.REFUNDED
    assert simulator.stats.rejected["balance"] == 1  # ModelScope said it: the bot passes it on


async def test_quota_says_what_the_community_has_left_today(
    simulator: Simulator, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    simulator.timing = Timing(run_mean=0.05)
    readers = {"token#1": reader(simulator, session)}
    async with running_core(simulator, session, tmp_path, balance_readers=readers) as h:
        await h.core.balances.check()
        await h.core.service.submit(request(user="ana", model=QWEN))
        await h.finals(1)
        # Read before the job: 200; the job's 2 are counted by the queue since.
        view = await h.core.service.quota("tg:ana", "tg:-100")
        assert view.community_left == 198.0
        await h.core.balances.check()  # read again: the balance says the same
        assert (await h.core.service.quota("tg:ana", "tg:-100")).community_left == 198.0


@pytest.mark.parametrize("missed", [True, False])
async def test_the_admins_hear_once_of_a_grant_that_did_not_come(
    simulator: Simulator, session: aiohttp.ClientSession, tmp_path: Path, missed: bool
) -> None:
    simulator.timing = Timing(run_mean=0.05)
    if missed:
        simulator.wallets.missed.add(TOKEN)  # nobody signed in with this account
    readers = {"token#1": reader(simulator, session)}
    admins = Policy(admins=frozenset({"tg:boss"}))
    async with running_core(
        simulator, session, tmp_path, policy=admins, balance_readers=readers
    ) as h:
        await h.core.service.submit(request(user="ana", model=QWEN))
        await h.finals(1)
        await h.core.balances.check()  # today: 198 left
        now = h.clock.now()
        h.clock.advance((admins.limits.resets_at(now) - now).total_seconds() + 600)
        simulator.wallets.next_day()
        await h.core.balances.check()  # ten minutes into the new day: too early to say
        assert h.notifier.direct_messages == []
        h.clock.advance(3600)
        for _ in range(2):  # an hour in: judged, and said once
            await h.core.balances.check()
        told = [m for m in h.notifier.direct_messages if m[1] == "admin.missed_grant"]
    expected = [("boss", "admin.missed_grant", {"token": "token#1", "available": "198"})]
    assert told == (expected if missed else [])
