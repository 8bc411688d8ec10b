"""The other commands, admin rights, restarts, Telegram faults and webhook mode."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from bot.simulator import Fault as SimFault
from bot.simulator import Timing
from core.jobs.job import Job, JobState, QuotaState
from core.jobs.policy import Policy
from core.jobs.quotas import Admission, QuotaLimits, Usage
from core.modelscope import Balance
from core.secret import Secret
from core.stores.sqlite import SqliteStore
from tests.adapters.telegram.fake_api import FakeTelegram, Fault
from tests.adapters.telegram.harness import (
    ALICE,
    BOB,
    BOT_TOKEN,
    GROUP,
    reply_to,
    telegram_world,
)

pytestmark = pytest.mark.timeout(90)


async def test_information_commands(simulator, session, tmp_path: Path) -> None:
    async with telegram_world(simulator, session, tmp_path) as world:
        assert (await reply_to(world, "/start")).startswith("Hi! I draw pictures")
        assert "/imagine PROMPT [flags]" in await reply_to(world, "/help")
        assert "你好" in await reply_to(world, "/start", language="zh-hans")
        models = await reply_to(world, "/models")
        assert "Qwen-Image (qwen): sides 64 to 1664 px, costs 2" in models
        assert "edits pictures" in models
        quota = await reply_to(world, "/quota")
        assert quota.startswith("You: 0 used today, 20 left")
        assert (await reply_to(world, "/history")).startswith("You have no images yet")
        assert await reply_to(world, "/queue") == ("0 waiting, 0 generating. Your place: none.")
        assert await reply_to(world, "/cancel") == "You have nothing waiting or generating."


async def test_history_and_cancel_of_a_running_job(simulator, session, tmp_path) -> None:
    simulator.faults.add(SimFault("task", "stuck"))
    async with telegram_world(simulator, session, tmp_path) as world:
        world.imagine("/imagine a slow one")
        await world.api.wait_text("editMessageText", "Generating…")
        assert "generating · a slow one" in await reply_to(world, "/history")
        assert (await reply_to(world, "/cancel")).startswith("Cancelling ")
        await world.api.wait_text("editMessageText", "Cancelled.")
        (job,) = await world.core.service.history(f"telegram:{ALICE}")
        assert job.state is JobState.CANCELLED


async def test_queue_full_is_explained(simulator, session, tmp_path: Path) -> None:
    simulator.timing = Timing(run_mean=2.0)
    policy = Policy(limits=QuotaLimits(max_waiting=1))
    async with telegram_world(simulator, session, tmp_path, policy=policy) as world:
        world.imagine("/imagine one")
        await world.api.wait_text("editMessageText", "Generating…")
        world.imagine("/imagine two")
        world.imagine("/imagine three")
        await world.api.wait_text(
            "editMessageText", "Your requests waiting are at the limit (1 of 1)."
        )


async def test_admin_commands_need_an_admin(simulator, session, tmp_path: Path) -> None:
    admins = Policy(admins=frozenset({f"telegram:{ALICE}"}))
    async with telegram_world(simulator, session, tmp_path, policy=admins) as world:
        refused = await reply_to(world, "/budget 5", chat=GROUP, user=BOB)
        assert refused == "Only the bot's admins and the admins here can do that."
        world.api.admins.add((GROUP, BOB))
        assert await reply_to(world, "/budget 5", chat=GROUP, user=BOB) == (
            "This group may now spend 5 cost units a day."
        )
        assert "2 cost units a day" in await reply_to(world, "/memberlimit 2", chat=GROUP, user=BOB)
        assert "words: gore" in await reply_to(world, "/filter word gore", chat=GROUP, user=BOB)
        assert "Invalid budget" in await reply_to(world, "/budget lots", chat=GROUP, user=BOB)
        blocked = await reply_to(world, "/imagine so much gore", chat=GROUP, user=ALICE)
        assert blocked == "Got it, putting it in line…"
        await world.api.wait_text("editMessageText", "This prompt is not allowed here")
        assert await reply_to(world, f"/ban {ALICE} spam", chat=GROUP, user=BOB) == (
            f"User {ALICE} can no longer use the bot here."
        )
        world.imagine("/imagine a cat", chat=GROUP, user=ALICE)
        await world.api.wait_text(
            "editMessageText", "You are banned from using this bot here. Reason given: spam"
        )
        world.imagine("/imagine a cat", chat=ALICE, user=ALICE)  # a group ban stays in the group
        await world.api.wait_for("sendPhoto")
        settings = await world.core.rules.chat_settings(f"telegram:{GROUP}")
        assert (settings["daily_budget"], settings["member_daily"]) == (5.0, 2.0)
        # /stats: the group's admin sees the line and the group's spending; the bot's admin
        # sees the ModelScope tokens' balances too (by label, never the token).
        group_admin = await reply_to(world, "/stats", chat=GROUP, user=BOB)
        assert group_admin.startswith("Waiting: 0, generating: 0. This group today: 0 spent, 5")
        assert "per member per day: 2." in group_admin and "token#1" not in group_admin
        world.core.tokens.accounts[0].balance = Balance(180.0, 178.0, 2.0)
        bot_admin = await reply_to(world, "/stats", chat=GROUP, user=ALICE)
        assert bot_admin.splitlines()[-1] == (
            "ModelScope token#1: 178 Magicubes available of 180 (2 held by running tasks)"
        )
        assert "Only the bot's admins" in await reply_to(world, "/stats", chat=GROUP, user=503)


async def test_a_restart_mid_job_still_delivers_once(simulator, session, tmp_path) -> None:
    simulator.timing = Timing(run_mean=1.0)
    db, api = tmp_path / "jobs.db", FakeTelegram(BOT_TOKEN)
    await api.start()
    try:
        async with telegram_world(simulator, session, tmp_path, db=db, api=api) as world:
            world.imagine("/imagine a harbour at night")
            await world.api.wait_text("editMessageText", "Generating…")
        assert api.named("sendPhoto") == []
        async with telegram_world(simulator, session, tmp_path, db=db, api=api) as world:
            await world.api.wait_for("sendPhoto")
            await world.core.scheduler.wait_idle()
            await asyncio.sleep(0.2)
        assert len(api.named("sendPhoto")) == 1
        assert simulator.stats.accepted == 1
    finally:
        await api.stop()


@pytest.mark.parametrize(
    "fault",
    [Fault("sendPhoto", "429", times=2, retry_after=1), Fault("sendPhoto", "drop", times=2)],
    ids=["429", "drop"],
)
async def test_telegram_faults_while_posting_lose_nothing(
    simulator, session, tmp_path, fault: Fault
) -> None:
    async with telegram_world(simulator, session, tmp_path) as world:
        world.api.faults.append(fault)
        world.imagine("/imagine a stormy sea")
        await world.api.wait_for("sendPhoto")
        await world.core.scheduler.wait_idle()
        assert len(world.api.named("sendPhoto")) == 1
        assert fault.times == 0
        (job,) = await world.core.service.history(f"telegram:{ALICE}")
        assert job.state is JobState.DONE


class StoreAway(SqliteStore):
    """The real store, not answering while `away` is set."""

    away = False

    async def add_jobs(self, jobs: Sequence[Job], admission: Admission) -> None:
        if StoreAway.away:
            raise sqlite3.OperationalError("database or disk is full")
        await super().add_jobs(jobs, admission)

    async def usage(self, user: str, chat: str, day: str) -> Usage:
        if StoreAway.away:
            raise sqlite3.OperationalError("disk I/O error")
        return await super().usage(user, chat, day)


async def test_when_the_store_is_away_commands_end_in_words(simulator, session, tmp_path) -> None:
    async with telegram_world(simulator, session, tmp_path, store_class=StoreAway) as world:
        StoreAway.away = True
        try:
            world.imagine("/imagine a quiet harbour")
            told = await world.api.wait_text("editMessageText", "Your request could not be saved")
            assert "Nothing was charged" in told.params["text"]
            assert await reply_to(world, "/quota") == (
                "Your request could not be saved just now. Nothing was charged; "
                "please try again in a minute."
            )
        finally:
            StoreAway.away = False
        assert simulator.stats.submits == 0


async def test_a_failed_status_reply_still_ends_in_a_photo(simulator, session, tmp_path) -> None:
    async with telegram_world(simulator, session, tmp_path) as world:
        world.api.faults.append(Fault("sendMessage", "status", status=502))
        world.imagine("/imagine a lantern in the fog")
        await world.api.wait_for("sendPhoto")
        (job,) = await world.core.service.history(f"telegram:{ALICE}")
        assert job.state in (JobState.DELIVERING, JobState.DONE)


async def test_a_failed_status_removal_never_sends_the_photo_twice(
    simulator, session, tmp_path
) -> None:
    async with telegram_world(simulator, session, tmp_path) as world:
        world.api.faults.append(Fault("deleteMessage", "status", times=20, status=502))
        world.imagine("/imagine a lighthouse")
        await world.api.wait_for("sendPhoto")
        await world.core.scheduler.wait_idle()
        await asyncio.sleep(0.3)
        assert len(world.api.named("sendPhoto")) == 1
        (job,) = await world.core.service.history(f"telegram:{ALICE}")
        assert job.state is JobState.DONE and job.delivered_at is not None


async def test_a_photo_refused_for_good_ends_the_job_in_words(simulator, session, tmp_path) -> None:
    blocked = Fault("sendPhoto", "status", times=20, status=403, description="Forbidden: no")
    before = refused_count()
    async with telegram_world(simulator, session, tmp_path) as world:
        world.api.faults.append(blocked)
        world.imagine("/imagine a kite")
        told = await world.api.wait_text("sendMessage", "Your image was made, but the chat")
        assert "Forbidden: no" in told.params["text"]
        await world.core.scheduler.wait_idle()
        assert blocked.times == 19  # refused once, never tried again
        (job,) = await world.core.service.history(f"telegram:{ALICE}")
        assert (job.state, job.error_key) == (JobState.FAILED, "error.delivery_refused")
        assert job.quota_state is QuotaState.REFUNDED and job.delivered_at is not None
    assert refused_count() == before + 1


def refused_count() -> float:
    name, labels = "imagine_deliveries_refused_total", {"platform": "telegram"}
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_webhook_mode_checks_the_secret_and_drops_repeats(
    simulator, session, tmp_path
) -> None:
    secret = "s3cret-webhook-value"
    async with telegram_world(
        simulator,
        session,
        tmp_path,
        mode="webhook",
        webhook_secret=Secret(secret),
        webhook_host="127.0.0.1",
        webhook_port=0,
        webhook_url="https://bot.example/telegram",
    ) as world:
        (registered,) = world.api.named("setWebhook")
        assert registered.params["url"] == "https://bot.example/telegram"
        assert registered.params["secret_token"] == secret
        url = f"http://127.0.0.1:{world.adapter.webhook_port}/telegram"
        update = {"update_id": 77, **world.api.command(ALICE, ALICE, "/imagine a comet")}
        async with session.post(
            url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}
        ) as answer:
            assert answer.status == 403
        for _ in range(2):  # Telegram repeats an update it thinks was lost
            async with session.post(
                url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": secret}
            ) as answer:
                assert answer.status == 200
        await world.api.wait_for("sendPhoto")
        assert simulator.stats.accepted == 1
        assert (
            len(
                [c for c in world.api.named("sendMessage") if c.params["text"].startswith("Got it")]
            )
            == 1
        )


async def test_the_command_menu_is_set_in_each_language(simulator, session, tmp_path) -> None:
    async with telegram_world(simulator, session, tmp_path) as world:
        menus = {
            (json.loads(c.params["scope"])["type"], c.params.get("language_code")): [
                (command["command"], command["description"])
                for command in json.loads(c.params["commands"])
            ]
            for c in world.api.named("setMyCommands")
        }
    assert set(menus) == {
        ("default", None),
        ("default", "zh"),
        ("all_chat_administrators", None),
        ("all_chat_administrators", "zh"),
    }
    assert menus[("default", None)][0] == (
        "imagine",
        "Draw a picture: /imagine a lighthouse at dusk",
    )
    assert menus[("default", "zh")][0] == ("imagine", "画一张图：/imagine 黄昏时的灯塔")
    assert [name for name, _ in menus[("default", None)]] == [
        "imagine",
        "describe",
        "quota",
        "queue",
        "cancel",
        "history",
        "models",
        "settings",
        "help",
    ]
    assert ("ban", "Admins: stop someone using the bot (reply to them)") in menus[
        ("all_chat_administrators", None)
    ]
