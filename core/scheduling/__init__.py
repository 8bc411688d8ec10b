"""Scheduling: the queue port (where jobs wait and are held), the fair order both of its
backends follow, the local backend of one process, and the one scheduler that claims jobs
onto free ModelScope slots and runs them. The Redis backend is in core.stores.redis."""

from core.scheduling.fairqueue import FairQueue, admission_order
from core.scheduling.local_queue import LocalQueue
from core.scheduling.queue import Caps, JobQueue, Lease, Renewal, TokenRoom
from core.scheduling.scheduler import Scheduler

__all__ = [
    "Caps",
    "FairQueue",
    "JobQueue",
    "Lease",
    "LocalQueue",
    "Renewal",
    "Scheduler",
    "TokenRoom",
    "admission_order",
]
