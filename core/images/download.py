"""Fetching output images safely: allowed hosts only, a byte cap, and a Pillow check."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import aiohttp
from yarl import URL

from core.clock import Clock
from core.errors import DownloadError
from core.images.processing import ImageInfo
from core.images.workers import ImageWorkers
from core.modelscope.retry import Backoff

log = logging.getLogger("imagine.download")

MAX_REDIRECTS = 3
CHUNK = 64 * 1024


def host_allowed(host: str, patterns: Sequence[str]) -> bool:
    """`example.com` matches itself; `*.example.com` matches it and every subdomain."""
    host = host.lower().rstrip(".")
    for pattern in (p.lower().strip() for p in patterns):
        if pattern.startswith("*."):
            if host == pattern[2:] or host.endswith(pattern[1:]):
                return True
        elif host == pattern:
            return True
    return False


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
        self._allowed = tuple(allowed_hosts)
        self._max_bytes = max_bytes
        self._backoff = backoff
        self._clock = clock
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def fetch(self, url: str) -> tuple[bytes, ImageInfo]:
        """The image at `url`, or `DownloadError` once retries are spent."""
        failures = 0
        while True:
            try:
                data = await self._fetch_once(URL(url))
                return data, await self._images.inspect(data)
            except (_Retryable, DownloadError) as exc:
                if isinstance(exc, DownloadError) and not _worth_retrying(exc):
                    raise
                failures += 1
                if failures >= self._backoff.attempts:
                    raise DownloadError(str(exc), URL(url).host or "") from None
                log.warning("download from %s failed (%s); retrying", URL(url).host, exc)
                await self._clock.sleep(self._backoff.delay(failures))

    async def _fetch_once(self, url: URL) -> bytes:
        for _ in range(MAX_REDIRECTS + 1):
            self._check_url(url)
            try:
                async with self._session.get(
                    url, allow_redirects=False, timeout=self._timeout
                ) as response:
                    if response.status in (301, 302, 303, 307, 308):
                        url = url.join(URL(response.headers.get("Location", "")))
                        continue
                    return await self._read_body(response, url)
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise _Retryable(type(exc).__name__) from None
        raise DownloadError("too many redirects", url.host or "")

    def _check_url(self, url: URL) -> None:
        if url.scheme not in ("http", "https"):
            raise DownloadError(f"scheme {url.scheme or '-'} is not allowed", url.host or "")
        if not url.host or not host_allowed(url.host, self._allowed):
            raise DownloadError("host is not in MODELSCOPE_DOWNLOAD_ALLOWED_HOSTS", url.host or "")

    async def _read_body(self, response: aiohttp.ClientResponse, url: URL) -> bytes:
        if response.status >= 500 or response.status == 429:
            raise _Retryable(f"HTTP {response.status}")
        if response.status != 200:
            raise DownloadError(f"HTTP {response.status}", url.host or "")
        if (response.content_length or 0) > self._max_bytes:
            raise DownloadError(f"larger than {self._max_bytes} bytes", url.host or "")
        body = bytearray()
        async for chunk in response.content.iter_chunked(CHUNK):
            body.extend(chunk)
            if len(body) > self._max_bytes:
                raise DownloadError(f"larger than {self._max_bytes} bytes", url.host or "")
        return bytes(body)


def _worth_retrying(error: DownloadError) -> bool:
    # A body that does not decode may have been cut off on the way; a wrong host,
    # scheme or size will be just as wrong next time.
    return error.reason.startswith("not a valid image")
