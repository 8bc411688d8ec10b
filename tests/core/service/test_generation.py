"""The generation service end to end: simulator on loopback, SQLite, in-memory notifier."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.simulator import Fault, Simulator, Timing
from core.errors import (
    Banned,
    CooldownActive,
    InvalidParameter,
    JobNotFound,
    PromptBlocked,
    QueueFull,
    QuotaExceeded,
)
from core.jobs.events import EventKind
from core.jobs.job import JobState, QuotaState
from core.jobs.policy import Policy, Tier
from core.jobs.quotas import QuotaLimits
from core.requests.moderation import PromptFilter
from core.requests.validation import LoraChoice
from core.service.rules import member_key
from core.stores.sqlite import SqliteStore
from tests.conftest import OTHER_TOKEN
from tests.core.harness import Harness, request, running_core
from tests.core.stores.test_contract import admission as open_admission
from tests.core.stores.test_contract import job as stored_job

pytestmark = pytest.mark.timeout(60)


def policy(**limits: object) -> Policy:
    fields = {"user_daily": 100.0, "global_daily": 1000.0, **limits}
    return Policy(limits=QuotaLimits(**fields))  # type: ignore[arg-type]


async def started(h: Harness, count: int) -> None:
    async with asyncio.timeout(20):
        await h.notifier.wait_for(count, (EventKind.STARTED,))


async def test_a_request_goes_all_the_way(simulator: Simulator, session, tmp_path: Path) -> None:
    async with running_core(simulator, session, tmp_path) as h:
        receipt = await h.core.service.submit(request())
        (job,) = receipt.jobs
        assert receipt.position == 1
        await h.finals(1)
        kinds = h.notifier.kinds(job.id)
        assert kinds[0] is EventKind.QUEUED and kinds[1] is EventKind.STARTED
        assert EventKind.PROGRESS in kinds and kinds[-1] is EventKind.SUCCEEDED
        done = await h.job(job.id)
        assert done.state is JobState.DONE and done.delivered_at is not None
        assert done.quota_state is QuotaState.COMMITTED
        assert Path(done.result_path or "").name == f"gen_{job.id}.png"
        assert list(done.transitions) == [
            "queued",
            "submitting",
            "submitted",
            "downloading",
            "delivering",
            "done",
        ]
        assert simulator.stats.accepted == 1


async def test_several_images_are_several_tasks(simulator, session, tmp_path: Path) -> None:
    async with running_core(simulator, session, tmp_path) as h:
        receipt = await h.core.service.submit(request(count=3, seed=10))
        assert [j.params.seed for j in receipt.jobs] == [10, 11, 12]
        assert {j.batch_id for j in receipt.jobs} == {receipt.jobs[0].batch_id}
        await h.finals(3)
        assert simulator.stats.accepted == 3
        quota = await h.core.service.quota("tg:1", "tg:-100")
        assert quota.used["user"] == 3.0


async def test_a_flood_does_not_delay_a_newcomer(simulator, session, tmp_path: Path) -> None:
    simulator.timing = Timing(run_mean=0.2)
    async with running_core(simulator, session, tmp_path) as h:
        flood = [await h.core.service.submit(request(user="A")) for _ in range(4)]
        late = await h.core.service.submit(request(user="B"))
        assert late.position == 1  # A's first is running; B goes before A's others
        await h.finals(5)
        order = [e.job.user for e in h.notifier.events if e.kind is EventKind.STARTED]
        assert order[:2] == ["tg:A", "tg:B"]
        assert len(flood) == 4


async def test_queue_full_names_the_limit(simulator, session, tmp_path: Path) -> None:
    simulator.timing = Timing(run_mean=1.0)
    async with running_core(simulator, session, tmp_path, policy(max_waiting=2)) as h:
        await h.core.service.submit(request())
        await started(h, 1)
        await h.core.service.submit(request())
        await h.core.service.submit(request())
        with pytest.raises(QueueFull) as caught:
            await h.core.service.submit(request())
        assert (caught.value.waiting, caught.value.limit) == (2, 2)


async def test_concurrent_submits_never_spend_past_the_limit(simulator, session, tmp_path) -> None:
    async with running_core(
        simulator, session, tmp_path, policy(user_daily=3.0, max_waiting=10)
    ) as h:
        results = await asyncio.gather(
            *(h.core.service.submit(request()) for _ in range(12)), return_exceptions=True
        )
        refused = [r for r in results if isinstance(r, QuotaExceeded)]
        assert len(refused) == 9 and all(r.scope == "user" for r in refused)
        assert refused[0].left == 0 and refused[0].resets_at.params["time"] == "00:00"
        await h.finals(3)


async def test_upstream_failures_are_refunded(simulator, session, tmp_path: Path) -> None:
    simulator.faults.add(Fault("submit", "status", times=50, status=503))
    async with running_core(simulator, session, tmp_path) as h:
        (job,) = (await h.core.service.submit(request())).jobs
        await h.finals(1)
        failed = await h.job(job.id)
        assert failed.state is JobState.FAILED and failed.error_key == "error.server"
        assert failed.quota_state is QuotaState.REFUNDED
        assert (await h.core.service.quota("tg:1", "tg:-100")).used["user"] == 0


async def test_a_moderation_refusal_is_charged(simulator, session, tmp_path: Path) -> None:
    simulator.faults.add(Fault("task", "fail", message="inappropriate content"))
    async with running_core(simulator, session, tmp_path) as h:
        (job,) = (await h.core.service.submit(request())).jobs
        await h.finals(1)
        failed = await h.job(job.id)
        assert failed.quota_state is QuotaState.COMMITTED
        assert failed.error_params["message"] == "inappropriate content"
        assert h.notifier.kinds(job.id)[-1] is EventKind.FAILED


async def test_a_crashed_inference_worker_is_refunded(simulator, session, tmp_path) -> None:
    simulator.faults.add(Fault("task", "fail", message="inference worker crashed", code=500))
    async with running_core(simulator, session, tmp_path) as h:
        (job,) = (await h.core.service.submit(request())).jobs
        await h.finals(1)
        failed = await h.job(job.id)
        assert (failed.error_key, failed.quota_state) == ("error.task_failed", QuotaState.REFUNDED)
        assert (await h.core.service.quota("tg:1", "tg:-100")).used["user"] == 0


async def test_loras_within_the_tolerance_reach_modelscope_summing_to_one(
    simulator, session, tmp_path
) -> None:
    loras = (LoraChoice("a/style", 0.6), LoraChoice("b/light", 0.395))
    async with running_core(simulator, session, tmp_path) as h:
        (job,) = (await h.core.service.submit(request(model="flux", loras=loras))).jobs
        await h.finals(1)
        assert (await h.job(job.id)).state is JobState.DONE  # the simulator refuses 0.995
        (task,) = simulator.tasks.values()
        assert task.body["loras"] == {"a/style": 0.603, "b/light": 0.397}


async def test_a_stuck_task_times_out_and_is_refunded(simulator, session, tmp_path) -> None:
    simulator.faults.add(Fault("task", "stuck"))
    async with running_core(simulator, session, tmp_path, max_seconds=0.5) as h:
        (job,) = (await h.core.service.submit(request())).jobs
        await h.finals(1)
        failed = await h.job(job.id)
        assert (failed.error_key, failed.quota_state) == (
            "error.task_timed_out",
            QuotaState.REFUNDED,
        )
        assert simulator.stats.submits == 1


async def test_cooldown_and_day_rollover(simulator, session, tmp_path: Path) -> None:
    rules = policy(user_daily=1.0, cooldown_seconds=60.0)
    async with running_core(simulator, session, tmp_path, rules) as h:
        await h.core.service.submit(request())
        with pytest.raises(CooldownActive) as caught:
            await h.core.service.submit(request())
        assert 55 < caught.value.seconds_left <= 60
        h.clock.advance(120)
        with pytest.raises(QuotaExceeded):
            await h.core.service.submit(request())
        h.clock.advance(86_400)
        await h.core.service.submit(request())  # a new day, a new budget


async def test_cancel_a_waiting_and_a_running_job(simulator, session, tmp_path: Path) -> None:
    simulator.faults.add(Fault("task", "stuck"))
    async with running_core(simulator, session, tmp_path) as h:
        (running,) = (await h.core.service.submit(request())).jobs
        (waiting,) = (await h.core.service.submit(request())).jobs
        await started(h, 1)
        with pytest.raises(JobNotFound):
            await h.core.service.cancel("tg:2", waiting.id)
        await h.core.service.cancel("tg:1", waiting.id)
        await h.core.service.cancel("tg:1", running.id)
        await h.finals(2)
        assert (await h.job(waiting.id)).quota_state is QuotaState.REFUNDED
        assert (await h.job(running.id)).quota_state is QuotaState.COMMITTED  # task existed
        assert {(await h.job(j.id)).state for j in (running, waiting)} == {JobState.CANCELLED}
        assert simulator.stats.accepted == 1


async def test_reroll_and_history(simulator, session, tmp_path: Path) -> None:
    async with running_core(simulator, session, tmp_path) as h:
        (first,) = (await h.core.service.submit(request(seed=5, model="qwen"))).jobs
        await h.finals(1)
        (again,) = (await h.core.service.reroll("tg:1", first.id, "r-new")).jobs
        assert again.params.seed != 5 and again.params.model == "Qwen/Qwen-Image"
        assert again.reply_target == "r-new"
        history = await h.core.service.history("tg:1")
        assert [j.id for j in history] == [again.id, first.id]
        with pytest.raises(JobNotFound):
            await h.core.service.reroll("tg:9", first.id, "x")


async def test_bans_and_the_prompt_filter(simulator, session, tmp_path: Path) -> None:
    rules = Policy(prompt_filter=PromptFilter(words=("gore",)))
    async with running_core(simulator, session, tmp_path, rules) as h:
        service = h.core.service
        with pytest.raises(PromptBlocked, match="word:gore"):
            await service.submit(request(prompt="Some GORE please"))
        await h.core.rules.set_chat_settings("tg:-100", patterns=[r"\bnsfw\b"])
        with pytest.raises(PromptBlocked, match="regex"):
            await service.submit(request(prompt="nsfw art"))
        await service.submit(request(chat="-200", prompt="nsfw art"))  # other chats unaffected
        await h.core.rules.ban("tg:7", "spam")
        with pytest.raises(Banned) as caught:
            await service.submit(request(user="7"))
        assert (caught.value.scope, caught.value.reason) == ("user", "spam")
        await h.core.rules.ban("tg:-300")
        with pytest.raises(Banned, match="chat"):
            await service.submit(request(chat="-300"))
        await h.core.rules.ban(member_key("tg:-200", "tg:8"))
        with pytest.raises(Banned, match="member"):
            await service.submit(request(user="8", chat="-200"))
        await service.submit(request(user="8", chat="-100"))  # only in that group
        await h.core.rules.unban("tg:7")
        await service.submit(request(user="7", chat="-200"))
        assert len(await service.history("tg:1")) == 1


async def test_invalid_input_stores_and_sends_nothing(simulator, session, tmp_path) -> None:
    async with running_core(simulator, session, tmp_path) as h:
        with pytest.raises(InvalidParameter, match="steps"):
            await h.core.service.submit(request(steps=0))
        with pytest.raises(InvalidParameter, match="count"):
            await h.core.service.submit(request(count=5))
        assert await h.core.service.history("tg:1") == []
        assert simulator.stats.submits == 0


async def test_per_user_defaults(simulator, session, tmp_path: Path) -> None:
    async with running_core(simulator, session, tmp_path) as h:
        change = await h.core.service.set_defaults("tg:1", model="qwen", size="1024x768")
        assert change.saved == {"model": "qwen", "size": "1024x768"} and not change.cleared
        (job,) = (await h.core.service.submit(request())).jobs
        assert (job.params.model, str(job.params.size)) == ("Qwen/Qwen-Image", "1024x768")
        with pytest.raises(InvalidParameter, match="size"):
            await h.core.service.set_defaults("tg:1", size="9999x9999")
        with pytest.raises(InvalidParameter, match="setting"):
            await h.core.service.set_defaults("tg:1", colour="red")


async def test_a_model_the_saved_size_does_not_fit_clears_the_size_and_says_so(
    simulator, session, tmp_path: Path
) -> None:
    async with running_core(simulator, session, tmp_path) as h:
        await h.core.service.set_defaults("tg:1", model="zit", size="2048x2048")
        change = await h.core.service.set_defaults("tg:1", model="flux")  # 64..1024 a side
        assert change.saved == {"model": "flux"} and change.cleared == {"size": "2048x2048"}
        with pytest.raises(InvalidParameter, match="size"):  # a size given with it: refused
            await h.core.service.set_defaults("tg:1", model="zit", size="4096x4096")


async def test_admins_are_exempt_and_chats_have_their_own_budget(
    simulator, session, tmp_path
) -> None:
    rules = Policy(limits=QuotaLimits(user_daily=0.0), admins=frozenset({"tg:42"}))
    async with running_core(simulator, session, tmp_path, rules) as h:
        (job,) = (await h.core.service.submit(request(user="42"))).jobs
        assert job.quota_state is QuotaState.EXEMPT
        with pytest.raises(QuotaExceeded) as caught:
            await h.core.service.submit(request())
        assert caught.value.scope == "user"  # the bot's per-user limit holds in every chat


async def test_a_member_limit_counts_that_chat_only(simulator, session, tmp_path) -> None:
    rules = Policy(limits=QuotaLimits(user_daily=5.0), admins=frozenset({"tg:42"}))
    async with running_core(simulator, session, tmp_path, rules) as h:
        await h.core.service.submit(request(user="42"))  # an admin: spends the account only
        await h.core.service.submit(request(chat="1"))  # in private
        await h.core.rules.set_chat_settings("tg:-100", member_daily=2, daily_budget=3)
        await h.core.service.submit(request())
        await h.core.service.submit(request())
        with pytest.raises(QuotaExceeded) as caught:
            await h.core.service.submit(request())
        assert (caught.value.scope, caught.value.used) == ("member", 2.0)
        view = await h.core.service.quota("tg:1", "tg:-100")
        assert view.left == {"user": 2.0, "member": 0.0, "chat": 1.0, "global": 176.0}
        await h.core.service.submit(request(chat="-200"))  # another group: its own count


async def test_queue_state_and_priority_tiers(simulator, session, tmp_path: Path) -> None:
    simulator.timing = Timing(run_mean=1.0)
    vip = Tier(level=1, in_flight=1, waiting=5, roles=frozenset({"patron"}))
    async with running_core(simulator, session, tmp_path, Policy(tiers=(vip,))) as h:
        await h.core.service.submit(request(user="A"))
        await started(h, 1)
        await h.core.service.submit(request(user="B"))
        receipt = await h.core.service.submit(request(user="C", roles=("patron",)))
        assert receipt.position == 1  # the tier goes ahead of B
        state = await h.core.service.queue_state("tg:B")
        assert (state.waiting, state.running, state.your_positions) == (2, 1, (2,))
        assert state.estimated_wait is None  # no task has finished: nothing to estimate from
        assert receipt.estimated_wait is None


async def test_waits_are_estimated_from_what_was_measured(simulator, session, tmp_path) -> None:
    simulator.timing = Timing(run_mean=0.3)
    async with running_core(simulator, session, tmp_path) as h:
        (first,) = (await h.core.service.submit(request(user="A"))).jobs
        await h.finals(1)  # one task measured
        done = await h.core.service.job(first.id)
        assert done is not None and done.time_taken_ms is not None
        simulator.timing = Timing(run_mean=5.0)
        await h.core.service.submit(request(user="A"))
        await started(h, 2)  # the one slot is taken
        receipt = await h.core.service.submit(request(user="B", count=2))
        assert receipt.positions == (1, 2) and receipt.estimated_wait is not None
        # Its turn comes after the running job: two tasks' time as measured, not a default.
        measured = 2 * done.time_taken_ms / 1000
        assert receipt.estimated_wait == pytest.approx(measured, rel=0.3)
        assert (await h.core.service.queue_state("tg:C")).estimated_wait is None


async def test_a_rejected_token_leaves_the_pool_and_the_job_runs_elsewhere(
    simulator, session, tmp_path: Path
) -> None:
    async with running_core(
        simulator, session, tmp_path, tokens=("ms-revoked-token", OTHER_TOKEN)
    ) as h:
        receipts = [await h.core.service.submit(request(user=str(i))) for i in range(2)]
        await h.finals(2)
        for receipt in receipts:
            assert (await h.job(receipt.jobs[0].id)).state is JobState.DONE
        assert h.core.tokens.accounts[0].disabled_reason
        assert simulator.stats.accepted == 2
        attempts = [(await h.job(r.jobs[0].id)).submit_attempts for r in receipts]
        assert attempts == [1, 1]  # the refused POST does not count as an attempt


async def test_a_restart_resumes_without_resubmitting(simulator, session, tmp_path) -> None:
    simulator.timing = Timing(run_mean=1.0)
    db = tmp_path / "jobs.db"
    async with running_core(simulator, session, tmp_path, db=db) as first:
        (job,) = (await first.core.service.submit(request())).jobs
        await started(first, 1)
    async with running_core(simulator, session, tmp_path, db=db, daily_budget=2.0) as second:
        await second.finals(1)
        done = await second.job(job.id)
        assert done.state is JobState.DONE and done.submit_attempts == 1
        # Its cost counts once against the token's budget of 2, not twice: one more fits.
        (more,) = (await second.core.service.submit(request(user="2"))).jobs
        await second.finals(2)
        assert (await second.job(more.id)).state is JobState.DONE
    assert simulator.stats.accepted == 2


async def test_old_jobs_and_images_are_purged(simulator, session, tmp_path: Path) -> None:
    async with running_core(simulator, session, tmp_path) as h:
        (job,) = (await h.core.service.submit(request())).jobs
        await h.finals(1)
        path = Path((await h.job(job.id)).result_path or "")
        assert path.exists()
        assert await h.core.purge_old() == 0
        h.clock.advance(31 * 86_400)
        assert await h.core.purge_old() == 1
        assert not path.exists()


async def test_a_bad_chat_pattern_is_refused_when_set(simulator, session, tmp_path) -> None:
    async with running_core(simulator, session, tmp_path) as h:
        with pytest.raises(InvalidParameter, match="filter pattern"):
            await h.core.rules.set_chat_settings("tg:-100", patterns=["(unclosed"])
        with pytest.raises(InvalidParameter, match="setting"):
            await h.core.rules.set_chat_settings("tg:-100", colour="red")
        assert await h.core.rules.chat_settings("tg:-100") == {}


async def test_filter_edits_at_once_are_all_kept(simulator, session, tmp_path) -> None:
    async with running_core(simulator, session, tmp_path) as h:
        rules = h.core.rules
        words = [f"w{i}" for i in range(10)]
        await asyncio.gather(*(rules.edit_filter("tg:-100", "word", w) for w in words))
        await rules.edit_filter("tg:-100", "regex", r"\bgore\b")
        shown, patterns = await rules.edit_filter("tg:-100", "show")
        assert sorted(shown) == words and patterns == [r"\bgore\b"]
        with pytest.raises(InvalidParameter, match=r"filter_value\(action=word\)"):
            await rules.edit_filter("tg:-100", "word", "  ")
        with pytest.raises(InvalidParameter, match="allowed: filter_actions"):
            await rules.edit_filter("tg:-100", "paint")
        assert await rules.edit_filter("tg:-100", "clear") == ([], [])


async def test_a_tokens_daily_budget_holds_jobs_until_the_next_day(
    simulator, session, tmp_path
) -> None:
    async with running_core(simulator, session, tmp_path, daily_budget=1.0) as h:
        (first,) = (await h.core.service.submit(request(user="A"))).jobs
        (second,) = (await h.core.service.submit(request(user="B"))).jobs
        await h.finals(1)
        await asyncio.sleep(0.3)  # several scheduler rounds: the token has no budget left
        assert (await h.job(second.id)).state is JobState.QUEUED
        assert simulator.stats.accepted == 1
        h.clock.advance(86_400)
        await h.finals(2)
        assert (await h.job(second.id)).state is JobState.DONE
        assert (await h.job(first.id)).token == "token#1"


async def test_a_job_caught_submitting_is_resubmitted_once_at_most(
    simulator, session, tmp_path
) -> None:
    db = tmp_path / "jobs.db"
    store = await SqliteStore.open(db)
    # As if a process died twice: once after 1 POST, once after 2, answers never seen.
    crashed = [
        stored_job(user=f"tg:{attempts}").moved(
            JobState.SUBMITTING, 1.0, submit_attempts=attempts, token="token#1"
        )
        for attempts in (1, 2)
    ]
    for job in crashed:
        await store.add_jobs([job], open_admission(job.user))
    await store.close()
    async with running_core(simulator, session, tmp_path, db=db) as h:
        await h.finals(2)
        retried, given_up = (await h.job(crashed[0].id)), (await h.job(crashed[1].id))
        assert (retried.state, retried.submit_attempts) == (JobState.DONE, 2)
        assert (given_up.state, given_up.quota_state) == (JobState.FAILED, QuotaState.REFUNDED)
        assert given_up.error_key == "error.transport"
        assert simulator.stats.accepted == 1


async def test_an_explicit_empty_negative_prompt_beats_the_default(
    simulator, session, tmp_path
) -> None:
    async with running_core(simulator, session, tmp_path) as h:
        await h.core.rules.set_defaults("tg:1", negative_prompt="blurry")
        (given,) = (await h.core.service.submit(request())).jobs
        (cleared,) = (await h.core.service.submit(request(user="1", negative_prompt=""))).jobs
        assert given.params.negative_prompt == "blurry"
        assert cleared.params.negative_prompt == ""


async def test_progress_is_announced_at_most_once_per_interval(
    simulator, session, tmp_path
) -> None:
    simulator.timing = Timing(queue_mean=0.2, run_mean=0.4)  # PENDING, RUNNING, PROCESSING
    async with running_core(simulator, session, tmp_path, progress_every=60.0) as h:
        (job,) = (await h.core.service.submit(request())).jobs
        await h.finals(1)
        assert h.notifier.kinds(job.id).count(EventKind.PROGRESS) == 1


async def test_a_place_in_line_is_said_again_when_it_changes(simulator, session, tmp_path) -> None:
    simulator.timing = Timing(run_mean=30.0)
    async with running_core(simulator, session, tmp_path) as h:
        await h.core.service.submit(request(user="X"))  # takes the one slot
        await started(h, 1)
        mine = [(await h.core.service.submit(request(user="A"))).jobs[0] for _ in range(3)]
        newcomer = await h.core.service.submit(request(user="B"))
        assert newcomer.position == 2  # fair share: before A's second
        assert await h.core.service.positions.announce() == 2
        told = {e.job.id: e.position for e in h.notifier.events[-2:] if e.kind is EventKind.QUEUED}
        assert told == {mine[1].id: 3, mine[2].id: 4}
        assert await h.core.service.positions.announce() == 0  # nothing changed since
