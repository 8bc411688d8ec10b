"""Downloads through aiohttp from the simulator and from small loopback servers."""

from __future__ import annotations

import io

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from PIL import Image
from yarl import URL

from bot.simulator import Fault, Simulator
from core.clock import SystemClock
from core.delivery import load_translator
from core.errors import ConfigurationError, DownloadError
from core.images.download import ImageFetcher
from core.images.origins import parse_origins
from core.modelscope.polling import FixedInterval
from core.modelscope.runtimes import RunTimes
from core.requests.params import GenerationParams, Size
from tests.conftest import IMAGES, fast_backoff, make_client

PARAMS = GenerationParams("Tongyi-MAI/Z-Image-Turbo", "a kite", Size(512, 512), seed=3)


def fetcher(session, hosts=("http://127.0.0.1:*",), max_bytes=8 * 1024 * 1024) -> ImageFetcher:
    return ImageFetcher(
        session=session,
        allowed_hosts=hosts,
        max_bytes=max_bytes,
        backoff=fast_backoff(),
        clock=SystemClock(),
        images=IMAGES,
    )


async def finished_image_url(sim: Simulator, session) -> str:
    client = make_client(sim, session)
    task = await client.submit(PARAMS)
    final = await client.wait_for_task(
        task.task_id,
        workload=PARAMS.model,
        policy=FixedInterval(0.03),
        run_times=RunTimes(),
        max_seconds=5,
    )
    return final.images[0]


TRANSLATOR = load_translator()


def test_the_allow_list_checks_scheme_host_and_port() -> None:
    origins = parse_origins(["*.aliyuncs.com", "http://127.0.0.1:8765", "https://cdn.test:*"])
    allowed = [
        "https://muse-ai.oss-cn-hangzhou.aliyuncs.com/img/a.png",
        "https://aliyuncs.com/a.png",
        "https://aliyuncs.com:443/a.png",
        "http://127.0.0.1:8765/a.png",
        "https://cdn.test:9443/a.png",
    ]
    refused = [
        "http://muse-ai.oss-cn-hangzhou.aliyuncs.com/a.png",  # no scheme given: https only
        "https://muse-ai.oss-cn-hangzhou.aliyuncs.com:8443/a.png",  # no port: the default
        "https://evilaliyuncs.com/a.png",
        "https://aliyuncs.com.evil.net/a.png",
        "http://127.0.0.1:8766/a.png",
        "https://127.0.0.1:8765/a.png",
        "http://127.0.0.2:8765/a.png",
        "http://cdn.test:9443/a.png",
        "file:///etc/passwd",
    ]
    assert all(any(o.allows(URL(url)) for o in origins) for url in allowed)
    assert not any(any(o.allows(URL(url)) for o in origins) for url in refused)
    with pytest.raises(ConfigurationError, match="ALLOWED_HOSTS"):
        parse_origins(["ftp://files.test"])


async def test_download_of_a_finished_task(simulator: Simulator, session) -> None:
    _, info = await fetcher(session).fetch(await finished_image_url(simulator, session))
    assert (info.format, info.width, info.height) == ("PNG", 512, 512)
    assert simulator.stats.downloads == 1


async def test_host_outside_the_allow_list_is_never_contacted(simulator, session) -> None:
    url = await finished_image_url(simulator, session)
    with pytest.raises(DownloadError, match="not_allowed"):
        await fetcher(session, hosts=["*.aliyuncs.com"]).fetch(url)
    assert simulator.stats.downloads == 0


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/a.png", "data:,x"])
async def test_only_http_and_https(session, url: str) -> None:
    with pytest.raises(DownloadError, match="not_allowed"):
        await fetcher(session).fetch(url)


async def test_byte_cap(simulator, session) -> None:
    url = await finished_image_url(simulator, session)
    with pytest.raises(DownloadError, match="too_large"):
        await fetcher(session, max_bytes=10_000).fetch(url)
    assert simulator.stats.downloads == 1  # a size is the same next time: not retried


@pytest.mark.parametrize(
    "fault",
    [
        Fault("download", "truncate"),
        Fault("download", "status", status=503),
        Fault("download", "reset"),
        Fault("download", "corrupt"),
    ],
    ids=["truncated", "5xx", "reset", "corrupt-once"],
)
async def test_transient_download_faults_are_retried(simulator, session, fault: Fault) -> None:
    url = await finished_image_url(simulator, session)
    simulator.faults.add(fault)
    _, info = await fetcher(session).fetch(url)
    assert info.format == "PNG"
    assert simulator.stats.downloads == 2


async def test_a_persistently_broken_image_fails_after_the_attempts(simulator, session) -> None:
    url = await finished_image_url(simulator, session)
    simulator.faults.add(Fault("download", "corrupt", times=10))
    with pytest.raises(DownloadError, match="not_image"):
        await fetcher(session).fetch(url)
    assert simulator.stats.downloads == fast_backoff().attempts


async def test_a_decompression_bomb_is_downloaded_once(session) -> None:
    bomb = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(bomb, "PNG")  # 400 Mpx in a few kB
    served = 0

    async def image(request: web.Request) -> web.Response:
        nonlocal served
        served += 1
        return web.Response(body=bomb.getvalue(), content_type="image/png")

    app = web.Application()
    app.router.add_get("/bomb.png", image)
    async with TestServer(app, host="127.0.0.1") as server:
        with pytest.raises(DownloadError) as refused:
            await fetcher(session).fetch(f"http://127.0.0.1:{server.port}/bomb.png")
    assert (refused.value.reason, served) == ("too_many_pixels", 1)
    assert "Bomb" not in TRANSLATOR.error("en", refused.value)  # words, not internal names
    assert TRANSLATOR.error("en", refused.value) == (
        "The image could not be downloaded: it has too many pixels."
    )


async def test_slow_download_is_cut_by_the_timeout(simulator, session) -> None:
    url = await finished_image_url(simulator, session)
    simulator.faults.add(Fault("download", "delay", times=10, seconds=2))
    slow = ImageFetcher(
        session=session,
        allowed_hosts=["http://127.0.0.1:*"],
        max_bytes=10**7,
        backoff=fast_backoff(2),
        clock=SystemClock(),
        images=IMAGES,
        timeout=0.2,
    )
    with pytest.raises(DownloadError):
        await slow.fetch(url)


async def test_redirects_are_checked_at_every_hop(session) -> None:
    png = io.BytesIO()
    Image.new("RGB", (4, 4)).save(png, "PNG")

    async def hop(request: web.Request) -> web.Response:
        target = request.query["to"]
        raise web.HTTPFound(target)

    async def image(request: web.Request) -> web.Response:
        return web.Response(body=png.getvalue(), content_type="image/png")

    app = web.Application()
    app.router.add_get("/hop", hop)
    app.router.add_get("/img.png", image)
    async with TestServer(app, host="127.0.0.1") as server:
        base = f"http://127.0.0.1:{server.port}"
        _, info = await fetcher(session).fetch(f"{base}/hop?to=/img.png")
        assert info.width == 4
        with pytest.raises(DownloadError, match="not_allowed"):
            await fetcher(session).fetch(f"{base}/hop?to=http://localhost:{server.port}/img.png")
