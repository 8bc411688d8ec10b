"""Who may do what: the one rule, and the one list of bot admins (`BOT_ADMIN_IDS`).

An adapter says who acts (`Actor`) and what its platform says of their rights in the chat
(a Telegram group's administrators, a Discord member with Manage Server); the core decides.
The platform is asked only when the rule needs it (it may cost a call to the platform).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from core.errors import AdminsOnly, NotYours
from core.jobs.job import Job
from core.jobs.policy import Policy

ChatRights = Callable[[], Awaitable[bool]]  # True if the platform says: an admin of this chat


async def no_rights() -> bool:
    return False


@dataclass(frozen=True)
class Actor:
    """Who acts (`platform:id`), in which chat (`platform:id`), and how to ask the platform
    whether they administer that chat."""

    user: str
    chat: str
    chat_admin: ChatRights = field(default=no_rights, compare=False)


class Access:
    def __init__(self, policy: Policy) -> None:
        self._policy = policy

    def is_bot_admin(self, user: str) -> bool:
        return self._policy.is_admin(user)

    async def administers(self, actor: Actor) -> bool:
        """A bot admin anywhere; a chat's own admin in that chat."""
        return self.is_bot_admin(actor.user) or await actor.chat_admin()

    async def check_admin(self, actor: Actor) -> None:
        if not await self.administers(actor):
            raise AdminsOnly("only admins may do that")

    async def check_owner_or_admin(self, actor: Actor, job: Job) -> None:
        """Delete a result: the person who asked, or an admin where it was posted."""
        if job.user != actor.user and not await self.administers(actor):
            raise NotYours(f"job {job.id} is not theirs")
