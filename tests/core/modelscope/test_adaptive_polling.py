"""The adaptive poll policy: cold it is a fixed interval; warm it polls near the likely end."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.modelscope.adaptive_polling import (
    AdaptivePolicy,
    AdaptiveSettings,
    end_distribution,
    plan_polls,
)
from core.modelscope.runtimes import RunTimes, Spread
from core.modelscope.tasks import TaskSnapshot, TaskStatus

WORKLOAD = "Tongyi-MAI/Z-Image-Turbo 1024x1024"
SETTINGS = AdaptiveSettings()


def snap(task: str, status: TaskStatus, time_taken: float | None = None) -> TaskSnapshot:
    return TaskSnapshot(task, status, status.value, time_taken_ms=time_taken)


def poll(policy: AdaptivePolicy, task: str, status: TaskStatus, elapsed: float) -> float:
    """One poll of `task` answering `status`, as the client's loop makes it: the wait after."""
    track = policy.run_times.track(task)
    track.saw(status, elapsed)
    return policy.next_delay(WORKLOAD, track, elapsed)


def finish(times: RunTimes, task: str, status: TaskStatus, elapsed: float, taken: float) -> None:
    times.finished(WORKLOAD, snap(task, status, taken * 1000), elapsed)


def warmed(run_seconds: float, tasks: int = 5) -> AdaptivePolicy:
    policy = AdaptivePolicy(RunTimes())
    for i in range(tasks):
        poll(policy, f"warm-{i}", TaskStatus.RUNNING, 0.0)
        finish(policy.run_times, f"warm-{i}", TaskStatus.SUCCEED, run_seconds + 0.5, run_seconds)
    return policy


def test_cold_policy_polls_at_the_fallback_interval_in_every_state() -> None:
    policy = warmed(12.0, tasks=SETTINGS.warmup - 1)
    for status, elapsed in [(TaskStatus.PENDING, 0.0), (TaskStatus.RUNNING, 3.0)]:
        assert poll(policy, "t", status, elapsed) == SETTINGS.fallback


def test_warm_policy_waits_sparsely_then_polls_close_to_the_learned_end() -> None:
    policy = warmed(12.0)
    assert poll(policy, "t", TaskStatus.PENDING, 0.0) == 5.0
    # Seen running at 5 s: it started in (0, 5], so with a 12 s run it ends in (12, 17].
    elapsed, polls = 5.0, [5.0]
    while elapsed < 17.0:
        elapsed += poll(policy, "t", TaskStatus.RUNNING, elapsed)
        polls.append(elapsed)
    assert 11.0 <= polls[1] <= 13.0, polls  # one long wait, no poll in the middle of the run
    inside = [t for t in polls if 12.0 <= t <= 17.0]
    assert len(inside) >= 4 and max(b - a for a, b in itertools.pairwise(inside)) <= 1.5
    # Past its likely end it falls back to the fixed interval.
    assert poll(policy, "t", TaskStatus.RUNNING, 30.0) == SETTINGS.fallback


def test_wide_run_times_poll_like_the_fixed_interval() -> None:
    policy = AdaptivePolicy(RunTimes())
    for i, seconds in enumerate([3.0, 40.0, 8.0, 90.0, 15.0, 5.0]):
        poll(policy, f"w{i}", TaskStatus.RUNNING, 0.0)
        finish(policy.run_times, f"w{i}", TaskStatus.SUCCEED, 99, seconds)
    assert poll(policy, "t", TaskStatus.RUNNING, 0.0) == SETTINGS.fallback
    assert poll(policy, "t", TaskStatus.RUNNING, 3.0) == SETTINGS.fallback


def test_another_workload_is_still_cold() -> None:
    policy = warmed(12.0)
    track = policy.run_times.track("t")
    track.saw(TaskStatus.PENDING, 0.0)
    assert policy.next_delay("Qwen/Qwen-Image 1328x1328", track, 0.0) == SETTINGS.fallback


def test_time_taken_is_trusted_only_within_what_the_polls_saw() -> None:
    policy = AdaptivePolicy(RunTimes())
    for i in range(SETTINGS.warmup):
        poll(policy, f"w{i}", TaskStatus.PENDING, 0.0)
        # Says 100 s, but it was submitted 10 s before it was seen done: at most 10 s.
        finish(policy.run_times, f"w{i}", TaskStatus.SUCCEED, 10.0, 100.0)
    poll(policy, "t", TaskStatus.PENDING, 0.0)
    first = 1.0 + poll(policy, "t", TaskStatus.RUNNING, 1.0)
    assert first < 12.0


def test_failed_tasks_teach_nothing() -> None:
    policy = AdaptivePolicy(RunTimes())
    for i in range(SETTINGS.warmup):
        policy.run_times.finished(WORKLOAD, snap(f"w{i}", TaskStatus.FAILED), 0.5)
    assert poll(policy, "t", TaskStatus.PENDING, 0.0) == SETTINGS.fallback
    assert policy.run_times.expected(WORKLOAD) is None and policy.run_times.typical() is None


def test_scaled_settings_scale_every_time_and_nothing_else() -> None:
    fast = SETTINGS.scaled(0.1)
    assert fast.fallback == pytest.approx(0.3) and fast.pending_every == pytest.approx(0.5)
    assert fast.min_gap == pytest.approx(0.025) and fast.quantile_step == SETTINGS.quantile_step
    with pytest.raises(ValueError, match="positive"):
        AdaptiveSettings(min_gap=0)


@given(
    median=st.floats(0.5, 300.0),
    spread=st.floats(0.0, 1.5),
    started_after=st.floats(0.0, 60.0),
    window=st.floats(0.0, 30.0),
)
def test_a_plan_moves_forward_in_bounded_steps(
    median: float, spread: float, started_after: float, window: float
) -> None:
    runs = Spread(smoothing=0.1)
    runs.observe(median)
    runs.variance = spread**2
    now = started_after + window
    cdf = end_distribution(runs, started_after, now)
    plan = plan_polls(cdf, now, SETTINGS)
    steps = [b - a for a, b in itertools.pairwise([now, *plan])]
    shortest, longest = SETTINGS.min_gap - 1e-9, SETTINGS.max_gap + SETTINGS.min_gap
    assert all(shortest <= s <= longest for s in steps)
    assert cdf(plan[-1] if plan else now) >= SETTINGS.last_quantile or len(plan) == 200
