"""Shared fixtures: a real simulator on loopback, a real aiohttp session, fast backoff."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from hypothesis import settings

from bench import redis_server
from bot.simulator import Simulator, Timing
from core.clock import Clock, SystemClock
from core.execution.engine import ImageEngine
from core.images.download import ImageFetcher
from core.images.workers import ImageWorkers
from core.jobs.events import Notifier
from core.jobs.policy import Policy
from core.modelscope.balance import BalanceReader
from core.modelscope.chat import ChatClient
from core.modelscope.client import ModelScopeClient
from core.modelscope.http import ModelScopeHttp
from core.modelscope.polling import FixedInterval
from core.modelscope.retry import Backoff
from core.modelscope.runtimes import RunTimes
from core.requests.catalog import load_catalog
from core.secret import Sealer, Secret
from core.service.core import Core
from core.service.members import MemberEngines
from core.service.prompts import PromptSettings
from core.stores.backends import Backend

# One pool of image worker processes for the whole session (each start costs a second).
IMAGES = ImageWorkers()
TOKEN = "ms-test-0000-token-a"
OTHER_TOKEN = "ms-test-0000-token-b"
# A member's own token (core.service.members), and the key members' tokens are sealed with.
MEMBER_TOKEN = "ms-fake-member-token-for-tests-0001"
SEALER = Sealer(Secret("a-test-key-0123456789-abcdefghijklmn", "BOT_SECRET_KEY"))
FAST_TIMING = Timing(queue_mean=0.0, run_mean=0.15, run_sd=0.0)

# No test is timed (timings belong in bench/): hypothesis's per-example deadline would fail
# a property on a busy machine, not on a wrong answer.
settings.register_profile("untimed", deadline=None)
settings.load_profile("untimed")


class RecordingClock(SystemClock):
    """The real clock, except that waits are recorded and cut short."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        await asyncio.sleep(min(seconds, 0.02))


class FakeClock:
    """A clock that only moves when told to (or when slept on)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.start = start or datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
        self.offset = 0.0

    def monotonic(self) -> float:
        return self.offset

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.offset)

    def advance(self, seconds: float) -> None:
        self.offset += seconds

    async def sleep(self, seconds: float) -> None:
        self.offset += max(0.0, seconds)
        await asyncio.sleep(0)


def fast_backoff(attempts: int = 4) -> Backoff:
    return Backoff(base=0.01, factor=2.0, cap=0.05, attempts=attempts)


async def until(condition: Callable[[], bool], within: float = 20.0) -> None:
    """Wait for `condition`, which another process or a background task makes true."""
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 - nothing here to wait on but the state
            await asyncio.sleep(0.02)


@pytest.fixture
async def simulator() -> AsyncIterator[Simulator]:
    async with Simulator(frozenset({TOKEN, OTHER_TOKEN, MEMBER_TOKEN}), FAST_TIMING) as sim:
        yield sim


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


def make_client(
    sim: Simulator,
    session: aiohttp.ClientSession,
    token: str = TOKEN,
    clock: SystemClock | None = None,
    attempts: int = 4,
) -> ModelScopeClient:
    http = ModelScopeHttp(session, sim.base_url, Secret(token, "token#1"), timeout=5.0)
    return ModelScopeClient(http, fast_backoff(attempts), clock or SystemClock())


def make_engine(
    sim: Simulator,
    session: aiohttp.ClientSession,
    out: Path,
    max_seconds: float = 10.0,
    token: str = TOKEN,
    run_times: RunTimes | None = None,
) -> ImageEngine:
    clock = SystemClock()
    fetcher = ImageFetcher(
        session=session,
        allowed_hosts=["http://127.0.0.1:*"],
        max_bytes=8 * 1024 * 1024,
        backoff=fast_backoff(),
        clock=clock,
        images=IMAGES,
    )
    return ImageEngine(
        client=make_client(sim, session, token),
        fetcher=fetcher,
        output_dir=out,
        policy=FixedInterval(0.03),
        run_times=run_times or RunTimes(),
        max_seconds=max_seconds,
        clock=clock,
    )


def member_engines(
    sim: Simulator, session: aiohttp.ClientSession, out: Path, run_times: RunTimes
) -> MemberEngines:
    """A member's token's engine and balance reader, on the simulator."""

    def build(token: Secret) -> tuple[ImageEngine, BalanceReader]:
        engine = make_engine(sim, session, out, 10.0, token.reveal(), run_times)
        balance = ModelScopeHttp(session, f"{sim.base_url}openapi/v1/", token, 5.0)
        return engine, BalanceReader(balance)

    return build


async def wait_until_idle(sim: Simulator) -> None:
    """Let every simulated task end, so the token's one slot is free again."""
    latest = max((task.ends_at for task in sim.tasks.values()), default=0.0)
    await asyncio.sleep(max(0.0, latest - time.monotonic()))


class ShiftedClock(SystemClock):
    """Real sleeps and monotonic time; the wall clock can jump (to cross a day)."""

    def __init__(self) -> None:
        self.shift = timedelta()

    def now(self) -> datetime:
        return super().now() + self.shift

    def advance(self, seconds: float) -> None:
        self.shift += timedelta(seconds=seconds)


def adapter_core(
    sim: Simulator,
    session: aiohttp.ClientSession,
    tmp_path: Path,
    backend: Backend,
    policy: Policy | None,
    clock: Clock,
    notifiers: Mapping[str, Notifier],
    progress_every: float = 0.0,
    sealer: Sealer | None = None,
    prompts: PromptSettings | None = None,
) -> Core:
    """The core a chat adapter's tests run: one token, the adapter's notifier; `sealer`:
    members' own tokens are taken; `prompts`: how the chat calls are made."""
    run_times = RunTimes()
    engine = make_engine(sim, session, tmp_path, 10.0, TOKEN, run_times)
    return Core.build(
        backend=backend,
        engines=[("token#1", engine)],
        run_times=run_times,
        notifiers=notifiers,
        catalog=load_catalog(),
        policy=policy or Policy(),
        clock=clock,
        progress_every=progress_every,
        sealer=sealer,
        member_engines=member_engines(sim, session, tmp_path, run_times) if sealer else None,
        chat_clients={"token#1": chat_client(sim, session, TOKEN)},
        prompt_settings=prompts,
    )


def chat_client(sim: Simulator, session: aiohttp.ClientSession, token: str) -> ChatClient:
    """A token's client of the simulator's chat endpoint."""
    return ChatClient(ModelScopeHttp(session, sim.base_url, Secret(token, "chat"), 5.0))


@pytest.fixture(scope="session", autouse=True)
def image_workers() -> Iterator[ImageWorkers]:
    """The session's image worker processes, stopped at its end."""
    yield IMAGES
    IMAGES.close()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Redis server for the session (REDIS_URL, or one started on a free port)."""
    yield from redis_server.server_url(tmp_path_factory.mktemp("redis"))


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own, deleted afterwards."""
    prefix = redis_server.new_prefix()
    yield prefix
    redis_server.delete_prefix(redis_url, prefix)
