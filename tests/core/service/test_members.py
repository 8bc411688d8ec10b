"""Members' own ModelScope tokens, against the simulator through the real HTTP client: kept
sealed (the database never holds one in clear), used first for their owner's images and not
counted against any community quota, lent to the community up to a daily cap, dropped (and
the owner told) when ModelScope rejects them, shared by every process over Redis."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import aiohttp
import pytest

from bot.simulator import Fault, Simulator, Timing
from core.delivery import load_translator, quota_text
from core.errors import (
    InvalidParameter,
    MemberTokenMalformed,
    MemberTokenRefused,
    MemberTokensOff,
    MemberTokenUnchecked,
    NoMemberToken,
    QuotaExceeded,
)
from core.jobs.events import EventKind
from core.jobs.job import JobState, QuotaState
from core.jobs.policy import Policy
from core.jobs.quotas import QuotaLimits, Usage
from core.requests import load_catalog
from core.secret import Sealer, Secret
from core.service.members import member_label
from tests.conftest import MEMBER_TOKEN, SEALER, TOKEN, until
from tests.core.harness import request, running_core
from tests.core.scheduling.test_shared_core import ask, shared_core

MEMBER = "tg:77"
NO_COMMUNITY_QUOTA = Policy(limits=QuotaLimits(user_daily=0, global_daily=0))
TRANSLATOR = load_translator(load_catalog())


def test_a_sealed_token_opens_only_with_its_key_and_untouched() -> None:
    sealed = SEALER.seal(Secret(MEMBER_TOKEN))
    assert MEMBER_TOKEN not in sealed
    opened = SEALER.open(sealed, "member")
    assert opened is not None and opened.reveal() == MEMBER_TOKEN
    assert repr(opened) == "Secret(member)"
    other = Sealer(Secret("another-key-0123456789-abcdefghijklmn"))
    assert other.open(sealed, "member") is None
    flipped = sealed[:20] + ("A" if sealed[20] != "A" else "B") + sealed[21:]
    assert SEALER.open(flipped, "member") is None
    with pytest.raises(ValueError, match="at least 32"):
        Sealer(Secret("short"))


async def test_a_members_token_makes_their_images_and_spends_no_community_quota(
    simulator: Simulator, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    db = tmp_path / "imagine.db"
    async with running_core(
        simulator, session, tmp_path, NO_COMMUNITY_QUOTA, db=db, sealer=SEALER
    ) as h:
        members = h.core.service.members
        with pytest.raises(QuotaExceeded):  # the community gives this user nothing today
            await h.core.service.submit(request(user="77"))
        added = await members.add(MEMBER, "en", f"  {MEMBER_TOKEN}\n")
        assert (added.own_spent, added.lent, added.available) == (0.0, 0.0, 200.0)

        (job,) = (await h.core.service.submit(request(user="77"))).jobs
        await h.finals(1)
        done = await h.job(job.id)
        assert (done.state, done.quota_state) == (JobState.DONE, QuotaState.OWN)
        assert done.token == member_label(MEMBER)
        assert [task.token for task in simulator.tasks.values()] == [MEMBER_TOKEN]
        assert await h.core.store.usage(MEMBER, "tg:-100", done.day) == Usage(0, 0, 0, 0)
        assert (await members.status(MEMBER)).own_spent == 1.0
        quota = await h.core.service.quota(MEMBER, "tg:-100")
        assert "Your own ModelScope token pays for your images" in quota_text(
            TRANSLATOR, "en", quota
        )
        with pytest.raises(QuotaExceeded):  # the others still count against it
            await h.core.service.submit(request(user="78"))
    kept = b"".join(path.read_bytes() for path in tmp_path.glob("imagine.db*"))
    assert b"member_token" in kept  # the setting is there...
    assert MEMBER_TOKEN.encode() not in kept  # ...sealed


async def test_what_is_not_a_working_token_is_refused_and_nothing_is_kept(
    simulator: Simulator, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    async with running_core(simulator, session, tmp_path, sealer=SEALER) as h:
        members = h.core.service.members
        with pytest.raises(MemberTokenMalformed) as malformed:
            await members.add(MEMBER, "en", "my token is secret-words")
        words = TRANSLATOR.error("en", malformed.value)
        assert "secret-words" not in words and "24 characters" in words
        simulator.faults.add(Fault("poll", "status", status=503))
        with pytest.raises(MemberTokenUnchecked):
            await members.add(MEMBER, "en", MEMBER_TOKEN)
        simulator.tokens = frozenset({TOKEN})  # ModelScope does not know this one
        with pytest.raises(MemberTokenRefused):
            await members.add(MEMBER, "en", MEMBER_TOKEN)
        assert not await members.has_token(MEMBER)
        with pytest.raises(NoMemberToken):
            await members.status(MEMBER)
        assert not members.pays_for(MEMBER)


async def test_without_a_key_the_bot_takes_no_token(
    simulator: Simulator, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    async with running_core(simulator, session, tmp_path) as h:
        with pytest.raises(MemberTokensOff):
            await h.core.service.members.add(MEMBER, "en", MEMBER_TOKEN)
        assert TRANSLATOR.error("en", MemberTokensOff("off")).startswith("This bot does not")


async def test_a_lent_token_takes_community_jobs_up_to_its_daily_cap(
    simulator: Simulator, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    policy = Policy(limits=QuotaLimits(global_daily=None))
    async with running_core(
        simulator, session, tmp_path, policy, daily_budget=1.0, sealer=SEALER
    ) as h:
        members = h.core.service.members
        await members.add(MEMBER, "en", MEMBER_TOKEN)
        for wrong in ("-1", "1001", "lots", "nan"):
            with pytest.raises(InvalidParameter, match="lend"):
                await members.lend(MEMBER, wrong)
        assert (await members.lend(MEMBER, "2")).lent == 2.0
        jobs = [(await h.core.service.submit(request(user=str(u)))).jobs[0] for u in range(5)]
        await h.finals(3)  # the community's token pays for 1 a day, the lent one for 2
        ran = Counter([(await h.job(job.id)).token for job in jobs])
        label = member_label(MEMBER)
        assert ran == {"token#1": 1, f"{label}/lent": 2, None: 2}
        assert len(await h.core.scheduler.waiting()) == 2
        status = await members.status(MEMBER)
        assert (status.own_spent, status.lent, status.lent_spent) == (0.0, 2.0, 2.0)

        (own,) = (await h.core.service.submit(request(user="77"))).jobs  # the cap is theirs
        await h.finals(4)
        assert (await h.job(own.id)).token == label
        await members.lend(MEMBER, 0)
        assert (await members.status(MEMBER)).lent == 0.0


async def test_a_token_modelscope_rejects_later_is_dropped_and_its_owner_told(
    simulator: Simulator, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    async with running_core(simulator, session, tmp_path, sealer=SEALER) as h:
        members = h.core.service.members
        await members.add(MEMBER, "zh", MEMBER_TOKEN)
        simulator.tokens = frozenset({TOKEN})  # the member revoked it on the website
        (job,) = (await h.core.service.submit(request(user="77"))).jobs
        await h.finals(1)
        failed = await h.job(job.id)
        assert (failed.state, failed.error_key) == (JobState.FAILED, "error.own_token_gone")
        assert failed.quota_state is QuotaState.OWN  # nothing of the community's was counted
        await until(lambda: bool(h.notifier.direct_messages))
        assert h.notifier.direct_messages == [("77", "token.dropped", {})]
        assert not await members.has_token(MEMBER)
        assert h.core.tokens.usable  # the community's token was never blamed

        (again,) = (await h.core.service.submit(request(user="77"))).jobs
        assert again.quota_state is QuotaState.RESERVED  # the community's quota again
        await h.finals(2)
        assert (await h.job(again.id)).token == "token#1"


async def test_removing_a_token_ends_the_jobs_waiting_for_it_in_words(
    session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    timing = Timing(queue_mean=0.0, run_mean=0.5, run_sd=0.0)
    async with (
        Simulator(frozenset({TOKEN, MEMBER_TOKEN}), timing) as simulator,
        running_core(simulator, session, tmp_path, sealer=SEALER) as h,
    ):
        members = h.core.service.members
        await members.add(MEMBER, "en", MEMBER_TOKEN)
        first, second = (await h.core.service.submit(request(user="77", count=2))).jobs
        await until(lambda: bool(simulator.tasks))  # the first runs on the one slot
        await members.remove(MEMBER)
        await h.finals(2)
        assert (await h.job(first.id)).state is JobState.DONE  # it had started: it finishes
        ended = await h.job(second.id)
        assert (ended.state, ended.error_key) == (JobState.FAILED, "error.own_token_gone")
        assert "Nothing was charged" in TRANSLATOR.text("en", "error.own_token_gone")
        with pytest.raises(NoMemberToken):
            await members.remove(MEMBER)


async def test_a_dry_own_token_ends_the_job_in_words_and_spares_the_community(
    simulator: Simulator, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    simulator.wallets.enforce = True
    simulator.wallets.grants[MEMBER_TOKEN] = 0.0
    async with running_core(simulator, session, tmp_path, sealer=SEALER) as h:
        await h.core.service.members.add(MEMBER, "en", MEMBER_TOKEN)
        (job,) = (await h.core.service.submit(request(user="77"))).jobs
        await h.finals(1)
        failed = await h.job(job.id)
        assert (failed.state, failed.error_key) == (JobState.FAILED, "error.own_token_dry")
        assert simulator.stats.submits_by_token.get("token#1", 0) == 0
        assert h.core.service.members.pays_for(MEMBER)  # still theirs: they may top it up


async def test_every_process_shares_the_sealed_tokens_over_redis(
    redis_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    async with (
        Simulator(frozenset({TOKEN, MEMBER_TOKEN}), Timing(queue_mean=0.0, run_mean=0.1)) as sim,
        shared_core(sim, redis_url, redis_prefix, "gw", False, tmp_path / "g", sealer=SEALER) as (
            gateway,
            _,
        ),
        shared_core(sim, redis_url, redis_prefix, "w", True, tmp_path / "w", sealer=SEALER) as (
            worker,
            seen,
        ),
    ):
        await gateway.service.members.add("mem:77", "en", MEMBER_TOKEN)
        job = (await gateway.service.submit(ask("77", "a lantern of my own"))).jobs[0]
        assert job.quota_state is QuotaState.OWN
        await worker.members.sync()  # what it does at start and every 15 s: it never saw /token
        async with asyncio.timeout(20):
            await seen.wait_for(1, (EventKind.SUCCEEDED,))
        done = await gateway.service.job(job.id)
        assert done is not None and done.token == member_label("mem:77")
        assert [task.token for task in sim.tasks.values()] == [MEMBER_TOKEN]
        assert worker.service.members.pays_for("mem:77")
        await gateway.service.members.remove("mem:77")
        await worker.members.sync()
        assert not worker.service.members.pays_for("mem:77")


async def test_a_sync_reading_before_a_token_is_added_does_not_take_it_out(
    simulator: Simulator,
    session: aiohttp.ClientSession,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with running_core(simulator, session, tmp_path, sealer=SEALER) as h:
        store, members = h.core.store, h.core.service.members
        read_settings, carry_on = asyncio.Event(), asyncio.Event()
        settings = store.settings

        async def a_slow_read(namespace: str) -> dict[str, dict[str, object]]:
            records = await settings(namespace)  # read before the token is added
            read_settings.set()
            await carry_on.wait()
            return records

        monkeypatch.setattr(store, "settings", a_slow_read)
        syncing = asyncio.create_task(h.core.members.sync())
        await read_settings.wait()
        adding = asyncio.create_task(members.add(MEMBER, "en", MEMBER_TOKEN))
        await asyncio.wait({adding}, timeout=1.0)  # unguarded, the token joins meanwhile
        carry_on.set()
        await asyncio.gather(syncing, adding)
        assert members.pays_for(MEMBER)
