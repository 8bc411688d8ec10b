"""The platform-neutral core of imagine-bot: it imports no chat SDK (tests/test_architecture).

Its parts, each a package (docs/ARCHITECTURE.md draws them): `requests` (what a user may
ask), `jobs` (the job, its events, costs and policy), `modelscope` (the API, polling and
run times), `images`, `delivery` (events to platforms, and words), `execution` (running a
job), `scheduling` (the queue and the scheduler), `stores` (SQLite and Redis) and
`service` (the doors adapters use). The names below are the surface the chat adapters and
the composition root use; they are imported on first use, so `import core.errors` stays
cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.clock import Clock, SystemClock
    from core.delivery import Action, Press, Translator, load_translator
    from core.errors import ConfigurationError, ImagineError, InvalidParameter
    from core.images import ImageWorkers
    from core.jobs import (
        BatchState,
        EventKind,
        GenerationRequest,
        Job,
        JobEvent,
        JobState,
        Notifier,
        Policy,
    )
    from core.requests import Catalog, LoraChoice, ParamsInput
    from core.secret import Secret
    from core.service import Actor, CommunityAdmin, Core, GenerationService
    from core.stores import Backend, open_backend

_WHERE = {
    "Clock": "core.clock",
    "SystemClock": "core.clock",
    "Action": "core.delivery",
    "Press": "core.delivery",
    "Translator": "core.delivery",
    "load_translator": "core.delivery",
    "ConfigurationError": "core.errors",
    "ImagineError": "core.errors",
    "InvalidParameter": "core.errors",
    "ImageWorkers": "core.images",
    "BatchState": "core.jobs",
    "EventKind": "core.jobs",
    "GenerationRequest": "core.jobs",
    "Job": "core.jobs",
    "JobEvent": "core.jobs",
    "JobState": "core.jobs",
    "Notifier": "core.jobs",
    "Policy": "core.jobs",
    "Catalog": "core.requests",
    "LoraChoice": "core.requests",
    "ParamsInput": "core.requests",
    "Secret": "core.secret",
    "Actor": "core.service",
    "CommunityAdmin": "core.service",
    "Core": "core.service",
    "GenerationService": "core.service",
    "Backend": "core.stores",
    "open_backend": "core.stores",
}

__all__ = [
    "Action",
    "Actor",
    "Backend",
    "BatchState",
    "Catalog",
    "Clock",
    "CommunityAdmin",
    "ConfigurationError",
    "Core",
    "EventKind",
    "GenerationRequest",
    "GenerationService",
    "ImageWorkers",
    "ImagineError",
    "InvalidParameter",
    "Job",
    "JobEvent",
    "JobState",
    "LoraChoice",
    "Notifier",
    "ParamsInput",
    "Policy",
    "Press",
    "Secret",
    "SystemClock",
    "Translator",
    "load_translator",
    "open_backend",
]


def __getattr__(name: str) -> object:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'core' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
