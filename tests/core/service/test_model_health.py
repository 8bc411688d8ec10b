"""A model ModelScope is failing (here a retired one, which answers "insufficient balance"
while its token can pay) is said in words, with a model that works instead: the job that met
it is refunded, its token is not set aside, new requests for it are refused until a cool-off
ends, /models marks it, and a success clears it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import cast

import aiohttp
import pytest

from bot.simulator import Simulator
from core.delivery import load_translator, models_text
from core.errors import ModelUnavailable, OfferGone, TaskFailed
from core.execution import ImageEngine, health
from core.execution.health import alternative_model
from core.execution.tokens import TokenAccount
from core.jobs.job import JobState, QuotaState
from core.requests import load_catalog
from core.requests.params import GenerationParams, Size
from tests.conftest import FakeClock
from tests.core.harness import request, running_core
from tests.core.service.test_balances import QWEN, reader

TRANSLATOR = load_translator(load_catalog())


async def test_a_retired_model_is_said_with_one_that_works_instead(
    simulator: Simulator,
    session: aiohttp.ClientSession,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(health, "COOL_OFF_SECONDS", 2.0)
    simulator.retired.add(QWEN)
    readers = {"token#1": reader(simulator, session)}
    async with running_core(simulator, session, tmp_path, balance_readers=readers) as h:
        await h.core.balances.check()  # the token can pay: the model is at fault
        (job,) = (await h.core.service.submit(request(user="ana", model=QWEN))).jobs
        await h.finals(1)
        failed = await h.job(job.id)
        assert (failed.state, failed.quota_state) == (JobState.FAILED, QuotaState.REFUNDED)
        assert failed.error_key == "error.model_unavailable"

        with pytest.raises(ModelUnavailable) as refused:  # nothing sent, nothing charged
            await h.core.service.submit(request(user="ben", model=QWEN))
        words = TRANSLATOR.error("en", refused.value)
        assert words.startswith("Qwen-Image is not working on ModelScope right now")
        assert refused.value.alternative not in (None, QWEN)
        listed = models_text(
            TRANSLATOR, "en", h.core.service.catalog, h.core.service.failing_models()
        )
        assert [line for line in listed.splitlines() if "not working" in line] == [
            next(line for line in listed.splitlines() if line.startswith("Qwen-Image ("))
        ]

        account = h.core.tokens.accounts[0]
        assert (account.strikes, account.cool_until) == (0, 0.0)  # the token is not to blame
        (other,) = (await h.core.service.submit(request(user="cy"))).jobs
        await h.finals(2)
        assert (await h.job(other.id)).state is JobState.DONE

        await asyncio.sleep(2.1)  # the cool-off ends: it is tried again
        simulator.retired.clear()
        (again,) = (await h.core.service.submit(request(user="di", model=QWEN))).jobs
        await h.finals(3)
        assert (await h.job(again.id)).state is JobState.DONE
        assert h.core.service.failing_models() == frozenset()
    assert simulator.stats.submits == 3  # the refused request never reached ModelScope


def test_the_offered_model_does_the_same_kind_of_work_at_that_size() -> None:
    catalog = load_catalog()
    editor = next(m for m in catalog.models if m.edits_images)
    edit = GenerationParams(editor.id, "a hat", Size(1024, 1024), 1)
    offered = alternative_model(catalog, edit, set())
    assert offered is None or catalog.find_model(offered).edits_images  # type: ignore[union-attr]
    qwen = GenerationParams(QWEN, "a lighthouse", Size(1328, 1328), 1)
    offered = alternative_model(catalog, qwen, set())
    spec = catalog.find_model(offered or "")
    assert spec is not None and not spec.edits_images and spec.max_side >= 1328
    everyone_else = {m.id for m in catalog.models}
    assert alternative_model(catalog, qwen, everyone_else) is None


def test_a_model_busy_again_and_again_while_others_work_is_marked() -> None:
    clock = FakeClock()
    tracker = health.ModelHealth(clock)
    account = TokenAccount("token#1", cast("ImageEngine", None))
    busy = TaskFailed("server busy, please retry", 500)
    # Alone, "busy" is ModelScope's as a whole: nothing to steer away from.
    assert not any(tracker.judge(QWEN, busy, account, 2.0) for _ in range(5))
    tracker.worked(QWEN)  # and a success starts the count again
    tracker.worked("Tongyi-MAI/Z-Image-Turbo")  # another model works meanwhile
    assert [tracker.judge(QWEN, busy, account, 2.0) for _ in range(3)] == [False, False, True]
    assert tracker.failing() == {QWEN}
    clock.advance(health.OTHERS_WORKED_SECONDS + 1)
    tracker.worked(QWEN)
    assert tracker.failing() == set()
    assert not any(tracker.judge(QWEN, busy, account, 2.0) for _ in range(5))  # others quiet


async def test_the_working_model_offered_is_asked_for_once_by_its_asker(
    simulator: Simulator, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    simulator.retired.add(QWEN)
    readers = {"token#1": reader(simulator, session)}
    async with running_core(simulator, session, tmp_path, balance_readers=readers) as h:
        await h.core.balances.check()
        await h.core.service.submit(request(user="ana", model=QWEN))
        await h.finals(1)  # QWEN is failing now
        with pytest.raises(ModelUnavailable) as refused:
            await h.core.service.submit(request(user="ben", model=QWEN, prompt="a kite"))
        offer = refused.value.offer
        assert offer is not None and refused.value.alternative is not None
        with pytest.raises(OfferGone):  # not ben's offer to someone else
            await h.core.service.offer_open("tg:cy", offer)
        await h.core.service.offer_open("tg:ben", offer)
        (job,) = (await h.core.service.take_offer("tg:ben", offer, "r-ben-2")).jobs
        assert (job.params.model, job.params.prompt) == (refused.value.alternative, "a kite")
        assert (job.reply_target, job.quota_state) == ("r-ben-2", QuotaState.RESERVED)
        with pytest.raises(OfferGone):  # once
            await h.core.service.take_offer("tg:ben", offer, "r-ben-3")
        await h.finals(2)
        assert (await h.job(job.id)).state is JobState.DONE

        with pytest.raises(ModelUnavailable) as again:
            await h.core.service.submit(request(user="di", model=QWEN))
        h.clock.advance(2 * 86_400)  # nobody took it for two days
        assert await h.core.service.purge_offers() == 1
        with pytest.raises(OfferGone):
            await h.core.service.offer_open("tg:di", str(again.value.offer))
