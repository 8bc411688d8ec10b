"""STORE_URL picks the backend; a URL it cannot use is refused without echoing it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.composition import open_store_backend
from bot.settings import load_settings
from core.errors import ConfigurationError
from core.scheduling.local_queue import LocalQueue
from core.stores.redis import RedisJobQueue, RedisStore
from core.stores.sqlite import SqliteStore


async def test_redis_and_sqlite_urls_open_their_backends(redis_url: str, tmp_path: Path) -> None:
    on_redis = await open_store_backend(load_settings(store_url=redis_url))
    assert isinstance(on_redis.store, RedisStore) and isinstance(on_redis.queue, RedisJobQueue)
    assert on_redis.shared and on_redis.first_sight is not None
    await on_redis.close()
    on_sqlite = await open_store_backend(load_settings(store_url=f"sqlite:///{tmp_path / 'a.db'}"))
    assert isinstance(on_sqlite.store, SqliteStore) and isinstance(on_sqlite.queue, LocalQueue)
    assert not on_sqlite.shared and on_sqlite.first_sight is None
    await on_sqlite.close()


async def test_an_unknown_scheme_is_named_but_the_url_is_not_echoed() -> None:
    with pytest.raises(ConfigurationError) as refused:
        await open_store_backend(load_settings(store_url="postgres://bot:s3cret@db/imagine"))
    assert "'postgres'" in str(refused.value) and "s3cret" not in str(refused.value)
