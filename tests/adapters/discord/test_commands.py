"""The small commands and /imagine-admin, each answered privately through discord.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.simulator import Simulator, Timing
from core.errors import QuotaExhausted
from core.jobs.policy import Policy
from core.modelscope import Balance
from tests.adapters.discord.harness import discord_world, private_reply, result_of
from tests.adapters.discord.payloads import ADMIN, ALICE, BOB, MANAGE_GUILD, options, user

pytestmark = pytest.mark.timeout(60)


async def test_quota_history_models_help_and_settings(
    simulator: Simulator, session, tmp_path: Path
) -> None:
    async with discord_world(simulator, session, tmp_path) as world:
        fake = world.fake
        await result_of(world, await fake.command("imagine", options=options(prompt="an owl")))
        quota = await private_reply(world, await fake.command("quota"))
        assert quota.startswith("You: 1 used today, 19 left")
        history = await private_reply(world, await fake.command("history"))
        assert history.endswith("· done · an owl")
        models = await private_reply(world, await fake.command("models"))
        assert "FLUX" in models and models.count("\n") >= 6
        assert "/imagine prompt:" in await private_reply(world, await fake.command("help"))
        saved = await fake.command("settings", options=options(model="flux", size="768x1024"))
        reply = await private_reply(world, saved)
        assert reply.startswith("Your defaults — model: flux, size: 768x1024.")
        await result_of(world, await fake.command("imagine", options=options(prompt="a wren")))
        assert list(simulator.tasks.values())[-1].body["size"] == "768x1024"
        bad = await fake.command("settings", options=options(size="9x9"))
        assert (await private_reply(world, bad)).startswith("Invalid size")
        # The same rule as on Telegram: a model the saved size does not fit clears it, saying so.
        await private_reply(world, await fake.command("settings", options=options(model="zit")))
        big = await fake.command("settings", options=options(size="2048x2048"))
        await private_reply(world, big)
        flux = await private_reply(
            world, await fake.command("settings", options=options(model="flux"))
        )
        assert "Your saved size 2048x2048 does not fit flux" in flux
        assert "Your defaults — model: flux, size: not set." in flux


async def test_queue_and_cancel(simulator: Simulator, session, tmp_path: Path) -> None:
    simulator.timing = Timing(run_mean=3.0)
    async with discord_world(simulator, session, tmp_path) as world:
        fake = world.fake
        await fake.command("imagine", options=options(prompt="first"))
        waiting = await fake.command("imagine", options=options(prompt="second"))
        queued = "Queued: number 1 in line"
        await fake.wait_until(
            lambda: fake.original(waiting["token"]).get("content", "").startswith(queued)
        )
        queue = await private_reply(world, await fake.command("queue"))
        assert queue.startswith("1 waiting, 1 generating. Your place: 1.")
        (newest, _) = await world.core.service.history(f"discord:{ALICE}")
        cancel = await fake.command("cancel", options=options(job=newest.id))
        assert await private_reply(world, cancel) == f"Cancelling {newest.id}."
        await fake.wait_until(lambda: fake.original(waiting["token"])["content"] == "Cancelled.")


async def test_admin_commands_for_managers_and_bot_admins_only(
    simulator: Simulator, session, tmp_path: Path
) -> None:
    async with discord_world(simulator, session, tmp_path) as world:
        fake = world.fake
        member = await fake.subcommand("imagine-admin", "budget", options(amount=5.0), user_id=BOB)
        assert (await private_reply(world, member)).startswith("Only the bot's admins")
        manager = await fake.subcommand(
            "imagine-admin", "budget", options(amount=5.0), user_id=ADMIN, permissions=MANAGE_GUILD
        )
        assert await private_reply(world, manager) == (
            "This server may now spend 5 cost units a day."
        )
        ban = await fake.subcommand(
            "imagine-admin",
            "ban",
            [{"name": "user", "type": 6, "value": str(BOB)}],
            {"users": {str(BOB): user(BOB)}},
            user_id=ADMIN,
            permissions=MANAGE_GUILD,
        )
        assert await private_reply(world, ban) == f"<@{BOB}> can no longer use the bot here."
        refused = await fake.command("imagine", options=options(prompt="x"), user_id=BOB)
        assert await private_reply(world, refused) == "You are banned from using this bot here."
        stats = await fake.subcommand(
            "imagine-admin", "stats", [], user_id=ADMIN, permissions=MANAGE_GUILD
        )
        assert await private_reply(world, stats) == (
            "Waiting: 0, generating: 0. This server today: 0 spent, 5 left; per member per day: -."
        )
        group = next(c for c in fake.synced if c["name"] == "imagine-admin")
        assert int(group["default_member_permissions"]) == MANAGE_GUILD
        assert simulator.stats.submits == 0


async def test_the_bot_writes_to_an_admin_in_private(
    simulator: Simulator, session, tmp_path: Path
) -> None:
    async with discord_world(simulator, session, tmp_path) as world:
        sent = await world.core.notifiers.direct(
            f"discord:{ADMIN}", "admin.no_token", "zh", tokens="token#1"
        )
        assert sent
        (opened,) = world.fake.named("open_dm")
        assert int(opened.body["recipient_id"]) == ADMIN
        (message,) = world.fake.named("channel_message")
        assert message.body["content"].startswith("imagine-bot 无法生成图片：")
        assert "token#1" in message.body["content"]
        assert not await world.core.notifiers.direct("nowhere:1", "admin.no_token", "en")


async def test_the_bots_admins_see_the_tokens_balances_in_stats(
    simulator: Simulator, session, tmp_path: Path
) -> None:
    admins = Policy(admins=frozenset({f"discord:{ADMIN}"}))
    async with discord_world(simulator, session, tmp_path, policy=admins) as world:
        world.core.tokens.accounts[0].balance = Balance(180.0, 178.0, 2.0)
        stats = await world.fake.subcommand("imagine-admin", "stats", [], user_id=ADMIN)
        assert (await private_reply(world, stats)).splitlines() == [
            "Waiting: 0, generating: 0. This server today: 0 spent, - left; per member per day: -.",
            "ModelScope token#1: 178 Magicubes available of 180 (2 held by running tasks)",
        ]


async def test_a_failing_model_is_refused_with_a_button_for_one_that_works(
    simulator: Simulator, session, tmp_path: Path
) -> None:
    async with discord_world(simulator, session, tmp_path) as world:
        fake, account = world.fake, world.core.tokens.accounts[0]
        account.balance = Balance(200.0, 200.0, 0.0)  # it could pay: the model is at fault
        retired = QuotaExhausted("insufficient balance (1008)", 429)
        assert world.core.runner.health.judge("Qwen/Qwen-Image", retired, account, 2.0)
        sent = await fake.command("imagine", options=options(prompt="a kite", model="qwen"))
        said = await private_reply(world, sent)
        assert said.startswith("Qwen-Image is not working on ModelScope right now")
        refusal = next(m for m in fake.messages.values() if m["content"] == said)
        (row,) = refusal["components"]
        (offer,) = row["components"]
        assert offer["label"].startswith("Use ") and offer["custom_id"].startswith("v1:o:")
        clicked = await fake.click(refusal, offer["custom_id"])
        await result_of(world, clicked)
        (task,) = simulator.tasks.values()
        assert (task.body["prompt"], task.body["model"] != "Qwen/Qwen-Image") == ("a kite", True)
