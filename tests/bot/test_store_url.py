"""STORE_URL picks the backend; a URL it cannot use is refused without echoing it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.runtime import open_store
from bot.settings import load_settings
from core.errors import ConfigurationError
from core.stores.redis import RedisStore
from core.stores.sqlite import SqliteStore


async def test_redis_and_sqlite_urls_open_their_backends(redis_url: str, tmp_path: Path) -> None:
    redis_store = await open_store(load_settings(store_url=redis_url))
    assert isinstance(redis_store, RedisStore)
    await redis_store.close()
    sqlite_store = await open_store(load_settings(store_url=f"sqlite:///{tmp_path / 'a.db'}"))
    assert isinstance(sqlite_store, SqliteStore)
    await sqlite_store.close()


async def test_an_unknown_scheme_is_named_but_the_url_is_not_echoed() -> None:
    with pytest.raises(ConfigurationError) as refused:
        await open_store(load_settings(store_url="postgres://bot:s3cret@db/imagine"))
    assert "'postgres'" in str(refused.value) and "s3cret" not in str(refused.value)
