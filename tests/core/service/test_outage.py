"""No working ModelScope token: requests refused in words, waiting users and admins told
once, and the queue moving on by itself once a token works again."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.simulator import Fault, Timing
from core.errors import NoWorkingToken
from core.jobs.events import EventKind
from core.jobs.job import JobState
from core.jobs.policy import Policy
from tests.conftest import OTHER_TOKEN, TOKEN, until
from tests.core.harness import Harness, request, running_core

ADMINS = Policy(admins=frozenset({"tg:99", "dc:98"}))


def held(h: Harness) -> list[str]:
    return [e.job.id for e in h.notifier.events if e.kind is EventKind.HELD]


async def test_a_rejected_token_at_start_refuses_requests_in_words(
    simulator, session, tmp_path: Path
) -> None:
    async with running_core(simulator, session, tmp_path, ADMINS, tokens=("ms-wrong-token",)) as h:
        await until(lambda: h.core.watch.outage)  # checked at start, before any request
        with pytest.raises(NoWorkingToken):
            await h.core.service.submit(request())
        assert await h.core.service.history("tg:1") == []  # nothing taken
        assert (await h.core.service.quota("tg:1", "tg:-100")).used["user"] == 0
        assert simulator.stats.submits == 0
        await until(lambda: len(h.notifier.direct_messages) == 1)
        (admin, key, values) = h.notifier.direct_messages[0]  # only "tg" has a notifier here
        assert (admin, key, values) == ("99", "admin.no_token", {"tokens": "token#1"})


async def test_waiting_users_are_told_once_and_the_queue_resumes(
    simulator, session, tmp_path: Path
) -> None:
    simulator.timing = Timing(run_mean=1.0)
    async with running_core(simulator, session, tmp_path, ADMINS, tokens=(TOKEN,)) as h:
        await until(lambda: h.core.tokens.accounts[0].disabled_reason == "")
        await h.core.service.submit(request(user="A"))  # runs: the token still works
        await until(lambda: simulator.stats.submits == 1)
        simulator.tokens = frozenset({OTHER_TOKEN})  # the account's token is revoked
        waiting = [(await h.core.service.submit(request(user=u))).jobs[0] for u in "BC"]
        await until(lambda: h.core.watch.outage)
        await until(lambda: sorted(held(h)) == sorted(job.id for job in waiting))
        assert [m[1] for m in h.notifier.direct_messages] == ["admin.no_token"]
        with pytest.raises(NoWorkingToken):
            await h.core.service.submit(request(user="D"))

        simulator.tokens = frozenset({TOKEN})  # fixed; the periodic check finds it
        await h.core.tokens.check(h.core.tokens.out())
        await h.finals(3)
        for job in waiting:
            assert (await h.job(job.id)).state is JobState.DONE
        assert not h.core.watch.outage
        assert len(held(h)) == 2 and len(h.notifier.direct_messages) == 1  # said once


async def test_a_401_during_a_check_is_not_undone_by_it(simulator, session, tmp_path) -> None:
    async with running_core(simulator, session, tmp_path, tokens=(TOKEN,)) as h:
        await h.core.watch.checked.wait()
        (account,) = h.core.tokens.accounts
        h.core.tokens.disable(account, "401 at a submit")  # before the check: it may undo it
        simulator.faults.add(Fault("poll", "delay", seconds=0.3))
        check = asyncio.create_task(h.core.tokens.check())
        await asyncio.sleep(0.1)  # the probe is on its way
        h.core.tokens.disable(account, "401 at a submit")  # newer than the probe's question
        await check
        assert account.disabled_reason == "401 at a submit"
        await h.core.tokens.check()  # a later check that finds it accepted brings it back
        assert account.disabled_reason == ""
