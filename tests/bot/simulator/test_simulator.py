"""The simulator's wire behaviour, spoken to with plain aiohttp."""

from __future__ import annotations

import pytest

from bot.simulator import Simulator
from bot.simulator.server import SYNC_REFUSED
from core.requests.catalog import ModelSpec, load_catalog
from tests.conftest import TOKEN, wait_until_idle

AUTH = {"Authorization": f"Bearer {TOKEN}"}
ASYNC = {**AUTH, "X-ModelScope-Async-Mode": "true"}
BODY = {"model": "Tongyi-MAI/Z-Image-Turbo", "prompt": "a cat", "size": "1024x1024"}


async def post(session, sim: Simulator, body: object, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    async with session.post(
        f"{sim.base_url}v1/images/generations", json=body, headers=headers
    ) as response:
        return response.status, await response.json(), response.headers


async def test_without_the_async_header_the_call_is_refused(simulator, session) -> None:
    status, body, _ = await post(session, simulator, BODY, AUTH)
    assert (status, body["errors"]["message"]) == (400, SYNC_REFUSED)


async def test_a_wrong_token_gets_401(simulator, session) -> None:
    status, body, _ = await post(session, simulator, BODY, {**ASYNC, "Authorization": "Bearer x"})
    assert status == 401 and "token" in body["errors"]["message"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"sampler": "euler"}, "unsupported parameter"),
        ({"size": "4096x4096"}, "size"),
        ({"size": "256x256"}, "[512, 2048]"),
        ({"steps": 0}, "steps"),
        ({"seed": -1}, "seed"),
        ({"guidance": 25}, "guidance"),
        ({"prompt": ""}, "prompt"),
        ({"prompt": "x" * 2000}, "2000"),
        ({"model": "nobody/nothing"}, "not supported"),
        ({"image_url": "https://x/y.png"}, "not supported by this model"),
        ({"loras": {"a/b": 0.5, "c/d": 0.4}}, "sum to 1.0"),
        ({"loras": {f"a/{i}": 1 / 7 for i in range(7)}}, "at most 6"),
    ],
)
async def test_bad_parameters_get_400(simulator, session, change, expected: str) -> None:
    status, body, _ = await post(session, simulator, {**BODY, **change}, ASYNC)
    assert status == 400 and expected in body["errors"]["message"]
    assert simulator.stats.accepted == 0


async def test_what_modelscopes_own_clients_send_is_taken(simulator, session) -> None:
    # ms-agent sends empty strings when unset; width, height and steps' other name are
    # taken and ignored by the real service.
    unset = {**BODY, "size": "", "negative_prompt": ""}
    extra = {**BODY, "width": 512, "height": 512, "num_inference_steps": 30}
    for body in (unset, extra):
        status, answer, _ = await post(session, simulator, body, ASYNC)
        assert status == 200, answer
        await wait_until_idle(simulator)
    assert simulator.stats.accepted == 2


async def test_the_simulator_knows_the_operators_catalog(session) -> None:
    catalog = load_catalog(None)
    own = ModelSpec(id="acme/painter", name="Painter", family="sd", min_side=256, max_side=768)
    editor = ModelSpec(
        id="acme/retouch",
        name="Retouch",
        family="sd",
        edits_images=True,
        min_side=64,
        max_side=1024,
    )
    async with Simulator(frozenset({TOKEN}), models=[*catalog.models, own, editor]) as sim:
        status, _, _ = await post(
            session, sim, {**BODY, "model": "acme/painter", "size": "512x512"}, ASYNC
        )
        assert status == 200
        status, body, _ = await post(session, sim, {**BODY, "model": "acme/painter"}, ASYNC)
        assert status == 400 and "[256, 768]" in body["errors"]["message"]
        status, body, _ = await post(
            session, sim, {**BODY, "model": "acme/retouch", "size": ""}, ASYNC
        )
        assert status == 400 and "image_url is required" in body["errors"]["message"]


async def test_one_concurrent_task_per_token(simulator, session) -> None:
    first, *_ = await post(session, simulator, BODY, ASYNC)
    second, body, _ = await post(session, simulator, BODY, ASYNC)
    assert (first, second) == (200, 429)
    assert body["errors"]["message"] == "Request limit exceeded."
    await wait_until_idle(simulator)
    third, *_ = await post(session, simulator, BODY, ASYNC)
    assert third == 200


async def test_control_api_injects_faults_and_reports(simulator, session) -> None:
    faults = {
        "faults": [
            {
                "target": "submit",
                "kind": "status",
                "status": 429,
                "message": "Request limit exceeded.",
                "retry_after": 4,
            }
        ]
    }
    async with session.post(f"{simulator.base_url}_sim/faults", json=faults) as response:
        assert (await response.json())["pending"] == 1
    status, _, headers = await post(session, simulator, BODY, ASYNC)
    assert (status, headers["Retry-After"]) == (429, "4")
    async with session.get(f"{simulator.base_url}_sim/stats") as response:
        stats = await response.json()
    assert stats["submits"] == 1 and stats["rejected"] == {"fault:status": 1}
    async with session.post(f"{simulator.base_url}_sim/reset") as response:
        assert response.status == 200
    assert simulator.stats.submits == 0
