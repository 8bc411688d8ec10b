"""/imagine through the real discord.py against a fake Discord on loopback."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from core.simulator import Simulator
from tests.adapters.discord.harness import discord_world
from tests.adapters.discord.payloads import options

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
        assert embed["description"].startswith("a paper crane\nModel: ")
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
