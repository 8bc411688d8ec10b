"""Where outputs may be downloaded from: `MODELSCOPE_DOWNLOAD_ALLOWED_HOSTS` entries of the
form `[scheme://]host[:port]`, checked on scheme, host and port at every redirect.

`host` is a name or `*.name` (the name and every subdomain); no scheme means `https`; no port
means the scheme's default port, `:*` any port. `*.aliyuncs.com` allows
`https://muse-ai.oss-cn-hangzhou.aliyuncs.com/...` and nothing over http or another port;
`http://127.0.0.1:*` allows the local simulator.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from yarl import URL

from core.errors import ConfigurationError

DEFAULT_PORTS = {"http": 80, "https": 443}
_ENTRY = re.compile(
    r"^(?:(?P<scheme>https?)://)?(?P<host>(?:\*\.)?[a-z0-9.-]+)(?::(?P<port>\d+|\*))?$"
)


@dataclass(frozen=True)
class Origin:
    scheme: str
    host: str  # a name, or `*.name`
    port: int | None  # None: any port

    @classmethod
    def parse(cls, entry: str) -> Origin:
        match = _ENTRY.match(entry.strip().lower().rstrip("/"))
        if match is None:
            raise ConfigurationError(
                f"MODELSCOPE_DOWNLOAD_ALLOWED_HOSTS: {entry!r} is not [scheme://]host[:port] "
                "(e.g. *.aliyuncs.com, or http://127.0.0.1:8765)"
            )
        scheme = match["scheme"] or "https"
        port = match["port"]
        number = None if port == "*" else int(port) if port else DEFAULT_PORTS[scheme]
        return cls(scheme, match["host"], number)

    def allows(self, url: URL) -> bool:
        host = (url.host or "").lower().rstrip(".")
        if url.scheme != self.scheme or not host:
            return False
        if self.port is not None and url.port != self.port:
            return False
        if self.host.startswith("*."):
            return host == self.host[2:] or host.endswith(self.host[1:])
        return host == self.host


def parse_origins(entries: Sequence[str]) -> tuple[Origin, ...]:
    return tuple(Origin.parse(entry) for entry in entries if entry.strip())


def allowed(url: URL, origins: Sequence[Origin]) -> bool:
    return any(origin.allows(url) for origin in origins)
