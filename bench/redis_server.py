"""A real Redis for the tests and the benchmarks: the one REDIS_URL names, or a `redis-server`
of our own.

Each test gets its own key prefix and its keys are deleted after it, so a shared server
(REDIS_URL, e.g. the machine's 127.0.0.1:6379) is never flushed."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Generator
from pathlib import Path

import redis


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(directory: Path) -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("these tests need Redis: install redis-server or set REDIS_URL")
    port = free_port()
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    command += ["--appendonly", "no", "--dir", str(directory)]
    server = subprocess.Popen(  # noqa: S603 - our own command line
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    client.close()
    return server, url


def server_url(directory: Path) -> Generator[str, None, None]:
    """The session's Redis URL; a server started here stops with the session."""
    named = os.environ.get("REDIS_URL")
    if named:
        yield named
        return
    server, url = start_server(directory)
    try:
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def new_prefix() -> str:
    return f"test:{uuid.uuid4().hex[:10]}:"


def delete_prefix(url: str, prefix: str) -> None:
    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()
