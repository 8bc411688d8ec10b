"""The one model of run times: what a workload takes to run (for the poll plan) and from
submit to image (for the wait estimates), learned from finished tasks."""

from __future__ import annotations

import math

import pytest

from core.modelscope.runtimes import RunTimes, Spread
from core.modelscope.tasks import TaskSnapshot, TaskStatus

FAST, SLOW = "Tongyi-MAI/Z-Image-Turbo 1024x1024", "Qwen/Qwen-Image 1328x1328"


def finished(times: RunTimes, workload: str, task: str, total: float) -> None:
    times.finished(workload, TaskSnapshot(task, TaskStatus.SUCCEED, "SUCCEED"), total)


def test_a_spread_learns_the_log_mean_and_spread() -> None:
    runs = Spread(smoothing=0.05)
    for i in range(2000):
        runs.observe(10.0 if i % 2 else 14.0)
    assert math.exp(runs.mean) == pytest.approx(math.sqrt(140), rel=0.05)
    assert runs.spread == pytest.approx(math.log(14 / 10) / 2, rel=0.1)


def test_estimates_come_from_what_was_measured_per_workload() -> None:
    times = RunTimes()
    assert times.expected(FAST) is None and times.typical() is None  # nothing measured yet
    assert times.left(FAST, 1.0) is None
    for i in range(20):
        finished(times, FAST, f"f{i}", 3.0)
        finished(times, SLOW, f"s{i}", 60.0)
    assert times.expected(FAST) == pytest.approx(3.0, rel=0.01)
    assert times.expected(SLOW) == pytest.approx(60.0, rel=0.01)
    assert times.left(FAST, 2.0) == pytest.approx(1.0, rel=0.05)
    assert times.left(FAST, 9.0) is None  # longer than expected: no estimate to give
    assert times.typical() == pytest.approx(31.5, rel=0.01)
    assert times.typical(SLOW) == pytest.approx(60.0, rel=0.01)
    assert times.typical("unmeasured 512x512") == pytest.approx(31.5, rel=0.01)


def test_the_run_excludes_the_wait_in_modelscopes_queue() -> None:
    times = RunTimes()
    track = times.track("t")
    track.saw(TaskStatus.PENDING, 8.0)  # waited in ModelScope's queue until at least 8 s
    track.saw(TaskStatus.RUNNING, 9.0)
    finished(times, FAST, "t", 12.0)
    runs = times.runs(FAST)
    # It ran for at most 4 s (not before 8, done by 12); no time_taken: the middle, 2 s.
    assert runs is not None and math.exp(runs.mean) == pytest.approx(2.0)
    assert times.expected(FAST) == pytest.approx(12.0)  # the user waited all of it
    assert times.tracked == 0  # an ended task is no longer followed


def test_tasks_abandoned_without_an_end_are_forgotten_beyond_the_bound() -> None:
    times = RunTimes(remember=3)
    for i in range(10):
        times.track(f"t{i}").saw(TaskStatus.PENDING, 0.0)
    assert times.tracked == 3
