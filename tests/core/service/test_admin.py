"""Who may administer, decided once in the core: bot admins anywhere, a chat's own admins
(as their platform says) in their chat, nobody else; a chat admin's ban stays in the chat."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.simulator import Simulator
from core.errors import AdminsOnly, Banned, InvalidParameter, JobNotFound, NotYours
from core.jobs.policy import Policy
from core.service.access import Actor
from tests.core.harness import request, running_core

BOT_ADMIN = "tg:1000"


async def yes() -> bool:
    return True


def member(user: str, chat: str = "tg:-100") -> Actor:
    return Actor(f"tg:{user}", chat)


def chat_admin(user: str, chat: str = "tg:-100") -> Actor:
    return Actor(f"tg:{user}", chat, chat_admin=yes)


async def test_only_admins_change_a_chat(simulator: Simulator, session, tmp_path: Path) -> None:
    async with running_core(simulator, session, tmp_path, Policy(admins={BOT_ADMIN})) as h:
        admin = h.core.admin
        with pytest.raises(AdminsOnly):
            await admin.set_budget(member("7"), 5)
        assert not await admin.allowed(member("7"))
        assert await admin.set_budget(chat_admin("8"), 5) == 5
        assert await admin.set_member_limit(Actor(BOT_ADMIN, "tg:-100"), 2) == 2
        assert await admin.chat_settings(chat_admin("8")) == {
            "daily_budget": 5.0,
            "member_daily": 2.0,
        }
        with pytest.raises(InvalidParameter, match="budget"):
            await admin.set_budget(chat_admin("8"), -1)


async def test_a_chat_admins_ban_stays_in_the_chat(
    simulator: Simulator, session, tmp_path: Path
) -> None:
    async with running_core(simulator, session, tmp_path, Policy(admins={BOT_ADMIN})) as h:
        await h.core.admin.ban(chat_admin("8"), "tg:7", "spam")
        with pytest.raises(Banned):
            await h.core.service.submit(request(user="7", chat="-100"))
        await h.core.service.submit(request(user="7", chat="-200"))  # elsewhere: allowed
        await h.core.admin.ban(Actor(BOT_ADMIN, "tg:-100"), "tg:9")
        with pytest.raises(Banned):
            await h.core.service.submit(request(user="9", chat="-200"))  # everywhere
        await h.core.admin.unban(Actor(BOT_ADMIN, "tg:-300"), "tg:9")
        await h.core.service.submit(request(user="9", chat="-200"))


async def test_a_result_is_deleted_by_its_owner_or_an_admin(
    simulator: Simulator, session, tmp_path: Path
) -> None:
    async with running_core(simulator, session, tmp_path) as h:
        (job,) = (await h.core.service.submit(request(user="7"))).jobs
        assert (await h.core.service.deletable(member("7"), job.id)).id == job.id
        assert (await h.core.service.deletable(chat_admin("8"), job.id)).id == job.id
        with pytest.raises(NotYours):
            await h.core.service.deletable(member("8"), job.id)
        with pytest.raises(JobNotFound):
            await h.core.service.deletable(member("7"), "no-such-job")
