"""Logging: one line per event, text or JSON, with every configured secret masked."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable

from core.secret import MODELSCOPE_TOKEN_SHAPE

# Context that call sites attach with `extra=`; shown as key=value after the message.
CONTEXT_FIELDS = ("job_id", "user", "task_id", "request_id", "token", "requests_remaining")
MASK = "***"
# Discord interaction tokens (valid 15 minutes) ride in webhook URLs and gateway payloads.
INTERACTION_TOKEN_IN_URL = re.compile(r"(/(?:webhooks|interactions)/\d+/)[\w.-]+")
TOKEN_FIELD = re.compile(r"""(\\*['"]token\\*['"]\s*:\s*\\*['"])[^'"\\]+""")


class RedactingFormatter(logging.Formatter):
    """Formats a record, then masks every secret in the result, tracebacks included."""

    def __init__(self, secrets: Iterable[str], as_json: bool) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        # Longest first, so a token that contains another is masked whole.
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)
        self._as_json = as_json

    def format(self, record: logging.LogRecord) -> str:
        context = {k: getattr(record, k) for k in CONTEXT_FIELDS if hasattr(record, k)}
        if self._as_json:
            text = json.dumps(self._json_entry(record, context), ensure_ascii=False, default=str)
        else:
            text = super().format(record)
            if context:
                text += " " + " ".join(f"{k}={v}" for k, v in context.items())
        return self.redact(text)

    def _json_entry(
        self, record: logging.LogRecord, context: dict[str, object]
    ) -> dict[str, object]:
        entry: dict[str, object] = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **context,
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return entry

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        text = INTERACTION_TOKEN_IN_URL.sub(rf"\1{MASK}", text)
        text = MODELSCOPE_TOKEN_SHAPE.sub(MASK, text)  # a member's own, never configured
        return TOKEN_FIELD.sub(rf"\1{MASK}", text)


def setup_logging(level: str, fmt: str, secrets: Iterable[str]) -> None:
    """Route every logger to stderr through the redacting formatter."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter(secrets, as_json=fmt == "json"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    # httpx logs every request URL, and a Telegram URL holds the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # aiosqlite logs every statement with its parameters: whole jobs, at any level.
    logging.getLogger("aiosqlite").setLevel(logging.INFO)
