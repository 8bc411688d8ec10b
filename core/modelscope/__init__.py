"""ModelScope API-Inference (see shared/MODELSCOPE_API.md): the HTTP layer where statuses
become errors, the client that submits and polls, and when to poll (a fixed interval, or
the adaptive policy that plans from the run times learned of finished tasks, kept in the
store by `RunTimeMemory`)."""

from core.modelscope.adaptive_polling import AdaptivePolicy, AdaptiveSettings
from core.modelscope.balance import Balance, BalanceReader
from core.modelscope.chat import ChatClient, ChatMessage
from core.modelscope.client import PROBE_TASK, ModelScopeClient, SubmittedTask
from core.modelscope.http import ModelScopeHttp
from core.modelscope.memory import RunTimeMemory
from core.modelscope.polling import FixedInterval, PollPolicy
from core.modelscope.retry import Backoff
from core.modelscope.runtimes import RunTimes, workload_of
from core.modelscope.tasks import TaskSnapshot, TaskStatus

__all__ = [
    "PROBE_TASK",
    "AdaptivePolicy",
    "AdaptiveSettings",
    "Backoff",
    "Balance",
    "BalanceReader",
    "ChatClient",
    "ChatMessage",
    "FixedInterval",
    "ModelScopeClient",
    "ModelScopeHttp",
    "PollPolicy",
    "RunTimeMemory",
    "RunTimes",
    "SubmittedTask",
    "TaskSnapshot",
    "TaskStatus",
    "workload_of",
]
