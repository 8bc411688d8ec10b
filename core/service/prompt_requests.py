"""The adapters' side of the chat calls (`GenerationService.prompts`): `/imagine` with its
prompt enhanced first, `/describe`, and the buttons under their answers, which read the
answer back from its job row (so they work after a restart) and are charged like any
request."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from core.errors import InvalidParameter, JobNotFound, RequestRefused
from core.jobs.job import GenerationRequest, Job, JobKind
from core.jobs.views import Receipt
from core.metrics import REQUESTS_REFUSED, error_kind
from core.requests.validation import check_prompt
from core.service._intake import request_from
from core.service._worded import worded
from core.service.access import Access
from core.service.prompts import PromptDesk, PromptSettings
from core.service.rules import CommunityRules

if TYPE_CHECKING:
    from core.service.generation import GenerationService


class PromptRequests:
    """Describe and enhance, for the adapters."""

    def __init__(
        self,
        desk: PromptDesk,
        service: GenerationService,
        rules: CommunityRules,
        access: Access,
    ) -> None:
        self._desk, self._service, self._rules, self._access = desk, service, rules, access

    @property
    def settings(self) -> PromptSettings:
        return self._desk.settings

    def offers(self, kind: JobKind) -> bool:
        """Whether the bot can describe (`DESCRIBE`) or enhance (`ENHANCE`) now."""
        return self._desk.offers(kind)

    @worded
    async def imagine(self, request: GenerationRequest) -> Receipt | Job:
        """`submit`, or, when the request (else the user's default) asks for its prompt to be
        enhanced, the enhance job: shown for the user to confirm before any image is charged,
        unless the community skips that step (then drawn at once)."""
        try:
            params, wanted = await self._service.checked(request)
            if not wanted:
                return await self._service.draw(request, params)
            enhanced = await self._desk.enhance(request, params)
            if self._desk.settings.confirm_enhance:
                return enhanced
            chosen = dataclasses.replace(params, prompt=enhanced.texts[0])
            return await self._service.draw(request, chosen, typed=params.prompt, follows=True)
        except (RequestRefused, InvalidParameter) as refusal:
            REQUESTS_REFUSED.labels(error_kind(refusal.key)).inc()
            raise

    @worded
    async def describe(self, request: GenerationRequest, image: str) -> Job:
        """Up to four prompts for a picture like `image` (a URL or a data URI): the job's
        `texts`, and `translations` in the user's language."""
        return await self._desk.describe(request, image)

    @worded
    async def answer(self, job_id: str) -> Job:
        """A describe or enhance answer, by its job id."""
        return await self._desk.answer(job_id, (JobKind.DESCRIBE, JobKind.ENHANCE))

    @worded
    async def imagine_this(self, request: GenerationRequest, job_id: str, index: int) -> Receipt:
        """Draw the `index`-th prompt of a describe answer for whoever asks (`request`, its
        prompt left empty), with their defaults, charged like `/imagine`."""
        described = await self._desk.answer(job_id, (JobKind.DESCRIBE,))
        if not 0 <= index < len(described.texts):
            raise JobNotFound(f"{job_id}/{index}")
        prompt = described.texts[index]
        params = dataclasses.replace(request.params, prompt=prompt)
        return await self._service.submit(dataclasses.replace(request, params=params))

    @worded
    async def draw_enhanced(
        self,
        user: str,
        job_id: str,
        reply_target: str,
        *,
        mine: bool = False,
        edited: str | None = None,
    ) -> Receipt:
        """Draw an enhance answer: the enhanced prompt, the user's own (`mine`), or `edited`;
        only by the user who asked (or a bot admin), charged like `/imagine`."""
        job = await self._desk.answer(job_id, (JobKind.ENHANCE,))
        if job.user != user and not self._access.is_bot_admin(user):
            raise JobNotFound(job_id)
        typed = job.params.prompt
        chosen = typed if mine else job.texts[0]
        prompt = chosen if edited is None else check_prompt(edited)
        request = request_from(job, reply_target, prompt, count=job.batch_size)
        await self._rules.check(request)
        params = dataclasses.replace(job.params, prompt=prompt)
        return await self._service.draw(request, params, typed=typed, follows=True)
