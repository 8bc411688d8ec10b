"""The job and what it runs under: the job row and its state machine, the events that tell
an adapter about it, what it costs (quotas) and the community's policy (caps, tiers,
admins), and the views the service answers with."""

from core.jobs.events import BatchState, Committed, EventKind, JobEvent, Notifier
from core.jobs.job import GenerationRequest, Job, JobKind, JobState, QuotaState, actor_key, new_id
from core.jobs.policy import Policy, Tier
from core.jobs.quotas import Admission, QuotaLimits, Usage
from core.jobs.rows import JobRows
from core.jobs.views import DefaultsChange, QueueState, QuotaView, Receipt

__all__ = [
    "Admission",
    "BatchState",
    "Committed",
    "DefaultsChange",
    "EventKind",
    "GenerationRequest",
    "Job",
    "JobEvent",
    "JobKind",
    "JobRows",
    "JobState",
    "Notifier",
    "Policy",
    "QueueState",
    "QuotaLimits",
    "QuotaState",
    "QuotaView",
    "Receipt",
    "Tier",
    "Usage",
    "actor_key",
    "new_id",
]
