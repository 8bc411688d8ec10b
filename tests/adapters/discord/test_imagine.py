"""/imagine through the real discord.py against a fake Discord on loopback."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from adapters.discord.config import Places
from bot.simulator import Fault as SimFault
from bot.simulator import Simulator, Timing
from core.jobs.policy import Policy
from core.jobs.quotas import QuotaLimits
from tests.adapters.discord.harness import discord_world, private_reply, result_of
from tests.adapters.discord.payloads import ALICE, CHANNEL, OTHER_CHANNEL, options

pytestmark = pytest.mark.timeout(60)


async def test_imagine_with_every_option_ends_in_an_image_with_buttons(
    simulator: Simulator, session, tmp_path: Path
) -> None:
    async with discord_world(simulator, session, tmp_path) as world:
        fake = world.fake
        given = options(
            prompt="a paper crane",
            negative_prompt="blurry, dark",
            size="768 x 512",
            seed=7,
            steps=20,
            guidance=5.0,
            model="flux",
            lora="a/ink",
            lora_weight=1.0,
            count=1,
        )
        sent = await fake.command("imagine", options=given)
        await fake.wait_until(lambda: any(c.files for c in fake.answers(sent)))
        first = fake.answers(sent)[0]
        assert first.route == "callback" and first.body == {"type": 5}  # deferred first
        (task,) = simulator.tasks.values()
        assert task.body == {
            "model": "black-forest-labs/FLUX.1-Krea-dev",
            "prompt": "a paper crane",
            "negative_prompt": "blurry, dark",
            "size": "768x512",
            "seed": 7,
            "steps": 20,
            "guidance": 5.0,
            "loras": "a/ink",
        }
        result = fake.original(sent["token"])
        (embed,) = result["embeds"]
        assert embed["description"].startswith("a paper crane\nModel: FLUX.1 Krea")
        assert "768x512" in embed["description"] and "seed 7" in embed["description"]
        (attachment,) = result["attachments"]
        assert embed["image"]["url"] == f"attachment://{attachment['filename']}"
        buttons = [b for row in result["components"] for b in row["components"]]
        assert [b["label"] for b in buttons] == ["🔁 Reroll", "✏️ Edit", "ℹ️ Details", "🗑 Delete"]
        assert all(b["custom_id"].startswith("v1:") for b in buttons)
        (delivery,) = fake.deliveries()
        with Image.open(io.BytesIO(next(iter(delivery.files.values())))) as image:
            assert image.size == (768, 512)
        statuses = [c.body.get("content") for c in fake.answers(sent) if c.route == "webhook_edit"]
        assert any(str(s).startswith("Queued: number 1 in line") for s in statuses)


async def test_options_refused_before_anything_is_shown_or_sent(
    simulator: Simulator, session, tmp_path: Path
) -> None:
    async with discord_world(simulator, session, tmp_path) as world:
        fake = world.fake
        sent = await fake.command("imagine", options=options(prompt="a fox", lora_weight=0.5))
        reply = await private_reply(world, sent)
        assert reply == "Invalid lora_weight: 0.5. Allowed: only together with lora."
        assert fake.answers(sent)[0].body == {"type": 5, "data": {"flags": 64}}
        too_big = await fake.command("imagine", options=options(prompt="a fox", size="5000x5000"))
        reply = await private_reply(world, too_big)
        assert reply.startswith("Invalid size: 5000x5000. Allowed:")
        routes = [c.route for c in fake.answers(too_big)]
        assert routes == [
            "callback",
            "webhook_delete",
            "webhook_send",
        ]  # the public "thinking" goes
        assert simulator.stats.submits == 0
        assert await world.core.service.history("discord:830000000000000001") == []


async def test_autocomplete_answers_from_the_catalog(
    simulator: Simulator, session, tmp_path: Path
) -> None:
    async with discord_world(simulator, session, tmp_path) as world:
        fake = world.fake
        await fake.autocomplete("imagine", "model", "flux")
        await fake.autocomplete("imagine", "size", "800 x 600")
        await fake.autocomplete("imagine", "lora", "")
        answers = await fake.wait_for("callback", 3)
        assert all(a.body["type"] == 8 for a in answers)
        by_first = [a.body["data"]["choices"] for a in answers]
        models = by_first[0]
        assert models and all("FLUX" in c["name"] for c in models)
        assert by_first[1][0] == {"name": "800x600", "value": "800x600"}
        assert len(by_first[2]) <= 25


async def test_an_attachment_is_edited_as_a_data_uri(
    simulator: Simulator, session, tmp_path: Path
) -> None:
    async with discord_world(simulator, session, tmp_path) as world:
        fake = world.fake
        picture = io.BytesIO()
        Image.new("RGB", (64, 64), "red").save(picture, "PNG")
        upload = fake.upload("cat.png", picture.getvalue())
        given = [
            *options(prompt="make it blue", model="qwen-edit"),
            {"name": "image", "type": 11, "value": upload["id"]},
        ]
        sent = await fake.command(
            "imagine", options=given, resolved={"attachments": {upload["id"]: upload}}
        )
        await result_of(world, sent)
        (task,) = simulator.tasks.values()
        assert task.body["image_url"].startswith("data:image/png;base64,")
        assert fake.base not in str(task.body)


async def test_count_gives_one_message_with_every_image(
    simulator: Simulator, session, tmp_path: Path
) -> None:
    async with discord_world(simulator, session, tmp_path) as world:
        sent = await world.fake.command("imagine", options=options(prompt="tiles", count=3))
        result = await result_of(world, sent)
        assert len(result["attachments"]) == 3 and len(result["embeds"]) == 3
        rows = [[b["label"] for b in row["components"]] for row in result["components"]]
        assert rows[0] == ["🔁 Reroll 1", "✏️ Edit 1", "ℹ️ Details 1"]
        assert rows[-1] == ["🗑 Delete"] and len(rows) == 4
        assert len(world.fake.deliveries()) == 1 and simulator.stats.accepted == 3


async def test_a_batch_says_which_image_failed_and_why(
    simulator: Simulator, session, tmp_path: Path
) -> None:
    simulator.faults.add(SimFault("task", "fail", message="inappropriate content"))
    async with discord_world(simulator, session, tmp_path) as world:
        sent = await world.fake.command("imagine", options=options(prompt="tiles", count=3))
        result = await result_of(world, sent)
        assert len(result["attachments"]) == 2 and len(result["embeds"]) == 2
        await world.core.scheduler.wait_idle()
        history = await world.core.service.history(f"discord:{ALICE}")
        (failed,) = [job for job in history if job.error_key]
        assert result["content"] == (
            f"2 of 3 images made.\nImage {failed.batch_index + 1} (seed {failed.params.seed}): "
            "ModelScope refused to make this image: inappropriate content"
        )


async def test_an_upload_limit_smaller_than_the_image_is_respected(
    simulator: Simulator, session, tmp_path: Path
) -> None:
    async with discord_world(simulator, session, tmp_path) as world:
        fake = world.fake
        fake.upload_limit = 200_000  # the fake refuses anything larger with a 413
        sent = await fake.command(
            "imagine", options=options(prompt="a busy street", size="1328x1328"), size_limit=200_000
        )
        result = await result_of(world, sent)
        (delivery,) = fake.deliveries()
        (data,) = delivery.files.values()
        assert len(data) <= 200_000
        assert result["attachments"][0]["size"] == len(data)


async def test_quota_and_queue_limits_are_private_replies(
    simulator: Simulator, session, tmp_path: Path
) -> None:
    policy = Policy(limits=QuotaLimits(user_daily=1.0, max_waiting=5))
    async with discord_world(simulator, session, tmp_path, policy=policy) as world:
        fake = world.fake
        first = await fake.command("imagine", options=options(prompt="one"))
        await result_of(world, first)
        second = await fake.command("imagine", options=options(prompt="two"))
        assert (await private_reply(world, second)).startswith("Your daily quota cannot cover")
    policy = Policy(limits=QuotaLimits(max_waiting=1))
    simulator.timing = Timing(run_mean=5.0)  # the first job runs while the next ones arrive
    async with discord_world(simulator, session, tmp_path, policy=policy) as world:
        await world.fake.command("imagine", options=options(prompt="runs"))
        await world.fake.command("imagine", options=options(prompt="waits"))
        full = await world.fake.command("imagine", options=options(prompt="refused"))
        assert (await private_reply(world, full)).startswith(
            "Your requests waiting are at the limit"
        )


async def test_places_outside_the_allow_lists_are_refused(
    simulator: Simulator, session, tmp_path: Path
) -> None:
    places = Places(channels=frozenset({CHANNEL}), dms=False)
    async with discord_world(simulator, session, tmp_path, places=places) as world:
        fake = world.fake
        elsewhere = await fake.command(
            "imagine", options=options(prompt="x"), channel_id=OTHER_CHANNEL
        )
        assert await private_reply(world, elsewhere) == "The bot is not enabled here."
        dm = await fake.command("imagine", options=options(prompt="x"), in_guild=False)
        assert await private_reply(world, dm) == "The bot is not enabled here."
        allowed = await fake.command("imagine", options=options(prompt="x"))
        await result_of(world, allowed)
        assert simulator.stats.accepted == 1


async def test_a_chinese_user_gets_chinese_words(
    simulator: Simulator, session, tmp_path: Path
) -> None:
    async with discord_world(simulator, session, tmp_path) as world:
        sent = await world.fake.command("imagine", options=options(prompt="狐狸"), locale="zh-CN")
        result = await result_of(world, sent)
        labels = [b["label"] for row in result["components"] for b in row["components"]]
        assert labels[0] == "🔁 重新生成"
        imagine = next(c for c in world.fake.synced if c["name"] == "imagine")
        assert imagine["name_localizations"]["zh-CN"] == "画图"
        assert imagine["description_localizations"]["zh-CN"] == "根据描述画一张图"
