"""The generation service: the one entry point adapters call (STYLE.md, habit 3)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
from dataclasses import dataclass
from pathlib import Path

from core.clock import Clock
from core.errors import (
    InvalidParameter,
    JobNotFound,
    NotAllowed,
    RequestRefused,
    Restarting,
)
from core.execution.runner import JobRunner
from core.execution.runtimes import RunTimes
from core.jobs.events import EventKind, JobEvent, PlatformNotifiers
from core.jobs.job import GenerationRequest, Job, JobState, QuotaState, new_id
from core.metrics import REQUESTS_REFUSED, error_kind
from core.requests.catalog import Catalog
from core.requests.params import GenerationParams
from core.requests.validation import SEED_MAX, ParamsInput, check_prompt, validate
from core.scheduling.scheduler import Scheduler
from core.service.policy import Policy
from core.service.quotas import Admission
from core.service.rules import CommunityRules
from core.stores import Store

log = logging.getLogger("imagine.service")


@dataclass(frozen=True)
class Receipt:
    """What `submit` answers at once: the jobs, the first one's place and a wait estimate."""

    jobs: tuple[Job, ...]
    position: int
    estimated_wait: float


@dataclass(frozen=True)
class QueueState:
    waiting: int
    running: int
    your_positions: tuple[int, ...]
    estimated_wait: float


@dataclass(frozen=True)
class QuotaView:
    """Cost units used and left today per scope (left None: no limit); reset time."""

    used: dict[str, float]
    left: dict[str, float | None]
    resets_at: str
    exempt: bool


class GenerationService:
    """Validates, moderates, charges and queues requests; reports through the notifiers."""

    def __init__(
        self,
        *,
        store: Store,
        catalog: Catalog,
        scheduler: Scheduler,
        runner: JobRunner,
        notifiers: PlatformNotifiers,
        policy: Policy,
        clock: Clock,
        run_times: RunTimes,
    ) -> None:
        self.store = store
        self.catalog = catalog
        self._scheduler = scheduler
        self._runner = runner
        self._notifiers = notifiers
        self.policy = policy
        self.clock = clock
        self._run_times = run_times
        self._rng = random.Random()
        self.rules = CommunityRules(store, catalog, policy)
        self.draining = False

    async def submit(self, request: GenerationRequest) -> Receipt:
        """Accept a request, or raise the typed reason why not; nothing is spent on a refusal."""
        try:
            return await self._submit(request)
        except (RequestRefused, InvalidParameter) as refusal:
            REQUESTS_REFUSED.labels(error_kind(refusal.key)).inc()
            raise

    async def _submit(self, request: GenerationRequest) -> Receipt:
        if self.draining:
            raise Restarting("the bot is restarting")
        await self.rules.check(request)
        if not 1 <= request.count <= self.policy.max_count:
            raise InvalidParameter("count", request.count, f"1..{self.policy.max_count}")
        params = validate(await self.rules.with_defaults(request), self.catalog, self._rng)
        return await self._accept(request, params)

    async def reroll(
        self, user: str, job_id: str, reply_target: str, prompt: str | None = None
    ) -> Receipt:
        """The same parameters with a new seed (and maybe a new prompt), charged like a new
        request; a new prompt passes the prompt filter like any other."""
        job = await self._own_job(user, job_id)
        new_prompt = job.params.prompt if prompt is None else check_prompt(prompt)
        platform, _, user_id = job.user.partition(":")
        request = GenerationRequest(
            platform=platform,
            user_id=user_id,
            chat_id=job.chat.partition(":")[2],
            reply_target=reply_target,
            params=ParamsInput(new_prompt, negative_prompt=job.params.negative_prompt),
            is_group=job.is_group,
            locale=job.locale,
        )
        await self.rules.check(request)
        seed = self._rng.randint(0, SEED_MAX)
        params = dataclasses.replace(job.params, prompt=new_prompt, seed=seed)
        return await self._accept(request, params)

    async def drain(self) -> int:
        """Refuse new requests from now on and tell every waiting job's user that the bot
        restarts (their jobs stay in line); answers how many were told."""
        self.draining = True
        waiting = await self._scheduler.stranded()
        for job in waiting:
            await self._notifiers.send_quietly(JobEvent(EventKind.RESTARTING, job))
        return len(waiting)

    async def cancel(self, user: str, job_id: str) -> Job:
        """Cancel a waiting or running job of the user's (or any job, for an admin)."""
        job = await self._own_job(user, job_id)
        if job.state.terminal:
            raise NotAllowed(f"job {job_id} already ended")
        if await self._scheduler.stop(job_id):
            return job  # running: its worker ends it cancelled and announces it
        return await self._runner.end_cancelled(job)

    async def job(self, job_id: str) -> Job | None:
        """A job by id (buttons carry ids; the caller checks who may act on it)."""
        return await self.store.get(job_id)

    async def batch(self, batch_id: str) -> list[Job]:
        """All jobs of one request, in order: an adapter sends them as an album."""
        return await self.store.batch(batch_id)

    async def history(self, user: str, limit: int = 10) -> list[Job]:
        return await self.store.history(user, limit)

    async def queue_state(self, user: str) -> QueueState:
        order = await self._scheduler.waiting()
        running = await self._scheduler.running_count()
        mine = tuple(i for i, job in enumerate(order, start=1) if job.user == user)
        first = mine[0] if mine else len(order) + 1
        return QueueState(len(order), running, mine, self._estimate(first, running))

    async def quota(self, user: str, chat: str) -> QuotaView:
        now = self.clock.now()
        limits = await self.rules.limits(chat)
        usage = await self.store.usage(user, chat, self.policy.limits.day_of(now))
        used = {"user": usage.user, "chat": usage.chat, "global": usage.global_}
        left = {
            scope: None if limit is None else max(0.0, limit - used[scope])
            for scope, limit in limits.items()
        }
        resets = self.policy.limits.resets_at(now).isoformat(timespec="minutes")
        return QuotaView(used, left, resets, self.policy.is_admin(user))

    async def recover(self) -> int:
        """Pick up every unfinished job after a start: queue, resume or deliver each."""
        jobs = await self.store.unfinished()
        await self._scheduler.recover(jobs)
        log.info("recovered %d unfinished jobs", len(jobs))
        return len(jobs)

    async def purge_old(self) -> int:
        """Delete finished jobs and their images past the retention period."""
        horizon = self.clock.now().timestamp() - self.policy.retention_days * 86_400
        gone = await self.store.purge(horizon)
        await asyncio.to_thread(_delete_files, [job.result_path for job in gone if job.result_path])
        return len(gone)

    # --- helpers --------------------------------------------------------------------

    async def _accept(self, request: GenerationRequest, params: GenerationParams) -> Receipt:
        jobs = self._jobs(request, params)
        await self.store.add_jobs(jobs, await self._admission(request, sum(j.cost for j in jobs)))
        position = await self._scheduler.position(jobs[0].id) or 0
        wait = self._estimate(position, await self._scheduler.running_count())
        for job in jobs:
            queued = JobEvent(EventKind.QUEUED, job, position=position, estimate=wait)
            await self._notifiers.send_quietly(queued)
        return Receipt(tuple(jobs), position, wait)

    def _jobs(self, request: GenerationRequest, params: GenerationParams) -> list[Job]:
        model = self.catalog.find_model(params.model)
        cost = model.cost if model else 1.0
        now = self.clock.now()
        exempt = self.policy.is_admin(request.user)
        batch, tier = new_id(), self.policy.tier_for(request.user, request.roles)
        return [
            Job(
                id=new_id(),
                batch_id=batch,
                batch_index=i,
                batch_size=request.count,
                user=request.user,
                chat=request.chat,
                is_group=request.is_group,
                reply_target=request.reply_target,
                locale=request.locale,
                params=dataclasses.replace(params, seed=(params.seed + i) % (SEED_MAX + 1)),
                cost=cost,
                day=self.policy.limits.day_of(now),
                created_at=now.timestamp(),
                quota_state=QuotaState.EXEMPT if exempt else QuotaState.RESERVED,
                tier=tier.level,
                transitions={JobState.QUEUED.value: now.timestamp()},
            )
            for i in range(request.count)
        ]

    async def _admission(self, request: GenerationRequest, cost: float) -> Admission:
        now = self.clock.now()
        limits = await self.rules.limits(request.chat)
        return Admission(
            user=request.user,
            chat=request.chat,
            day=self.policy.limits.day_of(now),
            now=now.timestamp(),
            cost=cost,
            resets_at=self.policy.limits.resets_at(now).strftime("%H:%M %Z"),
            exempt=self.policy.is_admin(request.user),
            user_limit=limits["user"],
            chat_limit=limits["chat"],
            global_limit=limits["global"],
            max_waiting=self.policy.tier_for(request.user, request.roles).waiting,
            cooldown_seconds=self.policy.limits.cooldown_seconds,
        )

    async def _own_job(self, user: str, job_id: str) -> Job:
        job = await self.store.get(job_id)
        if job is None or (job.user != user and not self.policy.is_admin(user)):
            raise JobNotFound(job_id)
        return job

    def _estimate(self, position: int, running: int) -> float:
        capacity = max(1, self._scheduler.capacity)
        return (position + running) / capacity * self._run_times.typical()


def _delete_files(paths: list[str]) -> None:
    for path in paths:
        Path(path).unlink(missing_ok=True)
