"""Chat calls (describe, enhance, translate) on the community's tokens, beside the image
slots: a chat call starts no task and takes seconds, so it never waits behind an image job,
but each token runs at most `per_token` of them at once.

Fair among users: while every slot is busy, the next call to start is that of the user
served least recently, first come first served within a user, so one user's flood of
`/describe` waits behind everyone else's calls instead of ahead of them.

Each call follows the token pool's rules for a submit: a 401 takes the token out of the pool
and the call goes to another, a 429 cools the token and the call goes to another (or waits
for one), a server error or a lost answer is tried again after a backoff, a refusal of the
content is the user's and is not tried again.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass

from core.clock import Clock
from core.errors import NoWorkingToken, RateLimited, Unauthorized, UpstreamError
from core.execution.tokens import TokenAccount, TokenPool
from core.modelscope.chat import ChatClient, ChatMessage
from core.modelscope.retry import Backoff

log = logging.getLogger("imagine.text")

LOOK_AGAIN_SECONDS = 1.0  # a waiting call looks for a slot again (a token cooled off)


@dataclass(frozen=True)
class ChatAnswer:
    text: str
    token: str  # the label of the token that answered


class TextLane:
    """Runs chat calls on the pool's working tokens that have a chat client."""

    def __init__(
        self,
        pool: TokenPool,
        clients: Mapping[str, ChatClient],
        clock: Clock,
        backoff: Backoff | None = None,
        per_token: int = 2,
    ) -> None:
        if per_token < 1:
            raise ValueError("per_token must be at least 1")
        self._pool, self._clients, self._clock = pool, dict(clients), clock
        self._backoff = backoff or Backoff(base=0.5, cap=8.0, attempts=4)
        self._per_token = per_token
        self._busy: Counter[str] = Counter()
        self._waiting: dict[str, deque[asyncio.Future[TokenAccount]]] = {}
        self._served: dict[str, int] = {}  # user: the turn they were last served on
        self._turns = itertools.count(1)

    @property
    def enabled(self) -> bool:
        return bool(self._clients)

    async def call(
        self, user: str, model: str, messages: list[ChatMessage], max_tokens: int = 600
    ) -> ChatAnswer:
        """The model's answer, from the first token that gives one; raises the last error
        when the tries are spent, or at once when it is not worth trying again."""
        failures = 0
        while True:
            account = await self._slot(user)
            try:
                client = self._clients[account.label]
                return ChatAnswer(await client.complete(model, messages, max_tokens), account.label)
            except Unauthorized:
                self._pool.disable(account, "rejected a chat call (401)")
                continue  # it started nothing: another token takes the call
            except RateLimited as limited:
                self._pool.cool(account, limited.retry_after)
                failures += 1
                if failures >= self._backoff.attempts:
                    raise
            except UpstreamError as error:
                failures += 1
                if not error.retryable or failures >= self._backoff.attempts:
                    raise
                log.warning("a chat call failed (%s); trying again", error)
                await self._clock.sleep(self._backoff.delay(failures, error))
            finally:
                self._release(account)

    # --- slots, handed out fairly -------------------------------------------------------

    async def _slot(self, user: str) -> TokenAccount:
        waiter: asyncio.Future[TokenAccount] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(user, deque()).append(waiter)
        try:
            while True:
                self._hand_out()
                if waiter.done():
                    return waiter.result()
                if not self._candidates(working_only=False):
                    raise NoWorkingToken("no token takes chat calls")
                await asyncio.wait({waiter}, timeout=LOOK_AGAIN_SECONDS)
        except BaseException:
            self._withdraw(user, waiter)
            raise

    def _hand_out(self) -> None:
        """Give free slots to the waiting users served least recently, one call each."""
        while self._waiting:
            free = self._free_account()
            if free is None:
                return
            user = min(self._waiting, key=lambda u: self._served.get(u, 0))
            waiter = self._waiting[user].popleft()
            if not self._waiting[user]:
                del self._waiting[user]
            self._busy[free.label] += 1
            self._served[user] = next(self._turns)
            waiter.set_result(free)

    def _free_account(self) -> TokenAccount | None:
        open_ = [a for a in self._candidates() if self._busy[a.label] < self._per_token]
        return min(open_, key=lambda a: self._busy[a.label], default=None)

    def _candidates(self, working_only: bool = True) -> list[TokenAccount]:
        accounts = self._pool.working() if working_only else self._pool.accounts
        return [a for a in accounts if a.label in self._clients and not a.disabled_reason]

    def _release(self, account: TokenAccount) -> None:
        self._busy[account.label] -= 1
        self._hand_out()

    def _withdraw(self, user: str, waiter: asyncio.Future[TokenAccount]) -> None:
        """A waiting call gave up (cancelled, or no token): its slot, if it got one, goes on."""
        line = self._waiting.get(user)
        if line is not None and waiter in line:
            line.remove(waiter)
            if not line:
                del self._waiting[user]
        elif waiter.done() and not waiter.cancelled():
            self._release(waiter.result())
