"""Describe, enhance and translate through the real HTTP client against the simulator's
`v1/chat/completions`: each a text job charged like an image (and refunded when the failure
is not the user's), its answer kept for the buttons under it, fair among users."""

from __future__ import annotations

import asyncio
import dataclasses
import io
from pathlib import Path

import aiohttp
import pytest
from PIL import Image

from bot.simulator import Fault, Simulator
from core.errors import (
    BadRequest,
    CooldownActive,
    InvalidParameter,
    JobNotFound,
    NothingDescribed,
    QuotaExceeded,
    RewriteUnusable,
    ServerError,
    TextOff,
    TextRefused,
)
from core.images.processing import to_data_uri
from core.jobs.events import EventKind
from core.jobs.job import Job, JobKind, JobState, QuotaState
from core.jobs.policy import Policy
from core.jobs.quotas import QuotaLimits
from core.jobs.views import Receipt
from core.service.prompts import PromptSettings
from tests.conftest import OTHER_TOKEN, TOKEN, until
from tests.core.harness import Harness, request, running_core
from tests.core.scheduling.test_shared_core import ask, shared_core

VISION = PromptSettings().vision_model
CHAT = PromptSettings().chat_model
FLUX = "MAILAND/majicflus_v1"  # the catalog marks it as preferring English
QWEN = "Qwen/Qwen-Image"


def photo(colour: str = "teal") -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, "PNG")
    return to_data_uri(buffer.getvalue())


async def spent(h: Harness, user: str = "tg:1") -> float:
    day = QuotaLimits().day_of(h.clock.now())
    return (await h.core.store.usage(user, "tg:-100", day)).user


async def test_describe_answers_four_english_prompts_and_charges_a_text_unit(
    simulator: Simulator, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    async with running_core(simulator, session, tmp_path) as h:
        job = await h.core.service.prompts.describe(request(prompt=""), photo())
        assert (job.kind, job.state, job.quota_state) == (
            JobKind.DESCRIBE,
            JobState.DONE,
            QuotaState.COMMITTED,
        )
        assert len(job.texts) == 4 and job.translations == ()
        assert all(t.startswith("A ") and t.endswith("wide angle") for t in job.texts)
        (call,) = simulator.chat.calls
        assert (call.model, call.images, call.token) == (VISION, ("data",), TOKEN)
        assert await spent(h) == 0.5  # the catalog's text cost of a describe
        assert await h.core.service.history("tg:1") == []  # /history lists images only


async def test_describe_in_chinese_shows_each_prompt_translated(
    simulator: Simulator, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    async with running_core(simulator, session, tmp_path) as h:
        asked = request(prompt="")
        zh = dataclasses.replace(asked, locale="zh")
        job = await h.core.service.prompts.describe(zh, photo())
        assert [t.removeprefix("（译）") for t in job.translations] == list(job.texts)
        assert [call.model for call in simulator.chat.calls] == [VISION, CHAT]
        assert await spent(h) == 0.5  # the translation comes with the describe


async def test_imagine_this_draws_a_described_prompt_for_whoever_presses_after_a_restart(
    simulator: Simulator, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    db = tmp_path / "imagine.db"
    async with running_core(simulator, session, tmp_path, db=db) as h:
        described = await h.core.service.prompts.describe(request(prompt=""), photo())
    async with running_core(simulator, session, tmp_path, db=db) as h:
        prompts = h.core.service.prompts
        receipt = await prompts.imagine_this(request(user="2", prompt=""), described.id, 2)
        await h.finals(1)
        (job,) = receipt.jobs
        drawn = await h.job(job.id)
        assert (drawn.user, drawn.state, drawn.params.prompt) == (
            "tg:2",
            JobState.DONE,
            described.texts[2],
        )
        assert await spent(h, "tg:2") == 1.0  # charged like any /imagine
        with pytest.raises(JobNotFound):
            await prompts.imagine_this(request(prompt=""), described.id, 5)


async def test_a_server_error_is_tried_again_and_a_lasting_one_refunded(
    simulator: Simulator, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    async with running_core(simulator, session, tmp_path) as h:
        simulator.faults.add(Fault("chat", "status", status=503), Fault("chat", "malformed"))
        job = await h.core.service.prompts.describe(request(prompt=""), photo())
        assert job.state is JobState.DONE
        simulator.faults.add(Fault("chat", "status", status=502, times=10))
        with pytest.raises(ServerError):
            await h.core.service.prompts.describe(request(prompt=""), photo())
        (failed,) = [j for j in await h.core.store.history("tg:1", 5) if j.state is JobState.FAILED]
        assert (failed.quota_state, failed.error_key) == (QuotaState.REFUNDED, "error.server")
        assert await spent(h) == 0.5  # the first only


async def test_a_refused_content_is_the_users_and_charged(
    simulator: Simulator, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    async with running_core(simulator, session, tmp_path) as h:
        simulator.faults.add(Fault("chat", "refusal"))
        with pytest.raises(TextRefused):
            await h.core.service.prompts.describe(request(prompt=""), photo())
        (job,) = await h.core.store.history("tg:1", 5)
        assert (job.state, job.quota_state) == (JobState.FAILED, QuotaState.COMMITTED)
        assert len(simulator.chat.calls) == 0  # refused, never tried again


async def test_a_rejected_token_leaves_the_pool_and_a_busy_one_cools_while_another_answers(
    simulator: Simulator, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    async with running_core(simulator, session, tmp_path, tokens=(TOKEN, OTHER_TOKEN)) as h:
        simulator.faults.add(Fault("chat", "status", status=429, retry_after=30))
        await h.core.service.prompts.describe(request(prompt=""), photo())
        assert simulator.stats.rejected["fault:status"] == 1  # token#1's 429
        assert simulator.chat.calls[0].token == OTHER_TOKEN  # it cooled; the other answered
        simulator.faults.add(Fault("chat", "status", status=401, message="bad token"))
        await h.core.service.prompts.describe(request(prompt=""), photo())
        (out,) = h.core.tokens.out()  # the one that answered 401
        assert simulator.chat.calls[1].token != {"token#1": TOKEN}.get(out.label, OTHER_TOKEN)


async def test_what_a_model_answers_is_filtered_like_a_prompt(
    simulator: Simulator, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    async with running_core(simulator, session, tmp_path) as h:
        await h.core.rules.edit_filter("tg:-100", "word", "wide angle")
        with pytest.raises(NothingDescribed):
            await h.core.service.prompts.describe(request(prompt=""), photo())
        (job,) = await h.core.store.history("tg:1", 5)
        assert job.quota_state is QuotaState.REFUNDED  # the model's doing, not the user's


async def test_a_bad_image_reaches_the_vision_model_as_a_clear_refusal(
    simulator: Simulator, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    async with running_core(simulator, session, tmp_path) as h:
        with pytest.raises(BadRequest, match="image"):
            await h.core.service.prompts.describe(request(prompt=""), "data:image/png;base64,AAAA")
        assert await spent(h) == 0.0


async def test_an_enhanced_prompt_is_shown_first_and_drawn_only_when_chosen(
    simulator: Simulator, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    async with running_core(simulator, session, tmp_path) as h:
        prompts = h.core.service.prompts
        asked = request(prompt="a fox in the snow", count=2, model=QWEN)
        enhanced = await prompts.imagine(dataclasses.replace(asked, enhance=True))
        assert isinstance(enhanced, Job) and enhanced.kind is JobKind.ENHANCE
        assert enhanced.texts[0].startswith("a fox in the snow, intricate detail")  # ** stripped
        assert "**" not in enhanced.texts[0]
        assert simulator.stats.submits == 0 and await spent(h) == 0.2  # no image charged yet

        generated = await prompts.draw_enhanced("tg:1", enhanced.id, "r-1")
        mine = await prompts.draw_enhanced("tg:1", enhanced.id, "r-1", mine=True)
        edited = await prompts.draw_enhanced("tg:1", enhanced.id, "r-1", edited="a fox, ink")
        await h.finals(6)
        drawn = [await h.job(j.id) for r in (generated, mine, edited) for j in r.jobs]
        assert [j.params.prompt for j in drawn[::2]] == [
            enhanced.texts[0],
            asked.params.prompt,
            "a fox, ink",
        ]
        assert {j.typed_prompt for j in drawn[::2]} == {"a fox in the snow", None}
        assert all(j.state is JobState.DONE for j in drawn)
        with pytest.raises(JobNotFound):
            await prompts.draw_enhanced("tg:2", enhanced.id, "r-2")  # not theirs


async def test_a_community_may_skip_the_confirmation_and_a_user_may_enhance_by_default(
    simulator: Simulator, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    skip = PromptSettings(confirm_enhance=False)
    async with running_core(simulator, session, tmp_path, prompts=skip) as h:
        await h.core.service.set_defaults("tg:1", enhance="on")
        receipt = await h.core.service.prompts.imagine(
            request(prompt="a quiet harbour", model=QWEN)
        )
        assert isinstance(receipt, Receipt)
        await h.finals(1)
        job = await h.job(receipt.jobs[0].id)
        assert job.params.prompt.startswith("a quiet harbour, intricate detail")
        assert job.typed_prompt == "a quiet harbour"
        with pytest.raises(InvalidParameter, match="enhance"):
            await h.core.service.set_defaults("tg:1", enhance="maybe")


async def test_a_chinese_prompt_is_translated_for_a_model_that_prefers_english_only(
    simulator: Simulator, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    async with running_core(simulator, session, tmp_path) as h:
        service = h.core.service
        flux = (await service.submit(request(prompt="一只狐狸在雪下", model=FLUX))).jobs[0]
        qwen = (await service.submit(request(prompt="一只狐狸在雪下", model=QWEN))).jobs[0]
        await h.finals(2)
        translated, kept = await h.job(flux.id), await h.job(qwen.id)
        assert (translated.params.prompt, translated.typed_prompt) == (
            "a fox in snow under",
            "一只狐狸在雪下",
        )
        assert (kept.params.prompt, kept.typed_prompt) == ("一只狐狸在雪下", None)
        assert [call.model for call in simulator.chat.calls] == [CHAT]  # Qwen-Image: none
        assert {task.body["prompt"] for task in simulator.tasks.values()} == {
            "a fox in snow under",
            "一只狐狸在雪下",
        }
        assert await spent(h) == 1.0 + 2.0 + 0.1


async def test_without_translation_a_prompt_goes_as_typed(
    simulator: Simulator, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    off = PromptSettings(translate=False)
    async with running_core(simulator, session, tmp_path, prompts=off) as h:
        (job,) = (await h.core.service.submit(request(prompt="一只猫", model=FLUX))).jobs
        assert job.params.prompt == "一只猫" and simulator.chat.calls == []


async def test_a_translation_whose_image_is_refused_is_given_back(
    simulator: Simulator, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    tight = Policy(limits=QuotaLimits(user_daily=1.0))
    async with running_core(simulator, session, tmp_path, tight) as h:
        with pytest.raises(QuotaExceeded):
            await h.core.service.submit(request(prompt="一只猫", model=FLUX))  # 0.1 + 1 > 1
        (translation,) = await h.core.store.history("tg:1", 5)
        assert (translation.kind, translation.quota_state) == (
            JobKind.TRANSLATE,
            QuotaState.REFUNDED,
        )
        assert await spent(h) == 0.0


async def test_a_call_a_restart_cut_short_ends_refunded_and_its_user_told(
    simulator: Simulator, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    db = tmp_path / "imagine.db"
    simulator.chat.answer_seconds = 3.0
    async with running_core(simulator, session, tmp_path, db=db) as h:
        asking = asyncio.create_task(h.core.service.prompts.describe(request(prompt=""), photo()))
        await until(lambda: simulator.chat.in_flight[TOKEN] > 0)
        asking.cancel()  # what a SIGKILL leaves: the row says the call was under way
        await asyncio.gather(asking, return_exceptions=True)
    simulator.chat.answer_seconds = 0.0
    async with running_core(simulator, session, tmp_path, db=db) as h:
        async with asyncio.timeout(10):
            await h.notifier.wait_for(1, (EventKind.FAILED,))
        (job,) = await h.core.store.history("tg:1", 5)
        assert (job.state, job.quota_state, job.error_key) == (
            JobState.FAILED,
            QuotaState.REFUNDED,
            "error.text_interrupted",
        )


async def test_a_flood_from_one_user_does_not_hold_back_another(
    simulator: Simulator, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    simulator.chat.answer_seconds = 0.2
    async with running_core(simulator, session, tmp_path, chat_per_token=1) as h:
        describe = h.core.service.prompts.describe
        flood = [
            asyncio.create_task(describe(request(user="1", prompt=""), photo())) for _ in range(5)
        ]
        await until(lambda: simulator.chat.in_flight[TOKEN] > 0)
        other = await describe(request(user="2", prompt=""), photo("orange"))
        await asyncio.gather(*flood)
        order = [
            job.user
            for job in sorted(
                [other, *[task.result() for task in flood]], key=lambda job: job.transitions["done"]
            )
        ]
        assert order.index("tg:2") == 1  # right after the call that was running
        assert simulator.chat.most_at_once[TOKEN] == 1


async def test_without_a_model_the_feature_is_off_in_words(
    simulator: Simulator, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    off = PromptSettings(chat_model="", vision_model="")
    async with running_core(simulator, session, tmp_path, prompts=off) as h:
        prompts = h.core.service.prompts
        assert not prompts.offers(JobKind.DESCRIBE) and not prompts.offers(JobKind.ENHANCE)
        with pytest.raises(TextOff):
            await prompts.describe(request(prompt=""), photo())
        asked = request(prompt="一只猫", model=FLUX)
        with pytest.raises(TextOff):
            await prompts.imagine(dataclasses.replace(asked, enhance=True))
        (job,) = (await h.core.service.submit(asked)).jobs  # no translation: as typed
        assert job.params.prompt == "一只猫" and simulator.chat.calls == []
        assert await spent(h) == 1.0


async def test_a_translation_that_fails_upstream_lets_the_prompt_go_as_typed(
    simulator: Simulator, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    async with running_core(simulator, session, tmp_path) as h:
        simulator.faults.add(Fault("chat", "status", status=503, times=10))
        (job,) = (await h.core.service.submit(request(prompt="一只猫", model=FLUX))).jobs
        assert (job.params.prompt, job.typed_prompt) == ("一只猫", None)
        translation = next(
            j for j in await h.core.store.history("tg:1", 5) if j.kind is JobKind.TRANSLATE
        )
        assert translation.quota_state is QuotaState.REFUNDED
        await h.finals(1)
        assert await spent(h) == 1.0  # the image only


async def test_an_enhanced_prompt_the_filter_blocks_is_refused_in_words_uncharged(
    simulator: Simulator, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    async with running_core(simulator, session, tmp_path) as h:
        await h.core.rules.edit_filter("tg:-100", "word", "cinematic")
        asked = request(prompt="a fox", model=QWEN)
        with pytest.raises(RewriteUnusable) as refused:
            await h.core.service.prompts.imagine(dataclasses.replace(asked, enhance=True))
        assert refused.value.key == "error.rewrite_unusable"
        assert await spent(h) == 0.0 and simulator.stats.submits == 0


async def test_over_redis_a_describe_is_charged_in_the_shared_quota(
    redis_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    async with (
        Simulator(frozenset({TOKEN})) as sim,
        shared_core(sim, redis_url, redis_prefix, "gw", True, tmp_path) as (core, _),
    ):
        job = await core.service.prompts.describe(ask("7", ""), photo())
        assert job.state is JobState.DONE and len(job.texts) == 4
        again = await core.service.prompts.answer(job.id)
        assert again.texts == job.texts  # read back from Redis, for its buttons
        usage = await core.store.usage("mem:7", job.chat, job.day)
        assert usage.user == 0.5


async def test_the_cooldown_holds_requests_not_the_steps_of_one(
    simulator: Simulator, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    slow = Policy(limits=QuotaLimits(cooldown_seconds=600))
    async with running_core(simulator, session, tmp_path, slow) as h:
        service = h.core.service
        (drawn,) = (await service.submit(request(prompt="一只猫", model=FLUX))).jobs
        assert drawn.params.prompt == "a cat"  # translated, then drawn: one request
        with pytest.raises(CooldownActive):
            await service.submit(request(prompt="a dog"))  # the next request waits
    async with running_core(simulator, session, tmp_path, slow) as h:
        asked = request(prompt="a fox", model=QWEN)
        enhanced = await h.core.service.prompts.imagine(dataclasses.replace(asked, enhance=True))
        assert isinstance(enhanced, Job)
        await h.core.service.prompts.draw_enhanced("tg:1", enhanced.id, "r-1")  # not held
        with pytest.raises(CooldownActive):
            await h.core.service.prompts.describe(request(prompt=""), photo())


async def test_over_redis_a_restart_ends_only_the_calls_no_process_is_making(
    redis_url: str, redis_prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("core.service.prompts.CALL_DEADLINE_SECONDS", 3.0)
    async with (
        Simulator(frozenset({TOKEN})) as sim,
        shared_core(sim, redis_url, redis_prefix, "gw", False, tmp_path / "g") as (gateway, _),
    ):
        sim.chat.answer_seconds = 1.0
        describe = gateway.service.prompts.describe
        cut = asyncio.create_task(describe(ask("7", ""), photo()))
        running = asyncio.create_task(describe(ask("8", ""), photo()))
        await until(lambda: sim.chat.in_flight[TOKEN] == 2)
        cut.cancel()  # its process died mid-call: the row says it was under way
        await asyncio.gather(cut, return_exceptions=True)
        async with shared_core(sim, redis_url, redis_prefix, "w", True, tmp_path / "w") as (
            worker,
            told,
        ):
            made = await running  # the gateway's call ends well, the worker restarted meanwhile
            async with asyncio.timeout(10):
                await told.wait_for(1, (EventKind.FAILED,))
            (gone,) = [j for j in await worker.store.history("mem:7", 5)]
            assert (gone.state, gone.error_key) == (JobState.FAILED, "error.text_interrupted")
            assert gone.quota_state is QuotaState.REFUNDED
            kept = await worker.store.get(made.id)
            assert kept is not None and kept.state is JobState.DONE  # never taken for dead


async def test_a_start_leaves_the_calls_made_since_it_began_alone(
    simulator: Simulator, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    simulator.chat.answer_seconds = 0.5
    async with running_core(simulator, session, tmp_path) as h:
        asking = asyncio.create_task(h.core.service.prompts.describe(request(prompt=""), photo()))
        await until(lambda: simulator.chat.in_flight[TOKEN] > 0)
        await h.core.recover()  # what a start does, perhaps after the bot took this request
        job = await asking
        assert (await h.job(job.id)).state is JobState.DONE
        assert EventKind.FAILED not in h.notifier.kinds(job.id)


async def test_history_finds_the_images_behind_many_chat_calls(
    simulator: Simulator, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    async with running_core(simulator, session, tmp_path) as h:
        (drawn,) = (await h.core.service.submit(request(prompt="a kite"))).jobs
        for _ in range(35):  # more than three times /history's ten
            await h.core.service.prompts.describe(request(prompt=""), photo())
        assert [job.id for job in await h.core.service.history("tg:1")] == [drawn.id]
