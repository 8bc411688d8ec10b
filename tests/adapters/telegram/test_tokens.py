"""/token through python-telegram-bot against the fake Bot API: in a private chat the token's
message is deleted at once and the member's images run on it; in a group a pasted token is
deleted (or, where the bot may not, its sender told to) and goes no further."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from bot.simulator import Simulator
from core.jobs.job import QuotaState
from core.service.members import member_label
from tests.adapters.telegram.fake_api import Fault
from tests.adapters.telegram.harness import ALICE, GROUP, reply_to, telegram_world
from tests.conftest import MEMBER_TOKEN, SEALER, until


def deleted(api: object) -> list[int]:
    return [int(c.params["message_id"]) for c in api.named("deleteMessage")]  # type: ignore[attr-defined]


async def test_a_token_given_in_private_is_deleted_kept_and_used(
    simulator: Simulator, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    async with telegram_world(simulator, session, tmp_path, sealer=SEALER) as world:
        update = world.api.command(ALICE, ALICE, f"/token {MEMBER_TOKEN}")
        world.send(update)
        answer = await world.api.wait_text("sendMessage", "Your ModelScope token works")
        assert int(update["message"]["message_id"]) in deleted(world.api)
        assert MEMBER_TOKEN not in str(answer.params)
        assert "Today it has spent 0 on them." in answer.params["text"]

        world.imagine("/imagine a red fox", chat=GROUP)
        await until(lambda: bool(simulator.tasks))
        assert [task.token for task in simulator.tasks.values()] == [MEMBER_TOKEN]
        (job,) = await world.core.service.history(f"telegram:{ALICE}")
        assert job.quota_state is QuotaState.OWN
        assert job.token == member_label(f"telegram:{ALICE}")
        quota = await reply_to(world, "/quota", chat=GROUP)
        assert "Your own ModelScope token pays for your images" in quota

        lent = await reply_to(world, "/token lend 3")
        assert "You lend it to the community: up to 3 a day, 0 used today." in lent
        wrong = await reply_to(world, "/token lend plenty")
        assert wrong == "Invalid lend: plenty. Allowed: 0..1000."
        removed = await reply_to(world, "/token remove")
        assert removed.startswith("Your ModelScope token is removed")
        assert not world.core.service.members.pays_for(f"telegram:{ALICE}")


async def test_a_token_pasted_in_a_group_is_deleted_and_goes_no_further(
    simulator: Simulator, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    async with telegram_world(simulator, session, tmp_path, sealer=SEALER) as world:
        asked = await reply_to(world, "/token", chat=GROUP)
        assert asked.startswith("Give the bot your ModelScope token only in a private chat")

        pasted = world.api.command(GROUP, ALICE, f"here is mine {MEMBER_TOKEN} enjoy")
        world.send(pasted)
        warning = await world.api.wait_text("sendMessage", "<a href")
        assert "so the bot deleted it" in warning.params["text"]
        assert int(pasted["message"]["message_id"]) in deleted(world.api)

        world.api.faults.append(
            Fault("deleteMessage", "status", status=400, description="message can't be deleted")
        )
        before = len(world.api.named("sendMessage"))
        world.send(world.api.command(GROUP, ALICE, f"/imagine a fox {MEMBER_TOKEN}"))
        kept = (await world.api.wait_for("sendMessage", before + 1))[before]
        assert "the bot is not allowed to delete messages here" in kept.params["text"]
        assert simulator.stats.submits == 0  # the /imagine holding it never became a job
        assert not await world.core.service.members.has_token(f"telegram:{ALICE}")


async def test_without_the_feature_token_says_so(
    simulator: Simulator, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    async with telegram_world(simulator, session, tmp_path) as world:
        answer = await reply_to(world, f"/token {MEMBER_TOKEN}")
        assert answer.startswith("This bot does not take members' own ModelScope tokens")
        menu = world.api.named("setMyCommands")[0].params["commands"]
        assert '"token"' not in menu
