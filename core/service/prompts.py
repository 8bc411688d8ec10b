"""Describe, enhance, translate: the short calls to ModelScope's chat models
(`v1/chat/completions`), each kept as a job row of its own kind (`JobKind`), so that it is
charged and refunded like an image (the store's admission, in one step with the insert) and
its answer outlives a restart: the buttons under it ("Imagine this", "Generate") read it back.

A text job is never queued: it is inserted `submitting`, runs at once in the `TextLane`
(fair among users, its own slots per token), and ends `done` with its answer or `failed` with
the reason, refunded unless the content was refused. One a restart interrupted ends failed,
refunded, its user told (`interrupted`). What a model answers is untrusted: it is stripped of
markup, capped, and run through the chat's prompt filter before it may become a prompt.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable
from dataclasses import dataclass

from core.clock import Clock
from core.delivery.notifiers import PlatformNotifiers
from core.errors import (
    ImagineError,
    JobNotFound,
    NothingDescribed,
    PromptBlocked,
    RewriteUnusable,
    TextInterrupted,
    TextOff,
    TextRefused,
)
from core.execution import asks
from core.execution.text_lane import TextLane
from core.jobs.events import EventKind, JobEvent
from core.jobs.job import GenerationRequest, Job, JobKind, JobState, QuotaState
from core.jobs.policy import Policy
from core.requests.catalog import Catalog
from core.requests.params import GenerationParams, Size
from core.requests.validation import ParamsInput
from core.service._intake import admission_for, new_jobs
from core.service.rules import CommunityRules
from core.stores.port import Store
from core.terms import to_plain

log = logging.getLogger("imagine.prompts")

# A chat call that began this long ago has ended, whatever happened to the process making it
# (its timeout, MODELSCOPE_CHAT_TIMEOUT of at most 600 s, times its tries, and backoffs).
CALL_DEADLINE_SECONDS = 2 * 3600.0


@dataclass(frozen=True)
class PromptSettings:
    """The chat models (empty: that feature is off) and how prompts are handled."""

    chat_model: str = "Qwen/Qwen3.5-35B-A3B"  # enhance and translate
    vision_model: str = "Qwen/Qwen3-VL-235B-A22B-Instruct"  # describe
    confirm_enhance: bool = True  # show the enhanced prompt before any image is charged
    translate: bool = True  # for models that prefer English prompts


class PromptDesk:
    """The chat calls a request may make, charged and kept as text jobs."""

    def __init__(
        self,
        *,
        store: Store,
        lane: TextLane,
        settings: PromptSettings,
        catalog: Catalog,
        policy: Policy,
        rules: CommunityRules,
        notifiers: PlatformNotifiers,
        clock: Clock,
    ) -> None:
        self.settings = settings
        self._store, self._lane, self._catalog = store, lane, catalog
        self._policy, self._rules, self._notifiers, self._clock = policy, rules, notifiers, clock

    def offers(self, kind: JobKind) -> bool:
        """Whether the bot can do `kind` (a model is set and a token can make chat calls)."""
        model = self.settings.vision_model if kind is JobKind.DESCRIBE else self.settings.chat_model
        return bool(model) and self._lane.enabled

    async def describe(self, request: GenerationRequest, image: str) -> Job:
        """Up to four prompts that would make a picture like `image` (a URL or a data URI),
        in English, and in the user's language when that is not English."""
        placeholder = GenerationParams(self.settings.vision_model, "", Size(1, 1), 0)
        job = await self._charge(request, JobKind.DESCRIBE, placeholder)
        model = self.settings.vision_model
        asked = await self._asking(job, asks.describe(self._lane, request.user, model, image))
        prompts = tuple([p for p in asked.texts if await self._allowed(request, p)])
        if not prompts:
            raise await self._end(job, NothingDescribed("no usable prompt in the answer"))
        translations = await asks.in_language(
            self._lane, request.user, self.settings.chat_model, prompts, request.locale
        )
        return await self._done(job, asked.token, prompts, translations)

    async def enhance(self, request: GenerationRequest, params: GenerationParams) -> Job:
        """The prompt of `params` rewritten richer (in English for a model that prefers it);
        the job keeps `params` and the count, for the buttons that draw it."""
        model = self._catalog.find_model(params.model)
        english = model is not None and model.prefers_english and self.settings.translate
        job = await self._charge(request, JobKind.ENHANCE, params)
        asking = asks.enhance(
            self._lane, request.user, self.settings.chat_model, params.prompt, english
        )
        return await self._one_prompt(request, job, asking, "enhanced")

    async def in_english(self, request: GenerationRequest, params: GenerationParams) -> Job | None:
        """The translation job whose answer is the prompt in English, when the model prefers
        English and the prompt is not (charged); None when it needs none."""
        model = self._catalog.find_model(params.model)
        wanted = model is not None and model.prefers_english and self.settings.translate
        if not wanted or asks.is_english(params.prompt) or not self.offers(JobKind.TRANSLATE):
            return None
        job = await self._charge(request, JobKind.TRANSLATE, params)
        asking = asks.to_english(self._lane, request.user, self.settings.chat_model, params.prompt)
        return await self._one_prompt(request, job, asking, "translated")

    async def answer(self, job_id: str, kinds: tuple[JobKind, ...]) -> Job:
        """A text job that ended with its answer, for a button under it."""
        job = await self._store.get(job_id)
        if job is None or job.kind not in kinds or job.state is not JobState.DONE:
            raise JobNotFound(job_id)
        return job

    async def refund(self, job: Job) -> None:
        """A translation whose image was refused after all: the user got nothing for it."""
        if job.quota_state is QuotaState.COMMITTED:
            await self._store.save(dataclasses.replace(job, quota_state=QuotaState.REFUNDED))

    async def interrupted(self, job: Job, others_may_run_it: bool = False) -> None:
        """A text job a restart found unfinished: ended refunded, and its user told. When
        another process may be making that call (on Redis, a gateway's call while a worker
        restarts), only once no call could still be under way (`CALL_DEADLINE_SECONDS` after
        it began), and only if it is still unfinished then."""
        if others_may_run_it:
            began = job.transitions.get(JobState.SUBMITTING.value, job.created_at)
            await self._clock.sleep(max(0.0, began + CALL_DEADLINE_SECONDS - self._now()))
        if await self._close(job, TextInterrupted("the bot restarted"), only_if_unfinished=True):
            ended = await self._store.get(job.id) or job
            await self._notifiers.send_quietly(JobEvent(EventKind.FAILED, ended))

    # --- one charged call ---------------------------------------------------------------

    async def _charge(
        self, request: GenerationRequest, kind: JobKind, params: GenerationParams
    ) -> Job:
        """The text job, inserted and charged (refused in words when the quota says no)."""
        if not self.offers(kind):
            raise TextOff(kind.value)
        job = self._new_job(request, kind, params)
        limits = await self._rules.limits(request.chat)
        admission = admission_for(request, job.cost, limits, self._policy, self._clock.now())
        await self._store.add_jobs([job], admission)
        return job

    async def _asking(self, job: Job, asking: Awaitable[asks.Asked]) -> asks.Asked:
        """The chat call's answer; its failure ends `job` (refunded unless the user's)."""
        try:
            return await asking
        except ImagineError as error:
            await self._end(job, error)
            raise

    async def _one_prompt(
        self, request: GenerationRequest, job: Job, asking: Awaitable[asks.Asked], made: str
    ) -> Job:
        """A call whose answer is one prompt: empty or blocked by the filter, it ends `job`
        refunded (the model's doing, not the user's)."""
        asked = await self._asking(job, asking)
        if not asked.texts or not await self._allowed(request, asked.texts[0]):
            raise await self._end(job, RewriteUnusable(made))
        return await self._done(job, asked.token, asked.texts, ())

    def _new_job(self, request: GenerationRequest, kind: JobKind, params: GenerationParams) -> Job:
        (job,) = new_jobs(
            dataclasses.replace(request, count=1),
            params,
            self._catalog,
            self._policy,
            self._clock.now(),
        )
        now = self._clock.now().timestamp()
        return dataclasses.replace(
            job,
            kind=kind,
            batch_size=request.count,  # an enhanced prompt draws as many as were asked
            cost=getattr(self._catalog.text_costs, kind.value),
            state=JobState.SUBMITTING,
            transitions={JobState.SUBMITTING.value: now},
        )

    async def _done(
        self, job: Job, token: str, texts: tuple[str, ...], translations: tuple[str, ...]
    ) -> Job:
        now = self._clock.now().timestamp()
        quota = QuotaState.COMMITTED if job.quota_state is QuotaState.RESERVED else job.quota_state
        done = job.moved(
            JobState.DONE,
            now,
            quota_state=quota,
            token=token,
            texts=texts,
            translations=translations,
            delivered_at=now,  # handed to the adapter now: nothing to deliver after a restart
        )
        await self._store.save(done)
        return done

    async def _end(self, job: Job, error: ImagineError) -> ImagineError:
        """End `job` failed with `error` (answered, to be raised): charged only if the
        content was refused."""
        await self._close(job, error)
        return error

    async def _close(self, job: Job, error: ImagineError, only_if_unfinished: bool = False) -> bool:
        """Write `job` failed with `error`; `only_if_unfinished`: unless its call ended
        meanwhile. Whether it was written."""
        now = self._now()
        quota = job.quota_state
        if quota is QuotaState.RESERVED:
            quota = QuotaState.COMMITTED if isinstance(error, TextRefused) else QuotaState.REFUNDED
        params = {name: to_plain(value) for name, value in error.params().items()}
        ended = job.moved(
            JobState.FAILED,
            now,
            quota_state=quota,
            error_key=error.key,
            error_params=params,
            delivered_at=now,
        )
        expected = (JobState.SUBMITTING,) if only_if_unfinished else ()
        return await self._store.save(ended, expected)

    def _now(self) -> float:
        return self._clock.now().timestamp()

    async def _allowed(self, request: GenerationRequest, prompt: str) -> bool:
        """Whether a prompt a model wrote passes the chat's prompt filter."""
        try:
            await self._rules.check(dataclasses.replace(request, params=ParamsInput(prompt)))
        except PromptBlocked as blocked:
            log.info("a model's prompt broke the filter (%s): left out", blocked.rule)
            return False
        return True
