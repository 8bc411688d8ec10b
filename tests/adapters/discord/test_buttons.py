"""The result's buttons: reroll, edit (a modal), details, full size and delete, each through
discord.py."""

from __future__ import annotations

import copy
import io
from pathlib import Path

import pytest
from PIL import Image

from bot.simulator import Simulator
from tests.adapters.discord.fake_discord import FakeDiscord
from tests.adapters.discord.harness import BOT_TOKEN, discord_world, private_reply, result_of
from tests.adapters.discord.payloads import ADMIN, ALICE, BOB, MANAGE_GUILD, options

pytestmark = pytest.mark.timeout(60)


def button(message: dict[str, object], label_start: str) -> str:
    rows = message["components"]
    assert isinstance(rows, list)
    for row in rows:
        for item in row["components"]:
            if item["label"].startswith(label_start):
                return str(item["custom_id"])
    raise AssertionError(f"no button {label_start!r}")


async def test_reroll_draws_again_with_a_new_seed(
    simulator: Simulator, session, tmp_path: Path
) -> None:
    async with discord_world(simulator, session, tmp_path) as world:
        sent = await world.fake.command("imagine", options=options(prompt="a fox", seed=5))
        message = await result_of(world, sent)
        again = await world.fake.click(message, button(message, "🔁"))
        await result_of(world, again)
        first, second = (t.body for t in simulator.tasks.values())
        assert first["prompt"] == second["prompt"] == "a fox"
        assert first["seed"] == 5 and second["seed"] != 5


async def test_edit_opens_a_modal_and_draws_the_new_prompt(
    simulator: Simulator, session, tmp_path: Path
) -> None:
    async with discord_world(simulator, session, tmp_path) as world:
        fake = world.fake
        sent = await fake.command("imagine", options=options(prompt="a red fox"))
        message = await result_of(world, sent)
        clicked = await fake.click(message, button(message, "✏️"))
        await fake.wait_until(lambda: any(c.body.get("type") == 9 for c in fake.answers(clicked)))
        modal = next(c.body["data"] for c in fake.answers(clicked) if c.body["type"] == 9)
        field = modal["components"][0]["components"][0]
        assert field["value"] == "a red fox" and modal["title"] == "Edit the prompt"
        submitted = await fake.submit_modal(modal["custom_id"], {field["custom_id"]: "a blue fox"})
        await result_of(world, submitted)
        assert [t.body["prompt"] for t in simulator.tasks.values()] == ["a red fox", "a blue fox"]


async def test_details_are_shown_to_the_presser_alone(
    simulator: Simulator, session, tmp_path: Path
) -> None:
    async with discord_world(simulator, session, tmp_path) as world:
        sent = await world.fake.command("imagine", options=options(prompt="a heron", seed=99))
        message = await result_of(world, sent)
        clicked = await world.fake.click(message, button(message, "ℹ️"), user_id=BOB)
        details = await private_reply(world, clicked)
        assert "\nPrompt: a heron\n" in details and "\nSeed: 99\n" in details


async def test_delete_is_for_the_requester_and_admins(
    simulator: Simulator, session, tmp_path: Path
) -> None:
    async with discord_world(simulator, session, tmp_path) as world:
        fake = world.fake
        sent = await fake.command("imagine", options=options(prompt="a moth"))
        message = await result_of(world, sent)
        delete = button(message, "🗑")
        stranger = await fake.click(message, delete, user_id=BOB)
        refusal = await private_reply(world, stranger)
        assert refusal == "Only the person who asked, or an admin, can delete this."
        assert int(message["id"]) in fake.messages
        await fake.click(message, delete, user_id=ADMIN, permissions=MANAGE_GUILD)
        await fake.wait_until(lambda: int(message["id"]) not in fake.messages)
        again = await fake.command("imagine", options=options(prompt="another moth"))
        mine = await result_of(world, again)
        await fake.click(mine, button(mine, "🗑"))
        await fake.wait_until(lambda: int(mine["id"]) not in fake.messages)


async def test_buttons_posted_by_older_versions_still_work(
    simulator: Simulator, session, tmp_path: Path
) -> None:
    async with discord_world(simulator, session, tmp_path) as world:
        fake = world.fake
        sent = await fake.command("imagine", options=options(prompt="an old lantern"))
        message = await result_of(world, sent)
        job_id = button(message, "🔁").rpartition(":")[2]
        assert button(message, "🔁") == f"v1:r:{job_id}"  # one scheme with Telegram's
        # The same message as an older version posted it: long action names, and one
        # button of a kind this version no longer has.
        old = with_ids(message, {f"v1:r:{job_id}": f"v1:reroll:{job_id}"})
        old = with_ids(old, {f"v1:i:{job_id}": f"v1:zz:{job_id}"})
        await fake.click(old, f"v1:reroll:{job_id}")
        await fake.wait_until(lambda: len(simulator.tasks) == 2)
        gone = await fake.click(old, f"v1:zz:{job_id}", user_id=BOB)
        assert await private_reply(world, gone) == "This button no longer works."


def with_ids(message: dict[str, object], renamed: dict[str, str]) -> dict[str, object]:
    copied = copy.deepcopy(message)
    rows = copied["components"]
    assert isinstance(rows, list)
    for row in rows:
        for item in row["components"]:
            item["custom_id"] = renamed.get(item["custom_id"], item["custom_id"])
    return copied


async def test_someone_elses_reroll_is_answered_to_the_presser_alone(
    simulator: Simulator, session, tmp_path: Path
) -> None:
    async with discord_world(simulator, session, tmp_path) as world:
        fake = world.fake
        sent = await fake.command("imagine", options=options(prompt="a kite"))
        message = await result_of(world, sent)
        clicked = await fake.click(message, button(message, "🔁"), user_id=BOB)
        assert (await private_reply(world, clicked)).startswith("No job")
        callbacks = [c for c in fake.answers(clicked) if c.route == "callback"]
        assert callbacks and all(c.body["data"]["flags"] == 64 for c in callbacks)  # private
        assert simulator.stats.submits == 1


async def test_an_edit_form_opened_before_a_restart_works_after_it(
    simulator: Simulator, session, tmp_path: Path
) -> None:
    fake = FakeDiscord(BOT_TOKEN)
    await fake.start()
    db = tmp_path / "jobs.db"
    try:
        async with discord_world(simulator, session, tmp_path, db=db, fake=fake) as world:
            sent = await fake.command("imagine", options=options(prompt="a red fox"))
            message = await result_of(world, sent)
            clicked = await fake.click(message, button(message, "✏️"))
            await fake.wait_until(
                lambda: any(c.body.get("type") == 9 for c in fake.answers(clicked))
            )
            modal = next(c.body["data"] for c in fake.answers(clicked) if c.body["type"] == 9)
        async with discord_world(simulator, session, tmp_path, db=db, fake=fake) as world:
            field = modal["components"][0]["components"][0]
            submitted = await fake.submit_modal(
                modal["custom_id"], {field["custom_id"]: "a blue fox"}
            )
            await result_of(world, submitted)
        assert [t.body["prompt"] for t in simulator.tasks.values()] == ["a red fox", "a blue fox"]
    finally:
        await fake.stop()


async def test_a_shrunk_image_says_so_and_full_size_sends_the_original_pixels(
    simulator: Simulator, session, tmp_path: Path
) -> None:
    limit = 2_000_000  # the simulator's 1328x1328 PNG is ~3 MB, its lossless WebP ~1.8 MB
    async with discord_world(simulator, session, tmp_path) as world:
        fake = world.fake
        fake.upload_limit = limit
        options_ = options(prompt="a busy street", size="1328x1328")
        sent = await fake.command("imagine", options=options_, size_limit=limit)
        message = await result_of(world, sent)
        (embed,) = message["embeds"]
        assert embed["footer"]["text"].startswith("Shown at ")
        assert embed["footer"]["text"].endswith("press Full size for the original.")
        clicked = await fake.click(message, button(message, "🖼 Full size"), size_limit=limit)

        def original_file() -> bytes | None:
            for call in fake.answers(clicked):
                if call.route == "webhook_send" and call.files:
                    return next(iter(call.files.values()))
            return None

        await fake.wait_until(lambda: original_file() is not None)
        sent_back = original_file()
        assert sent_back is not None and len(sent_back) <= limit
        (job,) = await world.core.service.history(f"discord:{ALICE}")
        made = Path(str(job.result_path)).read_bytes()
        with Image.open(io.BytesIO(sent_back)) as back, Image.open(io.BytesIO(made)) as original:
            assert back.format == "WEBP" and back.size == original.size == (1328, 1328)
            assert back.convert("RGB").tobytes() == original.convert("RGB").tobytes()


async def test_full_size_too_large_even_as_webp_is_said(
    simulator: Simulator, session, tmp_path: Path
) -> None:
    async with discord_world(simulator, session, tmp_path) as world:
        fake = world.fake
        fake.upload_limit = 200_000
        sent = await fake.command("imagine", options=options(prompt="x"), size_limit=200_000)
        message = await result_of(world, sent)
        clicked = await fake.click(message, button(message, "🖼"), size_limit=200_000)
        said = await private_reply(world, clicked)
        assert said.startswith("The original is 1.") and "(0.2 MB)" in said
