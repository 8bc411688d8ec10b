"""A working model offered in place of one ModelScope is failing: the refused request is
kept (`keep`), so that a button can ask for it again with that model (`take`: once, and only
by the person who asked). Kept as settings in the store, so the button works in every process
and after a restart; an offer not taken within `KEEP_SECONDS` is purged."""

from __future__ import annotations

import dataclasses
from typing import Any

from core.clock import Clock
from core.jobs.job import GenerationRequest, new_id
from core.requests.validation import LoraChoice, ParamsInput
from core.stores.port import Store

NAMESPACE = "offer"
KEEP_SECONDS = 86_400.0
REQUEST_FIELDS = ("platform", "user_id", "chat_id", "is_group", "locale", "count", "roles")


class Offers:
    def __init__(self, store: Store, clock: Clock) -> None:
        self._store, self._clock = store, clock

    async def keep(self, request: GenerationRequest, model: str) -> str:
        """Keep the refused request, to be asked again with `model`; answers the offer's id."""
        offer = new_id()
        kept = {name: getattr(request, name) for name in REQUEST_FIELDS}
        params = dataclasses.asdict(dataclasses.replace(request.params, model=model))
        value = {"request": kept, "params": params, "at": self._now()}
        await self._store.put_setting(NAMESPACE, offer, value)
        return offer

    async def open_to(self, user: str, offer: str) -> bool:
        """Whether `user` may take the offer now (it is theirs, and not taken yet)."""
        return await self._request(user, offer, "") is not None

    async def take(self, user: str, offer: str, reply_target: str) -> GenerationRequest | None:
        """The request offered to `user`, to be answered at `reply_target`; None if there is
        no such offer for them (taken already, purged, or someone else's)."""
        request = await self._request(user, offer, reply_target)
        if request is not None:
            await self._store.put_setting(NAMESPACE, offer, None)
        return request

    async def _request(self, user: str, offer: str, reply_target: str) -> GenerationRequest | None:
        value = await self._store.get_setting(NAMESPACE, offer)
        if value is None:
            return None
        kept: dict[str, Any] = {**value["request"], "roles": tuple(value["request"]["roles"])}
        raw: dict[str, Any] = value["params"]
        loras = tuple(LoraChoice(**lora) for lora in raw.get("loras") or ())
        params = ParamsInput(**{**raw, "loras": loras})
        request = GenerationRequest(**kept, reply_target=reply_target, params=params)
        return request if request.user == user else None

    async def purge(self) -> int:
        """Forget the offers older than `KEEP_SECONDS`; answers how many."""
        horizon = self._now() - KEEP_SECONDS
        kept = await self._store.settings(NAMESPACE)
        old = [offer for offer, value in kept.items() if value["at"] < horizon]
        for offer in old:
            await self._store.put_setting(NAMESPACE, offer, None)
        return len(old)

    def _now(self) -> float:
        return self._clock.now().timestamp()
