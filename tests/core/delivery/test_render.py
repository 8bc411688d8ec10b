from __future__ import annotations

import dataclasses

from core.delivery.i18n import load_translator
from core.delivery.render import event_text, queue_text, quota_text
from core.jobs.events import EventKind, JobEvent
from core.jobs.job import JobState
from core.service.generation import QueueState, QuotaView
from core.terms import Phrase
from tests.core.stores.test_contract import job as stored_job

TRANSLATOR = load_translator()


def test_each_event_in_both_languages() -> None:
    job = stored_job()  # locale zh, prompt 一只猫
    english = dataclasses.replace(job, locale="en")
    assert (
        event_text(TRANSLATOR, JobEvent(EventKind.QUEUED, english, position=3, estimate=41.6))
        == "Queued: number 3 in line (about 42 s)."
    )
    assert (
        event_text(TRANSLATOR, JobEvent(EventKind.QUEUED, job, position=3, estimate=5))
        == "已排队：第 3 位（约 5 秒）。"
    )
    progress = JobEvent(EventKind.PROGRESS, english, status="RUNNING", elapsed=12.4, estimate=7.6)
    assert event_text(TRANSLATOR, progress) == "generating: 12 s (about 8 s left)"
    unmeasured = JobEvent(EventKind.QUEUED, english, position=1)  # nothing measured yet
    assert event_text(TRANSLATOR, unmeasured) == "Queued: number 1 in line."
    overrun = dataclasses.replace(progress, estimate=None)  # longer than it ever took
    assert event_text(TRANSLATOR, overrun) == "generating: 12 s"
    done = dataclasses.replace(english, time_taken_ms=18812.86)
    assert event_text(TRANSLATOR, JobEvent(EventKind.SUCCEEDED, done)) == (
        "一只猫\nModel: Qwen/Qwen-Image · 1024x768 · seed 5 · 19 s"
    )
    failed = english.moved(
        JobState.FAILED,
        1.0,
        error_key="error.content_refused",
        error_params={"message": "inappropriate content"},
    )
    assert event_text(TRANSLATOR, JobEvent(EventKind.FAILED, failed)) == (
        "No image this time: ModelScope refused to make this image: inappropriate content"
    )
    assert event_text(TRANSLATOR, JobEvent(EventKind.CANCELLED, job)) == "已取消。"


def test_quota_and_queue_views() -> None:
    resets = Phrase("resets", time="00:00", zone="UTC+8", hours=5, minutes=20)
    view = QuotaView(
        {"user": 3.0, "member": 1.0, "chat": 3.0, "global": 40.0},
        {"user": 17.0, "member": None, "chat": None, "global": 140.0},
        resets,
        False,
    )
    assert quota_text(TRANSLATOR, "en", view).splitlines() == [
        "You: 3 used today, 17 left",
        "Everyone here: 3 used today, no limit",
        "The bot: 40 used today, 140 left",
        "Quotas reset at 00:00 UTC+8 (in 5 h 20 min).",
    ]
    limited = dataclasses.replace(view, left={**view.left, "member": 1.0})
    assert quota_text(TRANSLATOR, "zh", limited).splitlines() == [
        "你：今日已用 3，剩余 17",
        "你在这里：今日已用 1，剩余 1",
        "这里所有人：今日已用 3，不限额",
        "机器人：今日已用 40，剩余 140",
        "额度将于 00:00（UTC+8，5 小时 20 分钟后）重置。",
    ]
    assert quota_text(TRANSLATOR, "zh", dataclasses.replace(view, exempt=True)) == (
        "你是管理员：不受额度限制。"
    )
    budgeted = dataclasses.replace(view, community_left=183.5)
    assert quota_text(TRANSLATOR, "en", budgeted).splitlines()[-1] == (
        "The community's ModelScope budget left today: 183.5 (shared by everyone)."
    )
    assert quota_text(TRANSLATOR, "zh", dataclasses.replace(budgeted, exempt=True)) == (
        "你是管理员：不受额度限制。\n社区今日剩余的 ModelScope 额度：183.5（大家共用）。"
    )
    state = QueueState(waiting=4, running=1, your_positions=(2, 4), estimated_wait=61.2)
    assert queue_text(TRANSLATOR, "en", state) == (
        "4 waiting, 1 generating. Your place: 2, 4. About 61 s until yours is ready."
    )
    slow = dataclasses.replace(state, estimated_wait=200.0)
    assert queue_text(TRANSLATOR, "zh", slow).endswith("你的位置：2, 4。你的图片约 3 分钟后完成。")
    nothing = QueueState(waiting=4, running=1, your_positions=(), estimated_wait=None)
    assert queue_text(TRANSLATOR, "en", nothing) == (
        "4 waiting, 1 generating. Your place: none."  # no wait when nothing of yours waits
    )
    assert "无" in queue_text(TRANSLATOR, "zh", dataclasses.replace(state, your_positions=()))
