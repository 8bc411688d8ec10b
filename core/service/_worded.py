"""Whatever fails behind a door (the store, above all) reaches the adapter as an error it
can word: every path of a command ends in a message."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from core.errors import ImagineError, StoreUnavailable

log = logging.getLogger("imagine.service")
P = ParamSpec("P")
T = TypeVar("T")


def worded(call: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """`call`, with any failure that is not an `ImagineError` logged and raised as
    `StoreUnavailable` (nothing was taken or charged: the store's steps are atomic)."""

    @functools.wraps(call)
    async def guarded(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await call(*args, **kwargs)
        except ImagineError:
            raise
        except Exception as error:
            log.exception("%s failed", call.__name__)
            raise StoreUnavailable(f"{call.__name__}: {type(error).__name__}") from None

    return guarded
