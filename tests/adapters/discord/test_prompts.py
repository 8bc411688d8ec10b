"""/describe, the message menu "Describe image" and /imagine enhance: through the real
discord.py against the fake Discord and the simulator's chat endpoint."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from bot.simulator import Simulator
from core.jobs import JobKind
from tests.adapters.discord.fake_discord import FakeDiscord
from tests.adapters.discord.harness import BOT_TOKEN, discord_world, private_reply, result_of
from tests.adapters.discord.payloads import ALICE, BOB, options
from tests.adapters.discord.test_buttons import button

pytestmark = pytest.mark.timeout(60)


def picture(colour: str = "teal") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, "PNG")
    return buffer.getvalue()


async def answered(world: Any, sent: dict[str, Any], start: str) -> dict[str, Any]:
    """The interaction's response once it says `start`."""
    fake = world.fake
    await fake.wait_until(lambda: fake.original(sent["token"]).get("content", "").startswith(start))
    return dict(fake.original(sent["token"]))


async def test_describe_an_attachment_and_draw_one_of_its_prompts(
    simulator: Simulator, session, tmp_path: Path
) -> None:
    async with discord_world(simulator, session, tmp_path) as world:
        fake = world.fake
        upload = fake.upload("harbour.png", picture())
        given = [{"name": "image", "type": 11, "value": upload["id"]}]
        sent = await fake.command(
            "describe", options=given, resolved={"attachments": {upload["id"]: upload}}
        )
        answer = await answered(world, sent, "Prompts that would make a picture like this:")
        prompts = [line[3:] for line in answer["content"].splitlines()[1:5]]
        assert all(p.startswith("A ") for p in prompts)
        (call,) = simulator.chat.calls
        assert call.images == ("data",) and fake.base not in str(call)  # pixels, no Discord URL

        drawn = await fake.click(answer, button(answer, "🎨 Imagine 3"), user_id=BOB)
        await result_of(world, drawn)
        (task,) = simulator.tasks.values()
        assert task.body["prompt"] == prompts[2]
        (job,) = await world.core.service.history(f"discord:{BOB}")
        assert job.params.prompt == prompts[2]  # Bob pressed: Bob's image, Bob's quota


async def test_the_message_menu_describes_a_posted_picture(
    simulator: Simulator, session, tmp_path: Path
) -> None:
    async with discord_world(simulator, session, tmp_path) as world:
        fake = world.fake
        posted = fake.user_message(BOB, "look", [fake.upload("fox.png", picture("orange"))])
        sent = await fake.message_command("Describe image", posted)
        answer = await answered(world, sent, "Prompts that would make a picture like this:")
        assert len(answer["components"][0]["components"]) == 4
        words = fake.user_message(BOB, "just words", [])
        refused = await fake.message_command("Describe image", words)
        assert await private_reply(world, refused) == "That message has no image to describe."
        assert len(simulator.chat.calls) == 1


async def test_an_enhanced_prompt_is_confirmed_edited_or_kept(
    simulator: Simulator, session, tmp_path: Path
) -> None:
    async with discord_world(simulator, session, tmp_path) as world:
        fake = world.fake
        given = options(prompt="a paper boat", model="qwen", enhance=True)
        sent = await fake.command("imagine", options=given)
        shown = await answered(world, sent, "Enhanced: a paper boat, intricate detail")
        assert simulator.stats.submits == 0

        stranger = await fake.click(shown, button(shown, "✅ Generate"), user_id=BOB)
        assert (await private_reply(world, stranger)).startswith("No job")
        generated = await fake.click(shown, button(shown, "✅ Generate"))
        result = await result_of(world, generated)
        assert "(you wrote: a paper boat)" in str(result["embeds"]) + result.get("content", "")
        kept = await fake.click(shown, button(shown, "↩️ Use mine"))
        await result_of(world, kept)

        edit = await fake.click(shown, button(shown, "✏️ Edit"))
        await fake.wait_until(lambda: any(c.body.get("type") == 9 for c in fake.answers(edit)))
        modal = next(c.body["data"] for c in fake.answers(edit) if c.body["type"] == 9)
        field = modal["components"][0]["components"][0]
        assert field["value"].startswith("a paper boat, intricate detail")
        submitted = await fake.submit_modal(modal["custom_id"], {field["custom_id"]: "a tin boat"})
        await result_of(world, submitted)
        prompts = [task.body["prompt"] for task in simulator.tasks.values()]
        assert prompts[1:] == ["a paper boat", "a tin boat"]
        assert prompts[0].startswith("a paper boat, intricate detail")


async def test_settings_switch_enhancing_on(simulator: Simulator, session, tmp_path: Path) -> None:
    async with discord_world(simulator, session, tmp_path) as world:
        sent = await world.fake.command("settings", options=options(enhance=True))
        said = await private_reply(world, sent)
        assert said.endswith("Enhance my prompts: on")
        drawn = await world.fake.command("imagine", options=options(prompt="a kite"))
        await answered(world, drawn, "Enhanced: a kite")
        (job,) = await world.core.store.history(f"discord:{ALICE}", 5)
        assert (job.kind, simulator.stats.submits) == (JobKind.ENHANCE, 0)


async def test_an_enhanced_prompts_buttons_work_after_a_restart(
    simulator: Simulator, session, tmp_path: Path
) -> None:
    fake, db = FakeDiscord(BOT_TOKEN), tmp_path / "imagine.db"
    await fake.start()
    try:
        async with discord_world(simulator, session, tmp_path, fake=fake, db=db) as world:
            given = options(prompt="a glass bird", model="qwen", enhance=True)
            sent = await fake.command("imagine", options=given)
            shown = await answered(world, sent, "Enhanced: a glass bird")
        async with discord_world(simulator, session, tmp_path, fake=fake, db=db) as world:
            generated = await fake.click(shown, button(shown, "✅ Generate"))
            await result_of(world, generated)
            (task,) = simulator.tasks.values()
            assert task.body["prompt"].startswith("a glass bird, intricate detail")
    finally:
        await fake.stop()
