"""The ModelScope client through aiohttp against the simulator: every state and fault.

Each test checks how many submits the simulator saw: an accepted task is never sent again.
"""

from __future__ import annotations

import dataclasses

import pytest

from bot.simulator import Fault, Simulator, Timing
from core.errors import (
    BadRequest,
    QuotaExhausted,
    ServerError,
    TaskFailed,
    TaskNotFound,
    TaskTimedOut,
    TransportError,
    Unauthorized,
)
from core.modelscope.client import ModelScopeClient
from core.modelscope.http import ModelScopeHttp
from core.modelscope.polling import FixedInterval
from core.modelscope.runtimes import RunTimes
from core.modelscope.tasks import TaskSnapshot, TaskStatus
from core.requests.params import GenerationParams, LoraWeight, Size
from core.secret import Secret
from tests.conftest import OTHER_TOKEN, TOKEN, RecordingClock, fast_backoff, make_client

PARAMS = GenerationParams("Tongyi-MAI/Z-Image-Turbo", "a red fox", Size(1024, 1024), seed=7)
POLL = FixedInterval(0.03)


async def wait(client: ModelScopeClient, task_id: str, max_seconds: float = 10.0) -> TaskSnapshot:
    return await client.wait_for_task(
        task_id, workload=PARAMS.model, policy=POLL, run_times=RunTimes(), max_seconds=max_seconds
    )


async def test_submit_then_poll_to_success(simulator: Simulator, session) -> None:
    simulator.timing = Timing(queue_mean=0.1, run_mean=0.2)
    client = make_client(simulator, session)
    seen: list[str] = []

    async def record(snapshot: TaskSnapshot, elapsed: float) -> None:
        seen.append(snapshot.raw_status)

    task = await client.submit(PARAMS)
    final = await client.wait_for_task(
        task.task_id,
        workload=PARAMS.model,
        policy=POLL,
        run_times=RunTimes(),
        max_seconds=10,
        on_poll=record,
    )
    assert final.status is TaskStatus.SUCCEED
    assert final.images[0].endswith(f"/_sim/images/{task.task_id}.png")
    assert final.time_taken_ms is not None and final.time_taken_ms > 0
    assert {"RUNNING", "SUCCEED"} <= set(seen)
    assert seen[-1] == "SUCCEED"
    assert simulator.tasks[task.task_id].body == PARAMS.to_payload()
    assert simulator.stats.accepted == 1


async def test_a_resumed_wait_counts_elapsed_time_from_the_submit(
    simulator: Simulator, session
) -> None:
    client = make_client(simulator, session)
    seen: list[float] = []

    async def record(snapshot: TaskSnapshot, elapsed: float) -> None:
        seen.append(elapsed)

    task = await client.submit(PARAMS)
    await client.wait_for_task(
        task.task_id,
        workload=PARAMS.model,
        policy=POLL,
        run_times=RunTimes(),
        max_seconds=10,
        on_poll=record,
        since_submit=42.0,
    )
    assert seen[0] >= 42.0 and seen == sorted(seen)


async def test_every_parameter_reaches_the_service(simulator: Simulator, session) -> None:
    params = GenerationParams(
        "Qwen/Qwen-Image-Edit",
        "make it snow",
        Size(768, 512),
        seed=2**31 - 1,
        negative_prompt="blur",
        steps=40,
        guidance=7.5,
        image_url="data:image/png;base64,iVBORw0KGgo=",
        loras=(LoraWeight("a/one", 0.6), LoraWeight("b/two", 0.4)),
    )
    task = await make_client(simulator, session).submit(params)
    body = simulator.tasks[task.task_id].body
    assert body == {
        "model": "Qwen/Qwen-Image-Edit",
        "prompt": "make it snow",
        "size": "768x512",
        "seed": 2**31 - 1,
        "negative_prompt": "blur",
        "steps": 40,
        "guidance": 7.5,
        "image_url": "data:image/png;base64,iVBORw0KGgo=",
        "loras": {"a/one": 0.6, "b/two": 0.4},
    }


async def test_a_single_lora_is_sent_as_a_string(simulator: Simulator, session) -> None:
    params = GenerationParams(
        PARAMS.model, "x", Size(1024, 1024), 1, loras=(LoraWeight("a/one", 1.0),)
    )
    task = await make_client(simulator, session).submit(params)
    assert simulator.tasks[task.task_id].body["loras"] == "a/one"


async def test_bad_parameter_is_the_users_fault_and_not_retried(simulator, session) -> None:
    too_big = GenerationParams(PARAMS.model, "x", Size(4096, 4096), 1)  # bypasses validation
    with pytest.raises(BadRequest) as caught:
        await make_client(simulator, session).submit(too_big)
    assert "size" in caught.value.message
    assert caught.value.request_id.startswith("sim-")
    assert simulator.stats.submits == 1


async def test_wrong_token_is_unauthorized_and_never_retried(simulator, session) -> None:
    client = make_client(simulator, session, token="ms-wrong")
    with pytest.raises(Unauthorized) as caught:
        await client.submit(PARAMS)
    assert "ms-wrong" not in str(caught.value)
    assert simulator.stats.submits == 1


async def test_unbound_account_401_is_unauthorized(simulator, session) -> None:
    simulator.faults.add(
        Fault(
            "submit",
            "status",
            status=401,
            message="Please bind your Alibaba Cloud account before use.",
        )
    )
    with pytest.raises(Unauthorized, match="bind your Alibaba"):
        await make_client(simulator, session).submit(PARAMS)
    assert simulator.stats.accepted == 0


async def test_429_is_retried_after_retry_after(simulator, session) -> None:
    simulator.faults.add(
        Fault("submit", "status", status=429, message="Request limit exceeded.", retry_after=3)
    )
    clock = RecordingClock()
    task = await make_client(simulator, session, clock=clock).submit(PARAMS)
    assert task.task_id in simulator.tasks
    assert clock.sleeps and clock.sleeps[0] >= 3
    assert (simulator.stats.submits, simulator.stats.accepted) == (2, 1)


async def test_insufficient_balance_is_reported_not_hammered(simulator, session) -> None:
    simulator.faults.add(
        Fault("submit", "status", times=5, status=429, message="insufficient balance (1008)")
    )
    with pytest.raises(QuotaExhausted):
        await make_client(simulator, session).submit(PARAMS)
    assert simulator.stats.submits == 1


async def test_a_balance_error_is_known_by_its_type(simulator, session) -> None:
    # The real service's other shape: {"error": {"type": "insufficient_balance_error", ...}}
    simulator.faults.add(Fault("submit", "balance", message="You exceeded your quota"))
    with pytest.raises(QuotaExhausted, match="You exceeded your quota"):
        await make_client(simulator, session).submit(PARAMS)
    assert simulator.stats.submits == 1


async def test_a_submit_answer_that_says_succeed_means_submitted(simulator, session) -> None:
    simulator.timing = Timing(queue_mean=0.1, run_mean=0.3)
    simulator.faults.add(Fault("submit_answer", "succeed_status"))
    client = make_client(simulator, session)
    task = await client.submit(PARAMS)
    final = await wait(client, task.task_id)
    assert final.status is TaskStatus.SUCCEED and final.images  # polled to its real end
    assert simulator.tasks[task.task_id].polls > 1 and simulator.stats.accepted == 1


async def test_a_poll_with_an_empty_task_id_keeps_the_task(simulator, session) -> None:
    simulator.timing = Timing(queue_mean=0.1, run_mean=0.3)
    client = make_client(simulator, session)
    task = await client.submit(PARAMS)
    simulator.faults.add(Fault("poll", "blank_id", times=2))
    final = await wait(client, task.task_id)
    assert final.task_id == task.task_id and final.status is TaskStatus.SUCCEED
    assert simulator.stats.rejected["fault:blank_id"] == 2


async def test_server_errors_on_submit_are_retried(simulator, session) -> None:
    simulator.faults.add(Fault("submit", "status", times=2, status=503))
    await make_client(simulator, session).submit(PARAMS)
    assert (simulator.stats.submits, simulator.stats.accepted) == (3, 1)


async def test_persistent_server_errors_give_up_after_the_attempts(simulator, session) -> None:
    simulator.faults.add(Fault("submit", "status", times=10, status=500))
    with pytest.raises(ServerError):
        await make_client(simulator, session, attempts=3).submit(PARAMS)
    assert simulator.stats.submits == 3


async def test_an_ambiguous_submit_failure_is_retried_once_only(simulator, session) -> None:
    simulator.faults.add(Fault("submit", "reset", times=1))
    await make_client(simulator, session).submit(PARAMS)
    assert (simulator.stats.submits, simulator.stats.accepted) == (2, 1)

    simulator.faults.add(Fault("submit", "reset", times=5))
    with pytest.raises(TransportError) as caught:
        await make_client(simulator, session, attempts=10).submit(PARAMS)
    assert caught.value.maybe_delivered
    assert simulator.stats.submits == 2 + 2  # the reset one and its single retry


async def test_refused_connection_is_retried_and_never_ambiguous(session) -> None:
    http = ModelScopeHttp(session, "http://127.0.0.1:9/", Secret(TOKEN), timeout=2)
    clock = RecordingClock()
    client = ModelScopeClient(http, fast_backoff(attempts=3), clock)
    with pytest.raises(TransportError) as caught:
        await client.submit(PARAMS)
    assert not caught.value.maybe_delivered
    assert len(clock.sleeps) == 2


async def test_malformed_submit_answer_is_an_error(simulator, session) -> None:
    simulator.faults.add(Fault("submit", "malformed", times=5))
    with pytest.raises(TransportError, match="malformed"):
        await make_client(simulator, session).submit(PARAMS)
    assert simulator.stats.accepted == 0


@pytest.mark.parametrize(
    "fault",
    [
        Fault("poll", "status", times=2, status=502),
        Fault("poll", "reset", times=2),
        Fault("poll", "malformed", times=2),
        Fault("poll", "status", times=1, status=429, retry_after=0.05),
        Fault("poll", "odd_status", times=2, message="QUEUED"),
    ],
    ids=["5xx", "reset", "malformed", "429", "unknown-status"],
)
async def test_poll_faults_never_resubmit(simulator, session, fault: Fault) -> None:
    client = make_client(simulator, session)
    task = await client.submit(PARAMS)
    simulator.faults.add(dataclasses.replace(fault))  # the plan consumes its own copy
    final = await wait(client, task.task_id)
    assert final.status is TaskStatus.SUCCEED
    assert (simulator.stats.submits, simulator.stats.accepted) == (1, 1)
    assert simulator.stats.rejected[f"fault:{fault.kind}"] == fault.times


async def test_failed_task_carries_the_services_message(simulator, session) -> None:
    simulator.faults.add(
        Fault("task", "fail", message="Output data may contain inappropriate content.", code=422)
    )
    client = make_client(simulator, session)
    task = await client.submit(PARAMS)
    with pytest.raises(TaskFailed) as caught:
        await wait(client, task.task_id)
    assert caught.value.message == "Output data may contain inappropriate content."
    assert caught.value.code == 422
    assert simulator.stats.accepted == 1


async def test_stuck_task_times_out_without_resubmitting(simulator, session) -> None:
    simulator.faults.add(Fault("task", "stuck"))
    client = make_client(simulator, session)
    task = await client.submit(PARAMS)
    with pytest.raises(TaskTimedOut) as caught:
        await wait(client, task.task_id, max_seconds=0.4)
    assert caught.value.last_status == "PROCESSING"
    assert caught.value.waited >= 0.4
    assert simulator.stats.submits == 1


async def test_poll_without_task_type_header_is_task_not_found(simulator, session) -> None:
    task = await make_client(simulator, session).submit(PARAMS)
    url = f"{simulator.base_url}v1/tasks/{task.task_id}"
    async with session.get(url, headers={"Authorization": f"Bearer {TOKEN}"}) as response:
        assert response.status == 404
        assert (await response.json())["errors"]["message"] == "task not found"
    with pytest.raises(TaskNotFound):
        await make_client(simulator, session).fetch_task("999")


async def test_another_accounts_task_is_not_found(simulator, session) -> None:
    task = await make_client(simulator, session).submit(PARAMS)
    with pytest.raises(TaskNotFound):
        await make_client(simulator, session, token=OTHER_TOKEN).fetch_task(task.task_id)


async def test_second_concurrent_task_waits_for_the_first(simulator, session) -> None:
    simulator.timing = Timing(run_mean=0.1)
    client = make_client(simulator, session, attempts=60)  # >= 60 * 25 ms of backoff
    first = await client.submit(PARAMS)
    second = await client.submit(PARAMS)  # 429 while the first runs, then accepted
    assert first.task_id != second.task_id
    assert simulator.stats.rejected["concurrency"] >= 1
    assert simulator.stats.accepted == 2


async def test_401_while_polling_stops_at_once(simulator, session) -> None:
    client = make_client(simulator, session)
    task = await client.submit(PARAMS)
    simulator.faults.add(Fault("poll", "status", times=3, status=401, message="token revoked"))
    with pytest.raises(Unauthorized):
        await wait(client, task.task_id)
    assert simulator.stats.rejected["fault:status"] == 1


async def test_the_token_never_appears_in_logs(simulator, session, caplog) -> None:
    caplog.set_level("DEBUG")
    simulator.faults.add(Fault("submit", "status", status=503), Fault("poll", "reset"))
    client = make_client(simulator, session)
    task = await client.submit(PARAMS)
    await wait(client, task.task_id)
    assert "v1/images/generations" in caplog.text
    assert "request_id" in {key for r in caplog.records for key in vars(r)}
    assert TOKEN not in caplog.text


async def test_a_lost_submit_answer_is_retried_once_and_costs_a_second_task(
    simulator, session
) -> None:
    simulator.concurrency = 0  # the first task, made, would hold the token's one slot
    simulator.faults.add(Fault("submit", "lost", times=2))
    with pytest.raises(TransportError):
        await make_client(simulator, session).submit(PARAMS)  # made twice, answered never
    assert (simulator.stats.accepted, simulator.stats.rejected["fault:lost"]) == (2, 2)
