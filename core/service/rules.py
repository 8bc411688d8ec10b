"""A community's own rules: bans, the prompt filter, per-chat budgets, per-user defaults."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import defaultdict
from collections.abc import Mapping, Sequence

from core.errors import Banned, InvalidParameter, PromptBlocked
from core.jobs.job import GenerationRequest
from core.jobs.policy import Policy
from core.jobs.views import DefaultsChange
from core.requests.catalog import Catalog
from core.requests.validation import ParamsInput, validate
from core.stores import Store
from core.terms import Phrase

USER_DEFAULTS = "user"  # settings namespaces in the store
CHAT_SETTINGS = "chat"
BANS = "ban"
DEFAULT_FIELDS = ("model", "size", "negative_prompt", "enhance")
SWITCH = ("on", "off")
CHAT_FIELDS = ("daily_budget", "member_daily", "words", "patterns")

FILTER_ACTIONS = ("word", "regex", "clear", "show")


class CommunityRules:
    """Reads and changes what admins and users configured; checks requests against it."""

    def __init__(self, store: Store, catalog: Catalog, policy: Policy) -> None:
        self._store = store
        self._catalog = catalog
        self._policy = policy
        # Changes are read-merge-write: one at a time per key, or a concurrent one is lost.
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def check(self, request: GenerationRequest) -> None:
        """Raise `Banned` or `PromptBlocked` if the request may not go ahead."""
        await self.check_bans(request.user, request.chat)
        own = await self.chat_settings(request.chat)
        rules = self._policy.prompt_filter.extended(
            _strings(own.get("words")), _strings(own.get("patterns"))
        )
        rule = rules.match(request.params.prompt, request.params.negative_prompt or "")
        if rule is not None:
            raise PromptBlocked(rule)

    async def check_bans(self, user: str, chat: str) -> None:
        keys = (("user", user), ("chat", chat), ("member", member_key(chat, user)))
        for scope, key in keys:
            ban = await self._store.get_setting(BANS, key)
            if ban is not None:
                raise Banned(scope, str(ban.get("reason", "")))

    async def ban(self, key: str, reason: str = "") -> None:
        """Ban a user everywhere, a whole chat (a `platform:id` key), or a user in one chat
        (`member_key(chat, user)`)."""
        await self._store.put_setting(BANS, key, {"reason": reason})

    async def unban(self, key: str) -> None:
        await self._store.put_setting(BANS, key, None)

    async def chat_settings(self, chat: str) -> dict[str, object]:
        return await self._store.get_setting(CHAT_SETTINGS, chat) or {}

    async def set_chat_settings(self, chat: str, **values: object) -> dict[str, object]:
        """A chat's own daily_budget, member_daily, filter words and patterns."""
        _only(values, CHAT_FIELDS)
        async with self._locks[f"{CHAT_SETTINGS}:{chat}"]:
            return await self._merge_chat(chat, values)

    async def edit_filter(
        self, chat: str, action: str, value: str = ""
    ) -> tuple[list[str], list[str]]:
        """Add a word or a regex to a chat's own prompt filter, clear it, or show it; answers
        (words, patterns). Read and write happen under the chat's lock: no edit is lost."""
        action, value = action.strip().lower(), value.strip()
        if action not in FILTER_ACTIONS:
            raise InvalidParameter("filter", action, Phrase("filter_actions"))
        if action in ("word", "regex") and not value:
            raise InvalidParameter("filter", action, Phrase("filter_value", action=action))
        async with self._locks[f"{CHAT_SETTINGS}:{chat}"]:
            own = await self.chat_settings(chat)
            words, patterns = list(_strings(own.get("words"))), list(_strings(own.get("patterns")))
            if action == "word":
                words.append(value)
            elif action == "regex":
                patterns.append(value)
            elif action == "clear":
                words, patterns = [], []
            if action != "show":
                await self._merge_chat(chat, {"words": words, "patterns": patterns})
        return words, patterns

    async def _merge_chat(self, chat: str, values: Mapping[str, object]) -> dict[str, object]:
        merged = {**await self.chat_settings(chat), **values}
        self._policy.prompt_filter.extended(
            _strings(merged.get("words")), _strings(merged.get("patterns"))
        )  # a bad pattern is refused here, not at the next request
        await self._store.put_setting(CHAT_SETTINGS, chat, merged)
        return merged

    async def limits(self, chat: str) -> dict[str, float | None]:
        """Daily limits per scope for members of `chat`: the bot's per-user limit (all chats
        together), the chat's own per-member limit (this chat only), the chat's budget (its
        own, else the bot's), and the bot's total."""
        own, limits = await self.chat_settings(chat), self._policy.limits
        member, budget = own.get("member_daily"), own.get("daily_budget")
        return {
            "user": limits.user_daily,
            "member": float(member) if isinstance(member, int | float) else None,
            "chat": float(budget) if isinstance(budget, int | float) else limits.chat_daily,
            "global": limits.global_daily,
        }

    async def defaults(self, user: str) -> dict[str, str]:
        saved = await self._store.get_setting(USER_DEFAULTS, user) or {}
        return {key: str(value) for key, value in saved.items()}

    async def set_defaults(self, user: str, **values: str | None) -> DefaultsChange:
        """Save per-user defaults (model, size, negative_prompt; enhance: on or off), checked
        like a request.
        The one rule for a model whose sides the saved size does not fit (on every
        platform): the model is saved and the size cleared, and the answer says so."""
        _only(values, DEFAULT_FIELDS)
        async with self._locks[f"{USER_DEFAULTS}:{user}"]:
            return await self._merge_defaults(user, values)

    async def _merge_defaults(self, user: str, values: Mapping[str, str | None]) -> DefaultsChange:
        merged = {**await self.defaults(user), **values}
        kept = {key: value for key, value in merged.items() if value}
        cleared: dict[str, str] = {}
        try:
            self._check_defaults(kept)
        except InvalidParameter as error:
            old_size = kept.get("size")
            if error.field != "size" or "size" in values or "model" not in values or not old_size:
                raise
            cleared["size"] = old_size  # a new model the saved size does not fit
            del kept["size"]
            self._check_defaults(kept)
        await self._store.put_setting(USER_DEFAULTS, user, kept or None)
        return DefaultsChange(kept, cleared)

    def _check_defaults(self, kept: Mapping[str, str]) -> None:
        if kept.get("enhance", "off") not in SWITCH:
            raise InvalidParameter("enhance", kept["enhance"], ", ".join(SWITCH))
        probe = ParamsInput(
            "check",
            model=kept.get("model"),
            size=kept.get("size"),
            negative_prompt=kept.get("negative_prompt", ""),
        )
        validate(probe, self._catalog)

    async def with_defaults(self, request: GenerationRequest) -> GenerationRequest:
        """The request with the user's saved defaults filling its gaps: the parameters, and
        whether its prompt is enhanced first."""
        saved, given = await self.defaults(request.user), request.params
        size = given.size or (None if given.aspect_ratio else saved.get("size"))
        negative = given.negative_prompt
        params = dataclasses.replace(
            given,
            model=given.model or saved.get("model"),
            size=size,
            negative_prompt=negative if negative is not None else saved.get("negative_prompt"),
        )
        enhance = request.enhance
        enhance = saved.get("enhance") == "on" if enhance is None else enhance
        return dataclasses.replace(request, params=params, enhance=enhance)


def member_key(chat: str, user: str) -> str:
    """The ban key of one user in one chat."""
    return f"{chat}/{user}"


def _only(values: Mapping[str, object], allowed: tuple[str, ...]) -> None:
    unknown = set(values) - set(allowed)
    if unknown:
        raise InvalidParameter("setting", ", ".join(sorted(unknown)), ", ".join(allowed))


def _strings(value: object) -> Sequence[str]:
    return [str(v) for v in value] if isinstance(value, list) else []
