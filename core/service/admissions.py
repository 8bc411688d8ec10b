"""Checked parameters into queued, charged jobs: the prompt put into English first for a
model that prefers it, the model's health and the token watch asked, the store's admission
(quota, cooldown, waiting cap) in one step with the insert, and each job's place in line
told."""

from __future__ import annotations

import dataclasses
import logging

from core.clock import Clock
from core.delivery.notifiers import PlatformNotifiers
from core.errors import (
    ImagineError,
    ModelUnavailable,
    NoWorkingToken,
    Restarting,
    RewriteUnusable,
    TextRefused,
    UpstreamError,
)
from core.execution.health import alternative_model
from core.execution.runner import JobRunner
from core.jobs.events import EventKind, JobEvent
from core.jobs.job import GenerationRequest, Job
from core.jobs.policy import Policy
from core.jobs.views import Receipt
from core.requests.catalog import Catalog
from core.requests.params import GenerationParams
from core.scheduling.scheduler import Scheduler
from core.service._intake import admission_for, new_jobs
from core.service.members import MemberTokens
from core.service.outage import TokenWatch
from core.service.positions import PositionNews
from core.service.prompts import PromptDesk
from core.service.rules import CommunityRules
from core.stores import Store

log = logging.getLogger("imagine.service")


class Admissions:
    """What `GenerationService` does with a request once it is checked."""

    def __init__(
        self,
        *,
        store: Store,
        catalog: Catalog,
        scheduler: Scheduler,
        runner: JobRunner,
        notifiers: PlatformNotifiers,
        policy: Policy,
        rules: CommunityRules,
        clock: Clock,
        positions: PositionNews,
        watch: TokenWatch,
        members: MemberTokens,
        prompts: PromptDesk,
    ) -> None:
        self._store, self._catalog, self._scheduler = store, catalog, scheduler
        self._runner, self._notifiers, self._policy = runner, notifiers, policy
        self._rules, self._clock, self._positions = rules, clock, positions
        self._watch, self._members, self._prompts = watch, members, prompts
        self.draining = False  # the bot stops: nothing new is taken

    async def draw(
        self,
        request: GenerationRequest,
        params: GenerationParams,
        typed: str | None = None,
        *,
        follows: bool = False,
    ) -> Receipt:
        """Queue `params`, first put into English for a model that prefers it (the caption
        shows the prompt as `typed` too); when the translation fails on ModelScope's side,
        the prompt goes as typed rather than the request failing. `follows`: the request's
        first step (an enhanced prompt) already passed the cooldown, as a translation does:
        the image is not held by it."""
        translated = await self._translated(request, params)
        if translated is not None:
            typed, params = params.prompt, dataclasses.replace(params, prompt=translated.texts[0])
        try:
            return await self.accept(request, params, typed, follows=follows or bool(translated))
        except ImagineError:
            if translated is not None:  # nothing was drawn: the translation is not charged
                await self._prompts.refund(translated)
            raise

    async def accept(
        self,
        request: GenerationRequest,
        params: GenerationParams,
        typed: str | None = None,
        *,
        follows: bool = False,
    ) -> Receipt:
        """Charge and queue `params` as they are, and tell each job's place in line."""
        if self.draining:
            raise Restarting("the bot is restarting")
        own = self._members.pays_for(request.user)
        if self._watch.blocked and not own:
            raise NoWorkingToken("no ModelScope token works")
        self._check_model(params)
        now = self._clock.now()
        jobs = new_jobs(request, params, self._catalog, self._policy, now, own)
        if typed is not None and typed != params.prompt:
            jobs = [dataclasses.replace(job, typed_prompt=typed) for job in jobs]
        limits = await self._rules.limits(request.chat)
        cost = sum(job.cost for job in jobs)
        admission = admission_for(request, cost, limits, self._policy, now, own)
        if follows:  # its first step passed the cooldown a moment ago
            admission = dataclasses.replace(admission, cooldown_seconds=0.0)
        await self._store.add_jobs(jobs, admission)
        return await self._told(jobs)

    async def _told(self, jobs: list[Job]) -> Receipt:
        places = [await self._scheduler.position(job.id) or 0 for job in jobs]
        running = await self._scheduler.running_count()
        self._positions.told(jobs[0].batch_id, places[0])
        for job, place in zip(jobs, places, strict=True):
            wait = self._positions.estimate(place, running, job)
            queued = JobEvent(EventKind.QUEUED, job, position=place, estimate=wait)
            await self._notifiers.send_quietly(queued)
        first = self._positions.estimate(places[0], running, jobs[0])
        return Receipt(tuple(jobs), places[0], first, tuple(places))

    def _check_model(self, params: GenerationParams) -> None:
        """A model ModelScope is failing now is refused in words, with one that works
        instead; never switched without the user's say."""
        health = self._runner.health
        minutes = health.minutes_left(params.model)
        if minutes is None:
            return
        instead = alternative_model(self._catalog, params, health.failing())
        raise ModelUnavailable(params.model, minutes, instead)

    async def _translated(self, request: GenerationRequest, params: GenerationParams) -> Job | None:
        try:
            return await self._prompts.in_english(request, params)
        except TextRefused:
            raise  # the user's content: said, and charged
        except (UpstreamError, RewriteUnusable) as error:
            log.warning("the prompt goes as typed: its translation failed (%s)", error)
            return None
