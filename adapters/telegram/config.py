"""The Telegram adapter's settings, without python-telegram-bot (so a process that does not
serve Telegram never imports it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from core.secret import Secret


@dataclass(frozen=True)
class TelegramConfig:
    token: Secret
    base_url: str = "https://api.telegram.org/bot"
    mode: Literal["polling", "webhook"] = "polling"
    poll_timeout: int = 10
    webhook_url: str = ""
    webhook_secret: Secret | None = None
    webhook_host: str = "0.0.0.0"  # noqa: S104 - Telegram must reach it
    webhook_port: int = 8443
    webhook_path: str = "/telegram"
    messages_per_second: float = 30.0
    chat_messages_per_second: float = 1.0
    group_messages_per_minute: float = 20.0
    max_retries: int = 5


def file_base_url(base_url: str) -> str:
    """`https://api.telegram.org/bot` -> `https://api.telegram.org/file/bot`."""
    root = base_url.removesuffix("/bot").rstrip("/")
    return f"{root}/file/bot"
