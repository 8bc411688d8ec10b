"""/livez, /readyz and /metrics on a running bot (Discord adapter, simulator, SQLite)."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.health import HealthServer
from bot.simulator import Fault, Simulator
from core.errors import Restarting
from tests.adapters.discord.harness import discord_world, private_reply, result_of
from tests.adapters.discord.payloads import options

pytestmark = pytest.mark.timeout(60)
METRICS = (
    "imagine_jobs_finished",
    "imagine_queue_waiting_jobs",
    "imagine_jobs_in_flight",
    "imagine_modelscope_request_duration_seconds",
    "imagine_modelscope_errors",
    "imagine_job_polls",
    "imagine_delivery_delay_seconds",
    "imagine_requests_refused",
    "imagine_platform_errors",
)


async def _samples(http: aiohttp.ClientSession, base: str) -> dict[tuple[str, str], float]:
    async with http.get(f"{base}/metrics") as answer:
        assert answer.status == 200
        assert answer.headers["Content-Type"].startswith("text/plain; version=")
        text = await answer.text()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            assert not {"user", "chat", "user_id", "chat_id"} & set(sample.labels)
            label = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            samples[(sample.name, label)] = sample.value
    return samples


def _delta(after: dict, before: dict, name: str, label: str = "") -> float:  # type: ignore[type-arg]
    return after.get((name, label), 0.0) - before.get((name, label), 0.0)


async def test_readiness_follows_the_store_the_adapter_and_the_tokens(
    simulator: Simulator, session, tmp_path: Path
) -> None:
    async with discord_world(simulator, session, tmp_path) as world:
        health = HealthServer(world.core, [("discord", world.adapter)])
        base = f"http://127.0.0.1:{await health.start('127.0.0.1', 0)}"
        try:
            async with session.get(f"{base}/livez") as live:
                assert live.status == 200
            async with session.get(f"{base}/readyz") as ready:
                assert ready.status == 200
                assert (await ready.json())["adapters"] == {"discord": True}
            (slot,) = world.core.tokens.accounts
            await world.core.watch.checked.wait()  # the check at start found it accepted
            world.core.tokens.disable(slot, "401 from ModelScope")
            async with session.get(f"{base}/readyz") as ready:
                assert ready.status == 503
                checks = (await ready.json())["checks"]
                assert checks == {
                    "store": True,
                    "adapters": True,
                    "modelscope_tokens": False,
                    "accepting": True,
                }
            await world.core.store.close()
            async with session.get(f"{base}/readyz") as ready:
                assert (await ready.json())["checks"]["store"] is False
        finally:
            await health.stop()


async def test_metrics_count_a_run_against_the_simulator(
    simulator: Simulator, session, tmp_path: Path
) -> None:
    async with discord_world(simulator, session, tmp_path) as world:
        health = HealthServer(world.core, [("discord", world.adapter)])
        base = f"http://127.0.0.1:{await health.start('127.0.0.1', 0)}"
        fake = world.fake
        try:
            before = await _samples(session, base)
            simulator.faults.add(Fault("submit", "status", times=1, status=503))
            await result_of(world, await fake.command("imagine", options=options(prompt="ok")))
            simulator.faults.add(Fault("task", "fail", message="inappropriate content"))
            failed = await fake.command("imagine", options=options(prompt="refused upstream"))
            await fake.wait_until(
                lambda: fake.original(failed["token"]).get("content", "").startswith("No image")
            )
            bad = await fake.command("imagine", options=options(prompt="x", size="5000x5000"))
            await private_reply(world, bad)
            fake.fail("webhook_edit", 403, times=1)  # discord.py retries 5xx itself
            await result_of(world, await fake.command("imagine", options=options(prompt="again")))
            await world.core.scheduler.wait_idle()
            after = await _samples(session, base)
        finally:
            await health.stop()
    names = {name for name, _ in after}
    for metric in METRICS:
        assert any(n.startswith(metric) for n in names), metric
    assert _delta(after, before, "imagine_jobs_finished_total", "state=done") == 2
    assert _delta(after, before, "imagine_jobs_finished_total", "state=failed") == 1
    assert _delta(after, before, "imagine_requests_refused_total", "reason=invalid_parameter") == 1
    assert _delta(after, before, "imagine_job_polls_count") == 2
    assert _delta(after, before, "imagine_delivery_delay_seconds_count") == 2
    submits = "imagine_modelscope_request_duration_seconds_count"
    assert _delta(after, before, submits, "operation=submit") == 4  # one 503, retried
    assert _delta(after, before, "imagine_modelscope_errors_total", "kind=server") == 1
    assert _delta(after, before, "imagine_platform_errors_total", "platform=discord") >= 1
    assert after[("imagine_queue_waiting_jobs", "")] == 0


async def test_a_draining_bot_refuses_new_requests_in_words(
    simulator: Simulator, session, tmp_path: Path
) -> None:
    async with discord_world(simulator, session, tmp_path) as world:
        await world.core.shutdown(grace=1.0)
        sent = await world.fake.command("imagine", options=options(prompt="late"))
        reply = await private_reply(world, sent)
        assert reply == "The bot is restarting. Please try again in a minute."
        assert Restarting.key == "error.restarting" and simulator.stats.submits == 0
