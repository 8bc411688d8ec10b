"""The admins' door into the core: a chat's budget and per-member limit, its prompt filter,
and bans; every call checked against who acts (`core.service.access`)."""

from __future__ import annotations

from core.errors import InvalidParameter
from core.execution.tokens import TokenAccount, TokenPool
from core.jobs.views import TokenBalance
from core.service._worded import worded
from core.service.access import Access, Actor
from core.service.rules import CommunityRules, member_key
from core.terms import Phrase

MAX_AMOUNT = 1_000_000.0


class CommunityAdmin:
    def __init__(
        self, rules: CommunityRules, access: Access, tokens: TokenPool | None = None
    ) -> None:
        self._rules = rules
        self._access = access
        self._tokens = tokens

    @worded
    async def token_balances(self, actor: Actor) -> list[TokenBalance]:
        """Each ModelScope token's last balance, for a bot admin (by label, never the
        token); nothing for anyone else, a chat's own admins included."""
        if self._tokens is None or not self._access.is_bot_admin(actor.user):
            return []
        return [_token_balance(account) for account in self._tokens.accounts]

    @worded
    async def allowed(self, actor: Actor) -> bool:
        """May `actor` administer their chat (a bot admin, or the chat's own admin)?"""
        return await self._access.administers(actor)

    @worded
    async def set_budget(self, actor: Actor, amount: float) -> float:
        """The chat's own daily budget, in cost units (all its members together)."""
        await self._access.check_admin(actor)
        await self._rules.set_chat_settings(actor.chat, daily_budget=_amount("budget", amount))
        return amount

    @worded
    async def set_member_limit(self, actor: Actor, amount: float) -> float:
        """What each member may spend a day in this chat, in cost units."""
        await self._access.check_admin(actor)
        value = _amount("memberlimit", amount)
        await self._rules.set_chat_settings(actor.chat, member_daily=value)
        return amount

    @worded
    async def edit_filter(
        self, actor: Actor, action: str, value: str = ""
    ) -> tuple[list[str], list[str]]:
        """Add a word or a pattern to the chat's prompt filter, clear it, or show it."""
        await self._access.check_admin(actor)
        return await self._rules.edit_filter(actor.chat, action, value)

    @worded
    async def ban(self, actor: Actor, target: str, reason: str = "") -> bool:
        """A bot admin bans `target` (a `platform:id`) everywhere; a chat's admin, in their
        chat only. Answers whether the ban holds everywhere."""
        await self._access.check_admin(actor)
        everywhere = self._access.is_bot_admin(actor.user)
        await self._rules.ban(target if everywhere else member_key(actor.chat, target), reason)
        return everywhere

    @worded
    async def unban(self, actor: Actor, target: str) -> None:
        """Lift the ban in this chat; a bot admin also lifts one everywhere."""
        await self._access.check_admin(actor)
        await self._rules.unban(member_key(actor.chat, target))
        if self._access.is_bot_admin(actor.user):
            await self._rules.unban(target)

    @worded
    async def chat_settings(self, actor: Actor) -> dict[str, object]:
        """What the chat's admins set (budget, member limit, filter)."""
        await self._access.check_admin(actor)
        return await self._rules.chat_settings(actor.chat)


def _token_balance(account: TokenAccount) -> TokenBalance:
    balance, rejected = account.balance, bool(account.disabled_reason)
    if balance is None:
        return TokenBalance(account.label, None, None, None, rejected)
    return TokenBalance(account.label, balance.total, balance.available, balance.frozen, rejected)


def _amount(field: str, amount: float) -> float:
    if not 0 <= amount <= MAX_AMOUNT:
        raise InvalidParameter(
            field, f"{amount:g}", Phrase("cost_units_range", high=f"{MAX_AMOUNT:g}")
        )
    return float(amount)
