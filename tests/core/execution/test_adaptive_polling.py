"""The adaptive poll policy: cold it is a fixed interval; warm it polls near the likely end."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.execution.adaptive_polling import (
    AdaptivePolicy,
    AdaptiveSettings,
    RunTimeSpread,
    end_distribution,
    plan_polls,
)
from core.modelscope.tasks import TaskSnapshot, TaskStatus

WORKLOAD = "Tongyi-MAI/Z-Image-Turbo 1024x1024"
SETTINGS = AdaptiveSettings()


def snap(task: str, status: TaskStatus, time_taken: float | None = None) -> TaskSnapshot:
    return TaskSnapshot(task, status, status.value, time_taken_ms=time_taken)


def warmed(run_seconds: float, tasks: int = 5) -> AdaptivePolicy:
    policy = AdaptivePolicy()
    for i in range(tasks):
        task = f"warm-{i}"
        policy.next_delay(WORKLOAD, snap(task, TaskStatus.RUNNING), 0.0)
        done = snap(task, TaskStatus.SUCCEED, run_seconds * 1000)
        policy.observe_finished(WORKLOAD, done, run_seconds + 0.5)
    return policy


def test_cold_policy_polls_at_the_fallback_interval_in_every_state() -> None:
    policy = warmed(12.0, tasks=SETTINGS.warmup - 1)
    for status, elapsed in [(TaskStatus.PENDING, 0.0), (TaskStatus.RUNNING, 3.0)]:
        assert policy.next_delay(WORKLOAD, snap("t", status), elapsed) == SETTINGS.fallback


def test_warm_policy_waits_sparsely_then_polls_close_to_the_learned_end() -> None:
    policy = warmed(12.0)
    assert policy.next_delay(WORKLOAD, snap("t", TaskStatus.PENDING), 0.0) == 5.0
    # Seen running at 5 s: it started in (0, 5], so with a 12 s run it ends in (12, 17].
    elapsed, polls = 5.0, [5.0]
    while elapsed < 17.0:
        elapsed += policy.next_delay(WORKLOAD, snap("t", TaskStatus.RUNNING), elapsed)
        polls.append(elapsed)
    assert 11.0 <= polls[1] <= 13.0, polls  # one long wait, no poll in the middle of the run
    inside = [t for t in polls if 12.0 <= t <= 17.0]
    assert len(inside) >= 4 and max(b - a for a, b in itertools.pairwise(inside)) <= 1.5
    # Past its likely end it falls back to the fixed interval.
    late = policy.next_delay(WORKLOAD, snap("t", TaskStatus.RUNNING), 30.0)
    assert late == SETTINGS.fallback


def test_wide_run_times_poll_like_the_fixed_interval() -> None:
    policy = AdaptivePolicy()
    for i, seconds in enumerate([3.0, 40.0, 8.0, 90.0, 15.0, 5.0]):
        policy.next_delay(WORKLOAD, snap(f"w{i}", TaskStatus.RUNNING), 0.0)
        policy.observe_finished(WORKLOAD, snap(f"w{i}", TaskStatus.SUCCEED, seconds * 1000), 99)
    assert policy.next_delay(WORKLOAD, snap("t", TaskStatus.RUNNING), 0.0) == SETTINGS.fallback
    assert policy.next_delay(WORKLOAD, snap("t", TaskStatus.RUNNING), 3.0) == SETTINGS.fallback


def test_another_workload_is_still_cold() -> None:
    policy = warmed(12.0)
    other = "Qwen/Qwen-Image 1328x1328"
    assert policy.next_delay(other, snap("t", TaskStatus.PENDING), 0.0) == SETTINGS.fallback


def test_time_taken_is_trusted_only_within_what_the_polls_saw() -> None:
    policy = AdaptivePolicy()
    for i in range(SETTINGS.warmup):
        policy.next_delay(WORKLOAD, snap(f"w{i}", TaskStatus.PENDING), 0.0)
        # Says 100 s, but it was submitted 10 s before it was seen done: at most 10 s.
        policy.observe_finished(WORKLOAD, snap(f"w{i}", TaskStatus.SUCCEED, 100_000), 10.0)
    policy.next_delay(WORKLOAD, snap("t", TaskStatus.PENDING), 0.0)
    first = 1.0 + policy.next_delay(WORKLOAD, snap("t", TaskStatus.RUNNING), 1.0)
    assert first < 12.0


def test_failed_tasks_teach_nothing() -> None:
    policy = AdaptivePolicy()
    for i in range(SETTINGS.warmup):
        policy.observe_finished(WORKLOAD, snap(f"w{i}", TaskStatus.FAILED), 0.5)
    assert policy.next_delay(WORKLOAD, snap("t", TaskStatus.PENDING), 0.0) == SETTINGS.fallback


def test_abandoned_tasks_are_forgotten_beyond_the_bound() -> None:
    policy = AdaptivePolicy(AdaptiveSettings(remember=3))
    for i in range(10):
        policy.next_delay(WORKLOAD, snap(f"t{i}", TaskStatus.PENDING), 0.0)
    assert policy.tracked == 3


def test_run_times_learn_the_log_mean_and_spread() -> None:
    runs = RunTimeSpread(smoothing=0.05)
    for i in range(2000):
        runs.observe(10.0 if i % 2 else 14.0)
    assert math.exp(runs.mean) == pytest.approx(math.sqrt(140), rel=0.05)
    assert runs.spread == pytest.approx(math.log(14 / 10) / 2, rel=0.1)


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
    runs = RunTimeSpread(smoothing=0.1)
    runs.observe(median)
    runs.variance = spread**2
    now = started_after + window
    cdf = end_distribution(runs, started_after, now)
    plan = plan_polls(cdf, now, SETTINGS)
    steps = [b - a for a, b in itertools.pairwise([now, *plan])]
    shortest, longest = SETTINGS.min_gap - 1e-9, SETTINGS.max_gap + SETTINGS.min_gap
    assert all(shortest <= s <= longest for s in steps)
    assert cdf(plan[-1] if plan else now) >= SETTINGS.last_quantile or len(plan) == 200
