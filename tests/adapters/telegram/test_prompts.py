"""/describe and /imagine --enhance through the real python-telegram-bot against the fake Bot
API and the simulator's chat endpoint: the answer, its buttons (also after a restart), the
enhanced prompt confirmed, kept as typed or edited, and a prompt translated for a model that
prefers English."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.simulator import Fault
from core.jobs import JobKind, QuotaState
from tests.adapters.telegram.fake_api import BOT, FakeTelegram
from tests.adapters.telegram.harness import ALICE, BOB, BOT_TOKEN, GROUP, reply_to, telegram_world
from tests.adapters.telegram.test_groups_and_buttons import png
from tests.conftest import until

pytestmark = pytest.mark.timeout(60)


def buttons(call: Any) -> list[dict[str, str]]:
    rows = json.loads(call.params["reply_markup"])["inline_keyboard"]
    return [button for row in rows for button in row]


async def test_describe_in_reply_to_a_photo_answers_prompts_that_anyone_may_draw(
    simulator, session, tmp_path: Path
) -> None:
    async with telegram_world(simulator, session, tmp_path) as world:
        photo = world.api.photo_message(GROUP, BOB, png((0, 90, 0)))
        world.imagine("/describe@ImagineTestBot", chat=GROUP, user=ALICE, reply_to_message=photo)
        await world.api.wait_text("sendMessage", "Looking at your picture…")
        answer = await world.api.wait_text(
            "editMessageText", "Prompts that would make a picture like this:"
        )
        lines = answer.params["text"].splitlines()
        assert lines[1].startswith("1. A ") and lines[-1] == "Press a number to draw that prompt."
        labels = [b["text"] for b in buttons(answer)]
        assert labels == ["🎨 Imagine 1", "🎨 Imagine 2", "🎨 Imagine 3", "🎨 Imagine 4"]
        (call,) = simulator.chat.calls
        assert call.images == ("data",)  # the pixels, never a file URL holding the bot token

        second = buttons(answer)[1]["callback_data"]
        world.send(world.api.press(GROUP, BOB, second, int(answer.params["message_id"])))
        await world.api.wait_for("sendPhoto")
        (task,) = simulator.tasks.values()
        assert task.body["prompt"] == lines[2].removeprefix("2. ")
        (drawn,) = await world.core.service.history(f"telegram:{BOB}")
        assert drawn.user == f"telegram:{BOB}"  # charged to whoever pressed


async def test_describe_as_a_caption_answers_in_the_senders_language(
    simulator, session, tmp_path: Path
) -> None:
    async with telegram_world(simulator, session, tmp_path) as world:
        photo = world.api.photo_message(ALICE, ALICE, png((200, 40, 0)), "/describe", "zh")
        world.send({"message": photo})
        answer = await world.api.wait_text("editMessageText", "可以画出类似图片的提示词：")
        lines = answer.params["text"].splitlines()
        assert lines[1].startswith("1. A ") and lines[2] == "    （译）" + lines[1][3:]
        assert buttons(answer)[0]["text"] == "🎨 生成 1"


async def test_describe_without_a_photo_says_how(simulator, session, tmp_path: Path) -> None:
    async with telegram_world(simulator, session, tmp_path) as world:
        said = await reply_to(world, "/describe")
        assert said == (
            "Reply to a photo with /describe, or send a photo with /describe as its caption."
        )
        assert simulator.chat.calls == []


async def test_a_describe_that_fails_says_why_and_charges_nothing(
    simulator, session, tmp_path: Path
) -> None:
    async with telegram_world(simulator, session, tmp_path) as world:
        simulator.faults.add(Fault("chat", "status", status=500, times=10))
        world.send({"message": world.api.photo_message(ALICE, ALICE, png((1, 2, 3)), "/describe")})
        said = await world.api.wait_text("editMessageText", "ModelScope had a temporary problem")
        assert said.params["text"].startswith("ModelScope had a temporary problem (500)")
        (job,) = await world.core.store.history(f"telegram:{ALICE}", 5)
        assert (job.kind, job.quota_state) == (JobKind.DESCRIBE, QuotaState.REFUNDED)


async def test_the_buttons_under_a_describe_answer_work_after_a_restart(
    simulator, session, tmp_path: Path
) -> None:
    api, db = FakeTelegram(BOT_TOKEN), tmp_path / "imagine.db"
    await api.start()
    try:
        async with telegram_world(simulator, session, tmp_path, api=api, db=db) as world:
            world.send({"message": api.photo_message(ALICE, ALICE, png((9, 9, 9)), "/describe")})
            answer = await api.wait_text("editMessageText", "Prompts that would make")
        async with telegram_world(simulator, session, tmp_path, api=api, db=db) as world:
            first = buttons(answer)[0]["callback_data"]
            world.send(api.press(ALICE, ALICE, first, int(answer.params["message_id"])))
            await api.wait_for("sendPhoto")
            (task,) = simulator.tasks.values()
            assert task.body["prompt"] == answer.params["text"].splitlines()[1][3:]
    finally:
        await api.stop()


async def test_an_enhanced_prompt_waits_for_the_users_choice(
    simulator, session, tmp_path: Path
) -> None:
    async with telegram_world(simulator, session, tmp_path) as world:
        world.imagine("/imagine a red fox --enhance --model qwen")
        shown = await world.api.wait_text("editMessageText", "Enhanced: a red fox, intricate")
        assert "Yours: a red fox" in shown.params["text"]
        assert simulator.stats.submits == 0  # nothing drawn, no image charged
        generate, mine, edit = buttons(shown)
        assert [generate["text"], mine["text"], edit["text"]] == [
            "✅ Generate",
            "↩️ Use mine",
            "✏️ Edit",
        ]
        status = int(shown.params["message_id"])
        world.send(world.api.press(ALICE, ALICE, generate["callback_data"], status))
        (photo,) = await world.api.wait_for("sendPhoto")
        assert photo.params["caption"].startswith("a red fox, intricate detail")
        assert "(you wrote: a red fox)" in photo.params["caption"]

        world.send(world.api.press(ALICE, BOB, mine["callback_data"], status))  # not Bob's
        refused = await world.api.wait_for("answerCallbackQuery", 2)
        assert refused[-1].params.get("show_alert") in ("True", "true", True)
        world.send(world.api.press(ALICE, ALICE, mine["callback_data"], status))
        await world.api.wait_for("sendPhoto", 2)

        world.send(world.api.press(ALICE, ALICE, edit["callback_data"], status))
        question = await world.api.wait_text("sendMessage", f"User{ALICE}, reply to this message")
        hint = json.loads(question.params["reply_markup"])["input_field_placeholder"]
        assert hint.startswith("a red fox, intricate")
        asked = {"message_id": 9001, "date": 0, "chat": {"id": ALICE, "type": "private"}}
        asked |= {"from": BOT, "text": question.params["text"]}
        world.send(world.api.command(ALICE, ALICE, "a red fox, ink wash", reply_to_message=asked))
        await world.api.wait_for("sendPhoto", 3)
        prompts = [task.body["prompt"] for task in simulator.tasks.values()]
        assert prompts[1:] == ["a red fox", "a red fox, ink wash"]


async def test_settings_turn_enhancing_on_for_every_prompt(
    simulator, session, tmp_path: Path
) -> None:
    async with telegram_world(simulator, session, tmp_path) as world:
        world.imagine("/settings")
        (menu,) = await world.api.wait_for("sendMessage")
        switch = buttons(menu)[-1]
        assert switch["text"] == "Enhance my prompts: off"
        world.send(world.api.press(ALICE, ALICE, switch["callback_data"], 1))
        saved = await world.api.wait_for("answerCallbackQuery")
        assert saved[0].params["text"].startswith("Saved: from now on your prompts are enhanced")
        world.imagine("/imagine a quiet harbour")
        await world.api.wait_text("editMessageText", "Enhanced: a quiet harbour")
        (job,) = await world.core.store.history(f"telegram:{ALICE}", 5)
        assert job.kind is JobKind.ENHANCE


async def test_a_chinese_prompt_is_translated_for_flux_and_the_caption_shows_both(
    simulator, session, tmp_path: Path
) -> None:
    async with telegram_world(simulator, session, tmp_path) as world:
        world.imagine("/imagine 一只猫在月亮下 --model majicflus")
        (photo,) = await world.api.wait_for("sendPhoto")
        caption = photo.params["caption"]
        assert caption.startswith("a cat in moon under\n(you wrote: 一只猫在月亮下)\nModel: ")
        world.imagine("/imagine 一只猫在月亮下 --model qwen")
        await world.api.wait_for("sendPhoto", 2)
        second = list(simulator.tasks.values())[1]
        assert second.body["prompt"] == "一只猫在月亮下"  # Qwen-Image reads Chinese
        await until(lambda: len(simulator.chat.calls) == 1)
