"""Getting the image to the user whatever happens: 429s, an expired interaction token, a
channel the bot may not post in, a restart in the middle of a job, slow progress edits."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.simulator import Simulator, Timing
from core.jobs.job import JobState, QuotaState
from tests.adapters.discord.fake_discord import FakeDiscord
from tests.adapters.discord.harness import (
    BOT_TOKEN,
    discord_world,
    private_reply,
    result_of,
)
from tests.adapters.discord.payloads import ALICE, CHANNEL, options
from tests.adapters.discord.test_buttons import button

pytestmark = pytest.mark.timeout(60)
ALICE_KEY = f"discord:{ALICE}"


async def test_429s_while_posting_are_waited_out_and_nothing_is_lost(
    simulator: Simulator, session, tmp_path: Path
) -> None:
    async with discord_world(simulator, session, tmp_path) as world:
        fake = world.fake
        fake.fail("webhook_edit", 429, times=3, retry_after=0.2)
        sent = await fake.command("imagine", options=options(prompt="rain"))
        await result_of(world, sent)
        refused = [f for f in fake.faults if f.route == "webhook_edit"]
        assert refused[0].times == 0  # every 429 was met, and each edit was tried again
        assert len(fake.deliveries()) == 1
        (job,) = await world.core.service.history(ALICE_KEY)
        await world.core.scheduler.wait_idle()
        assert (await world.core.service.job(job.id)).state is JobState.DONE  # type: ignore[union-attr]


async def test_a_job_that_outlives_the_token_is_posted_in_the_channel(
    simulator: Simulator, session, tmp_path: Path
) -> None:
    simulator.timing = Timing(run_mean=1.0)
    async with discord_world(simulator, session, tmp_path) as world:
        fake = world.fake
        sent = await fake.command("imagine", options=options(prompt="a long night"))
        await fake.wait_for("callback")
        world.clock.advance(16 * 60)  # the 15 minutes pass while the job runs
        fake.expired_tokens.add(sent["token"])
        fake.fail("channel_message", 429, times=1, retry_after=0.2)
        (posted,) = await _channel_posts(fake, 1)
        assert posted.body["content"] == f"<@{ALICE}>"
        assert posted.body["allowed_mentions"]["users"] == [ALICE]
        assert posted.files and posted.path == f"/channels/{CHANNEL}/messages"
        assert not any(c.route == "webhook_edit" and c.files for c in fake.calls)


async def test_a_dm_when_the_bot_may_not_post_in_the_channel(
    simulator: Simulator, session, tmp_path: Path
) -> None:
    simulator.timing = Timing(run_mean=1.0)
    async with discord_world(simulator, session, tmp_path) as world:
        fake = world.fake
        fake.forbidden_channels.add(CHANNEL)
        sent = await fake.command("imagine", options=options(prompt="a secret garden"))
        await fake.wait_for("callback")
        world.clock.advance(16 * 60)
        fake.expired_tokens.add(sent["token"])
        (dm,) = await fake.wait_for("open_dm")
        assert dm.body == {"recipient_id": ALICE}
        (post,) = await _channel_posts(fake, 1)  # the channel refused with a 403 first
        assert post.path != f"/channels/{CHANNEL}/messages" and post.files
        assert post.body["content"] == f"<@{ALICE}>"


async def test_a_result_refused_for_good_ends_the_job_in_words(
    simulator: Simulator, session, tmp_path: Path
) -> None:
    async with discord_world(simulator, session, tmp_path) as world:
        fake = world.fake
        fake.fail("webhook_edit", 403, times=5, with_files=True)
        sent = await fake.command("imagine", options=options(prompt="a locked door"))
        await fake.wait_until(
            lambda: (
                "Your image was made, but the chat refused it"
                in str(fake.original(sent["token"]).get("content", ""))
            )
        )
        await world.core.scheduler.wait_idle()
        (job,) = await world.core.service.history(ALICE_KEY)
        assert (job.state, job.error_key) == (JobState.FAILED, "error.delivery_refused")
        assert job.quota_state is QuotaState.REFUNDED and job.delivered_at is not None
        refused = [f for f in fake.faults if f.route == "webhook_edit"]
        assert refused[0].times == 4  # refused once, never tried again


async def test_a_restart_mid_job_delivers_once_and_buttons_still_work(
    simulator: Simulator, session, tmp_path: Path
) -> None:
    simulator.timing = Timing(run_mean=1.5)
    fake = FakeDiscord(BOT_TOKEN)
    await fake.start()
    db = tmp_path / "jobs.db"
    try:
        async with discord_world(simulator, session, tmp_path, db=db, fake=fake) as world:
            sent = await fake.command("imagine", options=options(prompt="a lighthouse"))
            await fake.wait_until(lambda: _progress_shown(fake, sent))  # it was polled
        assert fake.deliveries() == []
        async with discord_world(simulator, session, tmp_path, db=db, fake=fake) as world:
            message = await result_of(world, sent)
            clicked = await fake.click(message, button(message, "ℹ️"))
            assert "\nPrompt: a lighthouse\n" in await private_reply(world, clicked)
            await world.core.scheduler.wait_idle()
        assert len(fake.deliveries()) == 1
        assert simulator.stats.submits == 1
    finally:
        await fake.stop()


async def test_progress_edits_come_at_most_once_per_interval(
    simulator: Simulator, session, tmp_path: Path
) -> None:
    simulator.timing = Timing(run_mean=1.0)
    async with discord_world(simulator, session, tmp_path, progress_every=5.0) as world:
        fake = world.fake
        sent = await fake.command("imagine", options=options(prompt="a slow river"))
        await result_of(world, sent)
        contents = [
            str(c.body.get("content")) for c in fake.answers(sent) if c.route == "webhook_edit"
        ]
        progress = [text for text in contents if text.endswith("s left)")]
        assert simulator.stats.polls > 5  # the core reported progress many times
        assert len(progress) <= 1


def _progress_shown(fake: FakeDiscord, sent: dict[str, object]) -> bool:
    edits = [str(c.body.get("content")) for c in fake.answers(sent) if c.route == "webhook_edit"]
    return any(re.search(r": \d+ s", text) for text in edits)  # "generating: 1 s"


async def _channel_posts(fake: FakeDiscord, count: int) -> list:  # type: ignore[type-arg]
    await fake.wait_for("channel_message", count)
    return [c for c in fake.named("channel_message")]


async def test_the_gateway_connection_lives_on_heartbeats(
    simulator: Simulator, session, tmp_path: Path
) -> None:
    fake = FakeDiscord(BOT_TOKEN)
    fake.gateway.heartbeat_ms = 100
    await fake.start()
    try:
        async with discord_world(simulator, session, tmp_path, fake=fake) as world:
            await fake.wait_until(lambda: fake.gateway.heartbeats >= 3)
            sent = await fake.command("imagine", options=options(prompt="a metronome"))
            await result_of(world, sent)
        assert len(fake.gateway.identify_payloads) == 1  # acknowledged: no reconnect
    finally:
        await fake.stop()
