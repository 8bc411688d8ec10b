"""A request turned into job rows and the admission that charges them (pure functions)."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from core.jobs.job import GenerationRequest, Job, JobState, QuotaState, new_id
from core.jobs.policy import Policy
from core.jobs.quotas import Admission
from core.requests.catalog import Catalog
from core.requests.params import GenerationParams
from core.requests.validation import SEED_MAX, ParamsInput

Limits = dict[str, float | None]  # per scope: user, member, chat, global


def new_jobs(
    request: GenerationRequest,
    params: GenerationParams,
    catalog: Catalog,
    policy: Policy,
    now: datetime,
    own_token: bool = False,
) -> list[Job]:
    """One job per image asked for, seeds counting up from the first; `own_token`: the
    user's own ModelScope token pays for them."""
    model = catalog.find_model(params.model)
    cost = model.cost if model else 1.0
    quota = QuotaState.EXEMPT if policy.is_admin(request.user) else QuotaState.RESERVED
    batch, tier = new_id(), policy.tier_for(request.user, request.roles)
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
            day=policy.limits.day_of(now),
            created_at=now.timestamp(),
            quota_state=QuotaState.OWN if own_token else quota,
            tier=tier.level,
            transitions={JobState.QUEUED.value: now.timestamp()},
        )
        for i in range(request.count)
    ]


def admission_for(
    request: GenerationRequest,
    cost: float,
    limits: Limits,
    policy: Policy,
    now: datetime,
    own_token: bool = False,
) -> Admission:
    """What the store checks, in the same step as it inserts the jobs; jobs the user's own
    token pays for meet no community budget, only the waiting cap and the cooldown."""
    if own_token:
        limits = dict.fromkeys(limits)
    return Admission(
        user=request.user,
        chat=request.chat,
        day=policy.limits.day_of(now),
        now=now.timestamp(),
        cost=cost,
        resets_at=policy.limits.reset_phrase(now),
        exempt=policy.is_admin(request.user),
        user_limit=limits["user"],
        member_limit=limits["member"],
        chat_limit=limits["chat"],
        global_limit=limits["global"],
        max_waiting=policy.tier_for(request.user, request.roles).waiting,
        cooldown_seconds=policy.limits.cooldown_seconds,
    )


def request_from(job: Job, reply_target: str, prompt: str, count: int = 1) -> GenerationRequest:
    """A new request by the asker of `job`, where they asked it, for `prompt` (a reroll, an
    enhanced prompt drawn)."""
    platform, _, user_id = job.user.partition(":")
    return GenerationRequest(
        platform=platform,
        user_id=user_id,
        chat_id=job.chat.partition(":")[2],
        reply_target=reply_target,
        params=ParamsInput(prompt, negative_prompt=job.params.negative_prompt),
        is_group=job.is_group,
        locale=job.locale,
        count=count,
    )
