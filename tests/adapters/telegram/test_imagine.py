"""/imagine through the real python-telegram-bot against a fake Bot API on loopback."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from bot.simulator import Fault as SimFault
from bot.simulator import Simulator
from core.errors import QuotaExhausted
from core.images.processing import read_png_text
from core.modelscope import Balance
from tests.adapters.telegram.harness import ALICE, reply_to, telegram_world
from tests.conftest import until

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
        assert caption.startswith("a red fox in fresh snow\nModel: Z-Image Turbo ·")  # its name
        assert "1024x1024" in caption and "seed 42" in caption
        rows = json.loads(photo.params["reply_markup"])["inline_keyboard"]
        buttons = [b for row in rows for b in row]
        assert [b["text"] for b in buttons] == [
            "🔁 Reroll",
            "✏️ Edit",
            "ℹ️ Details",
            "🖼 Full size",
            "🗑 Delete",
        ]
        assert all(b["callback_data"].startswith("v1:") for b in buttons)
        with Image.open(io.BytesIO(photo.files["photo"])) as image:
            assert image.size == (1024, 1024)
        await world.api.wait_for("deleteMessage")
        edits = [c.params["text"] for c in world.api.named("editMessageText")]
        assert any(text.startswith("Queued: number 1 in line") for text in edits)
        assert simulator.stats.accepted == 1


async def test_every_flag_reaches_modelscope(simulator, session, tmp_path: Path) -> None:
    async with telegram_world(simulator, session, tmp_path) as world:
        world.imagine(
            "/img a paper crane —no blurry, dark --size 768x512 --seed 7 --steps 20 "
            "--guidance 5 --model flux --lora a/ink:0.6 --lora b/paper"
        )
        await world.api.wait_for("sendPhoto")
        (task,) = simulator.tasks.values()
        assert task.body == {
            "model": "black-forest-labs/FLUX.1-Krea-dev",
            "prompt": "a paper crane",
            "negative_prompt": "blurry, dark",
            "size": "768x512",
            "seed": 7,
            "steps": 20,
            "guidance": 5.0,
            "loras": {"a/ink": 0.6, "b/paper": 0.4},
        }


async def test_several_images_arrive_as_one_album(simulator, session, tmp_path: Path) -> None:
    async with telegram_world(simulator, session, tmp_path) as world:
        world.imagine("/imagine a kite --ar 16:9 --n 3 --seed 500")
        (album,) = await world.api.wait_for("sendMediaGroup")
        media = json.loads(album.params["media"])
        assert len(media) == 3 and len(album.files) == 3
        assert media[0]["caption"].startswith("a kite") and "seed 500" in media[0]["caption"]
        seeds = [read_png_text(photo)["seed"] for photo in album.files.values()]
        assert seeds == ["500", "501", "502"]  # the request's order, whatever ended first
        assert world.api.named("sendPhoto") == []
        await world.api.wait_for("deleteMessage")  # the last step, after the buttons
        buttons = [c for c in world.api.named("sendMessage") if "reply_markup" in c.params]
        rows = json.loads(buttons[0].params["reply_markup"])["inline_keyboard"]
        assert len(rows) == 3 and [b["text"] for b in rows[2]] == [
            "🔁 3",
            "✏️ 3",
            "ℹ️ 3",
            "🖼 3",
            "🗑 3",
        ]
        assert {t.body["size"] for t in simulator.tasks.values()} == {"1360x768"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/imagine a fox --steps", "Invalid flag: --steps"),
        ("/imagine a fox --colour red", "Invalid flag: --colour"),
        ("/imagine a fox --seed many", "Invalid seed: many"),
    ],
)
async def test_bad_flags_get_a_usage_hint_and_nothing_is_sent(
    simulator, session, tmp_path, text: str, expected: str
) -> None:
    async with telegram_world(simulator, session, tmp_path) as world:
        world.imagine(text)
        (reply,) = await world.api.wait_for("sendMessage")
        assert reply.params["text"].startswith(expected)
        assert "Usage: /imagine PROMPT" in reply.params["text"]
        assert simulator.stats.submits == 0


async def test_an_out_of_range_value_names_the_range(simulator, session, tmp_path) -> None:
    async with telegram_world(simulator, session, tmp_path) as world:
        world.imagine("/imagine a fox --steps 0", language="zh-hans")
        (edit,) = await world.api.wait_for("editMessageText")
        assert edit.params["text"] == "参数 steps 无效：0。允许的值：1..100。"
        assert simulator.stats.submits == 0


async def test_a_bare_command_shows_help(simulator, session, tmp_path: Path) -> None:
    async with telegram_world(simulator, session, tmp_path) as world:
        world.imagine("/imagine")
        (reply,) = await world.api.wait_for("sendMessage")
        assert reply.params["text"].startswith("/imagine PROMPT [flags]")


async def test_a_batch_with_a_failure_still_delivers_what_it_made(
    simulator, session, tmp_path
) -> None:
    async with telegram_world(simulator, session, tmp_path) as world:
        world.imagine("/imagine a kite --n 2")
        await world.api.wait_text("editMessageText", "Generating…")
        simulator.faults.add(SimFault("task", "fail", message="inappropriate content"))
        (photo,) = await world.api.wait_for("sendPhoto")  # the one image, not a 1-item album
        assert photo.params["caption"].startswith("a kite")
        await world.api.wait_text("editMessageText", "1 of 2 images made.\nImage ")
        await world.core.scheduler.wait_idle()
        assert world.api.named("sendMediaGroup") == []
        assert simulator.stats.accepted == 2


async def test_a_batchs_last_status_says_what_was_made_and_what_failed(
    simulator, session, tmp_path
) -> None:
    simulator.faults.add(SimFault("task", "fail", message="inappropriate content"))
    async with telegram_world(simulator, session, tmp_path) as world:
        world.imagine("/imagine a kite --n 3 --seed 10")
        await world.api.wait_for("sendMediaGroup")
        await world.core.scheduler.wait_idle()
        (failed,) = [
            j for j in await world.core.service.history(f"telegram:{ALICE}") if j.error_key
        ]
        edits = world.api.named("editMessageText")  # all of the one status message
        assert len({c.params["message_id"] for c in edits}) == 1
        number, seed = failed.batch_index + 1, failed.params.seed
        assert edits[-1].params["text"] == (
            "2 of 3 images made.\n"
            f"Image {number} (seed {seed}): ModelScope refused to make this image: "
            "inappropriate content"
        )
        assert world.api.named("deleteMessage") == []  # the status stays: it says what is missing


async def test_a_model_modelscope_is_failing_is_said_with_one_that_works(
    simulator: Simulator, session, tmp_path: Path
) -> None:
    async with telegram_world(simulator, session, tmp_path) as world:
        account = world.core.tokens.accounts[0]
        account.balance = Balance(200.0, 200.0, 0.0)  # it could pay: the model is at fault
        retired = QuotaExhausted("insufficient balance (1008)", 429)
        assert world.core.runner.health.judge("Qwen/Qwen-Image", retired, account, 2.0)
        world.imagine("/imagine a lighthouse --model qwen")
        said = await world.api.wait_text("editMessageText", "Qwen-Image is not working")
        assert "works and can make this one: ask again with it as the model." in said.params["text"]
        models = await reply_to(world, "/models")
        (marked,) = [line for line in models.splitlines() if "(not working right now)" in line]
        assert marked.startswith("Qwen-Image (qwen)")
        assert simulator.stats.submits == 0

        (row,) = json.loads(said.params["reply_markup"])["inline_keyboard"]
        (offer,) = row  # one button: the working model, never switched without the user
        assert offer["text"].startswith("Use ") and offer["callback_data"].startswith("v1:o:")
        status = int(said.params["message_id"])
        world.send(world.api.press(ALICE, ALICE, offer["callback_data"], status))
        await until(lambda: bool(simulator.tasks))
        (task,) = simulator.tasks.values()
        assert task.body["prompt"] == "a lighthouse"
        assert task.body["model"] != "Qwen/Qwen-Image"
        assert world.core.service.catalog.find_model(task.body["model"]) is not None

        world.send(world.api.press(ALICE, ALICE, offer["callback_data"], status))
        answered = await world.api.wait_for("answerCallbackQuery", 2)
        assert answered[-1].params["text"] == "This button no longer works."  # once only
    assert simulator.stats.submits == 1
