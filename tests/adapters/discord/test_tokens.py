"""`/token` through discord.py against the fake Discord: `set` opens a private form, whose
token is checked and kept, and the member's /imagine then runs on it; every answer is seen by
the member alone; without the feature, it says so."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from bot.simulator import Simulator
from core.jobs.job import QuotaState
from tests.adapters.discord.harness import discord_world, private_reply, result_of
from tests.adapters.discord.payloads import ALICE, options
from tests.conftest import MEMBER_TOKEN, SEALER


async def test_a_token_given_in_the_private_form_makes_the_members_images(
    simulator: Simulator, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    async with discord_world(simulator, session, tmp_path, sealer=SEALER) as world:
        fake = world.fake
        asked = await fake.subcommand("token", "set", [], user_id=ALICE)
        await fake.wait_until(lambda: any(c.body.get("type") == 9 for c in fake.answers(asked)))
        form = next(c.body["data"] for c in fake.answers(asked) if c.body["type"] == 9)
        assert form["title"] == "Your ModelScope token"
        field = form["components"][0]["components"][0]
        sent = await fake.submit_modal(form["custom_id"], {field["custom_id"]: MEMBER_TOKEN})
        saved = await private_reply(world, sent)
        assert saved.startswith("Your ModelScope token works.")
        assert all(MEMBER_TOKEN not in str(call.body) for call in fake.calls)  # never echoed

        drawn = await fake.command("imagine", options=options(prompt="a quiet harbour"))
        await result_of(world, drawn)
        assert [task.token for task in simulator.tasks.values()] == [MEMBER_TOKEN]
        (job,) = await world.core.service.history(f"discord:{ALICE}")
        assert job.quota_state is QuotaState.OWN

        lent = await fake.subcommand("token", "lend", options(amount=4.0), user_id=ALICE)
        assert "You lend it to the community: up to 4 a day" in await private_reply(world, lent)
        shown = await fake.subcommand("token", "show", [], user_id=ALICE)
        assert "Today it has spent 1 on them." in await private_reply(world, shown)
        removed = await fake.subcommand("token", "remove", [], user_id=ALICE)
        assert (await private_reply(world, removed)).startswith("Your ModelScope token is removed")
        again = await fake.subcommand("token", "show", [], user_id=ALICE)
        assert await private_reply(world, again) == (
            "You have not given the bot a ModelScope token of your own."
        )


async def test_a_form_with_a_wrong_token_keeps_nothing_and_says_why(
    simulator: Simulator, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    async with discord_world(simulator, session, tmp_path, sealer=SEALER) as world:
        sent = await world.fake.submit_modal("v1:token", {"token": "ms-not-a-known-token-0000"})
        refused = await private_reply(world, sent)
        assert refused.startswith("ModelScope did not accept that token, so nothing was kept.")
        assert not await world.core.service.members.has_token(f"discord:{ALICE}")


async def test_without_the_feature_the_form_is_not_offered(
    simulator: Simulator, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    async with discord_world(simulator, session, tmp_path) as world:
        asked = await world.fake.subcommand("token", "set", [], user_id=ALICE)
        words = await private_reply(world, asked)
        assert words.startswith("This bot does not take members' own ModelScope tokens")
        assert not any(c.body.get("type") == 9 for c in world.fake.answers(asked))
