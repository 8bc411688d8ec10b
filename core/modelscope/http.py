"""One HTTP exchange with ModelScope; the only place where statuses become exceptions."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from multidict import CIMultiDictProxy

from core.errors import (
    BadRequest,
    QuotaExhausted,
    RateLimited,
    ServerError,
    TaskNotFound,
    TransportError,
    Unauthorized,
    UpstreamError,
)
from core.metrics import MODELSCOPE_ERRORS, MODELSCOPE_LATENCY, error_kind
from core.modelscope.tasks import error_of, error_type
from core.secret import Secret

if TYPE_CHECKING:  # imported where a request is made: `enqueue`, which makes none, never pays
    import aiohttp

log = logging.getLogger("imagine.modelscope")

RATE_LIMIT_HEADERS = (
    "modelscope-ratelimit-requests-remaining",
    "modelscope-ratelimit-model-requests-remaining",
)


@dataclass(frozen=True)
class ApiAnswer:
    """A successful answer: the JSON object and the request id to quote in logs."""

    data: dict[str, Any]
    request_id: str
    remaining: dict[str, int]


class ModelScopeHttp:
    """Sends authenticated requests to one base URL with one token."""

    def __init__(
        self, session: aiohttp.ClientSession, base_url: str, token: Secret, timeout: float
    ) -> None:
        self._session = session
        self._base = base_url if base_url.endswith("/") else base_url + "/"
        self._token = token
        self._timeout_seconds = timeout

    @property
    def token_label(self) -> str:
        return self._token.label

    async def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str],
        payload: dict[str, Any] | None = None,
        operation: str | None = None,
    ) -> ApiAnswer:
        """Send one request; return its JSON object or raise an `UpstreamError`.
        `operation` names it in the latency metric (default: submit for a POST, else poll)."""
        started = time.monotonic()
        operation = operation or ("submit" if method == "POST" else "poll")
        try:
            status, body, answer_headers = await self._exchange(method, path, headers, payload)
        except UpstreamError as failure:
            MODELSCOPE_ERRORS.labels(error_kind(failure.key)).inc()
            raise
        MODELSCOPE_LATENCY.labels(operation).observe(time.monotonic() - started)
        data = _decode(body)
        request_id = str((data or {}).get("request_id") or answer_headers.get("x-request-id", ""))
        remaining = _remaining(answer_headers)
        log.log(
            logging.INFO if method == "POST" else logging.DEBUG,  # polls are many; submits count
            "modelscope %s %s -> %s in %.0f ms",
            method,
            path,
            status,
            (time.monotonic() - started) * 1000,
            extra={"request_id": request_id, "token": self._token.label, **remaining},
        )
        if status >= 400 or data is None:
            error = error_for_status(status, data, answer_headers, request_id, body)
            MODELSCOPE_ERRORS.labels(error_kind(error.key)).inc()
            raise error
        return ApiAnswer(data, request_id, remaining)

    async def _exchange(
        self, method: str, path: str, headers: dict[str, str], payload: dict[str, Any] | None
    ) -> tuple[int, bytes, CIMultiDictProxy[str]]:
        import aiohttp

        all_headers = {"Authorization": f"Bearer {self._token.reveal()}", **headers}
        try:
            async with self._session.request(
                method,
                self._base + path,
                json=payload,
                headers=all_headers,
                timeout=aiohttp.ClientTimeout(total=self._timeout_seconds),
                allow_redirects=False,
            ) as response:
                return response.status, await response.read(), response.headers
        except aiohttp.ClientConnectorError as exc:
            raise TransportError(f"cannot connect: {exc.os_error}", maybe_delivered=False) from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            # The request may have reached the service before the answer was lost.
            raise TransportError(f"{type(exc).__name__}", maybe_delivered=True) from None


def error_for_status(
    status: int,
    data: dict[str, Any] | None,
    headers: CIMultiDictProxy[str] | dict[str, str],
    request_id: str,
    body: bytes = b"",
) -> UpstreamError:
    """The typed error for an answer that is not a usable success."""
    message = error_of(data)[0] if data else body[:200].decode("utf-8", "replace").strip()
    message = message or f"HTTP {status}"
    if status < 400:
        return TransportError(
            f"malformed answer: {message[:80]}", maybe_delivered=True, request_id=request_id
        )
    if status == 400:
        return BadRequest(message, status, request_id)
    if status in (401, 403):
        return Unauthorized(message, status, request_id)
    if status == 404:
        return TaskNotFound(message, status, request_id)
    if status == 429:
        kind = error_type(data) if data else ""
        return _rate_limit(f"{kind} {message}", request_id, headers.get("Retry-After"), message)
    if status >= 500:
        return ServerError(message, status, request_id)
    return UpstreamError(message, status, request_id)


def _rate_limit(clues: str, request_id: str, retry_after: str | None, message: str) -> RateLimited:
    """An exhausted balance (said in the error's type or its message, or code 1008), else a
    rate limit to wait out."""
    lowered = clues.lower()
    if "balance" in lowered or "1008" in lowered:
        return QuotaExhausted(message, 429, request_id)
    return RateLimited(message, 429, request_id, retry_after=parse_retry_after(retry_after))


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds: a number, or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def _decode(body: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _remaining(headers: CIMultiDictProxy[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for name in RATE_LIMIT_HEADERS:
        value = headers.get(name)
        if value is not None and value.strip().isdigit():
            found[name.replace("modelscope-ratelimit-", "").replace("-", "_")] = int(value)
    return found
