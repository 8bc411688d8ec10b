"""/imagine through the real python-telegram-bot against a fake Bot API on loopback."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from core.simulator import Simulator
from tests.adapters.telegram.harness import ALICE, telegram_world

pytestmark = pytest.mark.timeout(60)


async def test_a_private_imagine_goes_all_the_way(
    simulator: Simulator, session, tmp_path: Path
) -> None:
    async with telegram_world(simulator, session, tmp_path) as world:
        world.imagine("/imagine a red fox in fresh snow --seed 42")
        (photo,) = await world.api.wait_for("sendPhoto")
        status = world.api.named("sendMessage")[0]
        assert status.params["text"] == "Got it, putting it in line…"
        assert status.params["chat_id"] == str(ALICE)
        caption = photo.params["caption"]
        assert caption.startswith("a red fox in fresh snow\nModel: Tongyi-MAI/Z-Image-Turbo")
        assert "1024x1024" in caption and "seed 42" in caption
        buttons = json.loads(photo.params["reply_markup"])["inline_keyboard"][0]
        assert [b["text"] for b in buttons] == ["🔁 Reroll", "🖼 Full size", "🗑 Delete"]
        assert all(b["callback_data"].startswith("v1:") for b in buttons)
        with Image.open(io.BytesIO(photo.files["photo"])) as image:
            assert image.size == (1024, 1024)
        await world.api.wait_for("deleteMessage")
        edits = [c.params["text"] for c in world.api.named("editMessageText")]
        assert any(text.startswith("Queued: number 1 in line") for text in edits)
        assert simulator.stats.accepted == 1
