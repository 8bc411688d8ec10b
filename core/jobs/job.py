"""The job: one image asked for by one person, and the row that is its source of truth."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from core.requests.params import GenerationParams
from core.requests.validation import ParamsInput


class JobState(StrEnum):
    """Where a job stands; every change is written to the row before it is announced."""

    QUEUED = "queued"  # accepted and paid for (reserved), waiting for a ModelScope slot
    SUBMITTING = "submitting"  # the POST is under way: no task id yet
    SUBMITTED = "submitted"  # ModelScope took it (task_id set): poll it, never submit again
    DOWNLOADING = "downloading"  # the task succeeded; the image is being fetched
    DELIVERING = "delivering"  # the image is kept; the adapter is posting it
    DONE = "done"  # delivered (delivered_at set): never delivered again
    FAILED = "failed"  # ended without an image (error_key says why)
    CANCELLED = "cancelled"  # the user or an admin cancelled it

    @property
    def terminal(self) -> bool:
        return self in (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


class JobKind(StrEnum):
    """What a job asks of ModelScope: an image (the queue's), or one of the short chat calls
    a `core.service.prompts.PromptDesk` makes at once (never queued)."""

    IMAGE = "image"
    DESCRIBE = "describe"  # prompts that would make a picture like the one given
    ENHANCE = "enhance"  # the user's prompt, rewritten richer, for them to confirm
    TRANSLATE = "translate"  # a prompt put into English for a model that prefers it


class QuotaState(StrEnum):
    """What the job's cost does to the quotas."""

    RESERVED = "reserved"  # counted against the limits while the job runs
    COMMITTED = "committed"  # spent: the job produced an image, or the user caused the failure
    REFUNDED = "refunded"  # given back: the failure was not the user's
    EXEMPT = "exempt"  # an admin's job: never counted
    OWN = "own"  # paid by the member's own ModelScope token: no community quota counts it


def actor_key(platform: str, identifier: str) -> str:
    """The one way the core names a person or a chat: `platform:id`."""
    return f"{platform}:{identifier}"


@dataclass(frozen=True)
class GenerationRequest:
    """What an adapter hands to the service: who, where, what, and how to answer."""

    platform: str
    user_id: str
    chat_id: str
    reply_target: str
    params: ParamsInput
    is_group: bool = False
    locale: str = "en"
    count: int = 1
    roles: tuple[str, ...] = ()
    enhance: bool | None = None  # rewrite the prompt richer first (None: the user's default)

    @property
    def user(self) -> str:
        return actor_key(self.platform, self.user_id)

    @property
    def chat(self) -> str:
        return actor_key(self.platform, self.chat_id)


@dataclass(frozen=True)
class Job:
    """One image's whole story; stored as a row, replaced (never mutated) on each change."""

    id: str
    batch_id: str
    batch_index: int
    batch_size: int
    user: str
    chat: str
    is_group: bool
    reply_target: str
    locale: str
    params: GenerationParams
    cost: float
    day: str
    created_at: float
    state: JobState = JobState.QUEUED
    quota_state: QuotaState = QuotaState.RESERVED
    tier: int = 0
    transitions: dict[str, float] = field(default_factory=dict)
    task_id: str | None = None
    token: str | None = None
    submit_attempts: int = 0
    result_path: str | None = None
    time_taken_ms: float | None = None
    error_key: str | None = None
    error_params: dict[str, Any] = field(default_factory=dict)
    delivered_at: float | None = None
    kind: JobKind = JobKind.IMAGE
    typed_prompt: str | None = None  # the prompt as typed, when another one was drawn
    texts: tuple[str, ...] = ()  # a chat call's answer: the prompts it made
    translations: tuple[str, ...] = ()  # the same prompts in the user's language

    @property
    def platform(self) -> str:
        return self.user.split(":", 1)[0]

    def moved(self, state: JobState, at: float, **changes: Any) -> Job:
        """This job in `state` since `at`, with `changes` applied."""
        return replace(
            self, state=state, transitions={**self.transitions, state.value: at}, **changes
        )

    def to_dict(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["params"] = self.params.to_dict()
        data["state"], data["quota_state"] = self.state.value, self.quota_state.value
        data["kind"] = self.kind.value
        data["texts"], data["translations"] = list(self.texts), list(self.translations)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Job:
        values = dict(data)
        values["params"] = GenerationParams.from_dict(values["params"])
        values["state"] = JobState(values["state"])
        values["quota_state"] = QuotaState(values["quota_state"])
        values["kind"] = JobKind(values.get("kind", JobKind.IMAGE.value))
        values["texts"] = tuple(values.get("texts", ()))
        values["translations"] = tuple(values.get("translations", ()))
        return cls(**values)


def new_id() -> str:
    return uuid.uuid4().hex[:12]
