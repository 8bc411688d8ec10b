"""Groups, photo editing and every button, through the real python-telegram-bot."""

from __future__ import annotations

import asyncio
import base64
import io
import json
from pathlib import Path

import pytest
from PIL import Image
from telegram import Message

from adapters.telegram.edits import _asked_job
from core.jobs.job import JobState
from tests.adapters.telegram.fake_api import BOT
from tests.adapters.telegram.harness import ALICE, BOB, GROUP, reply_to, telegram_world

pytestmark = pytest.mark.timeout(60)


def wire(action: str, argument: str) -> str:
    """A button's callback data as it travels (and as buttons already in chats carry it)."""
    return f"v1:{action}:{argument}"


def png(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), colour).save(buffer, "PNG")
    return buffer.getvalue()


async def test_in_a_group_only_our_commands_count(simulator, session, tmp_path: Path) -> None:
    async with telegram_world(simulator, session, tmp_path) as world:
        world.imagine("/imagine@OtherBot a cat", chat=GROUP, user=ALICE)
        world.imagine("/imagine@ImagineTestBot a dog", chat=GROUP, user=ALICE)
        (photo,) = await world.api.wait_for("sendPhoto")
        assert photo.params["chat_id"] == str(GROUP)
        assert [t.body["prompt"] for t in simulator.tasks.values()] == ["a dog"]
        (job,) = await world.core.service.history(f"telegram:{ALICE}")
        assert job.chat == f"telegram:{GROUP}" and job.is_group


async def test_the_groups_budget_applies(simulator, session, tmp_path: Path) -> None:
    async with telegram_world(simulator, session, tmp_path) as world:
        await world.core.rules.set_chat_settings(f"telegram:{GROUP}", daily_budget=1)
        world.imagine("/imagine a dog", chat=GROUP, user=ALICE)
        await world.api.wait_for("sendPhoto")
        world.imagine("/imagine a cat", chat=GROUP, user=BOB)
        refusal = await world.api.wait_text("editMessageText", "The daily quota shared here")
        assert "1 of 1 used" in refusal.params["text"]
        assert simulator.stats.accepted == 1


async def test_a_member_limit_counts_only_what_was_made_in_that_group(
    simulator, session, tmp_path: Path
) -> None:
    async with telegram_world(simulator, session, tmp_path) as world:
        world.api.admins.add((GROUP, BOB))
        assert "1 cost units" in await reply_to(world, "/memberlimit 1", chat=GROUP, user=BOB)
        world.imagine("/imagine a dog", chat=ALICE, user=ALICE)  # in private first
        await world.api.wait_for("sendPhoto")
        world.imagine("/imagine a cat", chat=GROUP, user=ALICE)
        await world.api.wait_for("sendPhoto", 2)  # the group counts the group only
        quota = await reply_to(world, "/quota", chat=GROUP, user=ALICE)
        assert "You: 2 used today, 18 left\nYou, here: 1 used today, 0 left" in quota
        world.imagine("/imagine a bird", chat=GROUP, user=ALICE)
        await world.api.wait_text("editMessageText", "Your daily quota here cannot cover this")


async def test_a_captioned_photo_is_edited_as_a_data_uri(simulator, session, tmp_path) -> None:
    async with telegram_world(simulator, session, tmp_path) as world:
        original = png((200, 10, 10))
        world.send(
            {"message": world.api.photo_message(ALICE, ALICE, original, "/imagine make it blue")}
        )
        await world.api.wait_for("sendPhoto")
        (task,) = simulator.tasks.values()
        assert task.body["model"] == "Qwen/Qwen-Image-Edit"
        prefix, encoded = task.body["image_url"].split(",", 1)
        assert prefix == "data:image/png;base64" and base64.b64decode(encoded) == original
        assert "TEST-telegram-token" not in task.body["image_url"]


async def test_a_photo_that_is_no_image_is_refused_in_words(simulator, session, tmp_path) -> None:
    async with telegram_world(simulator, session, tmp_path) as world:
        garbage = b"\x89PNG\r\n\x1a\n" + b"\0" * 200
        world.send(
            {"message": world.api.photo_message(ALICE, ALICE, garbage, "/imagine make it blue")}
        )
        refusal = await world.api.wait_text("sendMessage", "That picture cannot be used")
        assert "not an image we can read" in refusal.params["text"]
        assert simulator.stats.submits == 0 and world.api.named("sendPhoto") == []


async def test_replying_to_a_photo_edits_it(simulator, session, tmp_path: Path) -> None:
    async with telegram_world(simulator, session, tmp_path) as world:
        photo = world.api.photo_message(GROUP, BOB, png((0, 90, 0)))
        world.imagine(
            "/imagine@ImagineTestBot add a moon --model kontext",
            chat=GROUP,
            user=ALICE,
            reply_to_message=photo,
        )
        await world.api.wait_for("sendPhoto")
        (task,) = simulator.tasks.values()
        assert task.body["model"] == "black-forest-labs/FLUX.1-Kontext-dev"
        assert task.body["image_url"].startswith("data:image/png;base64,")


async def first_result(world) -> tuple[str, int]:  # type: ignore[no-untyped-def]
    await world.api.wait_for("sendPhoto")
    (job,) = await world.core.service.history(f"telegram:{ALICE}")
    return job.id, 4242  # the fake does not check which message a button sits on


async def test_reroll_makes_a_new_image_with_a_new_seed(simulator, session, tmp_path) -> None:
    async with telegram_world(simulator, session, tmp_path) as world:
        world.imagine("/imagine a lighthouse --seed 3")
        job_id, message_id = await first_result(world)
        world.send(world.api.press(ALICE, ALICE, wire("r", job_id), message_id))
        await world.api.wait_for("sendPhoto", 2)
        seeds = [t.body["seed"] for t in simulator.tasks.values()]
        assert seeds[0] == 3 and seeds[1] != 3 and len(seeds) == 2
        assert world.api.named("answerCallbackQuery")


async def test_someone_elses_reroll_is_answered_to_the_presser_alone(
    simulator, session, tmp_path
) -> None:
    async with telegram_world(simulator, session, tmp_path) as world:
        world.imagine("/imagine a lighthouse", chat=GROUP, user=ALICE)
        job_id, message_id = await first_result(world)
        before = len(world.api.named("sendMessage"))
        world.send(world.api.press(GROUP, BOB, wire("r", job_id), message_id))
        (alert,) = await world.api.wait_for("answerCallbackQuery")
        assert alert.params["text"].startswith(f"No job {job_id}")
        assert alert.params["show_alert"] in (True, "true")
        assert len(world.api.named("sendMessage")) == before  # nothing said in the group
        assert simulator.stats.submits == 1


async def test_a_button_of_unknown_or_stale_data_is_answered(simulator, session, tmp_path) -> None:
    async with telegram_world(simulator, session, tmp_path) as world:
        world.send(world.api.press(ALICE, ALICE, "v0:legacy:123", 99))
        world.send(world.api.press(ALICE, ALICE, wire("zz", "abc"), 99))
        answers = await world.api.wait_for("answerCallbackQuery", 2)
        assert {a.params["text"] for a in answers} == {"This button no longer works."}


async def test_full_size_sends_the_original_as_a_document(simulator, session, tmp_path) -> None:
    async with telegram_world(simulator, session, tmp_path) as world:
        world.imagine("/imagine a lighthouse")
        job_id, message_id = await first_result(world)
        world.send(world.api.press(ALICE, BOB, wire("f", job_id), message_id))
        (document,) = await world.api.wait_for("sendDocument")
        job = await world.core.service.job(job_id)
        assert job is not None and job.result_path is not None
        assert document.files["document"] == Path(job.result_path).read_bytes()


async def test_only_the_requester_or_an_admin_deletes(simulator, session, tmp_path) -> None:
    async with telegram_world(simulator, session, tmp_path) as world:
        world.imagine("/imagine a dog", chat=GROUP, user=ALICE)
        await world.api.wait_for("sendPhoto")
        (job,) = await world.core.service.history(f"telegram:{ALICE}")
        world.send(world.api.press(GROUP, BOB, wire("d", job.id), 4242))
        (refusal,) = await world.api.wait_for("answerCallbackQuery")
        assert refusal.params["text"].startswith("Only the person who asked")
        assert refusal.params["show_alert"] == "true"
        deletes = len(world.api.named("deleteMessage"))  # the status message, earlier
        world.api.admins.add((GROUP, BOB))
        world.send(world.api.press(GROUP, BOB, wire("d", job.id), 4242))
        calls = await world.api.wait_for("deleteMessage", deletes + 1)
        assert calls[-1].params["message_id"] == "4242"


async def test_buttons_still_work_after_a_restart(simulator, session, tmp_path) -> None:
    db = tmp_path / "jobs.db"
    async with telegram_world(simulator, session, tmp_path, db=db) as world:
        world.imagine("/imagine a harbour")
        job_id, message_id = await first_result(world)
    async with telegram_world(simulator, session, tmp_path, db=db) as world:
        world.send(world.api.press(ALICE, ALICE, wire("f", job_id), message_id))
        await world.api.wait_for("sendDocument")


async def test_a_model_the_saved_size_does_not_fit_says_the_size_was_cleared(
    simulator, session, tmp_path
) -> None:
    async with telegram_world(simulator, session, tmp_path) as world:
        world.send(world.api.press(ALICE, ALICE, wire("ss", "2048x2048"), 1))
        await world.api.wait_for("answerCallbackQuery")
        world.send(world.api.press(ALICE, ALICE, wire("sm", "flux"), 1))
        answers = await world.api.wait_for("answerCallbackQuery", 2)
        assert "Your saved size 2048x2048 does not fit flux" in answers[1].params["text"]
        assert await world.core.rules.defaults(f"telegram:{ALICE}") == {"model": "flux"}


async def test_settings_buttons_save_defaults(simulator, session, tmp_path: Path) -> None:
    async with telegram_world(simulator, session, tmp_path) as world:
        world.imagine("/settings")
        (menu,) = await world.api.wait_for("sendMessage")
        rows = json.loads(menu.params["reply_markup"])["inline_keyboard"]
        qwen = next(b for row in rows for b in row if b["text"] == "Qwen-Image")
        world.send(world.api.press(ALICE, ALICE, qwen["callback_data"], 1))
        world.send(world.api.press(ALICE, ALICE, wire("ss", "1024x768"), 1))
        await world.api.wait_for("answerCallbackQuery", 2)
        await asyncio.sleep(0.1)
        assert await world.core.rules.defaults(f"telegram:{ALICE}") == {
            "model": "qwen",
            "size": "1024x768",
        }
        world.imagine("/imagine a fox")
        await world.api.wait_for("sendPhoto")
        await world.core.scheduler.wait_idle()
        (task,) = simulator.tasks.values()
        assert (task.body["model"], task.body["size"]) == ("Qwen/Qwen-Image", "1024x768")
        assert (await world.core.service.history(f"telegram:{ALICE}"))[0].state is JobState.DONE


async def test_edit_asks_for_a_new_prompt_and_the_reply_draws_it(
    simulator, session, tmp_path
) -> None:
    async with telegram_world(simulator, session, tmp_path) as world:
        world.imagine("/imagine a lighthouse --seed 3 --ar 4:3", chat=GROUP, user=ALICE)
        job_id, message_id = await first_result(world)
        world.send(world.api.press(GROUP, ALICE, wire("e", job_id), message_id))
        question = await world.api.wait_text("sendMessage", f"User{ALICE}, reply to this message")
        assert f"#{job_id}" in question.params["text"]
        (mention,) = json.loads(question.params["entities"])
        assert (mention["type"], mention["user"]["id"]) == ("text_mention", ALICE)
        hint = json.loads(question.params["reply_markup"])
        assert hint["force_reply"] and hint["selective"]
        assert hint["input_field_placeholder"] == "a lighthouse"
        asked = {"message_id": 9001, "date": 0, "chat": {"id": GROUP, "type": "supergroup"}}
        asked |= {"from": BOT, "text": question.params["text"]}
        reply = world.api.command(GROUP, ALICE, "a lighthouse at night", reply_to_message=asked)
        world.send(reply)
        await world.api.wait_for("sendPhoto", 2)
        first, second = simulator.tasks.values()
        assert second.body["prompt"] == "a lighthouse at night"
        assert second.body["size"] == first.body["size"] and second.body["seed"] != 3
        deleted = [c.params["message_id"] for c in world.api.named("deleteMessage")]
        assert "9001" in deleted  # the answered question leaves the chat


async def test_only_the_owner_edits_and_other_replies_are_left_alone(
    simulator, session, tmp_path
) -> None:
    async with telegram_world(simulator, session, tmp_path) as world:
        world.imagine("/imagine a lighthouse", chat=GROUP, user=ALICE)
        job_id, message_id = await first_result(world)
        world.send(world.api.press(GROUP, BOB, wire("e", job_id), message_id))
        (alert,) = await world.api.wait_for("answerCallbackQuery")
        assert alert.params["text"].startswith(f"No job {job_id}")
        asked = {"message_id": 9002, "date": 0, "chat": {"id": GROUP, "type": "supergroup"}}
        ours = asked | {"from": BOT, "text": f"User{ALICE}, reply … #{job_id}."}
        world.send(world.api.command(GROUP, BOB, "a ship", reply_to_message=ours))
        await world.api.wait_text("sendMessage", f"No job {job_id}")
        assert simulator.stats.submits == 1


def test_only_replies_to_the_bots_own_edit_questions_are_edits() -> None:
    def message(sender: dict[str, object], text: str) -> Message:
        chat = {"id": GROUP, "type": "supergroup"}
        return Message.de_json(
            {"message_id": 1, "date": 0, "chat": chat, "from": sender, "text": text}, None
        )

    question = "User1, reply to this message with the new prompt for picture #0123456789ab."
    assert _asked_job(message(BOT, question), BOT["id"]) == "0123456789ab"
    bob = {"id": BOB, "is_bot": False, "first_name": "B"}
    assert _asked_job(message(bob, question), BOT["id"]) is None  # a person's message
    assert _asked_job(message(BOT, "Got it, putting it in line…"), BOT["id"]) is None


async def test_details_show_what_the_picture_was_made_with(simulator, session, tmp_path) -> None:
    async with telegram_world(simulator, session, tmp_path) as world:
        world.imagine("/imagine a lighthouse --seed 3", language="zh")
        job_id, message_id = await first_result(world)
        world.send(world.api.press(ALICE, ALICE, wire("i", job_id), message_id, language="zh"))
        (alert,) = await world.api.wait_for("answerCallbackQuery")
        assert alert.params["text"].splitlines() == [
            f"任务：{job_id}",
            "模型：Z-Image Turbo",
            "提示词：a lighthouse",
            "尺寸：1024x1024",
            "种子：3",
            "步数：9",
        ]
