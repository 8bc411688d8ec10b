"""The generation service: the door adapters use into the core (STYLE.md, habit 3), with the
admin façade (`core.service.admin`) beside it. Nothing behind it is theirs to touch."""

from __future__ import annotations

import dataclasses
import logging
import random

from core.clock import Clock
from core.delivery.notifiers import PlatformNotifiers
from core.errors import (
    InvalidParameter,
    JobNotFound,
    ModelUnavailable,
    NotAllowed,
    OfferGone,
    RequestRefused,
)
from core.execution.runner import JobRunner
from core.jobs.events import EventKind, JobEvent
from core.jobs.job import GenerationRequest, Job, JobKind
from core.jobs.policy import Policy
from core.jobs.views import DefaultsChange, QueueState, QuotaView, Receipt
from core.metrics import REQUESTS_REFUSED, error_kind
from core.requests.catalog import Catalog
from core.requests.params import GenerationParams
from core.requests.validation import SEED_MAX, check_prompt, validate
from core.scheduling.scheduler import Scheduler
from core.service._intake import request_from
from core.service._worded import worded
from core.service.access import Access, Actor
from core.service.admissions import Admissions
from core.service.balances import BalanceWatch
from core.service.members import MemberTokens
from core.service.offers import Offers
from core.service.outage import TokenWatch
from core.service.positions import PositionNews
from core.service.prompt_requests import PromptRequests
from core.service.prompts import PromptDesk
from core.service.rules import CommunityRules
from core.stores import Store

log = logging.getLogger("imagine.service")


class GenerationService:
    """Validates, moderates, charges and queues requests; answers about jobs, the queue,
    quotas and a user's defaults. `catalog` (the models and LoRAs) is public, read-only.

    Arguments (keyword-only): `store`, `catalog`, `scheduler`, `runner`, `notifiers`,
    `policy`, `rules`, `access`, `clock`, `positions` (places in line and waits),
    `watch` (whether any ModelScope token works), `balances` (what the community's tokens
    have left) and `members` (members' own tokens; public: an adapter's `/token`).
    """

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
        access: Access,
        clock: Clock,
        positions: PositionNews,
        watch: TokenWatch,
        balances: BalanceWatch | None = None,
        members: MemberTokens,
        prompts: PromptDesk,
    ) -> None:
        self.catalog = catalog
        self.members = members  # a member's own ModelScope token
        # The chat calls (describe, enhance) and what their buttons draw: public.
        self.prompts = PromptRequests(prompts, self, rules, access)
        self._offers = Offers(store, clock)
        self._store = store
        self._scheduler = scheduler
        self._runner = runner
        self._notifiers = notifiers
        self._policy = policy
        self._rules = rules
        self._access = access
        self._clock = clock
        self._rng = random.Random()
        self.positions = positions
        self._admissions = Admissions(
            store=store,
            catalog=catalog,
            scheduler=scheduler,
            runner=runner,
            notifiers=notifiers,
            policy=policy,
            rules=rules,
            clock=clock,
            positions=positions,
            watch=watch,
            members=members,
            prompts=prompts,
        )
        self._balances = balances

    @property
    def draining(self) -> bool:
        """True once the bot stops: new requests are refused."""
        return self._admissions.draining

    @worded
    async def submit(self, request: GenerationRequest) -> Receipt:
        """Accept a request, or raise the typed reason why not; nothing is spent on a refusal."""
        try:
            return await self._submit(request)
        except (RequestRefused, InvalidParameter) as refusal:
            REQUESTS_REFUSED.labels(error_kind(refusal.key)).inc()
            raise

    async def _submit(self, request: GenerationRequest) -> Receipt:
        params, _ = await self.checked(request)
        return await self.draw(request, params)

    async def checked(self, request: GenerationRequest) -> tuple[GenerationParams, bool]:
        """The request's parameters, checked against the community's rules and the catalog,
        with the user's defaults filled in, and whether its prompt is to be enhanced first
        (the request's word, else the user's default): nothing is charged yet."""
        await self._rules.check(request)
        if not 1 <= request.count <= self._policy.max_count:
            raise InvalidParameter("count", request.count, f"1..{self._policy.max_count}")
        filled = await self._rules.with_defaults(request)
        return validate(filled.params, self.catalog, self._rng), bool(filled.enhance)

    async def draw(
        self,
        request: GenerationRequest,
        params: GenerationParams,
        typed: str | None = None,
        *,
        follows: bool = False,
    ) -> Receipt:
        """Queue checked `params` (see `Admissions.draw`); a model ModelScope is failing is
        refused with one that works, the request kept for a button to ask again with it."""
        try:
            return await self._admissions.draw(request, params, typed, follows=follows)
        except ModelUnavailable as refused:
            if refused.alternative is not None:
                refused.offer = await self._offers.keep(request, refused.alternative)
            raise

    @worded
    async def offer_open(self, user: str, offer: str) -> None:
        """`OfferGone` unless `user` may take the offer: an adapter asks before it shows
        anything in the chat."""
        if not await self._offers.open_to(user, offer):
            raise OfferGone(offer)

    @worded
    async def take_offer(self, user: str, offer: str, reply_target: str) -> Receipt:
        """Ask again, answered at `reply_target`, for a request refused because its model
        was failing, with the working model offered then (`ModelUnavailable.offer`); checked
        and charged like any request. Once, and only by the person who asked."""
        request = await self._offers.take(user, offer, reply_target)
        if request is None:
            raise OfferGone(offer)
        return await self.submit(request)

    @worded
    async def reroll(
        self, user: str, job_id: str, reply_target: str, prompt: str | None = None
    ) -> Receipt:
        """The same parameters with a new seed (and maybe a new prompt), charged like a new
        request; a new prompt passes the prompt filter like any other."""
        job = await self._own_job(user, job_id)
        new_prompt = job.params.prompt if prompt is None else check_prompt(prompt)
        request = request_from(job, reply_target, new_prompt)
        await self._rules.check(request)
        seed = self._rng.randint(0, SEED_MAX)
        params = dataclasses.replace(job.params, prompt=new_prompt, seed=seed)
        typed = job.typed_prompt if prompt is None else None
        return await self._admissions.accept(request, params, typed)

    @worded
    async def rerollable(self, user: str, job_id: str) -> Job:
        """The job `user` may draw again (their own; any, for a bot admin), else
        `JobNotFound`: an adapter asks before it shows anything in the chat."""
        return await self._own_job(user, job_id)

    @worded
    async def cancel(self, user: str, job_id: str | None = None) -> Job | None:
        """Cancel a waiting or running job of the user's (or any job, for an admin); with
        no id, the user's newest unfinished one (None if there is none)."""
        if job_id is None:
            active = [job for job in await self.history(user) if not job.state.terminal]
            if not active:
                return None
            job_id = active[0].id
        job = await self._own_job(user, job_id)
        if job.state.terminal:
            raise NotAllowed(f"job {job_id} already ended")
        if await self._scheduler.stop(job_id):
            return job  # running: its worker ends it cancelled and announces it
        return await self._runner.end_cancelled(job)

    @worded
    async def deletable(self, actor: Actor, job_id: str) -> Job:
        """The job whose result `actor` may delete (its owner, or an admin of the chat);
        else `JobNotFound` or `NotYours`."""
        job = await self._store.get(job_id)
        if job is None:
            raise JobNotFound(job_id)
        await self._access.check_owner_or_admin(actor, job)
        return job

    @worded
    async def job(self, job_id: str) -> Job | None:
        """A job by id (buttons carry ids; the caller checks who may act on it)."""
        return await self._store.get(job_id)

    async def batch(self, batch_id: str) -> list[Job]:
        """All jobs of one request, in order: an adapter sends them as an album."""
        return await self._store.batch(batch_id)

    @worded
    async def history(self, user: str, limit: int = 10) -> list[Job]:
        """The user's latest image jobs, newest first (their chat calls left out, however
        many came since: the store is read further back until `limit` images are found)."""
        read = limit * 3
        while True:
            jobs = await self._store.history(user, read)
            images = [job for job in jobs if job.kind is JobKind.IMAGE]
            if len(images) >= limit or len(jobs) < read:
                return images[:limit]
            read *= 4

    @worded
    async def queue_state(self, user: str) -> QueueState:
        order = await self._scheduler.waiting()
        running = await self._scheduler.running_count()
        mine = tuple(i for i, job in enumerate(order, start=1) if job.user == user)
        first = next((job for job in order if job.user == user), None)
        wait = self.positions.estimate(mine[0], running, first) if first and mine else None
        return QueueState(len(order), running, mine, wait)

    @worded
    async def quota(self, user: str, chat: str) -> QuotaView:
        now = self._clock.now()
        limits = await self._rules.limits(chat)
        usage = await self._store.usage(user, chat, self._policy.limits.day_of(now))
        used = {
            "user": usage.user,
            "member": usage.member,
            "chat": usage.chat,
            "global": usage.global_,
        }
        left = {
            scope: None if limit is None else max(0.0, limit - used[scope])
            for scope, limit in limits.items()
        }
        resets = self._policy.limits.reset_phrase(now)
        community = await self._balances.left_today() if self._balances else None
        exempt, own = self._policy.is_admin(user), self.members.pays_for(user)
        return QuotaView(used, left, resets, exempt, community, own)

    @worded
    async def defaults(self, user: str) -> dict[str, str]:
        """The user's saved defaults (model, size, negative_prompt)."""
        return await self._rules.defaults(user)

    @worded
    async def set_defaults(self, user: str, **values: str | None) -> DefaultsChange:
        """Save defaults (None clears one), checked like a request; answers all of them, and
        a saved size the new model does not fit, which is cleared."""
        return await self._rules.set_defaults(user, **values)

    async def purge_offers(self) -> int:
        """Forget the offered models nobody took within a day."""
        return await self._offers.purge()

    async def drain(self) -> int:
        """Refuse new requests from now on and tell every waiting job's user that the bot
        restarts (their jobs stay in line); answers how many were told."""
        self._admissions.draining = True
        waiting = await self._scheduler.stranded()
        for job in waiting:
            await self._notifiers.send_quietly(JobEvent(EventKind.RESTARTING, job))
        return len(waiting)

    # --- helpers --------------------------------------------------------------------

    def failing_models(self) -> frozenset[str]:
        """The models ModelScope is failing now (for /models)."""
        return frozenset(self._runner.health.failing())

    async def _own_job(self, user: str, job_id: str) -> Job:
        job = await self._store.get(job_id)
        if job is None or (job.user != user and not self._access.is_bot_admin(user)):
            raise JobNotFound(job_id)
        return job
