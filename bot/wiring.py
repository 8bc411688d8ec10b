"""Building the engine from settings: the only place that knows every piece."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bot.settings import Settings
from core.clock import Clock
from core.execution.adaptive_polling import AdaptivePolicy, AdaptiveSettings
from core.execution.engine import ImageEngine
from core.execution.polling import FixedInterval, PollPolicy
from core.images.download import ImageFetcher
from core.modelscope.client import ModelScopeClient
from core.modelscope.http import ModelScopeHttp
from core.modelscope.retry import Backoff
from core.secret import Secret


@dataclass(frozen=True)
class EngineConfig:
    """What the engines need, taken from settings (or from `--simulate`)."""

    base_url: str
    tokens: Sequence[Secret]
    poll_interval: float
    poll_policy: str
    poll_max_seconds: float
    request_timeout: float
    max_attempts: int
    allowed_hosts: Sequence[str]
    max_download_bytes: int
    output_dir: Path

    @classmethod
    def from_settings(cls, settings: Settings, output_dir: Path | None = None) -> EngineConfig:
        return cls(
            base_url=settings.modelscope_infer_base,
            tokens=settings.modelscope_tokens(),
            poll_interval=settings.modelscope_image_poll_interval,
            poll_policy=settings.modelscope_poll_policy,
            poll_max_seconds=settings.modelscope_image_poll_max_seconds,
            request_timeout=settings.modelscope_request_timeout,
            max_attempts=settings.modelscope_max_attempts,
            allowed_hosts=settings.modelscope_download_allowed_hosts,
            max_download_bytes=settings.modelscope_download_max_bytes,
            output_dir=output_dir or settings.output_dir,
        )


def build_engines(
    config: EngineConfig,
    session: aiohttp.ClientSession,
    clock: Clock,
    policy: PollPolicy | None = None,
) -> list[ImageEngine]:
    """One engine per token: each token is one ModelScope account with its own slot."""
    backoff = Backoff(attempts=config.max_attempts)
    fetcher = ImageFetcher(session, config.allowed_hosts, config.max_download_bytes, backoff, clock)
    chosen = policy or poll_policy(config)
    return [
        ImageEngine(
            ModelScopeClient(
                ModelScopeHttp(session, config.base_url, token, config.request_timeout),
                backoff,
                clock,
            ),
            fetcher,
            config.output_dir,
            chosen,
            config.poll_max_seconds,
            clock,
        )
        for token in config.tokens
    ]


def poll_policy(config: EngineConfig) -> PollPolicy:
    """One policy for every engine, so all tokens' tasks teach it run times."""
    if config.poll_policy == "fixed":
        return FixedInterval(config.poll_interval)
    # Its defaults are for the 3 s default interval; another interval scales them all.
    return AdaptivePolicy(AdaptiveSettings().scaled(config.poll_interval / 3.0))
