"""The Docker image's healthcheck (`python -m bot.healthcheck`) asks a real `imagine-bot run`
where that bot listens, read from the same settings, whatever HEALTH_HOST and HEALTH_PORT say."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from bot.healthcheck import livez_url
from bot.settings import load_settings
from bot.simulator import Simulator, Timing
from tests.bot.test_recovery import environment, imagine
from tests.conftest import TOKEN

pytestmark = pytest.mark.timeout(90)


async def healthcheck(env: dict[str, str], cwd: Path) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.healthcheck",
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    return process.returncode or 0, out.decode()


async def until_live(port: int) -> None:
    async with asyncio.timeout(30), aiohttp.ClientSession() as http:
        while True:
            try:
                async with http.get(f"http://127.0.0.1:{port}/livez") as answer:
                    if answer.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.1)


async def until_metric(port: int, sample: str) -> None:
    """The bot read its token's balance at start (the simulator's 200 Magicubes)."""
    async with asyncio.timeout(30), aiohttp.ClientSession() as http:
        while True:
            async with http.get(f"http://127.0.0.1:{port}/metrics") as answer:
                if f"{sample} 200.0" in await answer.text():
                    return
            await asyncio.sleep(0.1)


async def test_it_follows_the_port_the_bot_was_given(
    tmp_path: Path, unused_tcp_port_factory
) -> None:
    port, elsewhere = unused_tcp_port_factory(), unused_tcp_port_factory()
    async with Simulator(frozenset({TOKEN}), Timing(run_mean=0.3)) as sim:
        env = environment(sim, tmp_path / "data") | {
            "HEALTH_HOST": "0.0.0.0",  # noqa: S104 - as the image has it
            "HEALTH_PORT": str(port),
        }
        bot = await imagine("run", env=env, cwd=tmp_path)
        try:
            await until_live(port)
            assert await healthcheck(env, tmp_path) == (0, "")
            await until_metric(port, 'imagine_modelscope_balance{kind="available",token="token#1"}')
            code, said = await healthcheck(env | {"HEALTH_PORT": str(elsewhere)}, tmp_path)
            assert code == 1 and f"127.0.0.1:{elsewhere}/livez" in said
        finally:
            bot.send_signal(signal.SIGTERM)
            await asyncio.wait_for(bot.communicate(), timeout=30)
    assert bot.returncode == 0


async def test_with_the_endpoint_off_there_is_nothing_to_ask(tmp_path: Path) -> None:
    async with Simulator(frozenset({TOKEN})) as sim:
        env = environment(sim, tmp_path / "data") | {"HEALTH_PORT": "none"}
        code, said = await healthcheck(env, tmp_path)
    assert code == 0 and "HEALTH_PORT=none" in said


async def test_invalid_settings_fail_the_check_in_words(tmp_path: Path) -> None:
    async with Simulator(frozenset({TOKEN})) as sim:
        env = environment(sim, tmp_path / "data") | {"HEALTH_PORT": "99999"}
        code, said = await healthcheck(env, tmp_path)
    assert code == 1 and "HEALTH_PORT" in said and "Traceback" not in said


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("0.0.0.0", "http://127.0.0.1:8080/livez"),  # noqa: S104
        ("127.0.0.1", "http://127.0.0.1:8080/livez"),
        ("::", "http://[::1]:8080/livez"),
        ("10.1.2.3", "http://10.1.2.3:8080/livez"),
    ],
)
def test_an_address_that_listens_everywhere_is_asked_on_loopback(host: str, url: str) -> None:
    assert livez_url(load_settings(health_host=host, health_port=8080)) == url
