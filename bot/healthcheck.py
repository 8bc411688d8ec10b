"""`python -m bot.healthcheck`: the Docker image's HEALTHCHECK. It asks the running bot's
/livez at the address the bot itself listens on, read from the same settings (HEALTH_HOST,
HEALTH_PORT, from the environment or `.env`), so changing them keeps the container healthy.
Exit 0: alive (or the endpoint is off, HEALTH_PORT=none: nothing to ask); 1: not."""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

from bot.settings import Settings, load_settings
from core.errors import ConfigurationError

TIMEOUT_SECONDS = 4
ANY_ADDRESS = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}  # noqa: S104


def livez_url(settings: Settings) -> str | None:
    """Where the bot answers /livez, or None when HEALTH_PORT=none turned it off."""
    if settings.health_port is None:
        return None
    host = ANY_ADDRESS.get(settings.health_host, settings.health_host)
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{settings.health_port}/livez"


def main() -> int:
    try:
        url = livez_url(load_settings())
    except ConfigurationError as error:
        print(f"settings: {error.detail}", file=sys.stderr)
        return 1
    if url is None:
        print("HEALTH_PORT=none: the bot serves no health endpoint, so there is nothing to ask")
        return 0
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as answer:  # noqa: S310
            return 0 if answer.status == 200 else 1
    except (urllib.error.URLError, OSError) as error:
        print(f"{url}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
