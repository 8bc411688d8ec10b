"""Fetching output images safely: allowed hosts only, a byte cap, and a Pillow check."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from yarl import URL

from core.clock import Clock
from core.errors import DownloadError
from core.images.origins import allowed, parse_origins
from core.images.processing import ImageInfo
from core.images.workers import ImageWorkers

if TYPE_CHECKING:  # imported where a download is made (see core.modelscope.http)
    import aiohttp
from core.modelscope.retry import Backoff

log = logging.getLogger("imagine.download")

MAX_REDIRECTS = 3
CHUNK = 64 * 1024


class _Retryable(Exception):
    """A failure that another attempt may not meet (network, 5xx, a cut-off body)."""


class ImageFetcher:
    """Downloads one image with retries; the result is verified bytes and what they are."""

    def __init__(
        self,
        *,
        session: aiohttp.ClientSession,
        allowed_hosts: Sequence[str],
        max_bytes: int,
        backoff: Backoff,
        clock: Clock,
        images: ImageWorkers,
        timeout: float = 60.0,
    ) -> None:
        """Downloads from `allowed_hosts` only (at every redirect), at most `max_bytes`,
        retried after `backoff`; `images` checks what came."""
        if max_bytes < 1:
            raise ValueError("max_bytes must be positive")
        self._session = session
        self._images = images
        self._allowed = parse_origins(allowed_hosts)
        self._max_bytes = max_bytes
        self._backoff = backoff
        self._clock = clock
        self._timeout_seconds = timeout

    async def fetch(self, url: str) -> tuple[bytes, ImageInfo]:
        """The image at `url`, or `DownloadError` once retries are spent (at once when
        another attempt would meet the same)."""
        failures, host = 0, URL(url).host or ""
        while True:
            try:
                data = await self._fetch_once(URL(url))
                return data, await self._images.inspect(data)
            except DownloadError as error:
                # Bytes that do not decode may have been cut off or mangled on the way; a
                # bomb, a format or a size is the same next time.
                if error.permanent:
                    raise DownloadError(error.reason, host, error.detail) from None
                last: Exception = error
            except _Retryable as retryable:
                last = retryable
            failures += 1
            if failures >= self._backoff.attempts:
                reason = last.reason if isinstance(last, DownloadError) else "unreachable"
                raise DownloadError(reason, host, str(last)) from None
            log.warning("download from %s failed (%s); retrying", host, last)
            await self._clock.sleep(self._backoff.delay(failures))

    async def _fetch_once(self, url: URL) -> bytes:
        import aiohttp

        timeout = aiohttp.ClientTimeout(total=self._timeout_seconds)
        for _ in range(MAX_REDIRECTS + 1):
            self._check_url(url)
            try:
                async with self._session.get(
                    url, allow_redirects=False, timeout=timeout
                ) as response:
                    if response.status in (301, 302, 303, 307, 308):
                        url = url.join(URL(response.headers.get("Location", "")))
                        continue
                    return await self._read_body(response, url)
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise _Retryable(type(exc).__name__) from None
        raise DownloadError("too_many_redirects", url.host or "")

    def _check_url(self, url: URL) -> None:
        if not allowed(url, self._allowed):
            where = f"{url.scheme}://{url.host}:{url.port}"
            raise DownloadError("not_allowed", url.host or "", f"{where} not allowed")

    async def _read_body(self, response: aiohttp.ClientResponse, url: URL) -> bytes:
        if response.status >= 500 or response.status == 429:
            raise _Retryable(f"HTTP {response.status}")
        if response.status != 200:
            raise DownloadError("refused", url.host or "", f"HTTP {response.status}")
        announced = response.content_length
        if (announced or 0) > self._max_bytes:
            raise DownloadError("too_large", url.host or "", f"{announced} bytes")
        body = bytearray()
        async for chunk in response.content.iter_chunked(CHUNK):
            body.extend(chunk)
            if len(body) > self._max_bytes:
                raise DownloadError("too_large", url.host or "", f"over {self._max_bytes} bytes")
        return bytes(body)
