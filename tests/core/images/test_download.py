"""Downloads through aiohttp from the simulator and from small loopback servers."""

from __future__ import annotations

import io

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from PIL import Image

from bot.simulator import Fault, Simulator
from core.clock import SystemClock
from core.errors import DownloadError
from core.images.download import ImageFetcher, host_allowed
from core.modelscope.polling import FixedInterval
from core.modelscope.runtimes import RunTimes
from core.requests.params import GenerationParams, Size
from tests.conftest import IMAGES, fast_backoff, make_client

PARAMS = GenerationParams("Tongyi-MAI/Z-Image-Turbo", "a kite", Size(512, 512), seed=3)


def fetcher(session, hosts=("127.0.0.1",), max_bytes=8 * 1024 * 1024) -> ImageFetcher:
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


def test_host_patterns() -> None:
    patterns = ["*.aliyuncs.com", "127.0.0.1"]
    assert host_allowed("muse-ai.oss-cn-hangzhou.aliyuncs.com", patterns)
    assert host_allowed("aliyuncs.com", patterns)
    assert host_allowed("127.0.0.1", patterns)
    assert not host_allowed("evilaliyuncs.com", patterns)
    assert not host_allowed("aliyuncs.com.evil.net", patterns)
    assert not host_allowed("127.0.0.2", patterns)


async def test_download_of_a_finished_task(simulator: Simulator, session) -> None:
    _, info = await fetcher(session).fetch(await finished_image_url(simulator, session))
    assert (info.format, info.width, info.height) == ("PNG", 512, 512)
    assert simulator.stats.downloads == 1


async def test_host_outside_the_allow_list_is_never_contacted(simulator, session) -> None:
    url = await finished_image_url(simulator, session)
    with pytest.raises(DownloadError, match="ALLOWED_HOSTS"):
        await fetcher(session, hosts=["*.aliyuncs.com"]).fetch(url)
    assert simulator.stats.downloads == 0


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/a.png", "data:,x"])
async def test_only_http_and_https(session, url: str) -> None:
    with pytest.raises(DownloadError, match="scheme"):
        await fetcher(session).fetch(url)


async def test_byte_cap(simulator, session) -> None:
    url = await finished_image_url(simulator, session)
    with pytest.raises(DownloadError, match="larger than"):
        await fetcher(session, max_bytes=10_000).fetch(url)


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
    with pytest.raises(DownloadError, match="not a valid image"):
        await fetcher(session).fetch(url)
    assert simulator.stats.downloads == fast_backoff().attempts


async def test_slow_download_is_cut_by_the_timeout(simulator, session) -> None:
    url = await finished_image_url(simulator, session)
    simulator.faults.add(Fault("download", "delay", times=10, seconds=2))
    slow = ImageFetcher(
        session=session,
        allowed_hosts=["127.0.0.1"],
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
        with pytest.raises(DownloadError, match="ALLOWED_HOSTS"):
            await fetcher(session).fetch(f"{base}/hop?to=http://localhost:{server.port}/img.png")
